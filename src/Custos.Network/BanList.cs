using System.Collections.Concurrent;

namespace Custos.Network;

/// <summary>A banned peer: refused in both directions until <see cref="Until"/>.</summary>
public sealed record PeerBan(string Peer, string Reason, DateTimeOffset Since, DateTimeOffset Until);

/// <summary>
/// Peers refused for a period (NET-4), by node name. A ban outlives connections: the banned node's handshakes are
/// refused and no link to it is dialled until the ban expires. Bans are kept in memory; a restarted node forgets them.
/// Thread-safe.
/// </summary>
public sealed class BanList(TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, PeerBan> _bans = new(StringComparer.Ordinal);

    /// <summary>Bans <paramref name="peer"/> (or extends its ban) and returns the ban now in force.</summary>
    public PeerBan Ban(string peer, string reason, TimeSpan duration)
    {
        var now = clock.GetUtcNow();
        var ban = new PeerBan(peer, reason, now, now + duration);
        return _bans.AddOrUpdate(peer, ban, (_, existing) => existing.Until >= ban.Until ? existing : ban);
    }

    public bool IsBanned(string peer) => TryGet(peer, out _);

    public bool TryGet(string peer, out PeerBan ban)
    {
        if (_bans.TryGetValue(peer, out ban!))
        {
            if (ban.Until > clock.GetUtcNow()) return true;
            _bans.TryRemove(new KeyValuePair<string, PeerBan>(peer, ban));
        }

        ban = null!;
        return false;
    }

    public void Lift(string peer) => _bans.TryRemove(peer, out _);

    public IReadOnlyList<PeerBan> Active
    {
        get
        {
            var now = clock.GetUtcNow();
            return _bans.Values.Where(b => b.Until > now).OrderBy(b => b.Peer, StringComparer.Ordinal).ToList();
        }
    }
}
