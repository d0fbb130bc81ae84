using System.Collections.Concurrent;
using System.Net;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Network.Tls;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Custos.Network.Hosting;

/// <summary>What a <see cref="SecureListener"/> listens on, whom it admits and what it serves.</summary>
public sealed record SecureListenerOptions
{
    /// <summary>Address and port; port 0 picks a free one (see <see cref="SecureListener.Endpoint"/>).</summary>
    public required IPEndPoint Endpoint { get; init; }

    public required TlsStack Stack { get; init; }

    /// <summary>Who may complete the handshake (nodes of the peer list, or client roles for the API).</summary>
    public required HandshakePolicy Policy { get; init; }

    /// <summary>
    /// HTTP/2 by prior knowledge by default: Kestrel never sees the TLS layer, so it cannot negotiate ALPN.
    /// <c>Http1</c> serves HTTP/1.1 only; <c>Http1AndHttp2</c> does not work here, because Kestrel answers an HTTP/2
    /// preface on what it takes for a cleartext connection with HTTP_1_1_REQUIRED.
    /// </summary>
    public HttpProtocols Protocols { get; init; } = HttpProtocols.Http2;

    public double HandshakesPerSecondPerSource { get; init; } = 20;

    public double HandshakeBurstPerSource { get; init; } = 40;

    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Services for the endpoints (gRPC is added already; call <c>AddGrpc</c> again to change its options).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    public Action<GrpcServiceOptions>? ConfigureGrpc { get; init; }

    /// <summary>Maps gRPC services and HTTP endpoints, e.g. <c>app.MapGrpcService&lt;T&gt;()</c>, <c>app.MapGet(...)</c>.</summary>
    public Action<WebApplication>? Configure { get; init; }
}

/// <summary>A handshake that did not complete: who, when and why.</summary>
public sealed record HandshakeRefusal(EndPoint? Remote, DateTimeOffset At, CustosError Error);

/// <summary>
/// A Kestrel HTTP/2 listener whose connections are secured by a <see cref="TlsStack"/> (gm or intl) in connection
/// middleware, before any HTTP byte is read: a source over its handshake rate is closed unread, a peer that fails
/// the <see cref="HandshakePolicy"/> is refused inside the handshake, and an admitted peer's identity is set as the
/// connection's <see cref="ISecurePeerFeature"/>. The node-to-node link and the client API both run on it.
/// </summary>
public sealed class SecureListener : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, SecurePeerFeature> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<HandshakeRefusal> _refusals = new();
    private long _handshakesCompleted;
    private long _handshakesRefused;
    private long _handshakesRateLimited;

    private SecureListener(WebApplication app) => _app = app;

    /// <summary>The bound address (with the real port when 0 was asked for).</summary>
    public IPEndPoint Endpoint { get; private set; } = new(IPAddress.None, 0);

    public IServiceProvider Services => _app.Services;

    public long HandshakesCompleted => Interlocked.Read(ref _handshakesCompleted);

    public long HandshakesRefused => Interlocked.Read(ref _handshakesRefused);

    /// <summary>Connections closed unread because their source exceeded its handshake rate.</summary>
    public long HandshakesRateLimited => Interlocked.Read(ref _handshakesRateLimited);

    public IReadOnlyList<HandshakeRefusal> RecentRefusals => _refusals.ToArray();

    /// <summary>Connections whose handshake completed and that are still open.</summary>
    public IReadOnlyCollection<ISecurePeerFeature> Connections => _connections.Values.ToArray();

    public static async Task<SecureListener> StartAsync(SecureListenerOptions options, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(SecureListener).Assembly.GetName().Name });
        builder.Services.AddLogging();
        builder.Services.AddRouting();
        builder.Services.AddGrpc(grpc =>
        {
            // No compression: a compressed message could expand past the size limit after it was checked.
            grpc.CompressionProviders.Clear();
            grpc.EnableDetailedErrors = false;
            options.ConfigureGrpc?.Invoke(grpc);
        });
        options.ConfigureServices?.Invoke(builder.Services);
        SecureListener? listener = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            kestrel.Listen(options.Endpoint, listen =>
            {
                listen.Protocols = options.Protocols;
                var limiter = new HandshakeRateLimiter(options.HandshakesPerSecondPerSource, options.HandshakeBurstPerSource, options.Clock);
                listen.Use(next => connection => listener!.LimitHandshakes(connection, next, limiter));
                listen.Use(next => connection => listener!.SecureAsync(connection, next, options));
            });
        });

        var app = builder.Build();
        listener = new SecureListener(app);
        options.Configure?.Invoke(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        listener.Endpoint = address is not null && Uri.TryCreate(address, UriKind.Absolute, out var uri) && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip)
            ? new IPEndPoint(ip, uri.Port)
            : options.Endpoint;
        return listener;
    }

    private Task LimitHandshakes(ConnectionContext connection, ConnectionDelegate next, HandshakeRateLimiter limiter)
    {
        if (limiter.TryAcquire((connection.RemoteEndPoint as IPEndPoint)?.Address)) return next(connection);
        Interlocked.Increment(ref _handshakesRateLimited);
        connection.Abort(new ConnectionAbortedException("handshake rate exceeded"));
        return Task.CompletedTask;
    }

    private async Task SecureAsync(ConnectionContext connection, ConnectionDelegate next, SecureListenerOptions options)
    {
        var transport = connection.Transport;
        SecureChannel channel;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed))
        {
            timeout.CancelAfter(options.HandshakeTimeout);
            try
            {
                channel = await options.Stack.AcceptAsync(new DuplexPipeStream(transport), options.Policy, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is CustosException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                RecordRefusal(connection.RemoteEndPoint, e, options.Clock);
                return;
            }
        }

        Interlocked.Increment(ref _handshakesCompleted);
        var feature = new SecurePeerFeature(channel, connection);
        var secured = new StreamDuplexPipe(channel.Stream);
        connection.Features.Set<ISecurePeerFeature>(feature);
        connection.Transport = secured;
        _connections[connection.ConnectionId] = feature;
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection.ConnectionId, out _);
            await secured.CompleteAsync().ConfigureAwait(false);
            await channel.DisposeAsync().ConfigureAwait(false);
            connection.Transport = transport;
        }
    }

    private void RecordRefusal(EndPoint? remote, Exception e, TimeProvider clock)
    {
        Interlocked.Increment(ref _handshakesRefused);
        var error = e is CustosException custos
            ? custos.Error
            : new CustosError(ErrorCode.NotAuthorised, e is OperationCanceledException ? "handshake timed out or connection closed" : $"handshake failed: {e.Message}");
        _refusals.Enqueue(new HandshakeRefusal(remote, clock.GetUtcNow(), error));
        while (_refusals.Count > NetworkLimits.HandshakeRefusalsKeptMax) _refusals.TryDequeue(out _);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Values) connection.Abort("listener stopping");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
