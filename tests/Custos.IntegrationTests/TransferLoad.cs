using System.Collections.Concurrent;
using Custos.Api;
using Custos.Core;
using Custos.Core.Wire;
using Grpc.Core;

namespace Custos.IntegrationTests;

/// <summary>A transfer the node acknowledged as committed (WaitForCommit said Committed), and when.</summary>
internal sealed record AcknowledgedTransfer(Hash32 Id, ulong Height, Hash32 BlockHash, DateTime At);

/// <summary>
/// Continuous load: one worker per funded account signs a few transfers, submits them to one of the target nodes
/// (round robin), and waits for each to commit. What the nodes acknowledge as committed is recorded, so that a test
/// can check later that none of it was lost. Nodes that are down are skipped and retried, as a client would.
/// </summary>
internal sealed class TransferLoad(LocalNetwork network, Func<IReadOnlyList<string>> targets, int transfersPerRound = 10) : IAsyncDisposable
{
    private readonly ConcurrentQueue<AcknowledgedTransfer> _acknowledged = new();
    private readonly ConcurrentQueue<string> _refusals = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _workers = [];
    private long _submitted;
    private long _unavailable;

    public IReadOnlyList<AcknowledgedTransfer> Acknowledged => [.. _acknowledged];

    /// <summary>Admission refusals other than back-pressure; a healthy network has none.</summary>
    public IReadOnlyList<string> Refusals => [.. _refusals];

    public long Submitted => Interlocked.Read(ref _submitted);

    /// <summary>Requests that failed because the node was unreachable (expected for a killed node).</summary>
    public long Unavailable => Interlocked.Read(ref _unavailable);

    public void Start()
    {
        var users = network.FundedUsers;
        for (var i = 0; i < users.Count; i++)
        {
            var sender = users[i];
            var receiver = network.User(users[(i + 1) % users.Count]).Account;
            var first = i;
            _workers.Add(Task.Run(() => RunAsync(sender, receiver, first, _stop.Token)));
        }
    }

    private async Task RunAsync(string sender, AccountId receiver, int next, CancellationToken stop)
    {
        var signer = network.User(sender).Signer;
        while (!stop.IsCancellationRequested)
        {
            var nodes = targets();
            var node = nodes[next++ % nodes.Count];
            try
            {
                var client = network.Client(node, sender);
                var height = (await client.StatusAsync(stop)).Height;
                var transfers = Enumerable.Range(0, transfersPerRound).Select(_ => signer.Transfer(receiver, 1, height + 500)).ToList();
                var results = await client.SubmitAsync(transfers, stop);
                Interlocked.Add(ref _submitted, transfers.Count);
                var admitted = new List<Hash32>();
                foreach (var result in results)
                {
                    if (result.Code == ErrorCode.Ok) admitted.Add(new Hash32(result.TransactionId.Span));
                    else if (result.Code is not (ErrorCode.MempoolFull or ErrorCode.SenderLimitExceeded)) _refusals.Enqueue($"{node}: {result.Code} {result.Message}");
                }

                var waits = admitted.Select(id => client.WaitForCommitAsync(id, TimeSpan.FromSeconds(20), stop));
                foreach (var status in await Task.WhenAll(waits))
                {
                    if (status.State != TransactionState.Committed) continue;
                    _acknowledged.Enqueue(new AcknowledgedTransfer(new Hash32(status.TransactionId.Span), status.Height, new Hash32(status.BlockHash.Span), DateTime.UtcNow));
                }
            }
            catch (Exception e) when (e is RpcException or ObjectDisposedException && !stop.IsCancellationRequested)
            {
                // The node is down (killed, or not serving yet after a restart): the next round tries another.
                Interlocked.Increment(ref _unavailable);
                await Task.Delay(100, CancellationToken.None);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is RpcException or ObjectDisposedException && stop.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>Waits (bounded) until at least <paramref name="count"/> transfers in total are acknowledged as committed.</summary>
    public async Task<bool> WaitAcknowledgedAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_acknowledged.Count < count)
        {
            if (DateTime.UtcNow > deadline) return false;
            if (_workers.FirstOrDefault(w => w.IsFaulted) is { } failed) await failed;
            network.ThrowIfHalted();
            await Task.Delay(250, cancellationToken);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        // Tests stop the load explicitly and `await using` stops it again: the second call has nothing to do.
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        _stop.Dispose();
    }

    private int _disposed;
}
