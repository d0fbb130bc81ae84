using Custos.Core;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Identity;
using Custos.Network.Hosting;
using Custos.Network.Tls;
using Custos.Network.Wire;
using Custos.Node;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Custos.IntegrationTests;

/// <summary>
/// A peer link to a node's P2P port under some node identity, dialled with the Network's own TLS stack and judged
/// by the chain's trust, that carries whatever bytes a test writes: how a faulty or hostile peer looks to a node.
/// The gRPC method is the PeerLink's <c>Exchange</c> bound with a pass-through marshaller, so malformed and
/// oversize frames reach the wire unchanged.
/// </summary>
internal sealed class RawPeerLink : IAsyncDisposable
{
    private static readonly Method<byte[], byte[]> Exchange = new(MethodType.DuplexStreaming, "custos.v1.PeerLink", "Exchange",
        Marshallers.Create<byte[]>(b => b, b => b), Marshallers.Create<byte[]>(b => b, b => b));

    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<byte[], byte[]> _call;
    private readonly CancellationTokenSource _lifetime;

    private RawPeerLink(GrpcChannel channel, AsyncDuplexStreamingCall<byte[], byte[]> call, CancellationTokenSource lifetime)
    {
        _channel = channel;
        _call = call;
        _lifetime = lifetime;
    }

    /// <summary>
    /// Dials <paramref name="node"/> as <paramref name="identity"/>. The link is up once the node has answered the
    /// call's headers, which it does only after the handshake admitted the identity; null when it was refused.
    /// </summary>
    public static async Task<RawPeerLink?> TryOpenAsync(ICryptoSuite suite, TlsIdentity identity, TrustStore trust, string node, string host, int port)
    {
        var lifetime = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var channel = SecureHttpHandler.CreateGrpcChannel(TlsStack.For(suite, identity), HandshakePolicy.ForNode(trust, node), host, port,
            new SecureClientOptions { HandshakeTimeout = TimeSpan.FromSeconds(10) });
        AsyncDuplexStreamingCall<byte[], byte[]>? call = null;
        try
        {
            call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(Exchange, null, new CallOptions(cancellationToken: lifetime.Token));
            await call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(15));
            return new RawPeerLink(channel, call, lifetime);
        }
        catch (Exception e) when (e is RpcException or IOException or HttpRequestException or CustosException or TimeoutException)
        {
            call?.Dispose();
            channel.Dispose();
            lifetime.Dispose();
            return null;
        }
    }

    /// <summary>The identity of a node of the network directory: its certificate and its key, as its node.json names them.</summary>
    public static TlsIdentity NodeIdentity(string configPath, ICryptoSuite suite)
    {
        var config = NodeConfigurationFile.Load(configPath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        string Resolve(string reference) => reference.StartsWith("file:", StringComparison.Ordinal)
            ? "file:" + Path.GetFullPath(Path.Combine(directory, reference["file:".Length..]))
            : reference;
        var certificate = ConsortiumCertificate.FromPem(File.ReadAllText(Path.Combine(directory, config.Certificate)), suite);
        var key = KeyCustody.Open(Resolve(config.Key), suite, SecretSource.Parse(Resolve(config.KeySecret)));
        return new TlsIdentity(certificate, key);
    }

    /// <summary>A frame as the peer link encodes it (the network.proto envelope around a payload).</summary>
    public static byte[] Frame(FrameKind kind, byte[] payload) => new Frame { Kind = kind, Payload = ByteString.CopyFrom(payload) }.ToByteArray();

    /// <summary>Writes one gRPC message; false if the node had already cut the link.</summary>
    public async Task<bool> TrySendAsync(byte[] message)
    {
        try
        {
            await _call.RequestStream.WriteAsync(message, _lifetime.Token);
            return true;
        }
        catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or OperationCanceledException or TimeoutException)
        {
        }

        await _lifetime.CancelAsync();
        _call.Dispose();
        _channel.Dispose();
        _lifetime.Dispose();
    }
}
