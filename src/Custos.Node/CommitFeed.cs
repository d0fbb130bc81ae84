using System.Collections.Concurrent;
using Custos.Core;

namespace Custos.Node;

/// <summary>
/// Tells the client API about commits: waiters for a transaction id are completed when its block is persisted, and
/// stream readers wait for the next height. Readers always read the block from storage, so a slow reader never
/// misses a commit and nothing is buffered here.
/// </summary>
internal sealed class CommitFeed
{
    private readonly ConcurrentDictionary<Hash32, TaskCompletionSource<ulong>> _waiters = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _height = -1;

    public long Height => Interlocked.Read(ref _height);

    /// <summary>Called by the consensus thread after a block is durable.</summary>
    public void Published(ulong height, IEnumerable<Hash32> transactions)
    {
        Interlocked.Exchange(ref _height, (long)height);
        foreach (var id in transactions)
        {
            if (_waiters.TryRemove(id, out var waiter)) waiter.TrySetResult(height);
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
        var waiter = _waiters.GetOrAdd(id, _ => new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (isCommitted()) return true;
        try
        {
            await waiter.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return isCommitted();
        }
        finally
        {
            if (!waiter.Task.IsCompleted) _waiters.TryRemove(new KeyValuePair<Hash32, TaskCompletionSource<ulong>>(id, waiter));
        }
    }
}
