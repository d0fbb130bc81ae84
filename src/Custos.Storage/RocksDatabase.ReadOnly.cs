using RocksDbSharp;

namespace Custos.Storage;

/// <summary>
/// The read-only way into a RocksDB directory, for tools that inspect a store a running node holds (see
/// <see cref="LedgerStore.OpenReadOnly"/>).
/// </summary>
internal sealed partial class RocksDatabase
{
    /// <summary>True when opened by <see cref="OpenReadOnly"/>: RocksDB then refuses every write (Persist fails with StorageIo).</summary>
    public bool IsReadOnly { get; private init; }

    /// <summary>
    /// Opens an existing database without its LOCK file and without writing anything: RocksDB's read-only mode
    /// replays the write-ahead log into memory instead of flushing it, never compacts, and keeps no info log. The
    /// view is the data as of opening; later writes by the owner are not seen. Every table file is opened now
    /// (unbounded open files), so that a compaction by the owner that deletes one afterwards cannot hide it.
    /// </summary>
    public static RocksDatabase OpenReadOnly(string path, StoreOptions options)
    {
        var blockCache = Cache.CreateLru((ulong)Math.Max(options.BlockCacheBytes, 1024 * 1024));
        var dbOptions = new DbOptions()
            .SetParanoidChecks(true)
            .SetWalRecoveryMode(Recovery.PointInTime)
            .SetMaxOpenFiles(-1)
            .SetInfoLogLevel(InfoLogLevel.Warn)
            .SkipStatsUpdateOnOpen(true);

        var families = new ColumnFamilies(FamilyOptions(blockCache, options, ColumnFamilies.DefaultName));
        foreach (var name in StorageLayout.Families) families.Add(name, FamilyOptions(blockCache, options, name));
        try
        {
            var db = RocksDb.OpenReadOnly(dbOptions, path, families, false);
            var handles = new Dictionary<string, ColumnFamilyHandle>(StringComparer.Ordinal);
            foreach (var name in StorageLayout.Families) handles[name] = db.GetColumnFamily(name);
            return new RocksDatabase(db, handles, blockCache, path) { IsReadOnly = true };
        }
        catch (RocksDbException e)
        {
            throw Translate(e, $"opening the data directory {path} read-only");
        }
    }
}
