using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Custos.Core;

namespace Custos.Storage.State;

/// <summary>
/// A bounded cache of verified tree nodes, shared by all threads, holding at most one node per tree position: the
/// newest one loaded or written. A new version's node at a position replaces its predecessor in one step, so the
/// cache fills with the latest version's nodes (which the next version builds on) rather than superseded copies,
/// and a lookup hits only when the cached node is of the version asked for.
/// <para>
/// Nodes are not kept as objects: their bytes live in large chunks, in slots the cache allocates and reuses (a new
/// version's node usually takes its predecessor's slot), and the index maps a position to a version and a slot and
/// holds no reference. Hundreds of thousands of cached nodes are then a few hundred arrays that the garbage
/// collector neither traces nor copies; as objects they made every collection scan and promote them, which in the
/// storage bench cost more than all the hashing. A lookup copies the node out, so a slot can be reused at once.
/// </para>
/// <para>
/// Each shard's entries are young (added or read in the current generation) or old. When they would pass the
/// shard's budget the old ones are dropped and a new generation starts, so the young become old. That approximates
/// LRU at the cost of a pass over the index now and then, and a working set smaller than the budget stays cached whole. Chunks and index entries together stay within the budget (by at most one chunk per
/// shard when the budget is smaller than a chunk).
/// </para>
/// </summary>
internal sealed class NodeCache
{
    private const int ShardCount = 16;

    /// <summary>Memory of one index entry (the dictionary's entry and bucket), charged to the budget.</summary>
    private const int EntryBytes = 88;

    /// <summary>Slots come in multiples of this, so a slot freed by one node fits its position's next version.</summary>
    private const int SlotGranularity = 32;

    /// <summary>A shard's first chunk (smaller when its budget is small); later ones double up to <see cref="ChunkBytesMax"/>.</summary>
    private const int ChunkBytesMin = 16 * 1024;

    /// <summary>Record size assumed when reserving index memory for a new chunk's records.</summary>
    private const int TypicalRecordBytes = 256;

    private const int ChunkBytesMax = 1024 * 1024;

    private const byte NullKind = 0;
    private const byte InternalKind = 1;
    private const byte RootLeafKind = 2;

    // Record layouts in a slot:
    //   null       kind ‖ hash (32)
    //   internal   kind ‖ child bitmap (u16) ‖ leaf bitmap (u16) ‖ hash (32) ‖ the node's data (see InternalNode)
    //   root leaf  kind ‖ key hash (32) ‖ value hash (32) ‖ leaf hash (32) ‖ version (u64)
    private const int InternalHeaderBytes = 1 + 2 + 2 + Hash32.SizeBytes;

    /// <summary>The largest record: an internal node with sixteen leaf children.</summary>
    private const int RecordBytesMax = InternalHeaderBytes + 16 * (Hash32.SizeBytes + 8) + 16 * 2 * Hash32.SizeBytes;

    private const int SlotClasses = (RecordBytesMax + SlotGranularity - 1) / SlotGranularity + 1;

    private readonly Shard[] _shards;

    public NodeCache(long capacityBytes)
    {
        CapacityBytes = Math.Max(0, capacityBytes);
        _shards = new Shard[ShardCount];
        for (var i = 0; i < ShardCount; i++) _shards[i] = new Shard(CapacityBytes / ShardCount);
    }

    public long CapacityBytes { get; }

    public long EstimatedBytes
    {
        get
        {
            long total = 0;
            foreach (var shard in _shards) total += shard.EstimatedBytes;
            return total;
        }
    }

    /// <summary>The cached node at <paramref name="key"/>, if any, in memory of its own.</summary>
    public bool TryGet(in NodeKey key, out TreeNode node) => ShardOf(key.Path).TryGet(key, null, out node);

    /// <summary>
    /// The cached node at <paramref name="key"/>, if any. An internal node's data is copied into
    /// <paramref name="scratch"/> (at least <see cref="ScratchBytes"/>), so the node is valid only until the caller
    /// reuses it: that spares an allocation per node to a caller that visits thousands and keeps none.
    /// </summary>
    public bool TryGet(in NodeKey key, byte[] scratch, out TreeNode node) => ShardOf(key.Path).TryGet(key, scratch, out node);

    /// <summary>The scratch space <see cref="TryGet(in NodeKey, byte[], out TreeNode)"/> needs: the largest node's data.</summary>
    public const int ScratchBytes = RecordBytesMax - InternalHeaderBytes;

    /// <summary>Caches <paramref name="node"/> unless a newer version's node holds its position.</summary>
    public void Add(in NodeKey key, TreeNode node)
    {
        if (CapacityBytes == 0) return;
        ShardOf(key.Path).Add(key, node);
    }

    /// <summary>Caches a version's nodes, taking each shard's lock once rather than once per node.</summary>
    public void AddAll(ReadOnlySpan<KeyValuePair<NodeKey, TreeNode>> nodes)
    {
        if (CapacityBytes == 0 || nodes.IsEmpty) return;

        // A counting sort by shard: the indexes of each shard's nodes end up contiguous in `order`.
        Span<int> starts = stackalloc int[ShardCount + 1];
        starts.Clear();
        var shardOf = new byte[nodes.Length];
        for (var i = 0; i < nodes.Length; i++)
        {
            shardOf[i] = (byte)ShardIndex(nodes[i].Key.Path);
            starts[shardOf[i] + 1]++;
        }

        for (var shard = 0; shard < ShardCount; shard++) starts[shard + 1] += starts[shard];
        Span<int> next = stackalloc int[ShardCount];
        starts[..ShardCount].CopyTo(next);
        var order = new int[nodes.Length];
        for (var i = 0; i < nodes.Length; i++) order[next[shardOf[i]]++] = i;
        for (var shard = 0; shard < ShardCount; shard++)
        {
            if (starts[shard] == starts[shard + 1]) continue;
            _shards[shard].AddAll(nodes, order.AsSpan(starts[shard]..starts[shard + 1]));
        }
    }

    public void Clear()
    {
        foreach (var shard in _shards) shard.Clear();
    }

    private Shard ShardOf(in NibblePath path) => _shards[ShardIndex(path)];

    private static int ShardIndex(in NibblePath path) => (path.GetHashCode() & int.MaxValue) % ShardCount;

    private static int RecordLength(TreeNode node) => node switch
    {
        InternalNode n => InternalHeaderBytes + n.Data.Length,
        RootLeafNode => 1 + 3 * Hash32.SizeBytes + 8,
        _ => 1 + Hash32.SizeBytes,
    };

    private static void WriteRecord(TreeNode node, Span<byte> destination)
    {
        switch (node)
        {
            case InternalNode n:
                destination[0] = InternalKind;
                BinaryPrimitives.WriteUInt16LittleEndian(destination[1..], n.ChildBitmap);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[3..], n.LeafBitmap);
                n.Hash.CopyTo(destination[5..]);
                n.Data.CopyTo(destination[InternalHeaderBytes..]);
                break;
            case RootLeafNode r:
                destination[0] = RootLeafKind;
                r.Leaf.KeyHash.CopyTo(destination[1..]);
                r.Leaf.ValueHash.CopyTo(destination[(1 + Hash32.SizeBytes)..]);
                r.Leaf.Hash.CopyTo(destination[(1 + 2 * Hash32.SizeBytes)..]);
                BinaryPrimitives.WriteUInt64LittleEndian(destination[(1 + 3 * Hash32.SizeBytes)..], r.Leaf.Version);
                break;
            default:
                destination[0] = NullKind;
                node.Hash.CopyTo(destination[1..]);
                break;
        }
    }

    /// <summary>A node built from a copy of its record (in <paramref name="scratch"/> if given), so that it stays valid when the slot is reused.</summary>
    private static TreeNode ReadRecord(ReadOnlySpan<byte> record, byte[]? scratch)
    {
        switch (record[0])
        {
            case InternalKind:
                var length = record.Length - InternalHeaderBytes;
                var data = scratch is null ? GC.AllocateUninitializedArray<byte>(length) : scratch;
                record[InternalHeaderBytes..].CopyTo(data);
                return new InternalNode(
                    BinaryPrimitives.ReadUInt16LittleEndian(record[1..]),
                    BinaryPrimitives.ReadUInt16LittleEndian(record[3..]),
                    data.AsMemory(0, length),
                    new Hash32(record.Slice(5, Hash32.SizeBytes)));
            case RootLeafKind:
                return new RootLeafNode(new LeafRef(
                    new Hash32(record.Slice(1, Hash32.SizeBytes)),
                    new Hash32(record.Slice(1 + Hash32.SizeBytes, Hash32.SizeBytes)),
                    new Hash32(record.Slice(1 + 2 * Hash32.SizeBytes, Hash32.SizeBytes)),
                    BinaryPrimitives.ReadUInt64LittleEndian(record[(1 + 3 * Hash32.SizeBytes)..])));
            default:
                return new NullNode(new Hash32(record.Slice(1, Hash32.SizeBytes)));
        }
    }

    private static int SlotClass(int length) => (length + SlotGranularity - 1) / SlotGranularity;

    /// <summary>A cached node: its version and where its record is. Holds no reference, so the index is invisible to the collector.</summary>
    private struct Entry
    {
        public ulong Version;
        public int Chunk;
        public int Offset;
        public int Length;

        /// <summary>Size class of the slot (which may be larger than the record needs).</summary>
        public int Class;

        /// <summary>The shard's generation when the entry was last added or read.</summary>
        public int Generation;

        public readonly long Bytes => (long)Class * SlotGranularity + EntryBytes;
    }

    private sealed class Shard(long capacityBytes)
    {
        private readonly Lock _lock = new();
        private readonly long _bytesMax = Math.Max(2 * (RecordBytesMax + EntryBytes), capacityBytes);
        private readonly int _firstChunkBytes = (int)Math.Clamp(Math.Max(2 * (RecordBytesMax + EntryBytes), capacityBytes) / 4, 2 * RecordBytesMax, ChunkBytesMin);
        private Dictionary<NibblePath, Entry> _index = [];

        // Entries of the current generation are young, the others old; aging drops the old ones and starts a new
        // generation, so that what was young becomes old.
        private int _generation;
        private long _youngBytes;
        private long _oldBytes;

        // Slot storage: chunks carved from the front, and freed slots by size class.
        private List<byte[]> _chunks = [];
        private int _chunkUsed;
        private long _chunkBytes;
        private List<long>[] _free = NewFreeLists();

        public long EstimatedBytes
        {
            get
            {
                lock (_lock) return _chunkBytes + (long)_index.Count * EntryBytes;
            }
        }

        public bool TryGet(in NodeKey key, byte[]? scratch, out TreeNode node)
        {
            lock (_lock)
            {
                ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_index, key.Path);
                if (Unsafe.IsNullRef(ref entry) || entry.Version != key.Version)
                {
                    node = null!;
                    return false;
                }

                node = ReadRecord(Record(entry), scratch);
                Touch(ref entry);
                return true;
            }
        }

        public void Add(in NodeKey key, TreeNode node)
        {
            lock (_lock) AddLocked(key, node);
        }

        public void AddAll(ReadOnlySpan<KeyValuePair<NodeKey, TreeNode>> nodes, ReadOnlySpan<int> indexes)
        {
            lock (_lock)
            {
                foreach (var i in indexes) AddLocked(nodes[i].Key, nodes[i].Value);
            }
        }

        public void Clear()
        {
            lock (_lock) Reset();
        }

        private void AddLocked(in NodeKey key, TreeNode node)
        {
            var length = RecordLength(node);
            ref var existing = ref CollectionsMarshal.GetValueRefOrNullRef(_index, key.Path);
            if (!Unsafe.IsNullRef(ref existing))
            {
                if (existing.Version >= key.Version)
                {
                    Touch(ref existing);
                    return;
                }

                // A position's next version usually has the same shape: it overwrites its predecessor in place.
                if (existing.Class >= SlotClass(length))
                {
                    Untouch(existing);
                    existing.Version = key.Version;
                    existing.Length = length;
                    existing.Generation = _generation;
                    _youngBytes += existing.Bytes;
                    WriteRecord(node, _chunks[existing.Chunk].AsSpan(existing.Offset, length));
                    AgeIfFull();
                    return;
                }
            }

            // Allocating may drop entries (this position's among them), so the index is looked up again after it.
            var entry = Allocate(length);
            entry.Version = key.Version;
            entry.Length = length;
            entry.Generation = _generation;
            WriteRecord(node, _chunks[entry.Chunk].AsSpan(entry.Offset, length));
            if (_index.Remove(key.Path, out var replaced))
            {
                Untouch(replaced);
                Free(replaced);
            }

            _index[key.Path] = entry;
            _youngBytes += entry.Bytes;
            AgeIfFull();
        }

        /// <summary>Makes an entry young (a no-op if it is).</summary>
        private void Touch(ref Entry entry)
        {
            if (entry.Generation == _generation) return;
            entry.Generation = _generation;
            _oldBytes -= entry.Bytes;
            _youngBytes += entry.Bytes;
        }

        /// <summary>Takes an entry's bytes out of its generation's count.</summary>
        private void Untouch(in Entry entry)
        {
            if (entry.Generation == _generation) _youngBytes -= entry.Bytes;
            else _oldBytes -= entry.Bytes;
        }

        private Entry Allocate(int length)
        {
            var needed = SlotClass(length);
            for (var attempt = 0; ; attempt++)
            {
                // A freed slot of the size needed, or failing that of a slightly larger one.
                for (var slotClass = needed; slotClass < Math.Min(SlotClasses, needed + 4); slotClass++)
                {
                    var free = _free[slotClass];
                    if (free.Count == 0) continue;
                    var packed = free[^1];
                    free.RemoveAt(free.Count - 1);
                    return new Entry { Chunk = (int)(packed >> 32), Offset = (int)packed, Class = slotClass };
                }

                var capacity = needed * SlotGranularity;
                if (_chunks.Count > 0 && _chunks[^1].Length - _chunkUsed >= capacity)
                {
                    var offset = _chunkUsed;
                    _chunkUsed += capacity;
                    return new Entry { Chunk = _chunks.Count - 1, Offset = offset, Class = needed };
                }

                // A new chunk must leave room for the index entries of the records it will hold.
                var chunkBytes = _chunks.Count == 0 ? _firstChunkBytes : (int)Math.Min(ChunkBytesMax, 2L * _chunks[^1].Length);
                if (attempt == 2 || _chunks.Count == 0
                    || _chunkBytes + chunkBytes + (_index.Count + 1 + chunkBytes / TypicalRecordBytes) * (long)EntryBytes <= _bytesMax)
                {
                    // The third attempt comes after every entry was dropped: all memory is free but in slots of
                    // other sizes, so the chunks start over.
                    if (attempt == 2) Reset();
                    var chunk = GC.AllocateUninitializedArray<byte>(Math.Max(chunkBytes, capacity));
                    _chunks.Add(chunk);
                    _chunkBytes += chunk.Length;
                    _chunkUsed = 0;
                    continue;
                }

                // Out of memory: drop the old entries, then (if their slots were of other sizes) the rest.
                Age();
            }
        }

        private void Free(in Entry entry) => _free[entry.Class].Add(((long)entry.Chunk << 32) | (uint)entry.Offset);

        private ReadOnlySpan<byte> Record(in Entry entry) => _chunks[entry.Chunk].AsSpan(entry.Offset, entry.Length);

        private void AgeIfFull()
        {
            if (_youngBytes + _oldBytes > _bytesMax || _chunkBytes + (long)_index.Count * EntryBytes > _bytesMax) Age();
        }

        /// <summary>Drops the old entries (their slots become free) and starts a new generation.</summary>
        private void Age()
        {
            foreach (var (path, entry) in _index)
            {
                if (entry.Generation == _generation) continue;
                _index.Remove(path);
                Free(entry);
            }

            _generation++;
            _oldBytes = _youngBytes;
            _youngBytes = 0;
        }

        private void Reset()
        {
            _index = [];
            _youngBytes = 0;
            _oldBytes = 0;
            _chunks = [];
            _chunkUsed = 0;
            _chunkBytes = 0;
            _free = NewFreeLists();
        }

        private static List<long>[] NewFreeLists()
        {
            var lists = new List<long>[SlotClasses];
            for (var i = 0; i < lists.Length; i++) lists[i] = [];
            return lists;
        }
    }
}
