namespace Custos.Supervision.Index;

/// <summary>
/// Structured log lines of the indexer: an event name and named fields. The shape is that of the node's log, so the
/// node passes its own. The indexer never logs the connection string or account ids.
/// </summary>
public interface IIndexLog
{
    void Info(string @event, params (string Name, object? Value)[] fields);

    void Warn(string @event, params (string Name, object? Value)[] fields);

    void Error(string @event, params (string Name, object? Value)[] fields);
}

/// <summary>Discards everything.</summary>
public sealed class NullIndexLog : IIndexLog
{
    public static NullIndexLog Instance { get; } = new();

    public void Info(string @event, params (string Name, object? Value)[] fields)
    {
    }

    public void Warn(string @event, params (string Name, object? Value)[] fields)
    {
    }

    public void Error(string @event, params (string Name, object? Value)[] fields)
    {
    }
}
