using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;

namespace Custos.Supervision;

/// <summary>The committed chain as the monitor reads it (the node adapts its block store and commit feed).</summary>
public interface ICommittedBlocks
{
    /// <summary>The highest committed (durable) height, or null before the first block.</summary>
    ulong? Head { get; }

    /// <summary>The block at <paramref name="height"/> with its successful payments, or null if the node does not have it (pruned).</summary>
    CommittedBlock? Load(ulong height);

    /// <summary>Completes when the block at <paramref name="height"/> (or a later one) is committed; at once if it is.</summary>
    Task WaitForAsync(ulong height, CancellationToken cancellationToken);
}

/// <summary>
/// The supervisor node's alert pipeline: for each committed block in height order it evaluates the rules in force
/// (<see cref="SupervisionEngine"/>), persists the alerts (<see cref="AlertStore"/>, fsync), then publishes them to
/// live streams (<see cref="AlertFeed"/>) and queues them for the webhook (<see cref="AlertWebhook"/>), neither of
/// which can make it wait. It reads blocks from storage on its own task, so it never holds up consensus, and it
/// resumes where the store's progress says after a restart.
///
/// Restart: <see cref="Recover"/> rebuilds the engine's windows by replaying, without evaluating, the blocks below
/// <see cref="AlertStore.NextHeight"/> that a stored window rule can still reach (walking back by height and block
/// time), and its memory of window alerts from the stored alerts. The blocks are re-read rather than the windows
/// persisted: the chain is already durable, and the result is exactly the state a node that never stopped holds.
/// If the node no longer has an old block (pruned), the replay stops there and windows start from the blocks it has.
///
/// <paramref name="rulesAt"/> returns the rules stored in the state committed with the given block (read at that
/// version, so that a node catching up applies the rules each block was committed under).
/// </summary>
public sealed class SupervisionMonitor(
    ICommittedBlocks blocks,
    Func<ulong, IReadOnlyList<SupervisionRule>> rulesAt,
    AlertStore store,
    IHashFunction hash,
    AlertFeed? feed = null,
    AlertWebhook? webhook = null)
{
    private readonly SupervisionEngine _engine = new(hash);
    private readonly Lock _gate = new();
    private bool _recovered;
    private long _alertsRaised;

    public SupervisionEngine Engine => _engine;

    /// <summary>Blocks below this height have been evaluated.</summary>
    public ulong NextHeight => store.NextHeight;

    public long AlertsRaised => Interlocked.Read(ref _alertsRaised);

    /// <summary>Blocks replayed into the windows by <see cref="Recover"/>.</summary>
    public int BlocksReplayed { get; private set; }

    /// <summary>Rebuilds the engine's state from the chain and the store. Idempotent; <see cref="CatchUp"/> calls it first.</summary>
    public void Recover()
    {
        lock (_gate)
        {
            if (_recovered) return;
            foreach (var alert in store.Snapshot()) _engine.Remember(alert);
            var next = store.NextHeight;
            if (next > 0)
            {
                var replay = BlocksStillInWindows(next - 1);
                foreach (var block in replay) _engine.Warm(block);
                BlocksReplayed = replay.Count;
            }

            _recovered = true;
        }
    }

    /// <summary>
    /// Evaluates every committed block from <see cref="NextHeight"/> to the head, then makes the progress durable.
    /// Returns the number of alerts raised. A block the node lacks below its head is <see cref="ErrorCode.NotFound"/>.
    /// </summary>
    public int CatchUp(CancellationToken cancellationToken = default)
    {
        Recover();
        lock (_gate)
        {
            var raised = 0;
            while (blocks.Head is { } head && store.NextHeight <= head)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var height = store.NextHeight;
                var block = blocks.Load(height) ?? throw new CustosException(ErrorCode.NotFound, $"committed block {height} is not available to supervision");
                if (block.Height != height) throw new CustosException(ErrorCode.StorageCorrupt, $"asked for block {height}, got {block.Height}");
                var alerts = _engine.Evaluate(block, rulesAt(height));
                store.Persist(height, alerts);
                if (alerts.Count > 0)
                {
                    raised += alerts.Count;
                    Interlocked.Add(ref _alertsRaised, alerts.Count);
                    feed?.Publish(alerts);
                    webhook?.Enqueue(alerts);
                }
            }

            store.Checkpoint();
            return raised;
        }
    }

    /// <summary>Catches up, then follows the chain until cancelled. Run it on its own task.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        while (!cancellationToken.IsCancellationRequested)
        {
            CatchUp(cancellationToken);
            await blocks.WaitForAsync(store.NextHeight, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The blocks up to <paramref name="last"/> that a window rule stored at <paramref name="last"/> still reaches,
    /// oldest first. Rules stored later count only payments from their own effective height on, so they need none.
    /// </summary>
    private List<CommittedBlock> BlocksStillInWindows(ulong last)
    {
        var replay = new List<CommittedBlock>();
        var windowRules = SupervisionEngine.WindowRules(rulesAt(last));
        if (windowRules.Count == 0) return replay;
        if (blocks.Load(last) is not { } newest) return replay;
        replay.Add(newest);
        for (var height = last; height > 0;)
        {
            height--;
            if (blocks.Load(height) is not { } block) break;
            if (!windowRules.Any(rule => Windows.Reaches(rule, block.Height, block.TimestampMs, newest.Height, newest.TimestampMs))) break;
            replay.Add(block);
        }

        replay.Reverse();
        return replay;
    }
}
