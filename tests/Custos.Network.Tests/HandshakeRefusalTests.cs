using System.Net;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Custos.Network.Grpc;
using Custos.Network.Hosting;
using Custos.Network.Tls;
using Custos.Network.Wire;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Custos.Network.Tests;

/// <summary>
/// NET-1: only a configured node with a valid consortium certificate gets a link, checked inside the TLS handshake
/// in both directions, so a refused peer never delivers or receives an application frame.
/// </summary>
public sealed class HandshakeRefusalTests
{
    private static readonly Method<byte[], byte[]> RawExchange = new(MethodType.DuplexStreaming, "custos.v1.PeerLink", "Exchange",
        Marshallers.Create<byte[]>(b => b, b => b), Marshallers.Create<byte[]>(b => b, b => b));

    public static TheoryData<string, string, ErrorCode> Attacks { get; } = new()
    {
        { "gm", "unknown-ca", ErrorCode.CertificateUntrusted },
        { "gm", "revoked", ErrorCode.CertificateRevoked },
        { "gm", "expired", ErrorCode.CertificateExpired },
        { "gm", "client-role", ErrorCode.CertificateWrongRole },
        { "gm", "unlisted-name", ErrorCode.NotAuthorised },
        { "intl", "unknown-ca", ErrorCode.CertificateUntrusted },
        { "intl", "revoked", ErrorCode.CertificateRevoked },
        { "intl", "expired", ErrorCode.CertificateExpired },
        { "intl", "client-role", ErrorCode.CertificateWrongRole },
        { "intl", "unlisted-name", ErrorCode.NotAuthorised },
    };

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task A_bad_peer_certificate_is_refused_in_both_directions_before_any_frame(string suiteName, string attack, ErrorCode expected)
    {
        var suite = CryptoSuites.Parse(suiteName);
        var consortium = new TestConsortium(suite, "org1", "org2");
        var impostors = new TestConsortium(suite, "org1");
        var rogue = attack switch
        {
            "unknown-ca" => impostors.Issue("b"),
            "revoked" => consortium.Issue("b"),
            "expired" => consortium.IssueExpired("b"),
            "client-role" => consortium.Issue("b", CertificateRole.Client),
            _ => consortium.Issue("mallory"),
        };
        var trust = attack == "revoked" ? consortium.Trust(revocations: consortium.Revoke(rogue)) : consortium.Trust();
        var roguePort = GrpcCluster.FreePort();
        var rogueStack = TlsStack.For(suite, rogue);

        // The rogue listens where the node expects peer b, accepting any consortium node, and counts requests.
        var requestsReachingRogue = 0;
        await using var rogueListener = await SecureListener.StartAsync(new SecureListenerOptions
        {
            Endpoint = new IPEndPoint(IPAddress.Loopback, roguePort),
            Stack = rogueStack,
            Policy = HandshakePolicy.ForNodes(consortium.Trust(), _ => null),
            Configure = app => app.Run(_ =>
            {
                Interlocked.Increment(ref requestsReachingRogue);
                return Task.CompletedTask;
            }),
        }, TestContext.Current.CancellationToken);
        await using var node = new GrpcPeerNetwork(new GrpcPeerNetworkConfiguration
        {
            LocalNode = "a",
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Peers = [new PeerEndpoint("b", "127.0.0.1", roguePort)],
            Identity = consortium.Issue("a"),
            Trust = trust,
            Options = TestCluster.FastOptions,
        });
        await node.StartAsync(TestContext.Current.CancellationToken);

        // The rogue dials the node and tries to send a frame.
        var delivered = await TrySendFrameAsync(rogueStack, consortium.Trust(), node.Endpoint!.Port);

        Assert.False(delivered);
        Assert.True(await Wait.UntilAsync(() => node.Listener!.RecentRefusals.Any(r => r.Error.Code == expected)),
            string.Join("; ", node.Listener!.RecentRefusals.Select(r => r.Error)));
        Assert.True(await Wait.UntilAsync(() => node.Peer("b").LastError?.Contains(ErrorCodes.Name(expected), StringComparison.Ordinal) == true),
            node.Peer("b").LastError ?? "no error recorded");
        Assert.Equal(0, node.Listener!.HandshakesCompleted);
        Assert.Equal(0, Volatile.Read(ref requestsReachingRogue));

        // BouncyCastle judges the server's certificate before sending its own Finished, so the rogue server never
        // completes a handshake; SslStream runs the callback after its Finished went out, and then closes unused.
        if (suiteName == "gm") Assert.Equal(0, rogueListener.HandshakesCompleted);
        Assert.NotEqual(PeerState.Connected, node.Peer("b").State);
        Assert.False(node.Peer("b").InboundConnected);
        Assert.Equal(0, node.Peer("b").FramesReceived);
        Assert.Empty(await node.DrainAsync(TimeSpan.FromMilliseconds(200)));
    }

    private static async Task<bool> TrySendFrameAsync(TlsStack stack, TrustStore trust, int port)
    {
        using var timeout = new CancellationTokenSource(TestCluster.Patience);
        using var channel = SecureHttpHandler.CreateGrpcChannel(stack, HandshakePolicy.ForNode(trust, "a"), "127.0.0.1", port);
        try
        {
            using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(RawExchange, null, new CallOptions(cancellationToken: timeout.Token));
            await call.ResponseHeadersAsync;
            await call.RequestStream.WriteAsync(PeerLinkProtocol.Encode(FrameKind.Consensus, [1]));
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
            }

            return true;
        }
        catch (Exception e) when (e is RpcException or IOException)
        {
            return false;
        }
    }

    [Fact]
    public void A_node_refuses_to_start_with_a_certificate_its_own_consortium_does_not_trust()
    {
        var consortium = new TestConsortium(CryptoSuites.Gm, "org1");
        var configuration = new GrpcPeerNetworkConfiguration
        {
            LocalNode = "a",
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Peers = [],
            Identity = consortium.IssueExpired("a"),
            Trust = consortium.Trust(),
        };

        var refused = Assert.Throws<CustosException>(() => new GrpcPeerNetwork(configuration));
        Assert.Equal(ErrorCode.CertificateExpired, refused.Code);
        var misnamed = Assert.Throws<CustosException>(() => new GrpcPeerNetwork(configuration with { Identity = consortium.Issue("z") }));
        Assert.Equal(ErrorCode.InvalidField, misnamed.Code);
    }
}
