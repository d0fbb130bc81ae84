namespace Custos.Network.Tests;

/// <summary>
/// A clock whose time only moves when the test says so (token buckets, bans, certificate validity), while timers
/// and delays still run on real time, so links keep reconnecting on their own.
/// </summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _offsetTicks;

    public ManualClock()
        : this(DateTimeOffset.UtcNow)
    {
    }

    public override DateTimeOffset GetUtcNow() => start.AddTicks(Interlocked.Read(ref _offsetTicks));

    public override long GetTimestamp() => start.UtcTicks + Interlocked.Read(ref _offsetTicks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
