using System.Buffers;
using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.Wire;
using Google.Protobuf;

namespace Custos.Storage.State;

/// <summary>
/// The versioned key-value state committed by a sparse Merkle tree (see docs/storage.md). Version = block height.
/// Reads and proofs work at any retained version; new versions are computed by <see cref="Stage"/> and written by
/// <see cref="LedgerStore.Persist"/>.
/// <para>
/// Every node read from disk is decoded, hashed and compared with the hash its parent (or the version's recorded
/// root) holds, so a flipped byte is reported as <see cref="ErrorCode.StorageCorrupt"/> and never served. Verified
/// nodes are kept in a bounded cache. Nothing is read at open: the tree is loaded node by node as it is used.
/// </para>
/// Threading: reads, proofs and staging may run on any threads at once; persisting is serialised by the store.
/// </summary>
public sealed class AuthenticatedState : INodeReader, IDisposable
{
    private readonly RocksDatabase _db;
    private readonly IHashFunction _hash;
    private readonly NodeCache _cache;
    private readonly ThreadLocal<StateHasher> _hashers;
    private StateVersions _versions;
    private long _nodesReadFromDisk;

    internal AuthenticatedState(RocksDatabase db, IHashFunction hash, NodeCache cache, ulong? latestVersion, Hash32 latestRoot, ulong prunedThrough)
    {
        _db = db;
        _hash = hash;
        _cache = cache;
        _hashers = new ThreadLocal<StateHasher>(() => new StateHasher(hash), trackAllValues: true);
        EmptyRoot = StateHashing.EmptyRoot(hash);
        _versions = new StateVersions(latestVersion, latestVersion is null ? EmptyRoot : latestRoot, prunedThrough);
    }

    /// <summary>Root of the empty tree under this chain's hash.</summary>
    public Hash32 EmptyRoot { get; }

    /// <summary>The newest persisted version, or null before the first block.</summary>
    public ulong? LatestVersion => Volatile.Read(ref _versions).Latest;

    /// <summary>Root of <see cref="LatestVersion"/> (the empty root before the first block).</summary>
    public Hash32 LatestRoot => Volatile.Read(ref _versions).LatestRoot;

    /// <summary>The oldest version whose tree is complete on disk (0 unless pruning removed older ones).</summary>
    public ulong OldestRetainedVersion => Volatile.Read(ref _versions).PrunedThrough;

    /// <summary>Nodes read and verified from RocksDB since open (not from the cache): shows what open does not load.</summary>
    public long NodesReadFromDisk => Interlocked.Read(ref _nodesReadFromDisk);

    internal NodeCache Cache => _cache;

    /// <summary>The root recorded for <paramref name="version"/>.</summary>
    public Hash32 RootAt(ulong version)
    {
        var versions = Volatile.Read(ref _versions);
        if (versions.Latest is not { } latest || version > latest)
        {
            throw new CustosException(ErrorCode.NotFound, $"state version {version} does not exist (latest is {versions.Latest?.ToString() ?? "none"})");
        }

        if (version == latest) return versions.LatestRoot;
        var bytes = _db.Get(StorageLayout.StateRootsFamily, StorageLayout.StateRootKey(version))
            ?? throw new CustosException(ErrorCode.StorageCorrupt, $"the root of state version {version} is missing");
        if (bytes.Length != Hash32.SizeBytes) throw new CustosException(ErrorCode.StorageCorrupt, $"the root of state version {version} is {bytes.Length} bytes");
        return new Hash32(bytes);
    }

    /// <summary>The value of <paramref name="key"/> at <paramref name="version"/> (default: latest), or null if absent.</summary>
    /// <remarks>
    /// A replay record (<see cref="ReplayRecords"/>) is kept beside the tree with its latest value only: it is read as
    /// it is now, whatever the version asked for.
    /// </remarks>
    public byte[]? Get(ReadOnlySpan<byte> key, ulong? version = null)
    {
        CheckKey(key);
        if (ReplayRecords.IsReplayRecord(key)) return _db.Get(StorageLayout.ReplayFamily, key);
        var at = ResolveVersion(version);
        if (at is null) return null;
        var path = NibblePath.FromHash(_hashers.Value!.KeyHash(key));
        var leaf = FindLeafOnPath(at.Value, path, levels: null);
        return leaf is { } found && found.KeyPath.Equals(path) ? ReadValue(found).Value : null;
    }

    /// <summary>
    /// The value of <paramref name="key"/> at <paramref name="version"/> (default: latest) with an inclusion proof, or
    /// its absence with a non-inclusion proof. Verify with <see cref="StateProofVerifier"/>.
    /// </summary>
    public StateProofResult Prove(ReadOnlySpan<byte> key, ulong? version = null)
    {
        CheckKey(key);
        if (ReplayRecords.IsReplayRecord(key))
        {
            throw new CustosException(ErrorCode.InvalidField, "replay records are kept beside the authenticated state, not in it: there is no proof of one");
        }

        var at = ResolveVersion(version) ?? throw new CustosException(ErrorCode.NotFound, "the state has no version yet");
        var path = NibblePath.FromHash(_hashers.Value!.KeyHash(key));
        var proof = new StateProof();
        byte[]? value = null;
        if (FindLeafOnPath(at, path, proof.Levels) is { } leaf)
        {
            proof.LeafKeyHash = leaf.KeyHash.ToByteString();
            proof.LeafValueHash = leaf.ValueHash.ToByteString();
            if (leaf.KeyPath.Equals(path)) value = ReadValue(leaf).Value;
        }

        return new StateProofResult(at, RootAt(at), key.ToArray(), value, proof.ToByteArray());
    }

    /// <summary>
    /// Computes the next version from <paramref name="writes"/> (one per key; their order does not matter) on top of
    /// <paramref name="onTopOf"/>, a staged delta not yet persisted, or else on the latest persisted version. Writes
    /// nothing; pass the result to <see cref="LedgerStore.Persist"/>.
    /// </summary>
    public StateDelta Stage(IReadOnlyList<StateWrite> writes, StateDelta? onTopOf = null)
    {
        ArgumentNullException.ThrowIfNull(writes);
        if (writes.Count > StorageLimits.StateWritesPerVersionMax)
        {
            throw new CustosException(ErrorCode.TooLarge, $"{writes.Count} state writes in one version, at most {StorageLimits.StateWritesPerVersionMax} allowed");
        }

        var versions = Volatile.Read(ref _versions);
        ulong? baseVersion;
        Hash32 baseRoot;
        if (onTopOf is not null && !onTopOf.IsPersisted)
        {
            if (onTopOf.Owner != this) throw StateDelta.Mismatch("the delta was staged on another store");
            baseVersion = onTopOf.Version;
            baseRoot = onTopOf.Root;
        }
        else
        {
            if (onTopOf is not null && onTopOf.Version != versions.Latest)
            {
                throw StateDelta.Mismatch($"cannot stage on version {onTopOf.Version}: the latest persisted version is {versions.Latest}");
            }

            baseVersion = versions.Latest;
            baseRoot = versions.LatestRoot;
            onTopOf = null;
        }

        var version = baseVersion is { } b ? b + 1 : 0;
        var replayWrites = SeparateReplayRecords(ref writes);
        var count = writes.Count;
        var pending = ArrayPool<PendingWrite>.Shared.Rent(count);
        try
        {
            Prepare(writes, version, pending);
            var reader = new StagedReader(this, onTopOf);
            var unchangedPuts = new bool[count];
            var update = new TreeUpdate(version, reader, _hash, _hashers.Value!, unchangedPuts, count);
            Hash32 root;
            if (baseVersion is { } baseAt)
            {
                var baseKey = new NodeKey(baseAt, NibblePath.Empty);
                root = update.Apply(reader.Load(baseKey, baseRoot), baseKey, pending, count, EmptyRoot);
            }
            else
            {
                root = update.Apply(null, default, pending, count, EmptyRoot);
            }

            var valueCount = 0;
            for (var i = 0; i < count; i++)
            {
                if (pending[i].IsPut && !unchangedPuts[pending[i].Index]) valueCount++;
            }

            var values = new PendingWrite[valueCount];
            valueCount = 0;
            for (var i = 0; i < count; i++)
            {
                if (pending[i].IsPut && !unchangedPuts[pending[i].Index]) values[valueCount++] = pending[i];
            }

            return new StateDelta(version, baseVersion, root, count, update.WrittenNodes(), values, update.StaleNodeKeys(), update.StaleValueKeys(), onTopOf, this)
            {
                ReplayWrites = replayWrites,
            };
        }
        finally
        {
            // Pending writes hold the callers' keys and values: cleared so that the pool does not keep them alive.
            ArrayPool<PendingWrite>.Shared.Return(pending, clearArray: true);
        }
    }

    /// <summary>
    /// Takes the replay records (<see cref="ReplayRecords"/>) out of <paramref name="writes"/>, checked like any state
    /// write: the store keeps them beside the tree, so they change neither the root nor the tree's nodes.
    /// </summary>
    private static StateWrite[] SeparateReplayRecords(ref IReadOnlyList<StateWrite> writes)
    {
        var replay = 0;
        for (var i = 0; i < writes.Count; i++)
        {
            if (ReplayRecords.IsReplayRecord(writes[i].Key)) replay++;
        }

        if (replay == 0) return [];
        var records = new StateWrite[replay];
        var tree = new List<StateWrite>(writes.Count - replay);
        replay = 0;
        for (var i = 0; i < writes.Count; i++)
        {
            var write = writes[i];
            if (!ReplayRecords.IsReplayRecord(write.Key))
            {
                tree.Add(write);
                continue;
            }

            CheckWrite(write);
            records[replay++] = write;
        }

        writes = tree;
        return records;
    }

    /// <summary>
    /// Walks the whole tree of <paramref name="version"/> from disk (bypassing the cache), checking every node's
    /// hash against its parent and every leaf's position, and returns the root so recomputed together with the
    /// number of keys. Cost is proportional to the state's size; used to verify a restored store.
    /// </summary>
    public (Hash32 Root, long Keys) RecomputeRoot(ulong version)
    {
        var root = RootAt(ResolveVersion(version)!.Value);
        var node = Load(new NodeKey(version, NibblePath.Empty), root, useCache: false);
        long keys = 0;
        Walk(node, NibblePath.Empty, (_, _) => keys++, useCache: false);
        return (node.Hash, keys);
    }

    /// <summary>Every key and value at <paramref name="version"/>, in key-hash order.</summary>
    public IEnumerable<KeyValuePair<byte[], byte[]>> Enumerate(ulong version)
    {
        var root = RootAt(ResolveVersion(version)!.Value);
        var results = new List<KeyValuePair<byte[], byte[]>>();
        Walk(Load(new NodeKey(version, NibblePath.Empty), root), NibblePath.Empty, (key, value) => results.Add(new(key, value)), useCache: true);
        return results;
    }

    TreeNode INodeReader.Load(in NodeKey key, in Hash32 expectedHash) => Load(key, expectedHash);

    TreeNode INodeReader.Load(in NodeKey key, in Hash32 expectedHash, byte[] scratch) => Load(key, expectedHash, useCache: true, scratch);

    internal TreeNode Load(in NodeKey key, in Hash32 expectedHash, bool useCache = true, byte[]? scratch = null)
    {
        TreeNode? cached = null;
        if (useCache && (scratch is null ? _cache.TryGet(key, out cached) : _cache.TryGet(key, scratch, out cached)))
        {
            if (cached.Hash != expectedHash)
            {
                throw new CustosException(ErrorCode.StorageCorrupt, $"state node {key} does not have the hash its parent records");
            }

            return cached;
        }

        Span<byte> encodedKey = stackalloc byte[NodeKey.EncodedLengthMax];
        var length = key.Encode(encodedKey);
        var bytes = _db.Get(StorageLayout.StateNodesFamily, encodedKey[..length])
            ?? throw new CustosException(ErrorCode.StorageCorrupt, $"state node {key} is missing");
        var node = NodeCodec.Decode(bytes, key, _hashers.Value!, EmptyRoot);
        if (node.Hash != expectedHash)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"state node {key} does not hash to the value its parent records");
        }

        Interlocked.Increment(ref _nodesReadFromDisk);
        if (useCache) _cache.Add(key, node);
        return node;
    }

    /// <summary>
    /// Called by the store once a delta's batch is on disk and its nodes are in the cache (the next version builds on
    /// them; each replaced its predecessor at the same position).
    /// </summary>
    internal void OnPersisted(StateDelta delta)
    {
        delta.IsPersisted = true;
        delta.Parent = null;
        var versions = Volatile.Read(ref _versions);
        Volatile.Write(ref _versions, versions with { Latest = delta.Version, LatestRoot = delta.Root });
    }

    internal void OnPruned(ulong prunedThrough)
    {
        var versions = Volatile.Read(ref _versions);
        Volatile.Write(ref _versions, versions with { PrunedThrough = prunedThrough });
    }

    /// <summary>A value record read back and checked against the leaf that names it.</summary>
    internal (byte[] Key, byte[] Value) ReadValue(in LeafRef leaf, bool useCache = true)
    {
        Span<byte> key = stackalloc byte[NodeCodec.ValueKeyLength];
        NodeCodec.EncodeValueKey(leaf.Version, leaf.KeyHash, key);
        var bytes = _db.Get(StorageLayout.StateValuesFamily, key)
            ?? throw new CustosException(ErrorCode.StorageCorrupt, $"state value {leaf.Version}/{leaf.KeyHash.ToShortString()} is missing");
        return NodeCodec.DecodeValueRecord(bytes, leaf, _hashers.Value!);
    }

    /// <summary>Tag of a stale-list entry naming a tree node.</summary>
    internal const byte StaleNodeTag = 0x01;

    /// <summary>Tag of a stale-list entry naming a value record.</summary>
    internal const byte StaleValueTag = 0x02;

    /// <summary>
    /// The version's stale list as stored: each entry a tag (0x01 node, 0x02 value record), a length (1 byte) and
    /// the entry's key in its family.
    /// </summary>
    internal static byte[] EncodeStaleList(IReadOnlyList<NodeKey> nodes, IReadOnlyList<(ulong Version, Hash32 KeyHash)> values)
    {
        var length = values.Count * (2 + NodeCodec.ValueKeyLength);
        foreach (var key in nodes) length += 2 + key.EncodedLength;
        var bytes = new byte[length];
        var offset = 0;
        foreach (var key in nodes)
        {
            bytes[offset] = StaleNodeTag;
            bytes[offset + 1] = (byte)key.EncodedLength;
            offset += 2 + key.Encode(bytes.AsSpan(offset + 2));
        }

        foreach (var (version, keyHash) in values)
        {
            bytes[offset] = StaleValueTag;
            bytes[offset + 1] = NodeCodec.ValueKeyLength;
            NodeCodec.EncodeValueKey(version, keyHash, bytes.AsSpan(offset + 2));
            offset += 2 + NodeCodec.ValueKeyLength;
        }

        return bytes;
    }

    /// <summary>The entries of a stale list as (tag, key) pairs; any defect is <see cref="ErrorCode.StorageCorrupt"/>.</summary>
    internal static List<(byte Tag, byte[] Key)> DecodeStaleList(ReadOnlySpan<byte> bytes, ulong version)
    {
        var entries = new List<(byte, byte[])>();
        while (!bytes.IsEmpty)
        {
            if (bytes.Length < 2 || bytes.Length < 2 + bytes[1]) throw CorruptStaleList(version);
            var tag = bytes[0];
            var key = bytes.Slice(2, bytes[1]);
            var valid = tag switch
            {
                StaleNodeTag => NodeKey.TryDecode(key, out var node) && node.EncodedLength == key.Length && node.Version < version,
                StaleValueTag => key.Length == NodeCodec.ValueKeyLength && BinaryPrimitives.ReadUInt64BigEndian(key) < version,
                _ => false,
            };
            if (!valid) throw CorruptStaleList(version);
            entries.Add((tag, key.ToArray()));
            bytes = bytes[(2 + key.Length)..];
        }

        return entries;
    }

    private static CustosException CorruptStaleList(ulong version) =>
        new(ErrorCode.StorageCorrupt, $"the stale list of state version {version} is corrupt");

    public void Dispose()
    {
        foreach (var hasher in _hashers.Values) hasher.Dispose();
        _hashers.Dispose();
    }

    /// <summary>
    /// Follows <paramref name="path"/> from the root of <paramref name="version"/> and returns the leaf where it ends,
    /// or null when it ends at an empty position. With <paramref name="levels"/>, records each internal node passed
    /// (its bitmap and the hashes of the children off the path) for a proof.
    /// </summary>
    private LeafRef? FindLeafOnPath(ulong version, NibblePath path, ICollection<StateProofLevel>? levels)
    {
        // Each node on the way is needed only until its child is found, so cached nodes are read into one scratch
        // buffer per thread instead of a fresh copy each: every state read (a transaction's replay check among them)
        // walks four or five levels.
        var scratch = t_pathScratch ??= new byte[NodeCache.ScratchBytes];
        var node = Load(new NodeKey(version, NibblePath.Empty), RootAt(version), useCache: true, scratch);
        for (var depth = 0; ; depth++)
        {
            switch (node)
            {
                case RootLeafNode root:
                    return root.Leaf;
                case InternalNode inner:
                    var nibble = path[depth];
                    if (levels is not null)
                    {
                        var level = new StateProofLevel { ChildBitmap = inner.ChildBitmap };
                        for (var n = 0; n < 16; n++)
                        {
                            if (n != nibble && inner.HasChild(n)) level.Siblings.Add(inner.ChildHash(n).ToByteString());
                        }

                        levels.Add(level);
                    }

                    if (!inner.HasChild(nibble)) return null;
                    if (inner.IsLeaf(nibble)) return inner.Leaf(nibble);
                    node = LoadInternal(inner, path.Prefix(depth), nibble, useCache: true, scratch);
                    break;
                default:
                    return null;
            }
        }
    }

    [ThreadStatic]
    private static byte[]? t_pathScratch;

    private InternalNode LoadInternal(InternalNode parent, NibblePath parentPath, int nibble, bool useCache, byte[]? scratch = null)
    {
        var key = new NodeKey(parent.ChildVersion(nibble), parentPath.Append(nibble));
        return Load(key, parent.ChildHash(nibble), useCache, scratch) as InternalNode
            ?? throw new CustosException(ErrorCode.StorageCorrupt, $"state node {key} is not the internal node its parent records");
    }

    private void Walk(TreeNode node, NibblePath path, Action<byte[], byte[]> visit, bool useCache)
    {
        switch (node)
        {
            case RootLeafNode root:
                Visit(root.Leaf);
                break;
            case InternalNode inner:
                for (var nibble = 0; nibble < 16; nibble++)
                {
                    if (!inner.HasChild(nibble)) continue;
                    if (inner.IsLeaf(nibble)) Visit(inner.Leaf(nibble));
                    else Walk(LoadInternal(inner, path, nibble, useCache), path.Append(nibble), visit, useCache);
                }

                break;
        }

        void Visit(in LeafRef leaf)
        {
            var (key, value) = ReadValue(leaf);
            visit(key, value);
        }
    }

    private ulong? ResolveVersion(ulong? version)
    {
        var versions = Volatile.Read(ref _versions);
        if (version is null) return versions.Latest;
        if (versions.Latest is not { } latest || version > latest)
        {
            throw new CustosException(ErrorCode.NotFound, $"state version {version} does not exist (latest is {versions.Latest?.ToString() ?? "none"})");
        }

        CheckRetained(version.Value);
        return version;
    }

    private void CheckRetained(ulong version)
    {
        var prunedThrough = Volatile.Read(ref _versions).PrunedThrough;
        if (version < prunedThrough)
        {
            throw new CustosException(ErrorCode.NotFound, $"state version {version} was pruned; the oldest retained version is {prunedThrough}");
        }
    }

    /// <summary>Checks and hashes the writes into the first <c>writes.Count</c> entries of <paramref name="pending"/>, sorted by key hash.</summary>
    private void Prepare(IReadOnlyList<StateWrite> writes, ulong version, PendingWrite[] pending)
    {
        var count = writes.Count;
        for (var i = 0; i < count; i++) CheckWrite(writes[i]);

        // Hashing keys and values is a large part of a version's work; spread it over the cores.
        if (count >= 64)
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                () => _hashers.Value!,
                (i, _, hasher) =>
                {
                    pending[i] = PrepareOne(i, writes[i], version, hasher);
                    return hasher;
                },
                _ => { });
        }
        else
        {
            for (var i = 0; i < count; i++) pending[i] = PrepareOne(i, writes[i], version, _hashers.Value!);
        }

        var order = ArrayPool<NibblePath>.Shared.Rent(count);
        try
        {
            for (var i = 0; i < count; i++) order[i] = pending[i].KeyPath;
            order.AsSpan(0, count).Sort(pending.AsSpan(0, count));
        }
        finally
        {
            ArrayPool<NibblePath>.Shared.Return(order);
        }

        for (var i = 1; i < count; i++)
        {
            if (!pending[i].KeyPath.Equals(pending[i - 1].KeyPath)) continue;
            throw pending[i].Key.AsSpan().SequenceEqual(pending[i - 1].Key)
                ? new CustosException(ErrorCode.InvalidField, "a key is written twice in one version")
                : new CustosException(ErrorCode.StorageCorrupt, "two different keys with the same key hash (a hash collision)");
        }
    }

    private static PendingWrite PrepareOne(int index, StateWrite write, ulong version, StateHasher hasher)
    {
        var keyHash = hasher.KeyHash(write.Key);
        var leaf = write.Value is null
            ? new LeafRef(keyHash, default, default, version)
            : LeafRef.Create(hasher, keyHash, hasher.ValueHash(write.Value), version);
        return new PendingWrite(index, write.Key, write.Value, leaf);
    }

    private static void CheckWrite(in StateWrite write)
    {
        CheckKey(write.Key);
        if (write.Value is { Length: > StorageLimits.StateValueSizeBytesMax } value)
        {
            throw new CustosException(ErrorCode.TooLarge, $"a state value is {value.Length} bytes, at most {StorageLimits.StateValueSizeBytesMax} allowed");
        }
    }

    private static void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty || key.Length > StorageLimits.StateKeySizeBytesMax)
        {
            throw new CustosException(ErrorCode.InvalidLength, $"a state key is 1 to {StorageLimits.StateKeySizeBytesMax} bytes, got {key.Length}");
        }
    }

    private sealed record StateVersions(ulong? Latest, Hash32 LatestRoot, ulong PrunedThrough);

    /// <summary>Reads through the staged, not yet persisted deltas before the store.</summary>
    private sealed class StagedReader(AuthenticatedState state, StateDelta? top) : INodeReader
    {
        public TreeNode Load(in NodeKey key, in Hash32 expectedHash) => Load(key, expectedHash, null);

        public TreeNode Load(in NodeKey key, in Hash32 expectedHash, byte[]? scratch)
        {
            for (var delta = top; delta is not null && !delta.IsPersisted; delta = delta.Parent)
            {
                if (delta.TryGetNode(key, out var node))
                {
                    if (node.Hash != expectedHash) throw new CustosException(ErrorCode.StorageCorrupt, $"staged state node {key} does not match its parent");
                    return node;
                }
            }

            return state.Load(key, expectedHash, useCache: true, scratch);
        }
    }
}
