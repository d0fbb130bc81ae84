using System.Collections.Concurrent;

namespace Custos.Supervision.Index.Tests;

/// <summary>Keeps every log line the indexer writes, rendered as "level event name=value ...".</summary>
internal sealed class RecordingLog : IIndexLog
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public void Info(string @event, params (string Name, object? Value)[] fields) => Add("info", @event, fields);

    public void Warn(string @event, params (string Name, object? Value)[] fields) => Add("warn", @event, fields);

    public void Error(string @event, params (string Name, object? Value)[] fields) => Add("error", @event, fields);

    private void Add(string level, string @event, (string Name, object? Value)[] fields) =>
        Lines.Enqueue($"{level} {@event} {string.Join(' ', fields.Select(f => $"{f.Name}={f.Value}"))}");
}

/// <summary>Bounded waiting for a condition another task makes true.</summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(60));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting until {what}");
            await Task.Delay(25, TestContext.Current.CancellationToken);
        }
    }
}
