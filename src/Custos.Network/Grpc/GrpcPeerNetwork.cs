using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity;
using Custos.Network.Hosting;
using Custos.Network.Tls;
using Custos.Network.Wire;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Custos.Network.Grpc;

/// <summary>Everything a <see cref="GrpcPeerNetwork"/> needs.</summary>
public sealed record GrpcPeerNetworkConfiguration
{
    /// <summary>This node's name: the CN of <see cref="Identity"/>'s certificate.</summary>
    public required string LocalNode { get; init; }

    /// <summary>Where the P2P listener binds (port 0 picks a free one).</summary>
    public required IPEndPoint Listen { get; init; }

    /// <summary>The static peers (genesis and configuration).</summary>
    public required IReadOnlyList<PeerEndpoint> Peers { get; init; }

    /// <summary>This node's certificate (role node) and key.</summary>
    public required TlsIdentity Identity { get; init; }

    /// <summary>The consortium CAs and revocations; the chain's suite picks the TLS stack.</summary>
    public required TrustStore Trust { get; init; }

    public PeerNetworkOptions Options { get; init; } = new();

    /// <summary>Jitter of reconnect delays; tests pass a seeded one.</summary>
    public Random? Random { get; init; }
}

/// <summary>
/// Peers over gRPC on HTTP/2, secured by the chain's TLS stack (gm: TLS 1.3 TLS_SM4_GCM_SM3 by BouncyCastle; intl:
/// TLS 1.3 by SslStream), mutually authenticated by consortium certificates inside the handshake (NET-1).
/// <para>
/// Topology: one long-lived link per direction. Each node dials every configured peer and sends its frames on the
/// request stream of one <c>Exchange</c> call; frames from a peer arrive on the call that peer dialled. See
/// docs/network.md for why. Links reconnect with exponential back-off and jitter; peers that send malformed,
/// oversize or flooding frames, or whose certificate is revoked, are disconnected and banned (NET-4).
/// </para>
/// <para>
/// Threading: one task per outbound link; Kestrel runs inbound links; a maintenance task re-checks certificates.
/// All public members are thread-safe.
/// </para>
/// </summary>
public sealed class GrpcPeerNetwork : IPeerNetwork
{
    private readonly GrpcPeerNetworkConfiguration _configuration;
    private readonly PeerTable _table;
    private readonly TlsStack _stack;
    private readonly TimeProvider _clock;
    private readonly Random _random;
    private readonly ConcurrentDictionary<string, OutboundLink> _links = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private SecureListener? _listener;
    private Task? _maintenance;
    private int _started;
    private bool _linking;
    private int _disposed;

    public GrpcPeerNetwork(GrpcPeerNetworkConfiguration configuration)
    {
        _configuration = configuration;
        _clock = configuration.Trust.Clock;
        _random = configuration.Random ?? new Random();
        _table = new PeerTable(configuration.LocalNode, configuration.Peers, configuration.Options, _clock);
        if (configuration.Identity.Name != configuration.LocalNode)
        {
            throw new CustosException(ErrorCode.InvalidField, $"the certificate is for {configuration.Identity.Name}, the node is {configuration.LocalNode}");
        }

        if (!configuration.Trust.TryValidate(configuration.Identity.Certificate, [CertificateRole.Node], out _, out var error)) throw error.ToException();
        _stack = TlsStack.For(configuration.Trust.Suite, configuration.Identity, TlsStackOptions.From(configuration.Options, _clock));
        _table.PeerBanned += OnPeerBanned;
        configuration.Trust.Updated += OnTrustUpdated;
    }

    public string LocalNode => _table.LocalNode;

    public PeerNetworkOptions Options => _table.Options;

    /// <summary>The TLS stack in use ("gm" or "intl").</summary>
    public TlsStack Stack => _stack;

    /// <summary>The bound P2P endpoint, once started.</summary>
    public IPEndPoint? Endpoint => _listener?.Endpoint;

    /// <summary>The P2P listener (handshake counters and recent refusals), once started.</summary>
    public SecureListener? Listener => _listener;

    public BanList Bans => _table.Bans;

    public ChannelReader<ReceivedFrame> Received => _table.Received;

    public IReadOnlyList<PeerStatus> Peers =>
        _table.Snapshot().Select(s => _links.TryGetValue(s.Name, out var link) && link.Session is { } session
            ? s with { KeyUpdates = session.KeyUpdatesSent }
            : s).ToList();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new CustosException(ErrorCode.InvalidField, "the network is started already");
        var options = _table.Options;
        var service = new PeerLinkService(this);
        _listener = await SecureListener.StartAsync(new SecureListenerOptions
        {
            Endpoint = _configuration.Listen,
            Stack = _stack,
            Policy = HandshakePolicy.ForNodes(_configuration.Trust, AdmitInbound),
            HandshakesPerSecondPerSource = options.HandshakesPerSecondPerSource,
            HandshakeBurstPerSource = options.HandshakeBurstPerSource,
            HandshakeTimeout = options.HandshakeTimeout,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            Clock = _clock,
            ConfigureServices = services => services.AddSingleton(service),
            ConfigureGrpc = grpc =>
            {
                grpc.MaxReceiveMessageSize = PeerLinkProtocol.MessageSizeMax(options.FrameSizeBytesLimit);
                grpc.MaxSendMessageSize = PeerLinkProtocol.MessageSizeMax(0);
            },
            Configure = app => app.MapGrpcService<PeerLinkService>(),
        }, cancellationToken).ConfigureAwait(false);

        lock (_links)
        {
            foreach (var slot in _table.Slots) StartLink(slot);
            _linking = true;
        }

        _maintenance = RecheckCertificatesPeriodicallyAsync(_stopping.Token);
    }

    public bool AddPeer(PeerEndpoint peer)
    {
        lock (_links)
        {
            if (Volatile.Read(ref _disposed) != 0 || !_table.TryAdd(peer, out var slot)) return false;
            if (_linking) StartLink(slot);
            return true;
        }
    }

    private void StartLink(PeerSlot slot)
    {
        var link = new OutboundLink(this, slot, new Random(_random.Next()));
        _links[slot.Name] = link;
        link.Start();
    }

    public bool TrySend(string peer, FrameKind kind, ReadOnlyMemory<byte> payload, out CustosError error) => _table.TrySend(peer, kind, payload, out error);

    public int Broadcast(FrameKind kind, ReadOnlyMemory<byte> payload) => _table.Broadcast(kind, payload);

    public void ReportMisbehaviour(string peer, string reason) => _table.Ban(peer, $"reported by the node: {reason}");

    /// <summary>The TLS session of this node's link to <paramref name="peer"/>, while it is up.</summary>
    public SecureChannel? OutboundChannel(string peer) => _links.TryGetValue(peer, out var link) ? link.Session : null;

    /// <summary>Checks every connected peer's certificate again now (also runs periodically and on trust updates).</summary>
    public void RecheckCertificates()
    {
        var trust = _configuration.Trust;
        foreach (var connection in _listener?.Connections ?? [])
        {
            if (!trust.TryValidate(connection.Peer.Certificate, [CertificateRole.Node], out _, out var error)) Cut(connection.Peer.CommonName, error, connection.Abort);
        }

        foreach (var link in _links.Values)
        {
            if (link.Session is { } session && !trust.TryValidate(session.Peer.Certificate, [CertificateRole.Node], out _, out var error))
            {
                Cut(link.Name, error, link.Disconnect);
            }
        }
    }

    private void Cut(string peer, CustosError error, Action<string> disconnect)
    {
        // A revoked certificate is misbehaviour by its holder's organisation's decision; an expired one is not.
        if (error.Code == ErrorCode.CertificateRevoked) _table.Ban(peer, error);
        else disconnect(error.ToString());
    }

    internal PeerTable Table => _table;

    internal TlsStack TlsStack => _stack;

    internal TrustStore Trust => _configuration.Trust;

    internal CancellationToken Stopping => _stopping.Token;

    private CustosError? AdmitInbound(ValidatedIdentity identity)
    {
        if (!_table.IsConfigured(identity.CommonName))
        {
            return new CustosError(ErrorCode.NotAuthorised, $"node {identity.CommonName} is not a configured peer of {LocalNode}");
        }

        return _table.Bans.TryGet(identity.CommonName, out var ban)
            ? new CustosError(ErrorCode.NotAuthorised, $"node {identity.CommonName} is banned until {ban.Until:u}: {ban.Reason}")
            : null;
    }

    internal async Task ServeInboundAsync(ISecurePeerFeature peer, IAsyncStreamReader<PeerLinkFrame> frames, ServerCallContext context)
    {
        var name = peer.Peer.CommonName;
        if (!_table.TryGet(name, out var slot) || AdmitInbound(peer.Peer) is not null)
        {
            peer.Abort("not an admitted peer");
            throw new RpcException(new Status(StatusCode.PermissionDenied, "not an admitted peer"));
        }

        slot.InboundOpened();
        try
        {
            await context.WriteResponseHeadersAsync(new Metadata()).ConfigureAwait(false);
            var cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _stopping.Token);
            using (cancellation)
            {
                await ReceiveAsync(peer, name, frames, cancellation.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            slot.InboundClosed();
        }
    }

    private async Task ReceiveAsync(ISecurePeerFeature peer, string name, IAsyncStreamReader<PeerLinkFrame> frames, CancellationToken cancellationToken)
    {
        try
        {
            while (await frames.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var frame = frames.Current;
                if (frame.Error is { } malformed)
                {
                    _table.Ban(name, malformed);
                    return;
                }

                switch (_table.Admit(name, frame.Kind, frame.Payload.Length))
                {
                    case InboundVerdict.Accept:
                        await _table.ReceivedWriter.WriteAsync(new ReceivedFrame(name, frame.Kind, frame.Payload), cancellationToken).ConfigureAwait(false);
                        break;
                    case InboundVerdict.Drop:
                        break;
                    default:
                        peer.Abort("refused");
                        return;
                }
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
        {
            // gRPC refused the message from its length header, before buffering it.
            _table.Ban(name, new CustosError(ErrorCode.TooLarge, $"frame over the limit of {_table.Options.FrameSizeBytesLimit} bytes"));
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Internal or StatusCode.Unimplemented or StatusCode.InvalidArgument)
        {
            // The gRPC framing itself was wrong (for example a compressed message, which this link never sends).
            _table.Ban(name, new CustosError(ErrorCode.Malformed, $"gRPC framing: {e.Status.Detail}"));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or RpcException or ChannelClosedException)
        {
            // The peer went away or the node is stopping: not misbehaviour.
        }
    }

    private void OnPeerBanned(PeerBan ban)
    {
        foreach (var connection in _listener?.Connections ?? [])
        {
            if (connection.Peer.CommonName == ban.Peer) connection.Abort($"banned: {ban.Reason}");
        }

        if (_links.TryGetValue(ban.Peer, out var link)) link.Disconnect($"banned: {ban.Reason}");
    }

    private void OnTrustUpdated(CertificateValidator validator)
    {
        if (Volatile.Read(ref _disposed) == 0 && Volatile.Read(ref _started) != 0) RecheckCertificates();
    }

    private async Task RecheckCertificatesPeriodicallyAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_table.Options.CertificateRecheckInterval, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false)) RecheckCertificates();
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _configuration.Trust.Updated -= OnTrustUpdated;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_links.Values.Select(l => l.StopAsync())).ConfigureAwait(false);
        if (_maintenance is not null) await _maintenance.ConfigureAwait(false);
        if (_listener is not null) await _listener.DisposeAsync().ConfigureAwait(false);
        _table.CompleteReceived();
        _stopping.Dispose();
    }
}
