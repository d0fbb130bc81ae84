using Custos.Api;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Identity;
using Custos.Network;
using Custos.Network.Tls;
using Custos.Network.Wire;
using Custos.Node;
using Google.Protobuf;
using System.Buffers.Binary;

namespace Custos.IntegrationTests;

/// <summary>
/// One running network (4 validators and the supervisor node) for the bad-input tests. node4 is stopped, so that the
/// tests can speak with its real identity (its certificate and key from the network directory) as a legitimate peer
/// that misbehaves; the other three validators keep the quorum.
/// </summary>
public sealed class BadInputNetwork : IAsyncLifetime
{
    internal LocalNetwork Network { get; private set; } = null!;

    internal TlsIdentity Node4 { get; private set; } = null!;

    internal TrustStore Trust { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Network = await LocalNetwork.StartAsync(new LocalNetworkOptions { Name = "bad-input", BasePort = 30500, Observers = 1 }, TestContext.Current.CancellationToken);
        await Network.StopNodeAsync("node4");
        Node4 = RawPeerLink.NodeIdentity(Network.Directory.ConfigPath("node4"), Network.Suite);
        Trust = new TrustStore(Network.Chain.Genesis.CreateValidator());
    }

    internal (string Host, int Port) P2pEndpoint(string node)
    {
        var address = NodeConfigurationFile.Load(Network.Directory.ConfigPath(node)).P2pListen;
        var endpoint = System.Net.IPEndPoint.Parse(address);
        return (endpoint.Address.ToString(), endpoint.Port);
    }

    /// <summary>Dials <paramref name="node"/>'s P2P port as <paramref name="identity"/>; null when the node refuses the link.</summary>
    internal async Task<RawPeerLink?> DialAsync(TlsIdentity identity, string node)
    {
        var (host, port) = P2pEndpoint(node);
        return await RawPeerLink.TryOpenAsync(Network.Suite, identity, Trust, node, host, port);
    }

    /// <summary>Redials as node4 until <paramref name="node"/> refuses the link (a ban refuses it in the handshake); false if it never does.</summary>
    internal async Task<bool> RefusesNode4WithinAsync(string node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var link = await DialAsync(Node4, node);
            if (link is null) return true;
            await link.DisposeAsync();
            await Task.Delay(500, cancellationToken);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        Node4?.Key.Dispose();
        if (Network is not null) await Network.DisposeAsync();
    }
}

/// <summary>
/// Bad input from peers and clients: refused at the boundary that owns it (TLS handshake, peer link, mempool
/// admission), the sending peer banned where it is a peer, and the network committing throughout.
/// </summary>
public sealed class BadInputTests(BadInputNetwork fixture) : IClassFixture<BadInputNetwork>
{
    /// <summary>A protobuf field that announces 127 bytes and carries three: no decoder of any frame kind accepts it.</summary>
    private static readonly byte[] Undecodable = [0x0A, 0x7F, 0x01, 0x02, 0x03];

    private static readonly TimeSpan BanPatience = TimeSpan.FromSeconds(15);

    [Fact(Timeout = 240_000)]
    public async Task Bad_input_is_refused_and_the_node_keeps_running()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var network = fixture.Network;
        string[] running = ["node1", "node2", "node3", "supervisor1"];
        var output = TestContext.Current.TestOutputHelper;
        await network.ExplainFailuresAsync(async () =>
        {
            var start = await network.HeightsAsync(running, cancellationToken);

            // (a) A node certificate named node4 but issued by a CA outside the consortium: refused in the handshake,
            // while node4's real certificate is admitted.
            var suite = network.Suite;
            using var foreignCaKey = suite.GenerateKey();
            var foreignCa = CertificateAuthority.CreateRoot("org1", foreignCaKey, suite, TimeSpan.FromDays(30));
            using var impostorKey = suite.GenerateKey();
            var impostor = new TlsIdentity(foreignCa.Issue(new CertificateRequest("node4", CertificateRole.Node, impostorKey.PublicKey)
            {
                DnsNames = ["node4", "localhost"],
                IpAddresses = ["127.0.0.1"],
            }), impostorKey);
            Assert.Null(await fixture.DialAsync(impostor, "node1"));
            var genuine = await fixture.DialAsync(fixture.Node4, "node1");
            Assert.NotNull(genuine);
            await genuine.DisposeAsync();
            output?.WriteLine("(a) a node certificate from an unknown CA was refused in the handshake; node4's own was admitted");

            // (b) Malformed frames from a legitimate peer: each gets node4 banned by the node it reached, which then
            // refuses node4's handshakes; a different node for each, since a ban lasts ten minutes.
            await AssertBannedAfterAsync("node1", RawPeerLink.Frame(FrameKind.TransactionBatch, Undecodable), "an undecodable transaction batch", expectLogLine: true);
            await AssertBannedAfterAsync("node2", RawPeerLink.Frame(FrameKind.CompactProposal, Undecodable), "an undecodable compact proposal", expectLogLine: true);
            var oversize = RawPeerLink.Frame(FrameKind.TransactionBatch, new byte[NetworkLimits.FrameSizeBytesMax + 1]);
            await AssertBannedAfterAsync("node3", oversize, $"a frame of {oversize.Length} bytes (limit {NetworkLimits.FrameSizeBytesMax} + envelope)", expectLogLine: false);

            // (c) A replayed transfer: refused with DUPLICATE_TRANSACTION by every node once committed, and the
            // balances moved once.
            var sender = network.User(LocalNetwork.Sender);
            var receiver = network.User("client1@org2");
            var reader = network.Client("node3");
            var senderBefore = await BalanceAsync(reader, sender.Account, cancellationToken);
            var receiverBefore = await BalanceAsync(reader, receiver.Account, cancellationToken);
            var height = await network.HeightAsync("node1", cancellationToken);
            var transfer = sender.Signer.Transfer(receiver.Account, 7, height + 500);
            Assert.Equal(ErrorCode.Ok, (await network.Client("node1").SubmitAsync([transfer], cancellationToken)).Single().Code);
            var committed = await network.Client("node1").WaitForCommitAsync(transfer.Id, TimeSpan.FromSeconds(60), cancellationToken);
            Assert.Equal(TransactionState.Committed, committed.State);
            Assert.Equal(ErrorCode.Ok, committed.Receipt.Code);
            Assert.True(await network.WaitForHeightsAsync(running, h => h.Values.All(v => v >= committed.Height), TimeSpan.FromSeconds(60), cancellationToken),
                $"not every node reached height {committed.Height}");

            // The commit stream names the same transactions with receipts or, asked for ids only, without them.
            var withReceipts = await FirstNoticeAsync(network.Client("node1").StreamCommitsAsync(committed.Height, cancellationToken));
            var idsOnly = await FirstNoticeAsync(network.Client("node1").StreamCommittedIdsAsync(committed.Height, cancellationToken));
            Assert.Equal(committed.Height, idsOnly.Height);
            Assert.Equal(withReceipts.BlockHash, idsOnly.BlockHash);
            Assert.Empty(idsOnly.Receipts);
            Assert.Empty(withReceipts.TransactionIds);
            Assert.Equal(withReceipts.Receipts.Select(r => r.TransactionId), idsOnly.TransactionIds);
            Assert.Contains(idsOnly.TransactionIds, id => new Hash32(id.Span) == transfer.Id);
            foreach (var node in running)
            {
                var replay = (await network.Client(node).SubmitAsync([transfer], cancellationToken)).Single();
                Assert.True(replay.Code == ErrorCode.DuplicateTransaction, $"{node} answered the replay with {replay.Code} {replay.Message}");
            }

            // (d) A transfer whose signature was altered after signing: refused at admission with SIGNATURE_INVALID.
            var genuineTransfer = sender.Signer.Transfer(receiver.Account, 5, height + 500);
            var envelope = TransactionEnvelope.Parser.ParseFrom(genuineTransfer.Envelope);
            var signature = envelope.Signature.ToByteArray();
            signature[signature.Length / 2] ^= 0x01;
            envelope.Signature = ByteString.CopyFrom(signature);
            var forged = (await network.Client("node2").SubmitAsync([new Sdk.SignedTransaction(envelope.ToByteArray(), genuineTransfer.Id)], cancellationToken)).Single();
            Assert.True(forged.Code == ErrorCode.SignatureInvalid, $"the forged transfer was answered with {forged.Code} {forged.Message}");
            Assert.Equal(TransactionState.Unknown, (await network.TransactionAsync("node2", genuineTransfer.Id, cancellationToken)).State);

            // The network still commits a fresh transfer, every node that runs keeps up, and no node halted.
            var fresh = sender.Signer.Transfer(receiver.Account, 1, height + 500);
            Assert.Equal(ErrorCode.Ok, (await network.Client("node2").SubmitAsync([fresh], cancellationToken)).Single().Code);
            var freshStatus = await network.Client("node2").WaitForCommitAsync(fresh.Id, TimeSpan.FromSeconds(60), cancellationToken);
            Assert.Equal(TransactionState.Committed, freshStatus.State);
            Assert.True(await network.WaitForHeightsAsync(running, h => h.Values.All(v => v >= freshStatus.Height + 1), TimeSpan.FromSeconds(60), cancellationToken),
                $"not every running node reached height {freshStatus.Height + 1}");
            foreach (var node in running) Assert.False(network[node].HasExited, $"{node} exited");
            network.AssertNoNodeHalted();

            // Balances: the replayed transfer moved 7 once, the forged one nothing, the fresh one 1.
            Assert.Equal(senderBefore - 8, await BalanceAsync(reader, sender.Account, cancellationToken));
            Assert.Equal(receiverBefore + 8, await BalanceAsync(reader, receiver.Account, cancellationToken));
            var end = await network.HeightsAsync(running, cancellationToken);
            output?.WriteLine($"heights {string.Join(", ", start.Select(p => $"{p.Key} {p.Value}"))} -> {string.Join(", ", end.Select(p => $"{p.Key} {p.Value}"))}");
        });
    }

    private static async Task<CommitNotice> FirstNoticeAsync(IAsyncEnumerable<CommitNotice> notices)
    {
        await foreach (var notice in notices) return notice;
        throw new InvalidOperationException("the commit stream ended without a notice");
    }

    [Fact(Timeout = 120_000)]
    public async Task Undecodable_consensus_message_gets_its_sender_banned()
    {
        var network = fixture.Network;
        await network.ExplainFailuresAsync(async () =>
        {
            var link = await fixture.DialAsync(fixture.Node4, "supervisor1");
            Assert.True(link is not null, "supervisor1 did not admit node4 before the consensus message was sent");
            await using (link)
            {
                Assert.True(await link.TrySendAsync(RawPeerLink.Frame(FrameKind.Consensus, Undecodable)), "the link was cut before the message went out");
                if (!await fixture.RefusesNode4WithinAsync("supervisor1", BanPatience, TestContext.Current.CancellationToken))
                {
                    // The node's own word that the message arrived and was refused, as evidence in the skip reason.
                    var refused = LocalNode.LogLines(network.LogPath("supervisor1")).LastOrDefault(l => l.Contains("\"event\":\"consensus-refused\"", StringComparison.Ordinal)
                        && l.Contains("\"from\":\"node4\"", StringComparison.Ordinal));
                    Assert.Fail($"{KnownNodeDefects.ConsensusGarbageNotBanned}. supervisor1 logged: {refused ?? "nothing"}");
                }
            }

            Assert.True(await network.WaitForHeightsAsync(["node1", "supervisor1"], h => h["supervisor1"] >= h["node1"], TimeSpan.FromSeconds(30),
                TestContext.Current.CancellationToken), "supervisor1 stopped following the chain");
        });
    }

    /// <summary>Sends one bad message as node4 on a link <paramref name="node"/> admitted, then expects node4 banned there.</summary>
    private async Task AssertBannedAfterAsync(string node, byte[] message, string what, bool expectLogLine)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var link = await fixture.DialAsync(fixture.Node4, node);
        Assert.True(link is not null, $"{node} did not admit node4 before {what} was sent");
        await using (link)
        {
            await link.TrySendAsync(message);
            Assert.True(await fixture.RefusesNode4WithinAsync(node, BanPatience, cancellationToken), $"{node} still admits node4 {BanPatience.TotalSeconds:0} s after {what}");
        }

        if (expectLogLine)
        {
            var logged = LocalNode.LogLines(fixture.Network.LogPath(node)).Any(l => l.Contains("\"event\":\"peer-misbehaved\"", StringComparison.Ordinal)
                && l.Contains("\"peer\":\"node4\"", StringComparison.Ordinal));
            Assert.True(logged, $"{node} banned node4 for {what} but did not log peer-misbehaved");
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"(b) {node} banned node4 after {what}");
    }

    private static async Task<ulong> BalanceAsync(Sdk.CustosClient client, AccountId account, CancellationToken cancellationToken)
    {
        var state = await client.ReadVerifiedStateAsync(TokenContract.BalanceKey(account), cancellationToken: cancellationToken);
        return state.Value is null ? 0 : BinaryPrimitives.ReadUInt64BigEndian(state.Value);
    }
}
