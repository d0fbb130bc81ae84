using Custos.Core;

namespace Custos.Network;

/// <summary>
/// Hard upper bounds of the transport. Configuration may lower them (<see cref="PeerNetworkOptions"/>), never raise
/// them. Every inbound frame is checked against the configured limit before anything is allocated for it.
/// </summary>
public static class NetworkLimits
{
    /// <summary>
    /// The largest payload a frame may carry: a block of the largest size the wire format allows, plus room for the
    /// sync response that wraps it.
    /// </summary>
    public const int FrameSizeBytesMax = WireLimits.BlockSizeBytesMax + 64 * 1024;

    /// <summary>What the protobuf envelope adds to a payload: the kind (tag and varint) and the payload's tag and length.</summary>
    public const int FrameEnvelopeOverheadBytesMax = 16;

    /// <summary>Static peers a node may be configured with (validators plus observers).</summary>
    public const int PeersMax = WireLimits.ValidatorsMax * 2;

    /// <summary>Length of a node name (the CN of its certificate) in a peer list.</summary>
    public const int NodeNameLengthMax = 64;

    /// <summary>Peer address strings (<c>name@host:port</c>).</summary>
    public const int PeerAddressLengthMax = 320;

    /// <summary>Source addresses whose handshake rate is tracked at once; beyond it the oldest entries are forgotten.</summary>
    public const int HandshakeSourcesTrackedMax = 4096;

    /// <summary>Recent handshake refusals kept for diagnostics.</summary>
    public const int HandshakeRefusalsKeptMax = 64;
}
