using Custos.Core;

namespace Custos.Node;

/// <summary>
/// Tells the client API about commits: waiters for a transaction id are completed when its block is persisted, and
/// stream readers wait for the next height. Readers always read the block from storage, so a slow reader never
/// misses a commit and nothing is buffered here.
/// </summary>
internal sealed class CommitFeed
{
    // Waiters on one id share a completion; it is dropped when the last of them gives up (or on the commit).
    private readonly Dictionary<Hash32, (TaskCompletionSource<ulong> Completion, int Waiters)> _waiters = [];
    private readonly Lock _gate = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _height = -1;

    public long Height => Interlocked.Read(ref _height);

    /// <summary>Called by the consensus thread after a block is durable.</summary>
    public void Published(ulong height, IEnumerable<Hash32> transactions)
    {
        Interlocked.Exchange(ref _height, (long)height);
        lock (_gate)
        {
            if (_waiters.Count > 0)
            {
                foreach (var id in transactions)
                {
                    if (_waiters.Remove(id, out var waiter)) waiter.Completion.TrySetResult(height);
                }
            }
        }

        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Completes when a block above <paramref name="height"/> is durable (or at once if one is).</summary>
    public Task AfterHeightAsync(long height, CancellationToken cancellationToken)
    {
        var next = Volatile.Read(ref _next);
        if (Height > height) return Task.CompletedTask;
        return next.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Waits for the commit of <paramref name="id"/>; <paramref name="isCommitted"/> is consulted after registering so
    /// that a commit between the caller's own check and the registration is not missed.
    /// </summary>
    public async Task<bool> WaitAsync(Hash32 id, Func<bool> isCommitted, TimeSpan timeout, CancellationToken cancellationToken)
    {
        TaskCompletionSource<ulong> waiter;
        lock (_gate)
        {
            waiter = _waiters.TryGetValue(id, out var entry) ? entry.Completion : new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters[id] = (waiter, entry.Waiters + 1);
        }

        try
        {
            if (isCommitted()) return true;
            await waiter.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return isCommitted();
        }
        finally
        {
            lock (_gate)
            {
                if (_waiters.TryGetValue(id, out var entry) && ReferenceEquals(entry.Completion, waiter))
                {
                    if (entry.Waiters <= 1) _waiters.Remove(id);
                    else _waiters[id] = (waiter, entry.Waiters - 1);
                }
            }
        }
    }
}
