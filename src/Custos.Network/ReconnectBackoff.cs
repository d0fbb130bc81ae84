namespace Custos.Network;

/// <summary>
/// Exponential back-off with "equal jitter": attempt n waits a random time in [d/2, d] where
/// d = min(cap, initial × 2^n). The random half keeps restarted nodes from dialling in lock-step; the fixed half
/// keeps a dead peer from being hammered. Randomness is injected so tests reproduce delays. Not thread-safe (one per link).
/// </summary>
public sealed class ReconnectBackoff(TimeSpan initial, TimeSpan max, Random random)
{
    private int _failures;

    public int Failures => _failures;

    /// <summary>The delay before the next attempt, capped at <paramref name="cap"/> if given and lower than the maximum.</summary>
    public TimeSpan NextDelay(TimeSpan? cap = null)
    {
        var limit = cap is { } c && c < max ? c : max;
        var exponent = Math.Min(_failures, 30);
        var ceiling = Math.Min(limit.Ticks, initial.Ticks * (1L << exponent));
        if (ceiling < initial.Ticks) ceiling = Math.Min(initial.Ticks, limit.Ticks);
        _failures++;
        var half = ceiling / 2;
        return TimeSpan.FromTicks(half + (long)(random.NextDouble() * (ceiling - half)));
    }

    /// <summary>After a link came up: the next failure starts from the initial delay again.</summary>
    public void Reset() => _failures = 0;
}
