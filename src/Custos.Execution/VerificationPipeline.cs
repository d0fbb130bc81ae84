using Custos.Core;

namespace Custos.Execution;

/// <summary>
/// Verifies many transaction signatures at once on a fixed set of dedicated threads, one per core but one, with the
/// caller working alongside them (so as many threads verify as there are cores). Admission, peers' batches and block validation all come through here, so the cores stay
/// busy on signatures without the thread pool's parallel loops: those replicate tasks, spin while waiting and, with
/// several nodes on one machine, burned a large share of the CPU spinning instead of verifying.
/// </summary>
public sealed class VerificationPipeline : ISignatureCheck, IDisposable
{
    private readonly ISignatureCheck _inner;
    // A plain queue under a monitor: waiting workers block without spinning (a spinning wait, as in
    // BlockingCollection, showed up as a tenth of the CPU in sched_yield with four nodes on two cores).
    private readonly Queue<Chunk> _chunks = new();
    private readonly object _gate = new();
    private bool _stopped;
    private readonly Thread[] _workers;

    public VerificationPipeline(ISignatureCheck inner, int workers = 0)
    {
        _inner = inner;
        // The caller verifies too: one worker per core besides it. A worker for every core as well made one thread
        // more than there are cores, and with several nodes on a machine their switching slowed the verifications.
        var count = workers > 0 ? workers : Math.Max(1, Environment.ProcessorCount - 1);
        _workers = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            _workers[i] = new Thread(Work) { Name = $"custos-verify-{i}", IsBackground = true };
            _workers[i].Start();
        }
    }

    public int Workers => _workers.Length;

    public bool IsValid(Transaction transaction, Hash32 id) => _inner.IsValid(transaction, id);

    public bool[] AreValid(IReadOnlyList<Transaction> transactions, IReadOnlyList<Hash32> ids)
    {
        var count = transactions.Count;
        var results = new bool[count];
        if (count <= 1 || _stopped)
        {
            for (var i = 0; i < count; i++) results[i] = Check(transactions[i], ids[i]);
            return results;
        }

        // A few chunks per thread keep every thread busy to the end; a chunk is at least a few verifications (each
        // 50-100 µs) so that queueing and waking threads stay a small part of the work.
        var size = Math.Clamp(count / ((_workers.Length + 1) * 2), 4, 64);
        var job = new Job(transactions, ids, results, count);
        lock (_gate)
        {
            var queued = 0;
            for (var start = 0; start < count; start += size, queued++) _chunks.Enqueue(new Chunk(job, start, Math.Min(count, start + size)));

            // The caller takes one chunk itself; wake only as many workers as there are other chunks.
            for (var i = 1; i < queued && i <= _workers.Length; i++) Monitor.Pulse(_gate);
        }

        // The caller takes chunks too (its own or another caller's) until its job is done, then waits for the rest.
        while (!job.Done.IsSet)
        {
            if (TryTake(out var chunk)) Run(chunk);
            else job.Done.Wait();
        }

        return results;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }

        foreach (var worker in _workers) worker.Join(TimeSpan.FromSeconds(5));
    }

    private bool TryTake(out Chunk chunk)
    {
        lock (_gate) return _chunks.TryDequeue(out chunk);
    }

    private void Work()
    {
        while (true)
        {
            Chunk chunk;
            lock (_gate)
            {
                // Chunks already queued are still run after a stop, so that no caller waits forever.
                while (_chunks.Count == 0)
                {
                    if (_stopped) return;
                    Monitor.Wait(_gate);
                }

                chunk = _chunks.Dequeue();
            }

            Run(chunk);
        }
    }

    private void Run(Chunk chunk)
    {
        var job = chunk.Job;
        for (var i = chunk.Start; i < chunk.End; i++) job.Results[i] = Check(job.Transactions[i], job.Ids[i]);
        if (Interlocked.Add(ref job.Remaining, -(chunk.End - chunk.Start)) == 0) job.Done.Set();
    }

    private bool Check(Transaction transaction, Hash32 id)
    {
        try
        {
            return _inner.IsValid(transaction, id);
        }
        catch (CustosException)
        {
            // A signature that cannot even be checked is not valid.
            return false;
        }
    }

    private sealed class Job(IReadOnlyList<Transaction> transactions, IReadOnlyList<Hash32> ids, bool[] results, int count)
    {
        public readonly IReadOnlyList<Transaction> Transactions = transactions;
        public readonly IReadOnlyList<Hash32> Ids = ids;
        public readonly bool[] Results = results;
        // Not disposed: the last worker may still be inside Set() when the caller returns; no kernel handle is made.
        public readonly ManualResetEventSlim Done = new(false, spinCount: 0);
        public int Remaining = count;
    }

    private readonly record struct Chunk(Job Job, int Start, int End);
}
