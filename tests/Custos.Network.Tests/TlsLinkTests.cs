using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Custos.Network.Grpc;
using Custos.Network.Hosting;
using Custos.Network.Tls;
using Custos.Network.Wire;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Custos.Network.Tests;

/// <summary>What the TLS stacks negotiate and how they rotate keys, on real loopback links.</summary>
public sealed class TlsLinkTests
{
    [Fact]
    public async Task Gm_nodes_negotiate_TLS_SM4_GCM_SM3_in_both_directions()
    {
        await using var cluster = (GrpcCluster)TestCluster.Create("gm", ["a", "b"]);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        var outbound = cluster.Node("a").OutboundChannel("b")!;
        Assert.Equal(0x00C6, outbound.CipherSuiteCode);
        Assert.Equal("TLS_SM4_GCM_SM3", outbound.CipherSuite);
        Assert.Equal("TLSv1.3", outbound.Protocol);
        Assert.Equal("b", outbound.Peer.CommonName);
        Assert.Equal("TLS_SM4_GCM_SM3", cluster["a"].Peer("b").CipherSuite);
        var inbound = Assert.Single(cluster.Node("b").Listener!.Connections);
        Assert.Equal(0x00C6, inbound.Channel.CipherSuiteCode);
        Assert.Equal("a", inbound.Peer.CommonName);
        Assert.Equal(CertificateRole.Node, inbound.Role);
    }

    [Fact]
    public async Task Four_gm_nodes_link_every_ordered_pair_on_TLS_SM4_GCM_SM3()
    {
        string[] names = ["a", "b", "c", "d"];
        await using var cluster = (GrpcCluster)TestCluster.Create("gm", names);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        foreach (var name in names)
        {
            Assert.All(cluster[name].Peers, p => Assert.Equal("TLS_SM4_GCM_SM3", p.CipherSuite));
            var inbound = cluster.Node(name).Listener!.Connections;
            Assert.Equal(3, inbound.Count);
            Assert.All(inbound, c => Assert.Equal(0x00C6, c.Channel.CipherSuiteCode));
            Assert.Equal(names.Where(n => n != name).Order(), inbound.Select(c => c.Peer.CommonName).Order());
        }
    }

    [Fact]
    public async Task Intl_nodes_negotiate_a_standard_TLS_1_3_suite()
    {
        await using var cluster = (GrpcCluster)TestCluster.Create("intl", ["a", "b"]);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        var outbound = cluster.Node("a").OutboundChannel("b")!;
        Assert.Contains(outbound.CipherSuite, new[] { "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256" });
        Assert.False(outbound.SupportsKeyUpdate);
        Assert.Equal("b", outbound.Peer.CommonName);
    }

    [Fact]
    public async Task Gm_links_update_keys_on_request_and_after_a_byte_budget_without_losing_frames()
    {
        var options = TestCluster.FastOptions with { KeyUpdateBytes = 64 * 1024 };
        await using var cluster = (GrpcCluster)TestCluster.Create("gm", ["a", "b"], options);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();
        var outbound = cluster.Node("a").OutboundChannel("b")!;

        await outbound.UpdateKeysAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 40; i++) Assert.True(cluster["a"].TrySend("b", FrameKind.TransactionBatch, new byte[16 * 1024], out _));
        var frames = await cluster["b"].ReceiveAsync(40);

        Assert.Equal(40, frames.Count);
        Assert.True(outbound.KeyUpdatesSent >= 1 + (40 * 16 * 1024 / (64 * 1024)) - 1, $"sent {outbound.KeyUpdatesSent} key updates");
        var inbound = Assert.Single(cluster.Node("b").Listener!.Connections);
        Assert.True(await Wait.UntilAsync(() => inbound.Channel.KeyUpdatesReceived >= 2));
        Assert.Equal(outbound.KeyUpdatesSent, cluster["a"].Peer("b").KeyUpdates);
    }

    [Fact]
    public async Task Intl_links_are_redialled_after_their_lifetime_and_keep_carrying_frames()
    {
        var options = TestCluster.FastOptions with { ConnectionLifetimeMax = TimeSpan.FromMilliseconds(300) };
        await using var cluster = TestCluster.Create("intl", ["a", "b"], options);
        await cluster.StartAsync();

        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").ConnectAttempts >= 4), cluster.Describe(["a"]));
        await cluster.WaitConnectedAsync();
        Assert.True(cluster["a"].TrySend("b", FrameKind.Consensus, new byte[] { 42 }, out _));
        Assert.Equal(42, Assert.Single(await cluster["b"].ReceiveAsync(1)).Payload.Span[0]);
    }

    [Fact]
    public async Task A_client_offering_only_standard_suites_is_refused_by_a_gm_node()
    {
        await using var cluster = (GrpcCluster)TestCluster.Create("gm", ["a", "b"]);
        await cluster.StartAsync();
        var listener = cluster.Node("a").Listener!;

        // .NET's own TLS (OpenSSL) offers TLS 1.3 AES and ChaCha suites and TLS 1.2 ECDHE suites, never SM4.
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(IPAddress.Loopback, cluster.Port("a"), TestContext.Current.CancellationToken);
            await using var ssl = new SslStream(socket.GetStream());
            var options = new SslClientAuthenticationOptions { TargetHost = "a", RemoteCertificateValidationCallback = (_, _, _, _) => true };
            await Assert.ThrowsAnyAsync<Exception>(() => ssl.AuthenticateAsClientAsync(options, TestContext.Current.CancellationToken).WaitAsync(TestCluster.Patience, TestContext.Current.CancellationToken));
        }

        // BouncyCastle with its default (non-SM) suites, groups and TLS versions.
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(IPAddress.Loopback, cluster.Port("a"), TestContext.Current.CancellationToken);
            socket.ReceiveTimeout = (int)TestCluster.Patience.TotalMilliseconds;
            var protocol = new TlsClientProtocol(socket.GetStream());
            var failure = await Assert.ThrowsAnyAsync<TlsException>(() => Task.Run(() => protocol.Connect(new StandardSuitesClient()), TestContext.Current.CancellationToken));
            Assert.IsType<TlsFatalAlertReceived>(failure);
        }

        Assert.True(await Wait.UntilAsync(() => listener.RecentRefusals.Count(r => r.Error.Code == ErrorCode.SuiteMismatch) == 2),
            string.Join("; ", listener.RecentRefusals.Select(r => r.Error)));
        // Every completed handshake is b's own link; the peer table marks it connected just after the handshake, so
        // under load the two counts can differ for a moment.
        Assert.True(await Wait.UntilAsync(() => listener.HandshakesCompleted == cluster.Node("a").Peers.Count(p => p.InboundConnected)),
            $"{listener.HandshakesCompleted} handshakes completed, {cluster.Node("a").Peers.Count(p => p.InboundConnected)} inbound peers");
        Assert.Empty(await cluster["a"].DrainAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task A_gm_node_cannot_talk_to_an_intl_node_of_the_same_names()
    {
        var gm = new TestConsortium(CryptoSuites.Gm, "org1");
        var intl = new TestConsortium(CryptoSuites.Intl, "org1");
        var port = GrpcCluster.FreePort();
        await using var server = await SecureListener.StartAsync(new SecureListenerOptions
        {
            Endpoint = new IPEndPoint(IPAddress.Loopback, port),
            Stack = TlsStack.For(CryptoSuites.Intl, intl.Issue("b")),
            Policy = HandshakePolicy.ForNodes(intl.Trust(), _ => null),
        }, TestContext.Current.CancellationToken);
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);

        var refused = await Assert.ThrowsAsync<Core.CustosException>(() =>
            TlsStack.For(CryptoSuites.Gm, gm.Issue("a")).ConnectAsync(socket.GetStream(), "b", HandshakePolicy.ForNode(gm.Trust(), "b"), TestContext.Current.CancellationToken));

        Assert.Equal(ErrorCode.SuiteMismatch, refused.Code);
        Assert.True(await Wait.UntilAsync(() => server.HandshakesRefused == 1));
    }

    [Fact]
    public async Task A_source_over_its_handshake_rate_is_closed_before_the_handshake()
    {
        var clock = new ManualClock();
        var consortium = new TestConsortium(CryptoSuites.Gm, "org1");
        var server = consortium.Issue("a");
        var client = consortium.Issue("b");
        await using var listener = await SecureListener.StartAsync(new SecureListenerOptions
        {
            Endpoint = new IPEndPoint(IPAddress.Loopback, 0),
            Stack = TlsStack.For(CryptoSuites.Gm, server),
            Policy = HandshakePolicy.ForNodes(consortium.Trust(clock), _ => null),
            HandshakesPerSecondPerSource = 1,
            HandshakeBurstPerSource = 3,
            Clock = clock,
        }, TestContext.Current.CancellationToken);
        var stack = TlsStack.For(CryptoSuites.Gm, client);

        var completed = 0;
        for (var i = 0; i < 6; i++)
        {
            using var socket = new TcpClient();
            try
            {
                // The listener accepts the TCP connection and resets it unread when over the rate.
                await socket.ConnectAsync(listener.Endpoint, TestContext.Current.CancellationToken);
                await using var channel = await stack.ConnectAsync(socket.GetStream(), "a", HandshakePolicy.ForNode(consortium.Trust(clock), "a"), TestContext.Current.CancellationToken);
                completed++;
            }
            catch (Exception e) when (e is IOException or SocketException or Core.CustosException)
            {
            }
        }

        Assert.Equal(3, completed);
        Assert.Equal(3, listener.HandshakesRateLimited);
        clock.Advance(TimeSpan.FromSeconds(1));
        using var later = new TcpClient();
        await later.ConnectAsync(listener.Endpoint, TestContext.Current.CancellationToken);
        await using var admitted = await stack.ConnectAsync(later.GetStream(), "a", HandshakePolicy.ForNode(consortium.Trust(clock), "a"), TestContext.Current.CancellationToken);
        Assert.Equal("a", admitted.Peer.CommonName);
    }

    [Fact]
    public async Task A_peer_revoked_while_connected_is_cut_off_and_banned()
    {
        await using var cluster = (GrpcCluster)TestCluster.Create("gm", ["a", "b", "c"]);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        cluster.Trusts["a"].Update(cluster.Consortium.Validator(cluster.Consortium.Revoke(cluster.Identities["b"])));

        Assert.Equal(PeerState.Banned, cluster["a"].Peer("b").State);
        Assert.Contains("CERTIFICATE_REVOKED", cluster["a"].Peer("b").BanReason);
        Assert.True(await Wait.UntilAsync(() => !cluster["a"].Peer("b").InboundConnected && cluster["b"].Peer("a").State != PeerState.Connected));
        cluster["b"].TrySend("a", FrameKind.Consensus, new byte[] { 1 }, out _);
        Assert.Empty(await cluster["a"].DrainAsync(TimeSpan.FromMilliseconds(300)));
        Assert.True(cluster["c"].TrySend("a", FrameKind.Consensus, new byte[] { 2 }, out _));
        Assert.Equal("c", Assert.Single(await cluster["a"].ReceiveAsync(1)).Peer);
    }

    [Fact]
    public async Task A_peer_whose_certificate_expires_while_connected_is_cut_off_but_not_banned()
    {
        var clock = new ManualClock();
        await using var cluster = (GrpcCluster)TestCluster.Create("gm", ["a", "b"], clock: clock);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        clock.Advance(TimeSpan.FromDays(400));
        cluster.Node("a").RecheckCertificates();

        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").State != PeerState.Connected && !cluster["a"].Peer("b").InboundConnected));
        Assert.Contains("CERTIFICATE_EXPIRED", cluster["a"].Peer("b").LastError);
        Assert.Null(cluster["a"].Peer("b").BanReason);
        Assert.Empty(cluster.Node("a").Bans.Active);
    }
}

/// <summary>A TLS client with BouncyCastle's default, non-SM suites and groups, accepting any server certificate.</summary>
internal sealed class StandardSuitesClient() : DefaultTlsClient(new BcTlsCrypto(new SecureRandom()))
{
    public override TlsAuthentication GetAuthentication() => new AcceptAny();

    private sealed class AcceptAny : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
        }

        public TlsCredentials GetClientCredentials(Org.BouncyCastle.Tls.CertificateRequest certificateRequest) => null!;
    }
}
