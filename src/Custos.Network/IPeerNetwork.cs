using System.Threading.Channels;
using Custos.Core;
using Custos.Network.Wire;

namespace Custos.Network;

/// <summary>
/// The node's view of its peers: it sends opaque payloads tagged with a <see cref="FrameKind"/> to named peers and
/// reads what they send. Delivery is at most once and in order per sender while a link stays up; a frame queued when
/// a link breaks may be lost, so protocols above retransmit (consensus timeouts, sync). Implementations:
/// <see cref="Grpc.GrpcPeerNetwork"/> (gRPC over mutually authenticated TLS) and
/// <see cref="InMemory.InMemoryPeerNetwork"/> (tests), with the same limits and ban behaviour.
/// All members are thread-safe.
/// </summary>
public interface IPeerNetwork : IAsyncDisposable
{
    /// <summary>This node's name (the CN of its certificate).</summary>
    string LocalNode { get; }

    /// <summary>Starts listening and dialling the static peers. Returns once the listener is bound.</summary>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues a frame for one peer. False, with a typed error, if the peer is not configured, is banned, the payload
    /// is larger than the frame limit or the peer's send queue is full. Never blocks.
    /// </summary>
    bool TrySend(string peer, FrameKind kind, ReadOnlyMemory<byte> payload, out CustosError error);

    /// <summary>Queues a frame for every configured peer that is not banned; returns how many accepted it.</summary>
    int Broadcast(FrameKind kind, ReadOnlyMemory<byte> payload);

    /// <summary>Frames that passed the size, kind, rate and ban checks, in arrival order per peer.</summary>
    ChannelReader<ReceivedFrame> Received { get; }

    /// <summary>
    /// Reports a peer whose payload failed validation higher up (bad signature, invalid consensus message): it is
    /// disconnected and banned for <see cref="PeerNetworkOptions.BanDuration"/> (NET-4).
    /// </summary>
    void ReportMisbehaviour(string peer, string reason);

    /// <summary>
    /// Adds a peer while running, for a node the consortium admitted after start (CON-7); it is dialled like a static
    /// peer and admitted inbound. False when it is configured already (or is this node).
    /// </summary>
    bool AddPeer(PeerEndpoint peer);

    /// <summary>A snapshot of every configured peer, for metrics and status.</summary>
    IReadOnlyList<PeerStatus> Peers { get; }
}

/// <summary>A frame from a peer. The payload belongs to the receiver.</summary>
public readonly record struct ReceivedFrame(string Peer, FrameKind Kind, ReadOnlyMemory<byte> Payload);

public enum PeerState
{
    /// <summary>No link is up; the next attempt waits for its back-off.</summary>
    Disconnected,

    /// <summary>A dial and handshake are in progress.</summary>
    Connecting,

    /// <summary>This node's link to the peer is up: frames sent now are on their way.</summary>
    Connected,

    /// <summary>Refused in both directions until <see cref="PeerStatus.BannedUntil"/>.</summary>
    Banned,
}

/// <summary>One peer as the network sees it. Counters are totals since start.</summary>
public sealed record PeerStatus
{
    public required string Name { get; init; }

    public required string Address { get; init; }

    /// <summary>State of the outbound link (the one this node's frames travel on).</summary>
    public required PeerState State { get; init; }

    /// <summary>Whether the peer's own link to this node is up (frames from it arrive on that one).</summary>
    public required bool InboundConnected { get; init; }

    public DateTimeOffset? ConnectedSince { get; init; }

    public DateTimeOffset? BannedUntil { get; init; }

    public string? BanReason { get; init; }

    /// <summary>The TLS cipher suite of the outbound link, for example <c>TLS_SM4_GCM_SM3</c>; null when down or in memory.</summary>
    public string? CipherSuite { get; init; }

    public long FramesSent { get; init; }

    public long BytesSent { get; init; }

    public long FramesReceived { get; init; }

    public long BytesReceived { get; init; }

    /// <summary>Inbound frames dropped for exceeding the peer's rate limit.</summary>
    public long FramesDropped { get; init; }

    /// <summary>Outbound frames refused because the peer's send queue was full.</summary>
    public long SendQueueRejections { get; init; }

    public int SendQueueFrames { get; init; }

    /// <summary>Dial attempts since start (first connection included).</summary>
    public long ConnectAttempts { get; init; }

    /// <summary>TLS 1.3 key updates this node sent on its current link to the peer (gm only).</summary>
    public long KeyUpdates { get; init; }

    public string? LastError { get; init; }
}
