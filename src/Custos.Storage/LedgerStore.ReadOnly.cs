using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Storage;

/// <summary>
/// Read-only opening, for tools (the consensus audit) that read a data directory a running node holds. RocksDB lets
/// one process open a directory for writing and marks it with a LOCK file; a read-only open never takes that lock
/// and never writes: the write-ahead log is replayed into memory, nothing is flushed, compacted or repaired. The
/// store then shows the data as of opening (a consistent point: each block was persisted in one atomic batch) and
/// not what the owner writes afterwards. Every write (Persist, journal appends, the safety record) is refused by
/// RocksDB with <see cref="ErrorCode.StorageIo"/>.
/// </summary>
public sealed partial class LedgerStore
{
    /// <summary>Attempts at a read-only open that races with the owner deleting a file it listed (a finished compaction or log).</summary>
    private const int ReadOnlyOpenAttemptsMax = 3;

    /// <summary>True for a store opened by <see cref="OpenReadOnly"/>.</summary>
    public bool IsReadOnly => _db.IsReadOnly;

    /// <summary>
    /// Opens an existing data directory read-only, whether or not another process holds it. Refuses what
    /// <see cref="Open"/> refuses (missing, not a store, another chain, a head that does not verify), with the same
    /// typed errors. <paramref name="options"/> bound the caches as for <see cref="Open"/>; write buffers are unused.
    /// </summary>
    public static LedgerStore OpenReadOnly(string directory, ChainIdentity? expected = null, StoreOptions? options = null)
    {
        options ??= StoreOptions.Default;
        var identity = ReadIdentity(directory);
        if (expected is not null && identity != expected)
        {
            throw new CustosException(ErrorCode.WrongChain, $"{directory} holds {identity}, not {expected}");
        }

        for (var attempt = 1; ; attempt++)
        {
            RocksDatabase db;
            try
            {
                db = RocksDatabase.OpenReadOnly(directory, options);
            }
            catch (CustosException e) when (attempt < ReadOnlyOpenAttemptsMax && e.Message.Contains("No such file", StringComparison.Ordinal))
            {
                // The owner deleted a file between RocksDB listing it and opening it; the next attempt lists afresh.
                Thread.Sleep(50 * attempt);
                continue;
            }

            try
            {
                var store = new LedgerStore(db, identity, options);
                store.CheckHead();
                return store;
            }
            catch
            {
                db.Dispose();
                throw;
            }
        }
    }
}
