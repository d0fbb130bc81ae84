using Custos.Core.Wire;
using Custos.Network.Wire;

namespace Custos.Network.Tests;

/// <summary>
/// What every <see cref="IPeerNetwork"/> must do, run against each transport by the derived classes: the in-memory
/// one and gRPC over gm and intl TLS on real loopback sockets.
/// </summary>
public abstract class PeerNetworkBehaviour
{
    protected abstract string Transport { get; }

    private TestCluster Cluster(string[] names, PeerNetworkOptions? options = null, ManualClock? clock = null) =>
        TestCluster.Create(Transport, names, options, clock);

    [Fact]
    public async Task Frames_sent_to_a_peer_arrive_in_order_with_kind_and_payload()
    {
        await using var cluster = Cluster(["a", "b"]);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();
        for (var i = 0; i < 50; i++)
        {
            Assert.True(cluster["a"].TrySend("b", i % 2 == 0 ? FrameKind.Consensus : FrameKind.TransactionBatch, BitConverter.GetBytes(i), out var error), error?.ToString());
        }

        var frames = await cluster["b"].ReceiveAsync(50);

        Assert.Equal(50, frames.Count);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal("a", frames[i].Peer);
            Assert.Equal(i % 2 == 0 ? FrameKind.Consensus : FrameKind.TransactionBatch, frames[i].Kind);
            Assert.Equal(i, BitConverter.ToInt32(frames[i].Payload.Span));
        }

        Assert.Equal(50, cluster["b"].Peer("a").FramesReceived);
        // The sender counts a frame once its write returns, which can be just after the receiver has read it.
        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").FramesSent == 50), $"{cluster["a"].Peer("b").FramesSent} frames counted as sent");
    }

    [Fact]
    public async Task A_node_admitted_while_running_is_refused_before_and_linked_after_its_peers_add_it()
    {
        var cluster = Cluster(["a", "b", "c"]);
        await using var _ = cluster;
        cluster.Late.Add("c");
        await cluster.RestartAsync("a");
        await cluster.RestartAsync("b");
        await cluster.RestartAsync("c");
        await cluster.WaitConnectedAsync("a", "b");
        Assert.False(cluster["a"].TrySend("c", FrameKind.Consensus, new byte[] { 1 }, out var error));
        Assert.NotNull(error);

        Assert.True(cluster["a"].AddPeer(cluster.EndpointOf("c")));
        Assert.True(cluster["b"].AddPeer(cluster.EndpointOf("c")));
        Assert.False(cluster["a"].AddPeer(cluster.EndpointOf("c")));
        Assert.False(cluster["a"].AddPeer(cluster.EndpointOf("a")));
        await cluster.WaitConnectedAsync();

        Assert.True(cluster["c"].TrySend("a", FrameKind.Consensus, new byte[] { 7 }, out error), error?.ToString());
        Assert.Equal(2, cluster["a"].Broadcast(FrameKind.Consensus, new byte[] { 9 }));
        var atA = await cluster["a"].ReceiveAsync(1);
        Assert.Equal("c", Assert.Single(atA).Peer);
        var atC = await cluster["c"].ReceiveAsync(1);
        Assert.Equal(9, Assert.Single(atC).Payload.Span[0]);
    }

    [Fact]
    public async Task Each_of_four_nodes_receives_every_other_nodes_broadcast_once()
    {
        string[] names = ["a", "b", "c", "d"];
        await using var cluster = Cluster(names);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        foreach (var name in names) Assert.Equal(3, cluster[name].Broadcast(FrameKind.Consensus, System.Text.Encoding.ASCII.GetBytes($"vote from {name}")));

        foreach (var name in names)
        {
            var frames = await cluster[name].ReceiveAsync(3);
            Assert.Equal(names.Where(n => n != name).Order(), frames.Select(f => f.Peer).Order());
            Assert.All(frames, f => Assert.Equal($"vote from {f.Peer}", System.Text.Encoding.ASCII.GetString(f.Payload.Span)));
            Assert.Empty(await cluster[name].DrainAsync(TimeSpan.FromMilliseconds(200)));
        }
    }

    [Fact]
    public async Task A_frame_over_the_size_limit_gets_its_sender_banned_while_the_node_keeps_serving_others()
    {
        var options = TestCluster.FastOptions with { FrameSizeBytesLimit = 64 * 1024 };
        await using var cluster = Cluster(["a", "b", "c"], options);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        await cluster.InjectAsync("b", "a", FrameKind.SyncResponse, new byte[100 * 1024]);

        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").State == PeerState.Banned));
        Assert.Contains("TOO_LARGE", cluster["a"].Peer("b").BanReason);
        Assert.True(await Wait.UntilAsync(() => !cluster["a"].Peer("b").InboundConnected));
        Assert.True(cluster["c"].TrySend("a", FrameKind.Consensus, new byte[64 * 1024], out _));
        var frames = await cluster["a"].ReceiveAsync(1);
        Assert.Equal("c", Assert.Single(frames).Peer);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(99)]
    public async Task A_frame_of_no_known_kind_gets_its_sender_banned(int kind)
    {
        await using var cluster = Cluster(["a", "b"]);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        await cluster.InjectAsync("b", "a", (FrameKind)kind, [1, 2, 3]);

        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").State == PeerState.Banned));
        Assert.Contains("MALFORMED", cluster["a"].Peer("b").BanReason);
        Assert.Empty(await cluster["a"].DrainAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Frames_over_a_peers_rate_are_dropped_and_counted_until_the_bucket_refills()
    {
        // The clock stands still, so the bucket holds exactly its burst until the test moves time on.
        var clock = new ManualClock();
        var options = TestCluster.FastOptions with { FramesPerSecondPerPeer = 10, FrameBurstPerPeer = 20, FloodDropsPerSecondBeforeBan = 0 };
        await using var cluster = Cluster(["a", "b"], options, clock);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        for (var i = 0; i < 100; i++) Assert.True(cluster["b"].TrySend("a", FrameKind.Consensus, BitConverter.GetBytes(i), out _));
        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").FramesReceived + cluster["a"].Peer("b").FramesDropped == 100));

        var first = await cluster["a"].DrainAsync(TimeSpan.FromMilliseconds(200));
        Assert.Equal(Enumerable.Range(0, 20), first.Select(f => BitConverter.ToInt32(f.Payload.Span)));
        Assert.Equal(80, cluster["a"].Peer("b").FramesDropped);

        clock.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 30; i++) Assert.True(cluster["b"].TrySend("a", FrameKind.Consensus, BitConverter.GetBytes(i), out _));
        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").FramesReceived + cluster["a"].Peer("b").FramesDropped == 130));
        Assert.Equal(10, (await cluster["a"].DrainAsync(TimeSpan.FromMilliseconds(200))).Count);
        Assert.Equal(PeerState.Connected, cluster["a"].Peer("b").State);
    }

    [Fact]
    public async Task A_peer_flooding_past_its_rate_is_banned()
    {
        var clock = new ManualClock();
        var options = TestCluster.FastOptions with { FramesPerSecondPerPeer = 10, FrameBurstPerPeer = 10, FloodDropsPerSecondBeforeBan = 30 };
        await using var cluster = Cluster(["a", "b"], options, clock);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        for (var i = 0; i < 100; i++) cluster["b"].TrySend("a", FrameKind.Consensus, new byte[] { 1 }, out _);

        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").State == PeerState.Banned), cluster.Describe(["a"]));
        Assert.Contains("LIMIT_EXCEEDED", cluster["a"].Peer("b").BanReason);
    }

    [Fact]
    public async Task A_reported_peer_is_cut_off_and_readmitted_when_its_ban_expires()
    {
        var clock = new ManualClock();
        var options = TestCluster.FastOptions with { BanDuration = TimeSpan.FromMinutes(5) };
        await using var cluster = Cluster(["a", "b"], options, clock);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        cluster["a"].ReportMisbehaviour("b", "vote with a bad signature");

        Assert.Equal(PeerState.Banned, cluster["a"].Peer("b").State);
        Assert.Contains("bad signature", cluster["a"].Peer("b").BanReason);
        Assert.True(await Wait.UntilAsync(() => !cluster["a"].Peer("b").InboundConnected && cluster["b"].Peer("a").State != PeerState.Connected));
        Assert.False(cluster["a"].TrySend("b", FrameKind.Consensus, new byte[] { 1 }, out var refused));
        Assert.Equal(ErrorCode.NotAuthorised, refused.Code);
        cluster["b"].TrySend("a", FrameKind.Consensus, new byte[] { 2 }, out _);
        Assert.Empty(await cluster["a"].DrainAsync(TimeSpan.FromMilliseconds(500)));

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        await cluster.WaitConnectedAsync();
        Assert.True(cluster["b"].TrySend("a", FrameKind.Consensus, new byte[] { 3 }, out _));
        var frames = await cluster["a"].ReceiveAsync(2, TimeSpan.FromSeconds(5));
        Assert.Equal(3, frames[^1].Payload.Span[0]);
    }

    [Fact]
    public async Task A_restarted_peer_is_reconnected_and_frames_flow_again()
    {
        await using var cluster = Cluster(["a", "b", "c"]);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();

        await cluster.StopAsync("b");
        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").State != PeerState.Connected && !cluster["a"].Peer("b").InboundConnected));
        await cluster.RestartAsync("b");
        await cluster.WaitConnectedAsync();

        Assert.True(cluster["a"].TrySend("b", FrameKind.SyncRequest, new byte[] { 7 }, out _));
        Assert.True(cluster["b"].TrySend("a", FrameKind.SyncResponse, new byte[] { 8 }, out _));
        Assert.Equal(7, Assert.Single(await cluster["b"].ReceiveAsync(1)).Payload.Span[0]);
        Assert.Equal(8, Assert.Single(await cluster["a"].ReceiveAsync(1)).Payload.Span[0]);
        Assert.True(cluster["a"].Peer("b").ConnectAttempts >= 2);
    }

    [Fact]
    public async Task TrySend_refuses_unknown_peers_unknown_kinds_oversize_payloads_and_full_queues_with_typed_errors()
    {
        var options = TestCluster.FastOptions with { FrameSizeBytesLimit = 1024, SendQueueFramesMax = 3, SendQueueBytesMax = 4096 };
        await using var cluster = Cluster(["a", "b"], options);
        var a = cluster["a"];

        Assert.False(a.TrySend("nobody", FrameKind.Consensus, new byte[] { 1 }, out var unknown));
        Assert.Equal(ErrorCode.NotFound, unknown.Code);
        Assert.False(a.TrySend("b", FrameKind.Unspecified, new byte[] { 1 }, out var kind));
        Assert.Equal(ErrorCode.InvalidField, kind.Code);
        Assert.False(a.TrySend("b", FrameKind.Consensus, new byte[1025], out var large));
        Assert.Equal(ErrorCode.TooLarge, large.Code);

        // Not started: frames wait in the queue, which is bounded.
        for (var i = 0; i < 3; i++) Assert.True(a.TrySend("b", FrameKind.Consensus, new byte[] { 1 }, out _));
        Assert.False(a.TrySend("b", FrameKind.Consensus, new byte[] { 1 }, out var full));
        Assert.Equal(ErrorCode.LimitExceeded, full.Code);
        Assert.Equal(1, a.Peer("b").SendQueueRejections);
    }
}

public sealed class InMemoryPeerNetworkTests : PeerNetworkBehaviour
{
    protected override string Transport => "memory";

    [Fact]
    public async Task A_node_missing_from_the_receivers_peer_list_gets_no_link()
    {
        var fabric = new InMemory.InMemoryPeerFabric();
        await using var a = new InMemory.InMemoryPeerNetwork(fabric, "a", ["b"]);
        await using var intruder = new InMemory.InMemoryPeerNetwork(fabric, "x", ["a"]);
        await a.StartAsync(TestContext.Current.CancellationToken);
        await intruder.StartAsync(TestContext.Current.CancellationToken);

        Assert.True(intruder.TrySend("a", FrameKind.Consensus, new byte[] { 1 }, out _));

        Assert.Empty(await a.DrainAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(PeerState.Disconnected, intruder.Peer("a").State);
        Assert.Equal(1, intruder.Peer("a").SendQueueFrames);
    }
}

public sealed class GmTlsPeerNetworkTests : PeerNetworkBehaviour
{
    protected override string Transport => "gm";
}

public sealed class IntlTlsPeerNetworkTests : PeerNetworkBehaviour
{
    protected override string Transport => "intl";
}
