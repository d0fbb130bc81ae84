namespace Custos.Network;

/// <summary>
/// A token bucket on an injected clock: <c>capacity</c> tokens at most, refilled at <c>ratePerSecond</c>. Not
/// thread-safe; owners lock around it.
/// </summary>
internal sealed class TokenBucket
{
    private readonly double _ratePerSecond;
    private readonly double _capacity;
    private readonly TimeProvider _clock;
    private double _tokens;
    private long _refilledAt;

    public TokenBucket(double ratePerSecond, double capacity, TimeProvider clock)
    {
        _ratePerSecond = ratePerSecond;
        _capacity = capacity;
        _clock = clock;
        _tokens = capacity;
        _refilledAt = clock.GetTimestamp();
    }

    public double Available
    {
        get
        {
            Refill();
            return _tokens;
        }
    }

    public bool CanTake(double amount) => Available >= amount;

    public void Take(double amount) => _tokens -= amount;

    public bool TryTake(double amount)
    {
        if (!CanTake(amount)) return false;
        _tokens -= amount;
        return true;
    }

    private void Refill()
    {
        var now = _clock.GetTimestamp();
        var elapsed = _clock.GetElapsedTime(_refilledAt, now);
        _refilledAt = now;
        if (elapsed <= TimeSpan.Zero) return;
        _tokens = Math.Min(_capacity, _tokens + elapsed.TotalSeconds * _ratePerSecond);
    }
}
