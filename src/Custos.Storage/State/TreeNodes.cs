using System.Numerics;
using Custos.Core;

namespace Custos.Storage.State;

/// <summary>
/// A key's leaf as its parent records it: the key hash, the value hash, the leaf hash H(leaf ‖ key hash ‖ value hash)
/// and the version whose value record holds the key and value bytes. Leaves are not tree nodes of their own: the
/// value record is keyed by (version, key hash), not by position, so a leaf that moves up or down when neighbours
/// come and go is moved by rewriting its parent only.
/// </summary>
internal readonly struct LeafRef
{
    public LeafRef(Hash32 keyHash, Hash32 valueHash, Hash32 hash, ulong version)
    {
        KeyHash = keyHash;
        ValueHash = valueHash;
        Hash = hash;
        Version = version;
        KeyPath = NibblePath.FromHash(keyHash);
    }

    public Hash32 KeyHash { get; }

    public Hash32 ValueHash { get; }

    public Hash32 Hash { get; }

    public ulong Version { get; }

    public NibblePath KeyPath { get; }

    public static LeafRef Create(StateHasher hasher, Hash32 keyHash, Hash32 valueHash, ulong version) =>
        new(keyHash, valueHash, hasher.LeafHash(keyHash, valueHash), version);
}

/// <summary>
/// A tree node as held in memory: the root of a version (null, a lone leaf, or internal) or an internal node.
/// Immutable once built and shared between the cache, staged deltas and readers on any thread.
/// </summary>
internal abstract class TreeNode
{
    public abstract Hash32 Hash { get; }

    /// <summary>Rough managed memory the node holds, for the bounded node cache.</summary>
    public abstract int EstimatedBytes { get; }
}

/// <summary>The root of an empty tree (stored so that every version has a root record).</summary>
internal sealed class NullNode(Hash32 emptyRoot) : TreeNode
{
    public override Hash32 Hash { get; } = emptyRoot;

    public override int EstimatedBytes => 40;
}

/// <summary>The root of a tree holding exactly one key: the root is that key's leaf.</summary>
internal sealed class RootLeafNode(LeafRef leaf) : TreeNode
{
    public LeafRef Leaf { get; } = leaf;

    public override Hash32 Hash => Leaf.Hash;

    public override int EstimatedBytes => 200;
}

/// <summary>
/// Up to 16 children, one per nibble value. <see cref="ChildBitmap"/> says which nibbles are present and
/// <see cref="LeafBitmap"/> which of those are leaves. All child data sits in one array (one allocation per node,
/// which matters to the garbage collector when the cache holds hundreds of thousands of nodes):
/// per child in nibble order its hash (a leaf hash or an internal node's hash), then per child its version
/// (u64, native order), then per leaf child its key hash and value hash. The data of a staged node is a slice of its
/// version's <see cref="NodeArena"/>, which it then keeps alive.
/// </summary>
internal sealed class InternalNode : TreeNode
{
    private readonly ReadOnlyMemory<byte> _data;

    public InternalNode(ushort childBitmap, ushort leafBitmap, ReadOnlyMemory<byte> data, Hash32 hash)
    {
        ChildBitmap = childBitmap;
        LeafBitmap = leafBitmap;
        _data = data;
        Hash = hash;
        ChildCount = BitOperations.PopCount(childBitmap);
        LeafCount = BitOperations.PopCount(leafBitmap);
    }

    public ushort ChildBitmap { get; }

    public ushort LeafBitmap { get; }

    public int ChildCount { get; }

    public int LeafCount { get; }

    public override Hash32 Hash { get; }

    public override int EstimatedBytes => 80 + _data.Length;

    /// <summary>The children's hashes back to back, in nibble order: exactly what the node's hash covers.</summary>
    public ReadOnlySpan<byte> ChildHashBytes => _data.Span[..(ChildCount * Hash32.SizeBytes)];

    /// <summary>The node's layout in memory (see the class summary), as the node cache stores it.</summary>
    public ReadOnlySpan<byte> Data => _data.Span;

    public bool HasChild(int nibble) => (ChildBitmap & (1 << nibble)) != 0;

    public bool IsLeaf(int nibble) => (LeafBitmap & (1 << nibble)) != 0;

    public Hash32 ChildHash(int nibble) => HashAt(ChildIndex(nibble));

    public ulong ChildVersion(int nibble) => VersionAt(ChildIndex(nibble));

    public Hash32 HashAt(int childIndex) => new(_data.Span.Slice(childIndex * Hash32.SizeBytes, Hash32.SizeBytes));

    public ulong VersionAt(int childIndex) => BitConverter.ToUInt64(_data.Span[(ChildCount * Hash32.SizeBytes + childIndex * 8)..]);

    public Hash32 LeafKeyHashAt(int leafIndex) => new(_data.Span.Slice(LeafOffset(leafIndex), Hash32.SizeBytes));

    public Hash32 LeafValueHashAt(int leafIndex) => new(_data.Span.Slice(LeafOffset(leafIndex) + Hash32.SizeBytes, Hash32.SizeBytes));

    public LeafRef Leaf(int nibble)
    {
        var leaf = LeafIndex(nibble);
        var child = ChildIndex(nibble);
        return new LeafRef(LeafKeyHashAt(leaf), LeafValueHashAt(leaf), HashAt(child), VersionAt(child));
    }

    public static int DataLength(int children, int leaves) => children * (Hash32.SizeBytes + 8) + leaves * 2 * Hash32.SizeBytes;

    public int ChildIndex(int nibble) => BitOperations.PopCount((uint)(ChildBitmap & ((1 << nibble) - 1)));

    public int LeafIndex(int nibble) => BitOperations.PopCount((uint)(LeafBitmap & ((1 << nibble) - 1)));

    public int LeafOffset(int leafIndex) => ChildCount * (Hash32.SizeBytes + 8) + leafIndex * 2 * Hash32.SizeBytes;
}

/// <summary>
/// Collects the children of a node being built, in nibble order, then lays them out in one array. Works on bytes
/// throughout: an unchanged child's hashes are copied as they are, never parsed into words and written back.
/// </summary>
internal ref struct ChildrenBuilder
{
    /// <summary>Stack space a builder needs: 16 child hashes, 16 versions and 16 leaves' key and value hashes.</summary>
    public const int BufferBytes = 16 * Hash32.SizeBytes + 16 * 8 + 16 * 2 * Hash32.SizeBytes;

    private readonly Span<byte> _hashes;
    private readonly Span<byte> _versions;
    private readonly Span<byte> _leaves;
    private int _count;
    private int _leafCount;
    private ushort _childBitmap;
    private ushort _leafBitmap;

    /// <param name="buffer">At least <see cref="BufferBytes"/> bytes; need not be cleared.</param>
    public ChildrenBuilder(Span<byte> buffer)
    {
        _hashes = buffer[..(16 * Hash32.SizeBytes)];
        _versions = buffer.Slice(16 * Hash32.SizeBytes, 16 * 8);
        _leaves = buffer.Slice(16 * Hash32.SizeBytes + 16 * 8, 16 * 2 * Hash32.SizeBytes);
    }

    public readonly int Count => _count;

    /// <summary>Copies child <paramref name="nibble"/> of <paramref name="node"/> as it is (an unchanged child).</summary>
    public void AddExisting(InternalNode node, int nibble)
    {
        var child = node.ChildIndex(nibble);
        var data = node.Data;
        data.Slice(child * Hash32.SizeBytes, Hash32.SizeBytes).CopyTo(_hashes[(_count * Hash32.SizeBytes)..]);
        data.Slice(node.ChildCount * Hash32.SizeBytes + child * 8, 8).CopyTo(_versions[(_count * 8)..]);
        _count++;
        _childBitmap |= (ushort)(1 << nibble);
        if (!node.IsLeaf(nibble)) return;
        data.Slice(node.LeafOffset(node.LeafIndex(nibble)), 2 * Hash32.SizeBytes).CopyTo(_leaves[(_leafCount * 2 * Hash32.SizeBytes)..]);
        _leafCount++;
        _leafBitmap |= (ushort)(1 << nibble);
    }

    public void AddInternal(int nibble, in Hash32 hash, ulong version)
    {
        hash.CopyTo(_hashes[(_count * Hash32.SizeBytes)..]);
        BitConverter.TryWriteBytes(_versions[(_count * 8)..], version);
        _count++;
        _childBitmap |= (ushort)(1 << nibble);
    }

    public void AddLeaf(int nibble, in LeafRef leaf)
    {
        leaf.Hash.CopyTo(_hashes[(_count * Hash32.SizeBytes)..]);
        BitConverter.TryWriteBytes(_versions[(_count * 8)..], leaf.Version);
        _count++;
        var offset = _leafCount * 2 * Hash32.SizeBytes;
        leaf.KeyHash.CopyTo(_leaves[offset..]);
        leaf.ValueHash.CopyTo(_leaves[(offset + Hash32.SizeBytes)..]);
        _leafCount++;
        _childBitmap |= (ushort)(1 << nibble);
        _leafBitmap |= (ushort)(1 << nibble);
    }

    /// <summary>The node, hashed; its data in a new array, or carved from <paramref name="arena"/> when one is given.</summary>
    public readonly InternalNode Build(StateHasher hasher, NodeArena? arena = null)
    {
        var length = InternalNode.DataLength(_count, _leafCount);
        var data = arena?.Allocate(length) ?? new byte[length];
        var span = data.Span;
        var hashBytes = _count * Hash32.SizeBytes;
        _hashes[..hashBytes].CopyTo(span);
        _versions[..(_count * 8)].CopyTo(span[hashBytes..]);
        _leaves[..(_leafCount * 2 * Hash32.SizeBytes)].CopyTo(span[(hashBytes + _count * 8)..]);
        return new InternalNode(_childBitmap, _leafBitmap, data, hasher.InternalHash(_childBitmap, span[..hashBytes]));
    }
}

/// <summary>
/// Memory for the nodes one thread stages: slices of 64 KiB chunks instead of an array per node. A version writes
/// thousands of nodes; as separate arrays each was an object for the collector to mark and copy while the version
/// waited to be persisted, as slices they are a few chunks it copies whole. Chunks stay below the large-object
/// threshold so that they die young with the version. Not thread-safe; never reused, so slices stay valid.
/// </summary>
internal sealed class NodeArena
{
    private const int ChunkBytes = 64 * 1024;

    private byte[] _chunk = [];
    private int _used;

    public Memory<byte> Allocate(int length)
    {
        if (_chunk.Length - _used < length)
        {
            _chunk = new byte[Math.Max(ChunkBytes, length)];
            _used = 0;
        }

        var slice = _chunk.AsMemory(_used, length);
        _used += length;
        return slice;
    }
}
