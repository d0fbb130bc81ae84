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
/// (u64, native order), then per leaf child its key hash and value hash. The data may live in a slab of the node
/// cache, which it then keeps alive.
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

    public static InternalNode Create(StateHasher hasher, ushort childBitmap, ushort leafBitmap, byte[] data)
    {
        var count = BitOperations.PopCount(childBitmap);
        return new InternalNode(childBitmap, leafBitmap, data, hasher.InternalHash(childBitmap, data.AsSpan(0, count * Hash32.SizeBytes)));
    }

    public static int DataLength(int children, int leaves) => children * (Hash32.SizeBytes + 8) + leaves * 2 * Hash32.SizeBytes;

    public int ChildIndex(int nibble) => BitOperations.PopCount((uint)(ChildBitmap & ((1 << nibble) - 1)));

    public int LeafIndex(int nibble) => BitOperations.PopCount((uint)(LeafBitmap & ((1 << nibble) - 1)));

    private int LeafOffset(int leafIndex) => ChildCount * (Hash32.SizeBytes + 8) + leafIndex * 2 * Hash32.SizeBytes;
}

/// <summary>Collects the children of a node being built, in nibble order, then lays them out in one array.</summary>
internal ref struct ChildrenBuilder
{
    private readonly Span<Hash32> _hashes;
    private readonly Span<ulong> _versions;
    private readonly Span<Hash32> _keyHashes;
    private readonly Span<Hash32> _valueHashes;
    private int _count;
    private int _leaves;
    private ushort _childBitmap;
    private ushort _leafBitmap;

    public ChildrenBuilder(Span<Hash32> hashes, Span<ulong> versions, Span<Hash32> keyHashes, Span<Hash32> valueHashes)
    {
        _hashes = hashes;
        _versions = versions;
        _keyHashes = keyHashes;
        _valueHashes = valueHashes;
    }

    public readonly int Count => _count;

    /// <summary>Copies child <paramref name="nibble"/> of <paramref name="node"/> as it is (an unchanged child).</summary>
    public void AddExisting(InternalNode node, int nibble)
    {
        var child = node.ChildIndex(nibble);
        _hashes[_count] = node.HashAt(child);
        _versions[_count++] = node.VersionAt(child);
        _childBitmap |= (ushort)(1 << nibble);
        if (!node.IsLeaf(nibble)) return;
        var leaf = node.LeafIndex(nibble);
        _keyHashes[_leaves] = node.LeafKeyHashAt(leaf);
        _valueHashes[_leaves++] = node.LeafValueHashAt(leaf);
        _leafBitmap |= (ushort)(1 << nibble);
    }

    public void AddInternal(int nibble, Hash32 hash, ulong version)
    {
        _hashes[_count] = hash;
        _versions[_count++] = version;
        _childBitmap |= (ushort)(1 << nibble);
    }

    public void AddLeaf(int nibble, in LeafRef leaf)
    {
        _hashes[_count] = leaf.Hash;
        _versions[_count++] = leaf.Version;
        _keyHashes[_leaves] = leaf.KeyHash;
        _valueHashes[_leaves++] = leaf.ValueHash;
        _childBitmap |= (ushort)(1 << nibble);
        _leafBitmap |= (ushort)(1 << nibble);
    }

    public readonly InternalNode Build(StateHasher hasher)
    {
        var data = new byte[InternalNode.DataLength(_count, _leaves)];
        var span = data.AsSpan();
        for (var i = 0; i < _count; i++) _hashes[i].CopyTo(span.Slice(i * Hash32.SizeBytes, Hash32.SizeBytes));
        var offset = _count * Hash32.SizeBytes;
        for (var i = 0; i < _count; i++) BitConverter.TryWriteBytes(span.Slice(offset + i * 8, 8), _versions[i]);
        offset += _count * 8;
        for (var i = 0; i < _leaves; i++)
        {
            _keyHashes[i].CopyTo(span.Slice(offset, Hash32.SizeBytes));
            _valueHashes[i].CopyTo(span.Slice(offset + Hash32.SizeBytes, Hash32.SizeBytes));
            offset += 2 * Hash32.SizeBytes;
        }

        return InternalNode.Create(hasher, _childBitmap, _leafBitmap, data);
    }
}
