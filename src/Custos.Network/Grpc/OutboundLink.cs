using Custos.Core;
using Custos.Core.Wire;
using Custos.Network.Hosting;
using Custos.Network.Tls;
using Grpc.Core;

namespace Custos.Network.Grpc;

/// <summary>
/// This node's link to one peer: dials, holds one <c>Exchange</c> call open and writes the peer's send queue onto it;
/// on failure waits an exponential, jittered back-off and dials again. A banned peer is not dialled until its ban
/// expires. On stacks without in-place key update the link is redialled after the connection lifetime, which gives
/// the session fresh keys. One task per link; <see cref="Disconnect"/> may be called from any thread.
/// </summary>
internal sealed class OutboundLink
{
    private readonly GrpcPeerNetwork _network;
    private readonly PeerSlot _slot;
    private readonly ReconnectBackoff _backoff;
    private CancellationTokenSource? _connection;
    private Task _loop = Task.CompletedTask;
    private volatile SecureChannel? _session;

    public OutboundLink(GrpcPeerNetwork network, PeerSlot slot, Random random)
    {
        _network = network;
        _slot = slot;
        var options = network.Table.Options;
        _backoff = new ReconnectBackoff(options.ReconnectDelayInitial, options.ReconnectDelayMax, random);
    }

    public string Name => _slot.Name;

    /// <summary>The TLS session while the link is up.</summary>
    public SecureChannel? Session => _session;

    public void Start() => _loop = Task.Run(RunAsync);

    public void Disconnect(string reason)
    {
        _slot.LastError = reason;
        try
        {
            Volatile.Read(ref _connection)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public Task StopAsync() => _loop;

    private async Task RunAsync()
    {
        var table = _network.Table;
        var stopping = _network.Stopping;
        var options = table.Options;
        while (!stopping.IsCancellationRequested)
        {
            if (table.Bans.TryGet(Name, out var ban))
            {
                _slot.State = PeerState.Disconnected;
                var wait = ban.Until - _network.Trust.Clock.GetUtcNow();
                await DelayAsync(wait < TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
                continue;
            }

            var recycled = await ConnectAndSendAsync(stopping).ConfigureAwait(false);
            if (recycled || stopping.IsCancellationRequested) continue;
            var cap = table.ConnectedCount < options.PeersMin ? options.ReconnectDelayIsolatedMax : (TimeSpan?)null;
            await DelayAsync(_backoff.NextDelay(cap), stopping).ConfigureAwait(false);
        }
    }

    /// <summary>One connection's life. True if it ended because its lifetime was up (redial at once).</summary>
    private async Task<bool> ConnectAndSendAsync(CancellationToken stopping)
    {
        var table = _network.Table;
        var options = table.Options;
        var clock = _network.Trust.Clock;
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        Volatile.Write(ref _connection, connection);
        _slot.State = PeerState.Connecting;
        _slot.CountConnectAttempt();
        SecureChannel? session = null;
        var lifetimeUp = false;
        try
        {
            var clientOptions = new SecureClientOptions
            {
                HandshakeTimeout = options.HandshakeTimeout,
                KeepAlivePingDelay = options.KeepAlivePingDelay,
                KeepAlivePingTimeout = options.KeepAlivePingTimeout,
                Connected = channel => session = channel,
            };
            using var channel = SecureHttpHandler.CreateGrpcChannel(_network.TlsStack, HandshakePolicy.ForNode(_network.Trust, Name), _slot.Endpoint.Host,
                _slot.Endpoint.Port, clientOptions, maxReceiveMessageSize: PeerLinkProtocol.MessageSizeMax(0),
                maxSendMessageSize: PeerLinkProtocol.MessageSizeMax(options.FrameSizeBytesLimit));
            using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(PeerLinkProtocol.Exchange, null, new CallOptions(cancellationToken: connection.Token));
            await call.ResponseHeadersAsync.WaitAsync(options.HandshakeTimeout, connection.Token).ConfigureAwait(false);

            _session = session;
            _slot.ConnectedSince = clock.GetUtcNow();
            _slot.CipherSuite = session?.CipherSuite;
            _slot.LastError = null;
            _slot.State = PeerState.Connected;
            _backoff.Reset();

            var watcher = WatchResponsesAsync(call, connection);
            using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(connection.Token);
            if (!_network.TlsStack.SupportsKeyUpdate) lifetime.CancelAfter(options.ConnectionLifetimeMax);
            try
            {
                await SendQueuedAsync(call, lifetime.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (lifetime.IsCancellationRequested && !connection.IsCancellationRequested)
            {
                lifetimeUp = true;
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }

            await connection.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (!stopping.IsCancellationRequested && !connection.IsCancellationRequested) _slot.LastError = Describe(e);
        }
        finally
        {
            Volatile.Write(ref _connection, null);
            _session = null;
            _slot.State = PeerState.Disconnected;
            _slot.ConnectedSince = null;
            _slot.CipherSuite = null;
            if (session is not null) await session.DisposeAsync().ConfigureAwait(false);
        }

        return lifetimeUp;
    }

    private async Task SendQueuedAsync(AsyncDuplexStreamingCall<PeerLinkFrame, PeerLinkFrame> call, CancellationToken cancellationToken)
    {
        while (await _slot.WaitToDequeueAsync(cancellationToken).ConfigureAwait(false))
        {
            while (_slot.TryDequeue(out var frame))
            {
                await call.RequestStream.WriteAsync(new PeerLinkFrame(frame.Kind, frame.Payload), cancellationToken).ConfigureAwait(false);
                _slot.CountSent(frame.Payload.Length);
            }
        }
    }

    /// <summary>
    /// The response stream carries nothing in format version 1; it ends when the peer closes the link. A message
    /// on it is a protocol violation.
    /// </summary>
    private async Task WatchResponsesAsync(AsyncDuplexStreamingCall<PeerLinkFrame, PeerLinkFrame> call, CancellationTokenSource connection)
    {
        try
        {
            if (await call.ResponseStream.MoveNext(connection.Token).ConfigureAwait(false))
            {
                _network.Table.Ban(Name, new CustosError(ErrorCode.Malformed, "the peer sent a frame on the response stream"));
            }
        }
        catch (Exception e) when (e is RpcException or IOException or OperationCanceledException or InvalidOperationException)
        {
        }
        finally
        {
            try
            {
                await connection.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero) return;
        try
        {
            await Task.Delay(delay, _network.Trust.Clock, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The innermost meaningful reason (HttpClient and gRPC wrap the handshake's typed error).</summary>
    private static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is CustosException custos) return custos.Error.ToString();
        }

        return e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
    }
}
