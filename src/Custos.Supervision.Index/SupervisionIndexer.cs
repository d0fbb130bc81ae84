using System.Diagnostics;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Supervision.Index;

/// <summary>
/// Keeps the SQL index level with the chain: on start it checks that the index was built from this chain (the
/// block it last indexed has the hash the chain has at that height), catches up from the next height in batches,
/// then follows, woken by <see cref="OnCommitted"/> or, failing that, every poll interval. A database outage is
/// waited out with a bounded, doubling pause; an index of another chain, or a corrupt source, stops it with a
/// typed error.
/// <para>Threading: <see cref="RunAsync"/> runs one loop; <see cref="OnCommitted"/> may be called from any thread.</para>
/// </summary>
public sealed class SupervisionIndexer
{
    private readonly ICommittedBlockSource _source;
    private readonly SupervisionIndexWriter _writer;
    private readonly IIndexLog _log;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _committed = new(0, 1);
    private IndexProgress? _progress;
    private bool _resumed;
    private long _lastProgressLog;

    public SupervisionIndexer(ICommittedBlockSource source, SupervisionIndexWriter writer, IIndexLog? log = null, TimeProvider? clock = null)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _writer = writer ?? throw new ArgumentNullException(nameof(writer));
        _log = log ?? NullIndexLog.Instance;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The last height known to be indexed (null before the first, or before the index was read).</summary>
    public IndexProgress? Progress => Volatile.Read(ref _progress);

    /// <summary>Tells the indexer a block was committed, so that it does not wait for its next poll.</summary>
    public void OnCommitted(ulong height)
    {
        // At most one pending wake-up: the loop reads the head itself, so wake-ups need not be counted.
        lock (_committed)
        {
            if (_committed.CurrentCount == 0) _committed.Release();
        }
    }

    /// <summary>
    /// Indexes until cancelled (then returns). Throws <see cref="CustosException"/> when the index cannot go on:
    /// <see cref="ErrorCode.WrongChain"/> (built from another chain or ahead of this one), a corrupt source, or a
    /// schema this code does not know.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var retryDelay = TimeSpan.Zero;
        _log.Info("supervision-index-started", ("target", _writer.Options.ToString()));
        try
        {
            while (true)
            {
                try
                {
                    await CatchUpAsync(cancellationToken);
                    retryDelay = TimeSpan.Zero;
                    await _committed.WaitAsync(_writer.Options.PollInterval, cancellationToken);
                }
                catch (CustosException e) when (e.Code == ErrorCode.StorageIo && !cancellationToken.IsCancellationRequested)
                {
                    // The outcome of the last write may be unknown (a commit whose reply was lost): resuming reads the
                    // progress row again, which settles it.
                    _resumed = false;
                    retryDelay = retryDelay == TimeSpan.Zero
                        ? TimeSpan.FromMilliseconds(Math.Min(250, _writer.Options.RetryDelayMax.TotalMilliseconds))
                        : TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, _writer.Options.RetryDelayMax.Ticks));
                    _log.Warn("supervision-index-retry", ("reason", e.Error.Message), ("retry_in_ms", (long)retryDelay.TotalMilliseconds));
                    await Task.Delay(retryDelay, _clock, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _log.Info("supervision-index-stopped", ("height", Progress?.Height));
        }
        catch (CustosException e)
        {
            _log.Error("supervision-index-halted", ("code", ErrorCodes.Name(e.Code)), ("reason", e.Error.Message));
            throw;
        }
    }

    /// <summary>
    /// Indexes every block up to the source's current head (resuming first if needed) and returns the progress.
    /// Errors propagate as they are; <see cref="RunAsync"/> is the loop that retries.
    /// </summary>
    public async Task<IndexProgress?> CatchUpAsync(CancellationToken cancellationToken)
    {
        if (!_resumed) await ResumeAsync(cancellationToken);
        var options = _writer.Options;
        while (_source.HeadHeight is { } head && NextHeight() <= head)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = Stopwatch.GetTimestamp();
            var batch = new List<IndexedBlock>();
            var transactions = 0;
            for (var height = NextHeight(); height <= head && batch.Count < options.BatchBlocksMax && transactions < options.BatchTransactionsMax; height++)
            {
                var block = _source.ReadBlock(height)
                    ?? throw new CustosException(ErrorCode.StorageCorrupt, $"the chain's head is {head} but block {height} cannot be read");
                if (block.Height != height) throw new CustosException(ErrorCode.StorageCorrupt, $"the source returned block {block.Height} for height {height}");
                batch.Add(block);
                transactions += block.Transactions.Count;
            }

            await _writer.WriteBlocksAsync(batch, cancellationToken);
            Volatile.Write(ref _progress, new IndexProgress(batch[^1].Height, batch[^1].Hash));
            LogProgress(batch, transactions, Stopwatch.GetElapsedTime(started), head);
        }

        return Progress;
    }

    /// <summary>
    /// Reads where the index stands and checks it against the chain: the indexed head must be a block of this chain
    /// (same hash at the same height), else the index was built from another chain or a fork and is refused.
    /// </summary>
    private async Task ResumeAsync(CancellationToken cancellationToken)
    {
        var progress = await _writer.ReadProgressAsync(cancellationToken);
        if (progress is not null)
        {
            var head = _source.HeadHeight;
            if (head is null || head < progress.Height)
            {
                throw new CustosException(ErrorCode.WrongChain,
                    $"the supervision index holds height {progress.Height} but the chain's head is {head?.ToString() ?? "(none)"}: it was built from another chain or a longer copy of this one");
            }

            var block = _source.ReadBlock(progress.Height)
                ?? throw new CustosException(ErrorCode.StorageCorrupt, $"block {progress.Height} of the chain cannot be read");
            if (block.Hash != progress.BlockHash)
            {
                throw new CustosException(ErrorCode.WrongChain,
                    $"the supervision index holds block {progress.BlockHash.ToShortString()} at height {progress.Height}, the chain has {block.Hash.ToShortString()}: it was built from another chain");
            }
        }

        Volatile.Write(ref _progress, progress);
        _resumed = true;
        _log.Info("supervision-index-resumed", ("height", progress?.Height), ("next", NextHeight()));
    }

    private ulong NextHeight() => Progress is { } progress ? progress.Height + 1 : 0;

    private void LogProgress(List<IndexedBlock> batch, int transactions, TimeSpan elapsed, ulong head)
    {
        var now = _clock.GetTimestamp();
        var caughtUp = batch[^1].Height >= head;
        if (!caughtUp && _clock.GetElapsedTime(_lastProgressLog, now) < _writer.Options.ProgressLogInterval) return;
        _lastProgressLog = now;
        _log.Info("supervision-index-progress",
            ("height", batch[^1].Height), ("head", head), ("blocks", batch.Count), ("transactions", transactions),
            ("batch_ms", Math.Round(elapsed.TotalMilliseconds, 1)));
    }
}
