using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;
using static Custos.Supervision.Tests.Chain;

namespace Custos.Supervision.Tests;

public sealed class SupervisionMonitorTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    /// <summary>Block 0 (genesis, no payments) then the seeded chain of the engine tests.</summary>
    private static List<CommittedBlock> Blocks(int count, int seed = 7) => [Block(0, 1_000_000), .. SupervisionEngineTests.RandomChain(seed, count)];

    private static List<Alert> Uninterrupted(IReadOnlyList<CommittedBlock> blocks, Func<ulong, IReadOnlyList<SupervisionRule>> rulesAt)
    {
        var engine = new SupervisionEngine(Hash);
        return blocks.SelectMany(b => engine.Evaluate(b, rulesAt(b.Height))).ToList();
    }

    private SupervisionMonitor Monitor(ICommittedBlocks chain, AlertStore store, Func<ulong, IReadOnlyList<SupervisionRule>> rulesAt, AlertFeed? feed = null) =>
        new(chain, rulesAt, store, Hash, feed);

    [Fact]
    public void Every_committed_block_is_evaluated_stored_and_published()
    {
        var blocks = Blocks(200);
        var rules = SupervisionEngineTests.MixedRules();
        var feed = new AlertFeed();
        using var subscription = feed.Subscribe();
        using var store = AlertStore.Open(_directory.Path);
        var monitor = Monitor(new MemoryChain(blocks), store, _ => rules, feed);

        var raised = monitor.CatchUp(TestContext.Current.CancellationToken);

        var expected = Uninterrupted(blocks, _ => rules);
        Assert.True(expected.Count > 10);
        Assert.Equal(expected.Count, raised);
        Assert.Equal(201UL, store.NextHeight);
        Assert.Equal(expected, store.Query(0, limit: AlertStore.PageSizeMax).Alerts);
        var published = new List<Alert>();
        while (subscription.Reader.TryRead(out var alert)) published.Add(alert);
        Assert.Equal(expected, published);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(150)]
    [InlineData(211)]
    public void Restart_after_a_crash_gives_the_alerts_of_an_uninterrupted_run_without_duplicates(int crashAt)
    {
        // The windows (10 and 20 blocks, 8 s of block time) and the velocity rules' quiet periods span the crash,
        // so they must be rebuilt exactly for the alerts after it to match.
        var blocks = Blocks(300);
        var rules = SupervisionEngineTests.MixedRules();
        var chain = new MemoryChain(blocks) { FailAt = (ulong)crashAt };

        using (var store = AlertStore.Open(_directory.Path))
        {
            Assert.Throws<CustosException>(() => Monitor(chain, store, _ => rules).CatchUp(TestContext.Current.CancellationToken));
        }

        chain.FailAt = null;
        using var reopened = AlertStore.Open(_directory.Path);
        var resumeAt = reopened.NextHeight;
        var monitor = Monitor(chain, reopened, _ => rules);
        monitor.CatchUp(TestContext.Current.CancellationToken);

        var expected = Uninterrupted(blocks, _ => rules);
        var stored = reopened.Query(0, limit: AlertStore.PageSizeMax).Alerts;
        Assert.Equal(expected.Select(a => a.ToByteString()), stored.Select(a => a.ToByteString()));
        Assert.Equal(stored.Count, stored.Select(a => a.Id).Distinct().Count());
        Assert.True(resumeAt <= (ulong)crashAt, $"resumed at {resumeAt}, after the block that was never read");
        if (resumeAt > 1) Assert.True(monitor.BlocksReplayed > 0, "the windows were not rebuilt");
    }

    [Fact]
    public void Restart_replays_only_the_blocks_the_windows_reach()
    {
        var blocks = Blocks(100);
        var rules = new List<SupervisionRule> { Velocity("fast", count: 3, windowBlocks: 10) };
        var chain = new MemoryChain(blocks);
        using (var store = AlertStore.Open(_directory.Path)) Monitor(chain, store, _ => rules).CatchUp(TestContext.Current.CancellationToken);

        using var reopened = AlertStore.Open(_directory.Path);
        var monitor = Monitor(chain, reopened, _ => rules);
        monitor.Recover();

        Assert.Equal(10, monitor.BlocksReplayed);
    }

    [Fact]
    public void Restart_with_only_time_windows_replays_back_to_the_window_in_block_time()
    {
        // Blocks one second apart and a window of 5.5 s: blocks 95 to 100 are in it as seen from block 100.
        var blocks = Enumerable.Range(0, 101).Select(h => At((ulong)h, Pay((ulong)h, 1, 2, 1))).ToList();
        var rules = new List<SupervisionRule> { Velocity("fast", count: 1_000, windowMs: 5_500) };
        var chain = new MemoryChain(blocks);
        using (var store = AlertStore.Open(_directory.Path)) Monitor(chain, store, _ => rules).CatchUp(TestContext.Current.CancellationToken);

        using var reopened = AlertStore.Open(_directory.Path);
        var monitor = Monitor(chain, reopened, _ => rules);
        monitor.Recover();

        Assert.Equal(6, monitor.BlocksReplayed);
        Assert.Equal(6, monitor.Engine.RetainedPayments);
    }

    [Fact]
    public void Rules_are_those_in_force_at_each_block()
    {
        var blocks = Enumerable.Range(0, 20).Select(h => At((ulong)h, Pay((ulong)h, 1, 2, 1_000))).ToList();
        var rule = LargeValue("large", 1_000);
        rule.EffectiveHeight = 10;
        using var store = AlertStore.Open(_directory.Path);

        Monitor(new MemoryChain(blocks), store, h => h >= 10 ? [rule] : []).CatchUp(TestContext.Current.CancellationToken);

        Assert.Equal(Enumerable.Range(10, 10).Select(h => (ulong)h), store.Query(0).Alerts.Select(a => a.Height));
    }

    [Fact]
    public void Missing_committed_block_stops_supervision_rather_than_skip_it()
    {
        var chain = new MemoryChain(Blocks(10));
        chain.Missing.Add(5);
        using var store = AlertStore.Open(_directory.Path);

        var error = Assert.Throws<CustosException>(() => Monitor(chain, store, _ => SupervisionEngineTests.MixedRules()).CatchUp(TestContext.Current.CancellationToken));

        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Equal(5UL, store.NextHeight);
    }

    [Fact]
    public async Task Running_monitor_follows_new_blocks()
    {
        var chain = new MemoryChain([Block(0, 0)]);
        using var store = AlertStore.Open(_directory.Path);
        var feed = new AlertFeed();
        using var subscription = feed.Subscribe();
        var monitor = Monitor(chain, store, _ => [LargeValue("large", 100)], feed);
        using var stop = new CancellationTokenSource();
        var running = monitor.RunAsync(stop.Token);

        chain.Append(At(1, Pay(1, 1, 2, 50)));
        chain.Append(At(2, Pay(2, 1, 2, 500)));
        var alert = await subscription.Reader.ReadAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2UL, alert.Height);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Assert.Equal(3UL, store.NextHeight);
    }
}
