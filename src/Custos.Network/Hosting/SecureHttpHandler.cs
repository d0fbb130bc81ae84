using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Custos.Network.Tls;
using Grpc.Net.Client;

namespace Custos.Network.Hosting;

/// <summary>How a client connects to a <see cref="SecureListener"/>.</summary>
public sealed record SecureClientOptions
{
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Called with each new session (negotiated suite, the server's identity).</summary>
    public Action<SecureChannel>? Connected { get; init; }
}

/// <summary>
/// Client-side connections secured by the chain's <see cref="TlsStack"/>: the SDK, the CLI and the node's own peer
/// links all use them. The handler dials TCP, runs the handshake in <c>ConnectCallback</c> (the server is judged by
/// <c>serverPolicy</c> inside it) and hands HttpClient the secured stream, so URLs are <c>http://</c> and HTTP/2
/// goes by prior knowledge.
/// </summary>
public static class SecureHttpHandler
{
    public static SocketsHttpHandler Create(TlsStack stack, HandshakePolicy serverPolicy, SecureClientOptions? options = null)
    {
        options ??= new SecureClientOptions();
        return new SocketsHttpHandler
        {
            ConnectCallback = (context, cancellationToken) => ConnectAsync(stack, serverPolicy, options, context.DnsEndPoint, cancellationToken),
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
    }

    /// <summary>An HttpClient for REST endpoints: HTTP/2 only, over the secured connection.</summary>
    public static HttpClient CreateHttpClient(TlsStack stack, HandshakePolicy serverPolicy, string host, int port, SecureClientOptions? options = null) =>
        new(Create(stack, serverPolicy, options), disposeHandler: true)
        {
            BaseAddress = BaseAddress(host, port),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    /// <summary>A gRPC channel over the secured connection.</summary>
    public static GrpcChannel CreateGrpcChannel(TlsStack stack, HandshakePolicy serverPolicy, string host, int port, SecureClientOptions? options = null,
        int? maxReceiveMessageSize = null, int? maxSendMessageSize = null) =>
        GrpcChannel.ForAddress(BaseAddress(host, port), new GrpcChannelOptions
        {
            HttpHandler = Create(stack, serverPolicy, options),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = maxReceiveMessageSize,
            MaxSendMessageSize = maxSendMessageSize,
        });

    public static Uri BaseAddress(string host, int port) => new($"http://{(host.Contains(':') ? $"[{host}]" : host)}:{port}");

    private static async ValueTask<Stream> ConnectAsync(TlsStack stack, HandshakePolicy policy, SecureClientOptions options, DnsEndPoint endpoint,
        CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.HandshakeTimeout);
            await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            var channel = await stack.ConnectAsync(new NetworkStream(socket, ownsSocket: true), endpoint.Host, policy, timeout.Token).ConfigureAwait(false);
            options.Connected?.Invoke(channel);
            return channel.Stream;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
