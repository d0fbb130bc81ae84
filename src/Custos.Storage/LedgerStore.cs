using System.Buffers;
using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage.Journal;
using Custos.Storage.State;
using Custos.Storage.Wire;
using Google.Protobuf;
using RocksDbSharp;

namespace Custos.Storage;

/// <summary>
/// A node's durable ledger in one RocksDB instance (see docs/storage.md): blocks and transactions, the versioned
/// authenticated state, the consensus safety record and journal, and the chain-identity marker that ties the data
/// directory to one chain.
/// <para>
/// Threading: <see cref="Persist"/> calls are serialised (one writer); reads, proofs and staging run concurrently
/// from any thread. The journal and the safety record have their own locks.
/// </para>
/// </summary>
public sealed partial class LedgerStore : IDisposable
{
    private const string CurrentFileName = "CURRENT";

    private readonly RocksDatabase _db;
    private readonly StoreOptions _options;
    private readonly Lock _persistGate = new();
    private readonly WriteBatch _batch = new();
    private StoreHead? _head;
    private bool _disposed;

    private LedgerStore(RocksDatabase db, ChainIdentity identity, StoreOptions options)
    {
        _db = db;
        _options = options;
        Identity = identity;
        Suite = CryptoSuites.Get(identity.Suite);
        _head = LoadHead(db);
        var prunedThrough = ReadPrunedThrough(db);
        State = new AuthenticatedState(db, Suite, new NodeCache(options.NodeCacheBytes), _head?.Height, _head?.StateRoot ?? default, prunedThrough);
        Journal = new ConsensusJournal(db, Suite);
        SafetyRecord = new SafetyRecordStore(db, Suite);
    }

    public string Directory => _db.Path;

    public ChainIdentity Identity { get; }

    /// <summary>The chain's suite; its hash is the one every stored hash uses.</summary>
    public ICryptoSuite Suite { get; }

    public StoreOptions Options => _options;

    /// <summary>The last complete block, or null before the first.</summary>
    public StoreHead? Head => Volatile.Read(ref _head);

    public AuthenticatedState State { get; }

    public ConsensusJournal Journal { get; }

    public SafetyRecordStore SafetyRecord { get; }

    /// <summary>
    /// Creates a data directory for <paramref name="identity"/>'s chain. The directory must be absent or empty:
    /// nothing is ever overwritten.
    /// </summary>
    public static LedgerStore Create(string directory, ChainIdentity identity, StoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var error = Decoders.CheckChainId(identity.ChainId);
        if (error is not null) throw error.ToException();
        _ = CryptoSuites.Get(identity.Suite);
        Filesystem.Guard(() =>
        {
            if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
            {
                throw new CustosException(ErrorCode.StorageIo, $"{directory} is not empty; a new store is created only in an empty or absent directory (nothing was overwritten)");
            }

            System.IO.Directory.CreateDirectory(directory);
        }, $"creating {directory}");

        options ??= StoreOptions.Default;
        var db = RocksDatabase.Create(directory, options);
        try
        {
            var record = new ChainIdentityRecord
            {
                FormatVersion = StorageLayout.FormatVersion,
                ChainId = identity.ChainId,
                GenesisHash = identity.GenesisHash.ToByteString(),
                Suite = identity.Suite,
            };
            using var batch = new WriteBatch();
            batch.Put(StorageLayout.ChainIdentityKey, record.ToByteArray(), db[StorageLayout.MetaFamily]);
            db.Write(batch, sync: true);
            return new LedgerStore(db, identity, options);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens an existing data directory. A missing or empty directory is <see cref="ErrorCode.NotFound"/>, one that is
    /// not a Custos store or is damaged <see cref="ErrorCode.StorageCorrupt"/>, another chain's
    /// <see cref="ErrorCode.WrongChain"/>. The marker is checked on a read-only open first, so a refused directory is
    /// left exactly as it was. Opening reads no state: it costs the same with ten keys or ten million.
    /// </summary>
    public static LedgerStore Open(string directory, ChainIdentity? expected = null, StoreOptions? options = null)
    {
        options ??= StoreOptions.Default;
        var identity = ReadIdentity(directory);
        if (expected is not null && identity != expected)
        {
            throw new CustosException(ErrorCode.WrongChain, $"{directory} holds {identity}, not {expected}; it was left untouched");
        }

        var db = RocksDatabase.Open(directory, options);
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

    /// <summary>The chain a data directory belongs to, read without modifying anything.</summary>
    public static ChainIdentity ReadIdentity(string directory)
    {
        CheckLooksLikeStore(directory);
        var families = RocksDatabase.ListFamilies(directory);
        var expectedFamilies = StorageLayout.Families.Append(ColumnFamilies.DefaultName).Order(StringComparer.Ordinal).ToArray();
        if (!families.Order(StringComparer.Ordinal).SequenceEqual(expectedFamilies))
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"{directory} is a RocksDB directory but not a Custos store (column families: {string.Join(", ", families)})");
        }

        byte[]? bytes;
        try
        {
            var columnFamilies = new ColumnFamilies();
            foreach (var name in StorageLayout.Families) columnFamilies.Add(name, new ColumnFamilyOptions());
            using var db = RocksDb.OpenReadOnly(new DbOptions().SetParanoidChecks(true), directory, columnFamilies, false);
            bytes = db.Get(StorageLayout.ChainIdentityKey, db.GetColumnFamily(StorageLayout.MetaFamily), new ReadOptions().SetVerifyChecksums(true));
        }
        catch (RocksDbException e)
        {
            throw RocksDatabase.Translate(e, $"reading the chain identity of {directory}");
        }

        if (bytes is null) throw new CustosException(ErrorCode.StorageCorrupt, $"{directory} has no chain-identity marker");
        ChainIdentityRecord record;
        try
        {
            record = ChainIdentityRecord.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"the chain-identity marker of {directory} is corrupt");
        }

        if (record.FormatVersion != StorageLayout.FormatVersion)
        {
            throw new CustosException(ErrorCode.UnsupportedVersion, $"{directory} is in storage format {record.FormatVersion}; this build reads format {StorageLayout.FormatVersion}");
        }

        if (record.GenesisHash.Length != Hash32.SizeBytes || Decoders.CheckChainId(record.ChainId) is not null || record.Suite is not (CryptoSuiteId.Gm or CryptoSuiteId.Intl))
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"the chain-identity marker of {directory} is corrupt");
        }

        return new ChainIdentity(record.ChainId, new Hash32(record.GenesisHash.Span), record.Suite);
    }

    /// <summary>
    /// Persists a block with everything that belongs to it in one atomic batch, synced before this returns. The
    /// block must extend the head (height, parent hash), carry the right transaction root, and carry the state root
    /// of the previous version (execution lags ordering by one block); anything else is refused and nothing is written.
    /// </summary>
    public PersistResult Persist(BlockPersist persist)
    {
        ArgumentNullException.ThrowIfNull(persist);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_persistGate)
        {
            var block = persist.Block;
            var header = block.Header;
            var head = Head;
            var height = head is null ? 0 : head.Height + 1;
            CheckExtendsHead(header, head, height);
            var blockHash = block.ComputeHash(Suite);
            if (block.ComputeTransactionRoot(Suite) != new Hash32(header.TransactionRoot.Span))
            {
                throw new CustosException(ErrorCode.InvalidField, $"block {height}: transaction_root does not match its transactions");
            }

            var delta = ResolveDelta(persist, height);
            var batch = _batch;
            batch.Clear();
            try
            {
                AddBlock(batch, persist, height, blockHash);
                AddState(batch, delta);
                using var journal = Journal.BeginAppend(batch, persist.JournalEntries);
                var info = new BlockInfoRecord
                {
                    BlockHash = blockHash.ToByteString(),
                    TransactionCount = (uint)block.Transactions.Count,
                    JournalLength = journal.Head.Length,
                    JournalLastHash = journal.Head.LastHash.ToByteString(),
                };
                batch.Put(StorageLayout.BlockInfoKey(height), info.ToByteArray(), _db[StorageLayout.BlocksFamily]);
                var newHead = new StoreHead(height, blockHash, delta.Root, journal.Head);
                batch.Put(StorageLayout.HeadKey, EncodeHead(newHead), _db[StorageLayout.MetaFamily]);

                // The new nodes go into the node cache on another core while this one waits for the disk. The cache
                // is keyed by version and nothing reads this version before it is persisted, so caching early is
                // invisible; should the write fail, the cache is emptied rather than left holding nodes of a
                // version that is not on disk.
                var caching = Task.Run(() => State.Cache.AddAll(delta.Nodes));
                try
                {
                    _db.Write(batch, sync: true);
                }
                catch
                {
                    caching.Wait();
                    State.Cache.Clear();
                    throw;
                }

                caching.Wait();
                journal.Complete();
                State.OnPersisted(delta);
                Volatile.Write(ref _head, newHead);
            }
            finally
            {
                // Large batches would otherwise pin their memory until the next persist.
                if (batch.Count() > 0) batch.Clear();
            }

            Prune();
            return new PersistResult(height, blockHash, delta.Root, delta.NodeCount, Head!.Journal);
        }
    }

    /// <summary>
    /// Writes configuration entries on their own, synced, for records that cannot wait for the next block: an epoch's
    /// ending proof must be served to lagging nodes before the new epoch can commit anything (docs/consensus.md §8).
    /// </summary>
    public void PersistConfiguration(IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_persistGate)
        {
            using var batch = new WriteBatch();
            foreach (var (name, entry) in entries)
            {
                if (string.IsNullOrEmpty(name) || name.Length > StorageLimits.ConfigNameLengthMax)
                {
                    throw new CustosException(ErrorCode.InvalidField, $"a configuration name is 1 to {StorageLimits.ConfigNameLengthMax} characters");
                }

                if (entry.Length > StorageLimits.ConfigEntrySizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"configuration entry '{name}' is {entry.Length} bytes");
                batch.Put(StorageLayout.ConfigEntryKey(name), entry.Span, _db[StorageLayout.ConfigFamily]);
            }

            _db.Write(batch, sync: true);
        }
    }

    /// <summary>
    /// Writes an online, consistent checkpoint of the store to <paramref name="directory"/> (absent or empty): table
    /// files are hard-linked when on the same file system, so it is fast and takes little space. Restore it with
    /// <see cref="Restore"/>.
    /// </summary>
    public void Checkpoint(string directory)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Filesystem.Guard(() =>
        {
            if (System.IO.Directory.Exists(directory))
            {
                if (System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
                {
                    throw new CustosException(ErrorCode.StorageIo, $"{directory} is not empty (nothing was overwritten)");
                }

                // RocksDB creates the checkpoint directory itself.
                System.IO.Directory.Delete(directory);
            }
        }, $"preparing {directory}");
        lock (_persistGate) _db.Checkpoint(directory);
    }

    public void Dispose()
    {
        if (_disposed) return;
        lock (_persistGate)
        {
            _disposed = true;
            _batch.Dispose();
            State.Dispose();
            _db.Dispose();
        }
    }

    internal RocksDatabase Database => _db;

    private void CheckExtendsHead(BlockHeader header, StoreHead? head, ulong height)
    {
        if (header.ChainId != Identity.ChainId)
        {
            throw new CustosException(ErrorCode.ChainIdMismatch, $"block is for chain '{header.ChainId}', the store for '{Identity.ChainId}'");
        }

        if (header.Height != height)
        {
            throw new CustosException(ErrorCode.InvalidField, $"block height {header.Height} does not extend the head (next height is {height})");
        }

        if (head is not null && new Hash32(header.ParentHash.Span) != head.BlockHash)
        {
            throw new CustosException(ErrorCode.InvalidField, $"block {height}'s parent_hash is not the hash of block {head.Height}");
        }

        var lagged = head?.StateRoot ?? State.EmptyRoot;
        if (new Hash32(header.StateRoot.Span) != lagged)
        {
            throw new CustosException(ErrorCode.InvalidField, $"block {height}'s state_root is not the root of state version {(head is null ? "(empty)" : head.Height.ToString())}");
        }
    }

    private StateDelta ResolveDelta(BlockPersist persist, ulong height)
    {
        if (persist.StateDelta is not null && persist.StateWrites is not null)
        {
            throw new CustosException(ErrorCode.InvalidField, "give either a staged state delta or state writes, not both");
        }

        var delta = persist.StateDelta ?? State.Stage(persist.StateWrites ?? []);
        if (delta.Owner != State || delta.IsPersisted || delta.Version != height || delta.BaseVersion != State.LatestVersion)
        {
            throw new CustosException(ErrorCode.InvalidField,
                $"the state delta is for version {delta.Version} on {delta.BaseVersion?.ToString() ?? "nothing"}, but block {height} needs one on {State.LatestVersion?.ToString() ?? "nothing"}");
        }

        return delta;
    }

    private void AddBlock(WriteBatch batch, BlockPersist persist, ulong height, Hash32 blockHash)
    {
        var block = persist.Block;
        var blocks = _db[StorageLayout.BlocksFamily];
        var transactions = _db[StorageLayout.TransactionsFamily];
        var encoded = block.Encoded.Span;
        var length = StorageLayout.StoredBlockPrefixLength + encoded.Length;
        var value = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            blockHash.CopyTo(value);
            BinaryPrimitives.WriteUInt32BigEndian(value.AsSpan(Hash32.SizeBytes), StorageLayout.Crc32C(encoded));
            encoded.CopyTo(value.AsSpan(StorageLayout.StoredBlockPrefixLength));
            batch.Put(StorageLayout.BlockByHeightKey(height), value.AsSpan(0, length), blocks);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(value);
        }

        batch.Put(StorageLayout.HeightByHashKey(blockHash), StorageLayout.EncodeHeight(height), blocks);

        var count = block.Transactions.Count;
        if (persist.Receipts.Count != 0 && persist.Receipts.Count != count)
        {
            throw new CustosException(ErrorCode.InvalidField, $"{persist.Receipts.Count} receipts for {count} transactions");
        }

        var seen = new HashSet<Hash32>(count);
        Span<byte> position = stackalloc byte[12];
        for (var i = 0; i < count; i++)
        {
            var id = block.Transactions[i].ComputeId(Suite);
            var key = StorageLayout.TransactionPositionKey(id);
            // A repeated transaction is part of the block (execution gave it a DUPLICATE_TRANSACTION receipt); the index
            // keeps where it first appeared, which is where it took effect.
            if (!seen.Add(id) || _db.Get(StorageLayout.TransactionsFamily, key) is not null) continue;

            BinaryPrimitives.WriteUInt64BigEndian(position, height);
            BinaryPrimitives.WriteUInt32BigEndian(position[8..], (uint)i);
            batch.Put(key, position, transactions);
        }

        AddReceipts(batch, persist, height, count);

        foreach (var (name, entry) in persist.Configuration)
        {
            if (string.IsNullOrEmpty(name) || name.Length > StorageLimits.ConfigNameLengthMax)
            {
                throw new CustosException(ErrorCode.InvalidField, $"a configuration name is 1 to {StorageLimits.ConfigNameLengthMax} characters");
            }

            if (entry.Length > StorageLimits.ConfigEntrySizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"configuration entry '{name}' is {entry.Length} bytes");
            batch.Put(StorageLayout.ConfigEntryKey(name), entry.Span, _db[StorageLayout.ConfigFamily]);
        }
    }

    /// <summary>The block's receipts and events as one value (none for a block without either).</summary>
    private void AddReceipts(WriteBatch batch, BlockPersist persist, ulong height, int count)
    {
        if (persist.Receipts.Count == 0 && persist.Events.Count == 0) return;
        var record = new BlockReceiptsRecord();
        for (var i = 0; i < persist.Receipts.Count; i++)
        {
            var receipt = persist.Receipts[i];
            if (receipt.Length > StorageLimits.ReceiptSizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"receipt {i} is {receipt.Length} bytes");
            record.Receipts.Add(UnsafeByteOperations.UnsafeWrap(receipt));
        }

        // Kept in transaction order, and in the order given within a transaction (its emission order).
        var events = persist.Events;
        for (var i = 1; i < events.Count; i++)
        {
            if (events[i].TransactionIndex >= events[i - 1].TransactionIndex) continue;
            events = [.. events.OrderBy(e => e.TransactionIndex)];
            break;
        }

        foreach (var stored in events)
        {
            if (stored.TransactionIndex >= count) throw new CustosException(ErrorCode.InvalidField, $"an event names transaction {stored.TransactionIndex} of a block of {count}");
            if (stored.Encoded.Length > StorageLimits.ReceiptSizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"an event is {stored.Encoded.Length} bytes");
            record.Events.Add(new StoredEventRecord { TransactionIndex = stored.TransactionIndex, Encoded = UnsafeByteOperations.UnsafeWrap(stored.Encoded) });
        }

        // Encoded into a pooled buffer: a block's receipts are often larger than the large-object threshold.
        var length = record.CalculateSize();
        var value = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            record.WriteTo(value.AsSpan(0, length));
            batch.Put(StorageLayout.ReceiptsKey(height), value.AsSpan(0, length), _db[StorageLayout.TransactionsFamily]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(value);
        }
    }

    private void AddState(WriteBatch batch, StateDelta delta)
    {
        var nodes = _db[StorageLayout.StateNodesFamily];
        var values = _db[StorageLayout.StateValuesFamily];
        Span<byte> key = stackalloc byte[NodeKey.EncodedLengthMax];
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            // Keys of one version are written in ascending order: they all sort after every older version's, so
            // RocksDB appends them at the end of its memtable.
            // A node encodes to at most 5 + 16 × (10 + 64) bytes, well within the buffer.
            foreach (var (nodeKey, node) in delta.Nodes)
            {
                var length = NodeCodec.Encode(node, nodeKey.Version, buffer);
                batch.Put(key[..nodeKey.Encode(key)], buffer.AsSpan(0, length), nodes);
            }

            foreach (var write in delta.Values)
            {
                var length = NodeCodec.ValueRecordLength(write.Key, write.Value!);
                if (length > buffer.Length)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(length);
                }

                NodeCodec.EncodeValueRecord(write.Key, write.Value!, buffer);
                NodeCodec.EncodeValueKey(delta.Version, write.KeyHash, key);
                batch.Put(key[..NodeCodec.ValueKeyLength], buffer.AsSpan(0, length), values);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        batch.Put(StorageLayout.StateRootKey(delta.Version), delta.Root.ToArray(), _db[StorageLayout.StateRootsFamily]);
        if (delta.ReplayWrites.Length > 0)
        {
            var replay = _db[StorageLayout.ReplayFamily];
            foreach (var write in delta.ReplayWrites)
            {
                if (write.Value is { } value) batch.Put(write.Key, value, replay);
                else batch.Delete(write.Key, replay);
            }
        }

        if (delta.StaleNodes.Length + delta.StaleValues.Length > 0)
        {
            batch.Put(StorageLayout.StaleListKey(delta.Version), AuthenticatedState.EncodeStaleList(delta.StaleNodes, delta.StaleValues), _db[StorageLayout.StateStaleFamily]);
        }
    }

    private void CheckHead()
    {
        // A cheap consistency check on open, bounded in cost: the head block and the root node of the head version
        // must be there and verify. The full check is VerifyChain.
        var head = Head;
        if (head is null) return;
        var block = ReadBlock(head.Height) ?? throw new CustosException(ErrorCode.StorageCorrupt, $"the head block {head.Height} is missing");
        if (block.Hash != head.BlockHash) throw new CustosException(ErrorCode.StorageCorrupt, $"the head record does not match block {head.Height}");
        if (State.RootAt(head.Height) != head.StateRoot) throw new CustosException(ErrorCode.StorageCorrupt, "the head record's state root does not match the recorded root");
        State.Load(new NodeKey(head.Height, NibblePath.Empty), head.StateRoot);
        if (Journal.Head.Length < head.Journal.Length)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, "the consensus journal is shorter than the head block records");
        }
    }

    private static void CheckLooksLikeStore(string directory)
    {
        Filesystem.Guard(() =>
        {
            if (!System.IO.Directory.Exists(directory))
            {
                throw new CustosException(ErrorCode.NotFound, $"no data directory at {directory}");
            }

            if (!System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
            {
                throw new CustosException(ErrorCode.NotFound, $"the data directory {directory} is empty (never initialised)");
            }

            if (!File.Exists(Path.Combine(directory, CurrentFileName)))
            {
                throw new CustosException(ErrorCode.StorageCorrupt, $"{directory} is not a Custos data directory (no RocksDB CURRENT file)");
            }
        }, $"reading {directory}");
    }

    private static byte[] EncodeHead(StoreHead head) => new StoreHeadRecord
    {
        Height = head.Height,
        BlockHash = head.BlockHash.ToByteString(),
        StateRoot = head.StateRoot.ToByteString(),
        JournalLength = head.Journal.Length,
        JournalLastHash = head.Journal.LastHash.ToByteString(),
    }.ToByteArray();

    private static StoreHead? LoadHead(RocksDatabase db)
    {
        var bytes = db.Get(StorageLayout.MetaFamily, StorageLayout.HeadKey);
        if (bytes is null) return null;
        try
        {
            var record = StoreHeadRecord.Parser.ParseFrom(bytes);
            return new StoreHead(record.Height, new Hash32(record.BlockHash.Span), new Hash32(record.StateRoot.Span),
                new JournalHead(record.JournalLength, new Hash32(record.JournalLastHash.Span)));
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or CustosException)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, "the head record is corrupt", e);
        }
    }

    private static ulong ReadPrunedThrough(RocksDatabase db)
    {
        var bytes = db.Get(StorageLayout.MetaFamily, StorageLayout.PrunedThroughKey);
        if (bytes is null) return 0;
        if (bytes.Length != 8) throw new CustosException(ErrorCode.StorageCorrupt, "the pruning watermark is corrupt");
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }
}

/// <summary>File-system calls with their failures as typed errors.</summary>
internal static class Filesystem
{
    public static void Guard(Action action, string what)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CustosException(ErrorCode.StorageIo, $"{what}: {e.Message}", e);
        }
    }
}
