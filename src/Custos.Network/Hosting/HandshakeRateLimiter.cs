using System.Collections.Concurrent;
using System.Net;

namespace Custos.Network.Hosting;

/// <summary>
/// Bounds the TLS handshakes each source address may start (a token bucket per address), so that a flood of
/// connections costs the node at most that many SM2 or ECDSA signatures per second per source. The table of
/// addresses is bounded too: past <see cref="NetworkLimits.HandshakeSourcesTrackedMax"/> the idle ones are forgotten.
/// Thread-safe.
/// </summary>
internal sealed class HandshakeRateLimiter(double perSecond, double burst, TimeProvider clock)
{
    private readonly ConcurrentDictionary<IPAddress, Source> _sources = new();

    public bool TryAcquire(IPAddress? address)
    {
        address ??= IPAddress.None;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (_sources.Count >= NetworkLimits.HandshakeSourcesTrackedMax) Evict();
        var source = _sources.GetOrAdd(address, _ => new Source(new TokenBucket(perSecond, burst, clock)));
        lock (source)
        {
            source.LastSeen = clock.GetTimestamp();
            return source.Bucket.TryTake(1);
        }
    }

    private void Evict()
    {
        var now = clock.GetTimestamp();
        foreach (var (address, source) in _sources)
        {
            // A bucket idle long enough to have refilled completely carries no information.
            if (clock.GetElapsedTime(source.LastSeen, now).TotalSeconds * perSecond >= burst) _sources.TryRemove(address, out _);
        }

        if (_sources.Count >= NetworkLimits.HandshakeSourcesTrackedMax) _sources.Clear();
    }

    private sealed class Source(TokenBucket bucket)
    {
        public TokenBucket Bucket { get; } = bucket;

        public long LastSeen { get; set; }
    }
}
