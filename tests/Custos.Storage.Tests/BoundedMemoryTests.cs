using Custos.Storage.State;
using Custos.Storage.Tests.Support;

namespace Custos.Storage.Tests;

/// <summary>Caches have limits, and opening a store costs the same whatever it holds.</summary>
public sealed class BoundedMemoryTests
{
    [Fact]
    public void Opening_a_store_reads_no_state_whatever_its_size()
    {
        using var small = new TestLedger();
        small.Persist([TestLedger.Put("only", "one")]);
        using var large = new TestLedger();
        for (var block = 0; block < 12; block++)
        {
            large.Persist(Enumerable.Range(0, 5_000).Select(i => TestLedger.Put($"account-{block}-{i}", $"balance {i}")).ToList());
        }

        small.Close();
        large.Close();
        _ = MeasureOpen(small.DataDirectory, out _);
        var smallBytes = MeasureOpen(small.DataDirectory, out var smallReads);
        var largeBytes = MeasureOpen(large.DataDirectory, out var largeReads);

        // Open checks the head block and loads the head version's root node, and nothing else.
        Assert.Equal(1, smallReads);
        Assert.Equal(1, largeReads);
        Assert.True(Math.Abs(largeBytes - smallBytes) < 256 * 1024,
            $"opening a store of 60,000 keys allocated {largeBytes:N0} bytes, one of a single key {smallBytes:N0}");
    }

    [Fact]
    public void Node_cache_stays_within_its_bound()
    {
        const long capacity = 256 * 1024;
        using var ledger = new TestLedger(options: new StoreOptions { NodeCacheBytes = capacity });
        var random = new Random(TestSeed.Value);
        for (var block = 0; block < 25; block++)
        {
            ledger.Persist(Enumerable.Range(0, 400).Select(_ => random.Next(3_000)).Distinct().Select(i => TestLedger.Put($"k{i}", $"v{block}")).ToList());
            for (var i = 0; i < 200; i++) ledger.Store.State.Prove(TestLedger.Bytes($"k{random.Next(3_000)}"), (ulong)random.Next(block + 1));
            Assert.InRange(ledger.Store.State.Cache.EstimatedBytes, 0, capacity + 16 * 2_000);
        }
    }

    private static long MeasureOpen(string directory, out long nodesRead)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        using var store = LedgerStore.Open(directory);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        nodesRead = store.State.NodesReadFromDisk;
        return allocated;
    }
}
