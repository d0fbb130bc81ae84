using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Storage.State;

/// <summary>Reads verified tree nodes: from staged deltas, the node cache or RocksDB.</summary>
internal interface INodeReader
{
    /// <summary>
    /// The node stored at <paramref name="key"/>, whose hash must be <paramref name="expectedHash"/>; a missing node or
    /// a hash mismatch is <see cref="ErrorCode.StorageCorrupt"/>.
    /// </summary>
    TreeNode Load(in NodeKey key, in Hash32 expectedHash);

    /// <summary>
    /// Like <see cref="Load(in NodeKey, in Hash32)"/>, but a node copied from the cache may keep its data in
    /// <paramref name="scratch"/> (<see cref="NodeCache.ScratchBytes"/> long): it is then valid only until the
    /// caller reuses that array.
    /// </summary>
    TreeNode Load(in NodeKey key, in Hash32 expectedHash, byte[] scratch);
}

/// <summary>One write of a version, ready for the tree: its key's path and, for a put, its new leaf (hashes computed).</summary>
internal readonly struct PendingWrite(int index, byte[] key, byte[]? value, LeafRef leaf)
{
    /// <summary>Position among the version's writes (before sorting).</summary>
    public int Index { get; } = index;

    public byte[] Key { get; } = key;

    /// <summary>Null for a delete.</summary>
    public byte[]? Value { get; } = value;

    public Hash32 KeyHash => Leaf.KeyHash;

    public NibblePath KeyPath => Leaf.KeyPath;

    /// <summary>The new leaf of a put (its version is the new version); for a delete only its key path is meaningful.</summary>
    public LeafRef Leaf { get; } = leaf;

    public bool IsPut => Value is not null;
}

/// <summary>
/// Computes one new version of the tree from the previous one and a sorted set of writes, Jellyfish style: only
/// internal nodes on the paths of changed keys are visited, and each changed node is written once under the new
/// version (<see cref="Written"/>); the nodes and value records it replaces are recorded as stale since that version.
/// <para>
/// The shape is canonical, so the root depends only on the set of keys and values, never on update order: a
/// position holding no key is empty, one key is a leaf, two or more an internal node. Deletes therefore pull a
/// lone remaining leaf up to the highest position where it is alone. Leaves live in their parents (key hash, value
/// hash, version of the value record), so updating or moving a leaf never reads it.
/// </para>
/// Each instance is used by one thread; the top level fans out over the 16 subtrees of the root.
/// </summary>
internal sealed class TreeUpdate
{
    /// <summary>Writes below which fanning out over threads costs more than it saves.</summary>
    private const int ParallelWritesMin = 256;

    private readonly ulong _version;
    private readonly INodeReader _reader;
    private readonly IHashFunction _hash;
    private readonly StateHasher _hasher;
    private readonly bool[] _unchangedPuts;
    private readonly NodeArena _arena = new();
    private PendingWrite[] _all = [];

    /// <summary>One scratch array per depth for nodes read from the cache: a node is needed only until its subtree is done.</summary>
    private readonly byte[]?[] _scratch = new byte[]?[NibblePath.LengthMax + 1];

    /// <summary>The updates of the root's subtrees when the root fanned out, in nibble order.</summary>
    private TreeUpdate?[] _parts = [];

    /// <param name="expectedWrites">Writes this instance will apply, to size its lists: a version writes about two
    /// nodes per write in a large tree, and growing lists of that size by doubling would churn the large-object heap.</param>
    public TreeUpdate(ulong version, INodeReader reader, IHashFunction hash, StateHasher hasher, bool[] unchangedPuts, int expectedWrites = 0)
    {
        _version = version;
        _reader = reader;
        _hash = hash;
        _hasher = hasher;
        _unchangedPuts = unchangedPuts;
        Written = new List<KeyValuePair<NodeKey, TreeNode>>(3 * expectedWrites);
        StaleNodes = new List<NodeKey>(3 * expectedWrites);
        StaleValues = new List<(ulong Version, Hash32 KeyHash)>(expectedWrites);
    }

    /// <summary>Nodes this instance wrote (those of its parts are not included: see <see cref="WrittenNodes"/>).</summary>
    public List<KeyValuePair<NodeKey, TreeNode>> Written { get; }

    public List<NodeKey> StaleNodes { get; }

    public List<(ulong Version, Hash32 KeyHash)> StaleValues { get; }

    /// <summary>
    /// Every node the update wrote, sorted by node key. All are of one version, so that is by path length, then by
    /// nibbles; nodes of one length are written in nibble order (children are visited in order, and the parts
    /// follow the root's nibbles), so a stable counting sort by length sorts them without comparing keys.
    /// </summary>
    public KeyValuePair<NodeKey, TreeNode>[] WrittenNodes()
    {
        Span<int> starts = stackalloc int[NibblePath.LengthMax + 2];
        starts.Clear();
        var total = 0;
        foreach (var update in Updates())
        {
            foreach (var (key, _) in update.Written) starts[key.Path.Length + 1]++;
            total += update.Written.Count;
        }

        for (var length = 0; length <= NibblePath.LengthMax; length++) starts[length + 1] += starts[length];
        var sorted = new KeyValuePair<NodeKey, TreeNode>[total];
        foreach (var update in Updates())
        {
            foreach (var written in update.Written) sorted[starts[written.Key.Path.Length]++] = written;
        }

        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i - 1].Key.CompareTo(sorted[i].Key) < 0) continue;

            // Never expected; the order only makes RocksDB's inserts cheaper, so fall back rather than fail.
            Array.Sort(sorted, (x, y) => x.Key.CompareTo(y.Key));
            break;
        }

        return sorted;
    }

    /// <summary>Every node the update replaced, its parts' included.</summary>
    public NodeKey[] StaleNodeKeys() => Gather(update => update.StaleNodes);

    /// <summary>Every value record the update replaced, its parts' included.</summary>
    public (ulong Version, Hash32 KeyHash)[] StaleValueKeys() => Gather(update => update.StaleValues);

    private T[] Gather<T>(Func<TreeUpdate, List<T>> list)
    {
        var total = 0;
        foreach (var update in Updates()) total += list(update).Count;
        var all = new T[total];
        var offset = 0;
        foreach (var update in Updates())
        {
            var items = list(update);
            items.CopyTo(all, offset);
            offset += items.Count;
        }

        return all;
    }

    /// <summary>The parts in nibble order, then this instance (whose own nodes are the root's level).</summary>
    private IEnumerable<TreeUpdate> Updates()
    {
        foreach (var part in _parts)
        {
            if (part is not null) yield return part;
        }

        yield return this;
    }

    /// <summary>
    /// Applies the first <paramref name="count"/> of <paramref name="pending"/> (sorted by key hash, one per key) to the tree whose root node is
    /// <paramref name="baseRoot"/> stored at <paramref name="baseRootKey"/> (null for the first version), writes the
    /// new root node at the empty path and returns the new root hash. Puts that set a key to the value it already has
    /// are flagged in the array given at construction: they need no new value record.
    /// </summary>
    public Hash32 Apply(TreeNode? baseRoot, NodeKey baseRootKey, PendingWrite[] pending, int count, Hash32 emptyRoot)
    {
        _all = pending;
        var writes = pending.AsSpan(0, count);
        var result = baseRoot switch
        {
            null or NullNode => BuildFromPuts(writes),
            RootLeafNode root => UpdateLeaf(root.Leaf, NibblePath.Empty, 0, writes),
            InternalNode node => UpdateInternal(node, baseRootKey, 0, writes, parallel: writes.Length >= ParallelWritesMin),
            _ => throw new InvalidOperationException("unknown node type"),
        };

        // Every version has a root record of its own, so a version's root is found without knowing when it last changed.
        if (baseRoot is NullNode or RootLeafNode || (baseRoot is not null && result.Kind == SubtreeKind.Unchanged)) StaleNodes.Add(baseRootKey);
        var rootKey = new NodeKey(_version, NibblePath.Empty);
        switch (result.Kind)
        {
            case SubtreeKind.Unchanged when baseRoot is not null:
                Written.Add(new(rootKey, baseRoot));
                return baseRoot.Hash;
            case SubtreeKind.Unchanged or SubtreeKind.Empty:
                Written.Add(new(rootKey, new NullNode(emptyRoot)));
                return emptyRoot;
            case SubtreeKind.Leaf:
                Written.Add(new(rootKey, new RootLeafNode(result.Leaf)));
                return result.Leaf.Hash;
            default:
                return result.Hash;
        }
    }

    private Subtree UpdateLeaf(in LeafRef old, NibblePath path, int depth, ReadOnlySpan<PendingWrite> writes)
    {
        var match = -1;
        var otherPut = false;
        for (var i = 0; i < writes.Length; i++)
        {
            if (writes[i].KeyPath.Equals(old.KeyPath)) match = i;
            else if (writes[i].IsPut) otherPut = true;
        }

        var keepOld = match < 0;
        if (match >= 0)
        {
            if (!writes[match].IsPut)
            {
                StaleValues.Add((old.Version, old.KeyHash));
            }
            else if (writes[match].Leaf.ValueHash == old.ValueHash)
            {
                _unchangedPuts[writes[match].Index] = true;
                keepOld = true;
            }
            else
            {
                StaleValues.Add((old.Version, old.KeyHash));
            }
        }

        if (keepOld && !otherPut) return Subtree.Unchanged;

        var leaves = writes.Length < 16 ? stackalloc LeafRef[writes.Length + 1] : new LeafRef[writes.Length + 1];
        var count = 0;
        var oldPlaced = !keepOld;
        for (var i = 0; i < writes.Length; i++)
        {
            if (!oldPlaced && old.KeyPath.CompareBits(writes[i].KeyPath) <= 0)
            {
                leaves[count++] = old;
                oldPlaced = true;
            }

            if (writes[i].IsPut && !(i == match && keepOld)) leaves[count++] = writes[i].Leaf;
        }

        if (!oldPlaced) leaves[count++] = old;
        return Build(leaves[..count], path, depth);
    }

    private Subtree UpdateInternal(InternalNode node, NodeKey key, int depth, ReadOnlySpan<PendingWrite> writes, bool parallel)
    {
        // Writes are sorted, so each nibble's writes are one contiguous range.
        Span<int> starts = stackalloc int[17];
        var position = 0;
        for (var nibble = 0; nibble < 16; nibble++)
        {
            starts[nibble] = position;
            while (position < writes.Length && writes[position].KeyPath[depth] == nibble) position++;
        }

        starts[16] = position;
        Span<Subtree> results = stackalloc Subtree[16];
        if (parallel)
        {
            UpdateChildrenInParallel(node, key.Path, depth, writes, starts).CopyTo(results);
        }
        else
        {
            for (var nibble = 0; nibble < 16; nibble++)
            {
                var range = writes[starts[nibble]..starts[nibble + 1]];
                results[nibble] = range.IsEmpty ? Subtree.Unchanged : UpdateChild(node, key.Path, depth, nibble, range);
            }
        }

        var changed = false;
        var count = 0;
        var only = -1;
        for (var nibble = 0; nibble < 16; nibble++)
        {
            changed |= results[nibble].Kind != SubtreeKind.Unchanged;
            var present = results[nibble].Kind switch
            {
                SubtreeKind.Unchanged => node.HasChild(nibble),
                SubtreeKind.Empty => false,
                _ => true,
            };
            if (!present) continue;
            count++;
            only = nibble;
        }

        if (!changed) return Subtree.Unchanged;
        StaleNodes.Add(key);
        if (count == 0) return Subtree.Empty;
        if (count == 1)
        {
            // The last key below this node moves up to its position.
            var single = results[only];
            if (single.Kind == SubtreeKind.Leaf) return single;
            if (single.Kind == SubtreeKind.Unchanged && node.IsLeaf(only)) return Subtree.OfLeaf(node.Leaf(only));
        }

        var children = new ChildrenBuilder(stackalloc byte[ChildrenBuilder.BufferBytes]);
        for (var nibble = 0; nibble < 16; nibble++)
        {
            var result = results[nibble];
            switch (result.Kind)
            {
                case SubtreeKind.Unchanged when node.HasChild(nibble):
                    children.AddExisting(node, nibble);
                    break;
                case SubtreeKind.Leaf:
                    children.AddLeaf(nibble, result.Leaf);
                    break;
                case SubtreeKind.Internal:
                    children.AddInternal(nibble, result.Hash, _version);
                    break;
            }
        }

        return WriteInternal(key.Path, children);
    }

    private Subtree UpdateChild(InternalNode node, NibblePath path, int depth, int nibble, ReadOnlySpan<PendingWrite> range)
    {
        var childPath = path.Append(nibble);
        if (!node.HasChild(nibble))
        {
            var puts = range.Length < 16 ? stackalloc LeafRef[range.Length] : new LeafRef[range.Length];
            return Build(puts[..Puts(range, puts)], childPath, depth + 1);
        }

        if (node.IsLeaf(nibble)) return UpdateLeaf(node.Leaf(nibble), childPath, depth + 1, range);
        var childKey = new NodeKey(node.ChildVersion(nibble), childPath);
        var scratch = _scratch[depth + 1] ??= new byte[NodeCache.ScratchBytes];
        if (_reader.Load(childKey, node.ChildHash(nibble), scratch) is not InternalNode child)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"state node {childKey} is not the internal node its parent records");
        }

        return UpdateInternal(child, childKey, depth + 1, range, parallel: false);
    }

    private Subtree[] UpdateChildrenInParallel(InternalNode node, NibblePath path, int depth, ReadOnlySpan<PendingWrite> writes, ReadOnlySpan<int> starts)
    {
        // Only the root fans out, and its writes are all of them: the threads share the array instead of a copy.
        var all = _all;
        var bounds = starts.ToArray();
        var results = new Subtree[16];
        var parts = new TreeUpdate?[16];
        Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, nibble =>
        {
            if (bounds[nibble] == bounds[nibble + 1]) return;
            using var hasher = new StateHasher(_hash);
            var part = new TreeUpdate(_version, _reader, _hash, hasher, _unchangedPuts, bounds[nibble + 1] - bounds[nibble]);
            results[nibble] = part.UpdateChild(node, path, depth, nibble, all.AsSpan(bounds[nibble]..bounds[nibble + 1]));
            parts[nibble] = part;
        });
        _parts = parts;

        return results;
    }

    /// <summary>The canonical subtree holding exactly <paramref name="leaves"/> (sorted by key hash) at <paramref name="path"/>.</summary>
    private Subtree Build(ReadOnlySpan<LeafRef> leaves, NibblePath path, int depth)
    {
        if (leaves.IsEmpty) return Subtree.Empty;
        if (leaves.Length == 1) return Subtree.OfLeaf(leaves[0]);
        if (depth >= NibblePath.LengthMax)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, "two keys with the same key hash (a hash collision)");
        }

        var children = new ChildrenBuilder(stackalloc byte[ChildrenBuilder.BufferBytes]);
        var start = 0;
        while (start < leaves.Length)
        {
            var nibble = leaves[start].KeyPath[depth];
            var end = start + 1;
            while (end < leaves.Length && leaves[end].KeyPath[depth] == nibble) end++;
            var result = Build(leaves[start..end], path.Append(nibble), depth + 1);
            if (result.Kind == SubtreeKind.Leaf) children.AddLeaf(nibble, result.Leaf);
            else children.AddInternal(nibble, result.Hash, _version);
            start = end;
        }

        return WriteInternal(path, children);
    }

    private Subtree WriteInternal(NibblePath path, in ChildrenBuilder children)
    {
        var node = children.Build(_hasher, _arena);
        Written.Add(new(new NodeKey(_version, path), node));
        return Subtree.OfInternal(node.Hash);
    }

    private Subtree BuildFromPuts(ReadOnlySpan<PendingWrite> writes)
    {
        var puts = new LeafRef[writes.Length];
        return Build(puts.AsSpan(0, Puts(writes, puts)), NibblePath.Empty, 0);
    }

    /// <summary>Copies the leaves of the puts among <paramref name="writes"/> into <paramref name="leaves"/>; returns how many.</summary>
    private static int Puts(ReadOnlySpan<PendingWrite> writes, Span<LeafRef> leaves)
    {
        var count = 0;
        foreach (var write in writes)
        {
            if (write.IsPut) leaves[count++] = write.Leaf;
        }

        return count;
    }

    private enum SubtreeKind : byte
    {
        Unchanged,
        Empty,
        Leaf,
        Internal,
    }

    /// <summary>What became of a subtree: unchanged, gone, a single leaf (placed by its parent) or a written internal node.</summary>
    private readonly struct Subtree
    {
        private Subtree(SubtreeKind kind, LeafRef leaf, Hash32 hash)
        {
            Kind = kind;
            Leaf = leaf;
            Hash = hash;
        }

        public static Subtree Unchanged => default;

        public static Subtree Empty => new(SubtreeKind.Empty, default, default);

        public SubtreeKind Kind { get; }

        public LeafRef Leaf { get; }

        public Hash32 Hash { get; }

        public static Subtree OfLeaf(LeafRef leaf) => new(SubtreeKind.Leaf, leaf, leaf.Hash);

        public static Subtree OfInternal(Hash32 hash) => new(SubtreeKind.Internal, default, hash);
    }
}
