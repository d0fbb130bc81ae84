using System.Diagnostics;
using System.Runtime;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage.State;
using RocksDbSharp;

namespace Custos.Storage.Benchmarks;

/// <summary>What <see cref="StorageBenchmark.Run"/> measures with.</summary>
public sealed record StorageBenchmarkOptions
{
    /// <summary>Keys loaded into the state before updates are measured.</summary>
    public long Keys { get; init; } = 1_000_000;

    /// <summary>State updates per block (and puts per raw batch).</summary>
    public int UpdatesPerBlock { get; init; } = 5_000;

    /// <summary>Blocks of random updates to existing keys, measured after the load.</summary>
    public int UpdateBlocks { get; init; } = 60;

    public int KeyBytes { get; init; } = 32;

    public int ValueBytes { get; init; } = 128;

    public int Proofs { get; init; } = 20_000;

    public CryptoSuiteId Suite { get; init; } = CryptoSuiteId.Gm;

    /// <summary>Where the two databases are created (a fresh temporary directory by default; removed afterwards).</summary>
    public string? Directory { get; init; }

    public long Seed { get; init; } = 1;
}

/// <summary>Figures of one run. Rates are per second.</summary>
public sealed record StorageBenchmarkReport(
    double LoadAuthenticatedPerSecond,
    double LoadRawPerSecond,
    double UpdateAuthenticatedPerSecond,
    double UpdateRawPerSecond,
    double StageMillisecondsPerBlock,
    double PersistMillisecondsPerBlock,
    double RawMillisecondsPerBatch,
    double HashMillisecondsPerBlockSingleThread,
    double NodesPerBlock,
    double NodeBytesPerBlock,
    double ProofsGeneratedPerSecond,
    double ProofsVerifiedPerSecond,
    double ProofBytesMean)
{
    /// <summary>Authenticated state updates per second ÷ raw RocksDB puts per second, in the update phase.</summary>
    public double Ratio => UpdateAuthenticatedPerSecond / UpdateRawPerSecond;

    /// <summary>CPU time of the whole process (every thread) while the ledger staged and persisted a block.</summary>
    public double UpdateCpuMillisecondsPerBlock { get; init; }

    /// <summary>CPU time of the whole process while the raw baseline wrote a batch.</summary>
    public double RawCpuMillisecondsPerBatch { get; init; }

    /// <summary>Garbage-collection pauses per block of the update phase (both sides; nearly all of it the ledger's).</summary>
    public double GcPauseMillisecondsPerBlock { get; init; }

    /// <summary>Tree nodes the ledger had to read from RocksDB per block, because the node cache did not hold them.</summary>
    public double NodesReadFromDiskPerBlock { get; init; }
}

/// <summary>
/// Authenticated state against raw RocksDB on the same machine in the same run: a <see cref="LedgerStore"/> persisting
/// blocks of N state updates (staged in the tree, written in one synced batch with the block) and a plain RocksDB
/// writing the same keys and values in synced <see cref="WriteBatch"/>es of N puts. Both are loaded to the same
/// number of keys, then measured on random updates of existing keys, block by block in alternation so that both see
/// the same machine load. Then proofs are generated and verified.
/// </summary>
public static class StorageBenchmark
{
    public static StorageBenchmarkReport Run(StorageBenchmarkOptions options, TextWriter progress)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Keys < options.UpdatesPerBlock || options.UpdatesPerBlock <= 0 || options.KeyBytes < 8 || options.ValueBytes < 1)
        {
            throw new CustosException(ErrorCode.InvalidField, "need at least one block's worth of keys, keys of 8 bytes or more and non-empty values");
        }

        var root = options.Directory ?? Path.Combine(Path.GetTempPath(), $"custos-bench-storage-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var created = !System.IO.Directory.Exists(root);
        Filesystem.Guard(() => System.IO.Directory.CreateDirectory(root), $"creating {root}");

        // A throughput measurement runs under the throughput garbage collector setting (no background collections),
        // the one a node that commits blocks back to back would be deployed with; it applies to both stores alike.
        var latencyMode = GCSettings.LatencyMode;
        GCSettings.LatencyMode = GCLatencyMode.Batch;
        try
        {
            return RunIn(root, options, progress);
        }
        finally
        {
            GCSettings.LatencyMode = latencyMode;
            if (created) TryDelete(root);
            else
            {
                TryDelete(Path.Combine(root, "ledger"));
                TryDelete(Path.Combine(root, "raw"));
            }
        }
    }

    private static StorageBenchmarkReport RunIn(string root, StorageBenchmarkOptions options, TextWriter progress)
    {
        var suite = CryptoSuites.Get(options.Suite);
        var random = new Random((int)options.Seed);
        // Keys are derived from their index when needed rather than held: a million small arrays would make every
        // full garbage collection of the run trace them, a cost of the harness rather than of either store.
        byte[] KeyOf(long index) => BenchmarkKey(options.Seed, index, options.KeyBytes);

        var chain = new SyntheticChain("custos-bench", options.Suite, suite);
        using var ledger = LedgerStore.Create(Path.Combine(root, "ledger"), chain.Identity);
        using var raw = RawStore.Create(Path.Combine(root, "raw"), ledger.Options);
        var perBlock = options.UpdatesPerBlock;
        StoredBlock? parent = null;

        // Load: both stores receive every key once, block by block in alternation.
        var ledgerTime = new Stopwatch();
        var rawTime = new Stopwatch();
        var loadBlocks = (int)(options.Keys / perBlock);
        var report = Math.Max(1, loadBlocks / 10);
        for (var b = 0; b < loadBlocks; b++)
        {
            var writes = new StateWrite[perBlock];
            for (var i = 0; i < perBlock; i++) writes[i] = StateWrite.Put(KeyOf((long)b * perBlock + i), RandomValue(random, options.ValueBytes));
            parent = PersistBlock(ledger, chain, parent, writes, ledgerTime, out _, out _);
            rawTime.Start();
            raw.Write(writes);
            rawTime.Stop();
            if ((b + 1) % report == 0) progress.Write($"\r  loading: {(long)(b + 1) * perBlock:N0} of {options.Keys:N0} keys");
        }

        progress.WriteLine();
        var loadedKeys = (double)loadBlocks * perBlock;
        var loadAuthenticated = loadedKeys / ledgerTime.Elapsed.TotalSeconds;
        var loadRaw = loadedKeys / rawTime.Elapsed.TotalSeconds;

        // Updates: random existing keys, distinct within a block. Besides wall time, the process's CPU time is taken
        // around each side: on a busy machine it shows what each side costs whatever share of the cores it got.
        ledgerTime.Reset();
        rawTime.Reset();
        var stageTime = new Stopwatch();
        var persistTime = new Stopwatch();
        TimeSpan ledgerCpu = default, rawCpu = default;
        var pausedBefore = GC.GetTotalPauseDuration();
        var readsBefore = ledger.State.NodesReadFromDisk;
        long nodes = 0, nodeBytes = 0;
        var loaded = (long)loadBlocks * perBlock;
        for (var b = 0; b < options.UpdateBlocks; b++)
        {
            var writes = RandomUpdates(random, KeyOf, loaded, perBlock, options.ValueBytes);
            var cpu = Environment.CpuUsage.TotalTime;
            parent = PersistBlock(ledger, chain, parent, writes, ledgerTime, out _, out var delta, stageTime, persistTime);
            ledgerCpu += Environment.CpuUsage.TotalTime - cpu;
            nodes += delta.NodeCount + delta.ValueCount;
            foreach (var (key, node) in delta.Nodes) nodeBytes += NodeCodec.EncodedLength(node, key.Version) + key.EncodedLength;
            foreach (var value in delta.Values) nodeBytes += NodeCodec.ValueRecordLength(value.Key, value.Value!) + NodeCodec.ValueKeyLength;
            cpu = Environment.CpuUsage.TotalTime;
            rawTime.Start();
            raw.Write(writes);
            rawTime.Stop();
            rawCpu += Environment.CpuUsage.TotalTime - cpu;
            progress.Write($"\r  updating: block {b + 1} of {options.UpdateBlocks}");
        }

        progress.WriteLine();
        var paused = GC.GetTotalPauseDuration() - pausedBefore;
        var nodesRead = ledger.State.NodesReadFromDisk - readsBefore;
        var updated = (double)options.UpdateBlocks * perBlock;
        var updateAuthenticated = updated / ledgerTime.Elapsed.TotalSeconds;
        var updateRaw = updated / rawTime.Elapsed.TotalSeconds;
        var rawMilliseconds = rawTime.Elapsed.TotalMilliseconds / options.UpdateBlocks;
        var hashMilliseconds = MeasureHashing(suite, options, (double)nodes / options.UpdateBlocks, perBlock);

        // Proofs at the latest version: nine in ten of present keys, one in ten of absent ones.
        var proofKeys = new byte[options.Proofs][];
        for (var i = 0; i < proofKeys.Length; i++)
        {
            if (i % 10 == 9)
            {
                proofKeys[i] = KeyOf(-1L - i);
            }
            else
            {
                proofKeys[i] = KeyOf(random.NextInt64(loaded));
            }
        }

        var proofs = new StateProofResult[proofKeys.Length];
        var generate = Stopwatch.StartNew();
        for (var i = 0; i < proofs.Length; i++) proofs[i] = ledger.State.Prove(proofKeys[i]);
        generate.Stop();
        var verify = Stopwatch.StartNew();
        var failures = 0;
        foreach (var proof in proofs)
        {
            var ok = proof.Value is null
                ? StateProofVerifier.VerifyNonInclusion(suite, proof.Root, proof.Key, proof.Proof)
                : StateProofVerifier.VerifyInclusion(suite, proof.Root, proof.Key, proof.Value, proof.Proof);
            if (!ok) failures++;
        }

        verify.Stop();
        if (failures > 0) throw new CustosException(ErrorCode.StorageCorrupt, $"{failures} of {proofs.Length} proofs did not verify");

        return new StorageBenchmarkReport(
            loadAuthenticated,
            loadRaw,
            updateAuthenticated,
            updateRaw,
            stageTime.Elapsed.TotalMilliseconds / options.UpdateBlocks,
            persistTime.Elapsed.TotalMilliseconds / options.UpdateBlocks,
            rawMilliseconds,
            hashMilliseconds,
            (double)nodes / options.UpdateBlocks,
            (double)nodeBytes / options.UpdateBlocks,
            proofs.Length / generate.Elapsed.TotalSeconds,
            proofs.Length / verify.Elapsed.TotalSeconds,
            proofs.Average(p => (double)p.Proof.Length))
        {
            UpdateCpuMillisecondsPerBlock = ledgerCpu.TotalMilliseconds / options.UpdateBlocks,
            RawCpuMillisecondsPerBatch = rawCpu.TotalMilliseconds / options.UpdateBlocks,
            GcPauseMillisecondsPerBlock = paused.TotalMilliseconds / options.UpdateBlocks,
            NodesReadFromDiskPerBlock = (double)nodesRead / options.UpdateBlocks,
        };
    }

    private static StoredBlock PersistBlock(LedgerStore ledger, SyntheticChain chain, StoredBlock? parent, StateWrite[] writes, Stopwatch total,
        out TimeSpan stage, out StateDelta delta, Stopwatch? stageTime = null, Stopwatch? persistTime = null)
    {
        var block = chain.NextBlock(parent, ledger.State.LatestRoot);
        total.Start();
        var started = total.Elapsed;
        stageTime?.Start();
        delta = ledger.State.Stage(writes);
        stageTime?.Stop();
        stage = total.Elapsed - started;
        persistTime?.Start();
        var result = ledger.Persist(new BlockPersist { Block = block, StateDelta = delta });
        persistTime?.Stop();
        total.Stop();
        return new StoredBlock(result.Height, result.BlockHash, block);
    }

    private static StateWrite[] RandomUpdates(Random random, Func<long, byte[]> keyOf, long loaded, int perBlock, int valueBytes)
    {
        var chosen = new HashSet<long>();
        while (chosen.Count < perBlock) chosen.Add(random.NextInt64(loaded));
        return chosen.Select(k => StateWrite.Put(keyOf(k), RandomValue(random, valueBytes))).ToArray();
    }

    /// <summary>
    /// Key number <paramref name="index"/> of a run: the index itself (so keys are distinct, negative ones never
    /// loaded) followed by pseudo-random bytes from a SplitMix64 stream seeded with the run's seed and the index.
    /// </summary>
    private static byte[] BenchmarkKey(long seed, long index, int length)
    {
        var key = new byte[length];
        BitConverter.TryWriteBytes(key, index);
        var state = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)index;
        Span<byte> word = stackalloc byte[8];
        for (var offset = 8; offset < length; offset += 8)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            BitConverter.TryWriteBytes(word, z);
            word[..Math.Min(8, length - offset)].CopyTo(key.AsSpan(offset));
        }

        return key;
    }

    /// <summary>
    /// Single-threaded time of the hashes one block needs (key, value and leaf hash per update, one hash per
    /// internal node), measured on this machine, to say how much of a block is hashing.
    /// </summary>
    private static double MeasureHashing(IHashFunction hash, StorageBenchmarkOptions options, double nodesPerBlock, int perBlock)
    {
        using var hasher = new StateHasher(hash);
        var key = new byte[options.KeyBytes];
        var value = new byte[options.ValueBytes];
        var children = new Hash32[12];
        var internalPerBlock = Math.Max(0, nodesPerBlock - perBlock);
        var watch = Stopwatch.StartNew();
        const int rounds = 3;
        for (var r = 0; r < rounds; r++)
        {
            for (var i = 0; i < perBlock; i++)
            {
                var k = hasher.KeyHash(key);
                hasher.LeafHash(k, hasher.ValueHash(value));
            }

            for (var i = 0; i < internalPerBlock; i++) hasher.InternalHash(0x0fff, children);
        }

        return watch.Elapsed.TotalMilliseconds / rounds;
    }

    private static byte[] RandomValue(Random random, int length)
    {
        var value = new byte[length];
        random.NextBytes(value);
        return value;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is not worth failing the run for.
        }
    }

    /// <summary>The baseline: a plain RocksDB with the same cache and bloom filters, one synced batch per block.</summary>
    private sealed class RawStore : IDisposable
    {
        private readonly RocksDb _db;
        private readonly WriteBatch _batch = new();
        private readonly WriteOptions _sync = new WriteOptions().SetSync(true);

        private RawStore(RocksDb db) => _db = db;

        public static RawStore Create(string path, StoreOptions options)
        {
            var table = new BlockBasedTableOptions()
                .SetBlockCache(Cache.CreateLru((ulong)options.BlockCacheBytes))
                .SetFilterPolicy(BloomFilterPolicy.Create(10, false))
                .SetCacheIndexAndFilterBlocks(true)
                .SetFormatVersion(5);
            var dbOptions = new DbOptions()
                .SetCreateIfMissing(true)
                .SetErrorIfExists(true)
                .SetCompression(Compression.No)
                .SetBlockBasedTableFactory(table)
                .SetWriteBufferSize(128UL * 1024 * 1024)
                .SetMaxWriteBufferNumber(3)
                .SetLevelCompactionDynamicLevelBytes(true)
                .SetInfoLogLevel(InfoLogLevel.Warn)
                .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount));
            try
            {
                return new RawStore(RocksDb.Open(dbOptions, path));
            }
            catch (RocksDbException e)
            {
                throw RocksDatabase.Translate(e, $"creating {path}");
            }
        }

        public void Write(StateWrite[] writes)
        {
            _batch.Clear();
            foreach (var write in writes) _batch.Put(write.Key, write.Value!, null);
            try
            {
                _db.Write(_batch, _sync);
            }
            catch (RocksDbException e)
            {
                throw RocksDatabase.Translate(e, "writing the raw baseline");
            }
        }

        public void Dispose()
        {
            _batch.Dispose();
            _db.Dispose();
        }
    }
}
