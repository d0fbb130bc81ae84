using Custos.Core;
using Custos.Core.Wire;
using RocksDbSharp;

namespace Custos.Storage;

/// <summary>
/// The RocksDB instance behind a <see cref="LedgerStore"/>, with Custos's column families and options, and with
/// every native failure turned into a typed error: corruption is <see cref="ErrorCode.StorageCorrupt"/>, anything
/// the file system refused (disk full, permissions, a lock held by another process) is <see cref="ErrorCode.StorageIo"/>.
/// Thread-safe (RocksDB is); the owner serialises writers.
/// </summary>
internal sealed partial class RocksDatabase : IDisposable
{
    private readonly RocksDb _db;
    private readonly Dictionary<string, ColumnFamilyHandle> _families;
    private readonly ReadOptions _verifiedReads = new ReadOptions().SetVerifyChecksums(true);
    private readonly WriteOptions _syncedWrites = new WriteOptions().SetSync(true);
    private readonly WriteOptions _unsyncedWrites = new WriteOptions().SetSync(false);
    private readonly Cache _blockCache;
    private bool _failed;

    private RocksDatabase(RocksDb db, Dictionary<string, ColumnFamilyHandle> families, Cache blockCache, string path)
    {
        _db = db;
        _families = families;
        _blockCache = blockCache;
        Path = path;
    }

    public string Path { get; }

    public ColumnFamilyHandle this[string family] => _families[family];

    public Cache BlockCache => _blockCache;

    /// <summary>Creates a new database with all families in an empty or absent directory.</summary>
    public static RocksDatabase Create(string path, StoreOptions options) => OpenInternal(path, options, create: true);

    /// <summary>Opens an existing database, never creating or repairing anything.</summary>
    public static RocksDatabase Open(string path, StoreOptions options) => OpenInternal(path, options, create: false);

    /// <summary>The family names a RocksDB directory holds, or a typed error if it is not a readable RocksDB directory.</summary>
    public static IReadOnlyList<string> ListFamilies(string path)
    {
        try
        {
            return [.. RocksDb.ListColumnFamilies(new DbOptions(), path)];
        }
        catch (RocksDbException e)
        {
            throw Translate(e, $"reading the column families of {path}");
        }
    }

    public byte[]? Get(string family, ReadOnlySpan<byte> key)
    {
        try
        {
            return _db.Get(key, _families[family], _verifiedReads);
        }
        catch (RocksDbException e)
        {
            throw Translate(e, $"reading {family}");
        }
    }

    public Iterator NewIterator(string family, ReadOptions? options = null) => _db.NewIterator(_families[family], options ?? _verifiedReads);

    /// <summary>Writes a batch atomically; with <paramref name="sync"/> it is on disk (fsync) before this returns.</summary>
    public void Write(WriteBatch batch, bool sync)
    {
        if (_failed)
        {
            throw new CustosException(ErrorCode.StorageIo, $"an earlier write to {Path} failed; reopen the store after fixing the cause");
        }

        try
        {
            _db.Write(batch, sync ? _syncedWrites : _unsyncedWrites);
        }
        catch (RocksDbException e)
        {
            // After a failed write RocksDB may hold a background error; refusing further writes keeps the store
            // from running ahead of what is on disk.
            _failed = true;
            throw Translate(e, "writing a batch");
        }
    }

    /// <summary>An online, consistent checkpoint: hard links to the table files plus copies of the small files.</summary>
    public void Checkpoint(string directory)
    {
        try
        {
            using var checkpoint = _db.Checkpoint();
            checkpoint.Save(directory, 0);
        }
        catch (RocksDbException e)
        {
            throw Translate(e, $"writing a checkpoint to {directory}");
        }
    }

    /// <summary>Flushes every family's memtable to table files and waits for it.</summary>
    public void Flush()
    {
        try
        {
            var options = new FlushOptions().SetWaitForFlush(true);
            var handles = _families.Values.Select(h => h.Handle).ToArray();
            Native.Instance.rocksdb_flush_cfs(_db.Handle, options.Handle, handles, handles.Length);
        }
        catch (RocksDbException e)
        {
            throw Translate(e, "flushing memtables");
        }
    }

    public string? Property(string name, string? family = null) =>
        family is null ? _db.GetProperty(name) : _db.GetProperty(name, _families[family]);

    public void Dispose() => _db.Dispose();

    public static CustosException Translate(RocksDbException e, string what)
    {
        var message = e.Message;
        var code = message.Contains("Corruption", StringComparison.OrdinalIgnoreCase) || message.Contains("checksum", StringComparison.OrdinalIgnoreCase)
            ? ErrorCode.StorageCorrupt
            : ErrorCode.StorageIo;
        return new CustosException(code, $"{what}: {message}", e);
    }

    private static RocksDatabase OpenInternal(string path, StoreOptions options, bool create)
    {
        var blockCache = Cache.CreateLru((ulong)Math.Max(options.BlockCacheBytes, 1024 * 1024));
        var dbOptions = new DbOptions()
            .SetCreateIfMissing(create)
            .SetCreateMissingColumnFamilies(create)
            .SetErrorIfExists(create)
            .SetParanoidChecks(true)
            .SetWalRecoveryMode(Recovery.PointInTime)
            .SetMaxOpenFiles(options.OpenFilesMax)
            .SetDbWriteBufferSize((ulong)options.WriteBufferBytes)
            .SetMaxTotalWalSize((ulong)options.WriteBufferBytes * 2)
            .SetBytesPerSync(1024 * 1024)
            .SetKeepLogFileNum(4)
            .SetMaxLogFileSize(16 * 1024 * 1024)
            .SetInfoLogLevel(InfoLogLevel.Warn)
            .SkipStatsUpdateOnOpen(true)
            .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount));

        var families = new ColumnFamilies(FamilyOptions(blockCache, options, ColumnFamilies.DefaultName));
        foreach (var name in StorageLayout.Families) families.Add(name, FamilyOptions(blockCache, options, name));
        try
        {
            var db = RocksDb.Open(dbOptions, path, families);
            var handles = new Dictionary<string, ColumnFamilyHandle>(StringComparer.Ordinal);
            foreach (var name in StorageLayout.Families) handles[name] = db.GetColumnFamily(name);
            return new RocksDatabase(db, handles, blockCache, path);
        }
        catch (RocksDbException e)
        {
            throw Translate(e, $"opening the data directory {path}");
        }
    }

    private static ColumnFamilyOptions FamilyOptions(Cache blockCache, StoreOptions options, string family)
    {
        // Point lookups dominate everywhere (nodes by key, blocks by height, transactions by id): whole-key bloom
        // filters spare most misses a disk read. Index and filter blocks live in the block cache so their memory is
        // bounded by it rather than growing with the data.
        var table = new BlockBasedTableOptions()
            .SetBlockCache(blockCache)
            .SetFilterPolicy(BloomFilterPolicy.Create(10, false))
            .SetWholeKeyFiltering(true)
            .SetCacheIndexAndFilterBlocks(true)
            .SetPinL0FilterAndIndexBlocksInCache(true)
            .SetFormatVersion(5)
            .SetBlockSize(16 * 1024UL);

        var state = family is StorageLayout.StateNodesFamily or StorageLayout.StateValuesFamily;
        var writeBuffer = state ? Math.Min(options.WriteBufferBytes / 3, 128L * 1024 * 1024) : Math.Min(options.WriteBufferBytes / 16, 16L * 1024 * 1024);
        var familyOptions = new ColumnFamilyOptions();
        var keyedByTransactionId = family is StorageLayout.ReplayFamily or StorageLayout.TransactionsFamily;
        if (keyedByTransactionId)
        {
            // Every new transaction's id is looked up here (its replay record at admission and in execution, its
            // position when its block is stored) and almost always missed: a whole-key Bloom filter on the memtable
            // answers those misses without searching its skip list, as the tables' filters do on disk.
            familyOptions.SetMemtablePrefixBloomSizeRatio(0.05);
            Native.Instance.rocksdb_options_set_memtable_whole_key_filtering(familyOptions.Handle, 1);
        }

        return familyOptions
            .SetBlockBasedTableFactory(table)
            // Tree nodes and roots are mostly hashes and do not compress, nor do the replay records and transaction
            // positions (a hash and a few bytes each); blocks, receipts and the journal do. State values are left
            // uncompressed too: they are small records read one at a time.
            .SetCompression(state || keyedByTransactionId || family == StorageLayout.StateRootsFamily ? Compression.No : Compression.Lz4)
            .SetWriteBufferSize((ulong)Math.Max(writeBuffer, 1024 * 1024))
            .SetMaxWriteBufferNumber(3)
            .SetLevelCompactionDynamicLevelBytes(true)
            .SetTargetFileSizeBase(64UL * 1024 * 1024);
    }
}
