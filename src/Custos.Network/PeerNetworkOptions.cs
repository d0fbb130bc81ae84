using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Network;

/// <summary>
/// Limits and timings of a peer network. Defaults suit a consortium of tens of nodes on a data-centre network;
/// tests lower them. <see cref="Validate"/> refuses values that would disable a bound.
/// </summary>
public sealed record PeerNetworkOptions
{
    /// <summary>Largest payload accepted or sent; at most <see cref="NetworkLimits.FrameSizeBytesMax"/>.</summary>
    public int FrameSizeBytesLimit { get; init; } = NetworkLimits.FrameSizeBytesMax;

    /// <summary>Sustained inbound frames per second from one peer (token bucket refill rate).</summary>
    public double FramesPerSecondPerPeer { get; init; } = 5_000;

    /// <summary>Inbound frames one peer may send in a burst (token bucket capacity).</summary>
    public double FrameBurstPerPeer { get; init; } = 10_000;

    /// <summary>Sustained inbound payload bytes per second from one peer.</summary>
    public double BytesPerSecondPerPeer { get; init; } = 256.0 * 1024 * 1024;

    /// <summary>Inbound payload bytes one peer may send in a burst; never below the frame limit, so one largest frame always fits.</summary>
    public double ByteBurstPerPeer { get; init; } = 512.0 * 1024 * 1024;

    /// <summary>
    /// A peer that has this many frames dropped by its rate limit within one second is flooding and gets banned.
    /// Zero disables the ban (frames are still dropped).
    /// </summary>
    public int FloodDropsPerSecondBeforeBan { get; init; } = 5_000;

    /// <summary>How long a misbehaving peer stays refused.</summary>
    public TimeSpan BanDuration { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Frames queued for one peer before <see cref="IPeerNetwork.TrySend"/> refuses more.</summary>
    public int SendQueueFramesMax { get; init; } = 4_096;

    /// <summary>Payload bytes queued for one peer before <see cref="IPeerNetwork.TrySend"/> refuses more.</summary>
    public long SendQueueBytesMax { get; init; } = 256L * 1024 * 1024;

    /// <summary>Received frames waiting for the node; when full, links stop reading (TCP back-pressure to the senders).</summary>
    public int ReceiveQueueFramesMax { get; init; } = 16_384;

    /// <summary>First reconnect delay; doubles per failed attempt up to <see cref="ReconnectDelayMax"/>, with jitter.</summary>
    public TimeSpan ReconnectDelayInitial { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ReconnectDelayMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Cap on the reconnect delay while fewer than <see cref="PeersMin"/> peers are connected (NET-3).</summary>
    public TimeSpan ReconnectDelayIsolatedMax { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Peers a node tries hardest to keep (NET-3: at least two when available).</summary>
    public int PeersMin { get; init; } = 2;

    /// <summary>Dial, TLS handshake and link set-up must finish within this time.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS handshakes one source address may start per second (sustained); excess connections are closed unread.</summary>
    public double HandshakesPerSecondPerSource { get; init; } = 20;

    public double HandshakeBurstPerSource { get; init; } = 40;

    /// <summary>Gm TLS: a sender rotates its traffic keys (TLS 1.3 KeyUpdate) after this long on one connection.</summary>
    public TimeSpan KeyUpdateInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Gm TLS: a sender rotates its traffic keys after this many application bytes.</summary>
    public long KeyUpdateBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Stacks that cannot update keys in place (intl: .NET's SslStream has no KeyUpdate API) close and redial the
    /// link after this long, which gives the session fresh keys.
    /// </summary>
    public TimeSpan ConnectionLifetimeMax { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often connected peers' certificates are checked again (expiry; revocations are applied at once).</summary>
    public TimeSpan CertificateRecheckInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>HTTP/2 PING interval on idle links, to notice dead peers.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    public CustosError? Validate()
    {
        if (FrameSizeBytesLimit is < 1 or > NetworkLimits.FrameSizeBytesMax)
            return Invalid($"FrameSizeBytesLimit must be 1 to {NetworkLimits.FrameSizeBytesMax}");
        if (FramesPerSecondPerPeer <= 0 || FrameBurstPerPeer < 1) return Invalid("frame rate and burst must be positive");
        if (BytesPerSecondPerPeer <= 0 || ByteBurstPerPeer < FrameSizeBytesLimit) return Invalid("byte burst must hold at least one largest frame");
        if (FloodDropsPerSecondBeforeBan < 0) return Invalid("FloodDropsPerSecondBeforeBan must not be negative");
        if (BanDuration <= TimeSpan.Zero) return Invalid("BanDuration must be positive");
        if (SendQueueFramesMax < 1 || SendQueueBytesMax < FrameSizeBytesLimit) return Invalid("the send queue must hold at least one largest frame");
        if (ReceiveQueueFramesMax < 1) return Invalid("ReceiveQueueFramesMax must be positive");
        if (ReconnectDelayInitial <= TimeSpan.Zero || ReconnectDelayMax < ReconnectDelayInitial || ReconnectDelayIsolatedMax < ReconnectDelayInitial)
            return Invalid("reconnect delays must be positive and the caps not below the initial delay");
        if (PeersMin < 0) return Invalid("PeersMin must not be negative");
        if (HandshakeTimeout <= TimeSpan.Zero) return Invalid("HandshakeTimeout must be positive");
        if (HandshakesPerSecondPerSource <= 0 || HandshakeBurstPerSource < 1) return Invalid("handshake rate and burst must be positive");
        if (KeyUpdateInterval <= TimeSpan.Zero || KeyUpdateBytes < 1) return Invalid("key update interval and byte count must be positive");
        if (ConnectionLifetimeMax <= TimeSpan.Zero) return Invalid("ConnectionLifetimeMax must be positive");
        if (CertificateRecheckInterval <= TimeSpan.Zero) return Invalid("CertificateRecheckInterval must be positive");
        if (KeepAlivePingDelay <= TimeSpan.Zero || KeepAlivePingTimeout <= TimeSpan.Zero) return Invalid("keep-alive timings must be positive");
        return null;
    }

    private static CustosError Invalid(string message) => new(ErrorCode.InvalidField, message);
}
