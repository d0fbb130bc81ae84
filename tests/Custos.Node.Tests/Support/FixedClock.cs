namespace Custos.Node.Tests.Support;

/// <summary>A clock that shows one instant, so that time-dependent output can be compared exactly.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
