using System.Buffers.Binary;
using System.Numerics;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Storage.State;

/// <summary>
/// Byte encodings of the tree in the <c>state_nodes</c> and <c>state_values</c> families. Compact and cheap to
/// produce because a block of 5,000 updates writes thousands of nodes; protobuf would cost more and buy nothing,
/// since these never leave the node. Frozen by golden tests.
/// <code>
/// node, keyed by version (u64 BE) ‖ nibble count ‖ packed nibbles:
///   null       0x00
///   internal   0x01 ‖ child bitmap (u16 BE) ‖ leaf bitmap (u16 BE) ‖ per present child, in nibble order:
///              (node version − child version) as LEB128 ‖ internal child: its hash (32)
///                                                       ‖ leaf child: key hash (32) ‖ value hash (32)
///   root leaf  0x02 ‖ (node version − leaf version) as LEB128 ‖ key hash (32) ‖ value hash (32)
/// value, keyed by version (u64 BE) ‖ key hash (32):
///   key length as LEB128 ‖ key ‖ value
/// </code>
/// A child's version is stored relative to its parent's, which is never older, so it usually takes one byte.
/// Leaf hashes are not stored: they are recomputed from the key and value hashes when a node is read, so every
/// byte of a node is covered by the hash its parent holds.
/// </summary>
internal static class NodeCodec
{
    public const byte NullTag = 0x00;
    public const byte InternalTag = 0x01;
    public const byte RootLeafTag = 0x02;

    public static int EncodedLength(TreeNode node, ulong nodeVersion)
    {
        switch (node)
        {
            case InternalNode n:
                var length = 5 + (n.ChildCount + n.LeafCount) * Hash32.SizeBytes;
                for (var i = 0; i < n.ChildCount; i++) length += VarintLength(nodeVersion - n.VersionAt(i));
                return length;
            case RootLeafNode r:
                return 1 + VarintLength(nodeVersion - r.Leaf.Version) + 2 * Hash32.SizeBytes;
            default:
                return 1;
        }
    }

    public static int Encode(TreeNode node, ulong nodeVersion, Span<byte> destination)
    {
        switch (node)
        {
            case InternalNode n:
            {
                destination[0] = InternalTag;
                BinaryPrimitives.WriteUInt16BigEndian(destination[1..], n.ChildBitmap);
                BinaryPrimitives.WriteUInt16BigEndian(destination[3..], n.LeafBitmap);

                // Straight from the node's layout: hashes are copied as bytes, never parsed into words.
                var data = n.Data;
                var versionsAt = n.ChildCount * Hash32.SizeBytes;
                var leavesAt = n.LeafOffset(0);
                var offset = 5;
                var leaf = 0;
                var present = (uint)n.ChildBitmap;
                for (var child = 0; child < n.ChildCount; child++)
                {
                    var nibble = BitOperations.TrailingZeroCount(present);
                    present &= present - 1;
                    var childVersion = BitConverter.ToUInt64(data[(versionsAt + child * 8)..]);
                    offset += WriteVarint(destination[offset..], nodeVersion - childVersion);
                    if (n.IsLeaf(nibble))
                    {
                        data.Slice(leavesAt + leaf++ * 2 * Hash32.SizeBytes, 2 * Hash32.SizeBytes).CopyTo(destination[offset..]);
                        offset += 2 * Hash32.SizeBytes;
                    }
                    else
                    {
                        data.Slice(child * Hash32.SizeBytes, Hash32.SizeBytes).CopyTo(destination[offset..]);
                        offset += Hash32.SizeBytes;
                    }
                }

                return offset;
            }

            case RootLeafNode r:
            {
                destination[0] = RootLeafTag;
                var offset = 1 + WriteVarint(destination[1..], nodeVersion - r.Leaf.Version);
                r.Leaf.KeyHash.CopyTo(destination.Slice(offset, Hash32.SizeBytes));
                r.Leaf.ValueHash.CopyTo(destination.Slice(offset + Hash32.SizeBytes, Hash32.SizeBytes));
                return offset + 2 * Hash32.SizeBytes;
            }

            default:
                destination[0] = NullTag;
                return 1;
        }
    }

    public static byte[] Encode(TreeNode node, ulong nodeVersion)
    {
        var bytes = new byte[EncodedLength(node, nodeVersion)];
        Encode(node, nodeVersion, bytes);
        return bytes;
    }

    /// <summary>
    /// Decodes a node and computes its hash from its content (never trusting a stored hash). Any defect is
    /// <see cref="ErrorCode.StorageCorrupt"/>: these bytes were written by this code, so a bad one means corruption.
    /// </summary>
    public static TreeNode Decode(ReadOnlySpan<byte> bytes, NodeKey where, StateHasher hasher, Hash32 emptyRoot)
    {
        var nodeVersion = where.Version;
        if (bytes.IsEmpty) throw Corrupt(where, "empty node");
        switch (bytes[0])
        {
            case NullTag when where.Path.Length == 0:
                if (bytes.Length != 1) throw Corrupt(where, "null node with content");
                return new NullNode(emptyRoot);

            case RootLeafTag when where.Path.Length == 0:
            {
                if (!TryReadVarint(bytes[1..], out var delta, out var read) || delta > nodeVersion) throw Corrupt(where, "bad leaf version");
                if (bytes.Length != 1 + read + 2 * Hash32.SizeBytes) throw Corrupt(where, "bad root leaf length");
                var keyHash = new Hash32(bytes.Slice(1 + read, Hash32.SizeBytes));
                var valueHash = new Hash32(bytes.Slice(1 + read + Hash32.SizeBytes, Hash32.SizeBytes));
                return new RootLeafNode(LeafRef.Create(hasher, keyHash, valueHash, nodeVersion - delta));
            }

            case InternalTag:
            {
                if (bytes.Length < 5) throw Corrupt(where, "truncated internal node");
                var childBitmap = BinaryPrimitives.ReadUInt16BigEndian(bytes[1..]);
                var leafBitmap = BinaryPrimitives.ReadUInt16BigEndian(bytes[3..]);
                var count = BitOperations.PopCount(childBitmap);
                if (count == 0 || (leafBitmap & ~childBitmap) != 0) throw Corrupt(where, "inconsistent child bitmaps");
                if (count == 1 && leafBitmap != 0) throw Corrupt(where, "internal node whose only child is a leaf");
                if (where.Path.Length >= NibblePath.LengthMax) throw Corrupt(where, "internal node below the deepest level");
                var children = new ChildrenBuilder(stackalloc byte[ChildrenBuilder.BufferBytes]);
                var offset = 5;
                for (var nibble = 0; nibble < 16; nibble++)
                {
                    if ((childBitmap & (1 << nibble)) == 0) continue;
                    if (!TryReadVarint(bytes[offset..], out var delta, out var read) || delta > nodeVersion) throw Corrupt(where, "bad child version");
                    offset += read;
                    var leaf = (leafBitmap & (1 << nibble)) != 0;
                    if (bytes.Length - offset < (leaf ? 2 : 1) * Hash32.SizeBytes) throw Corrupt(where, "truncated child");
                    if (leaf)
                    {
                        var keyHash = new Hash32(bytes.Slice(offset, Hash32.SizeBytes));
                        var valueHash = new Hash32(bytes.Slice(offset + Hash32.SizeBytes, Hash32.SizeBytes));
                        var leafRef = LeafRef.Create(hasher, keyHash, valueHash, nodeVersion - delta);
                        if (!where.Path.Append(nibble).IsPrefixOf(leafRef.KeyPath)) throw Corrupt(where, $"leaf child {nibble:x} is not on its key's path");
                        children.AddLeaf(nibble, leafRef);
                        offset += 2 * Hash32.SizeBytes;
                    }
                    else
                    {
                        children.AddInternal(nibble, new Hash32(bytes.Slice(offset, Hash32.SizeBytes)), nodeVersion - delta);
                        offset += Hash32.SizeBytes;
                    }
                }

                if (offset != bytes.Length) throw Corrupt(where, "trailing bytes after internal node");
                return children.Build(hasher);
            }

            default:
                throw Corrupt(where, $"unexpected node tag {bytes[0]}");
        }
    }

    /// <summary>The key of a value record: version (u64 BE) ‖ key hash.</summary>
    public const int ValueKeyLength = 8 + Hash32.SizeBytes;

    public static void EncodeValueKey(ulong version, in Hash32 keyHash, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, version);
        keyHash.CopyTo(destination.Slice(8, Hash32.SizeBytes));
    }

    public static byte[] EncodeValueKey(ulong version, in Hash32 keyHash)
    {
        var key = new byte[ValueKeyLength];
        EncodeValueKey(version, keyHash, key);
        return key;
    }

    public static int ValueRecordLength(byte[] key, byte[] value) => VarintLength((ulong)key.Length) + key.Length + value.Length;

    public static int EncodeValueRecord(byte[] key, byte[] value, Span<byte> destination)
    {
        var offset = WriteVarint(destination, (ulong)key.Length);
        key.CopyTo(destination[offset..]);
        offset += key.Length;
        value.CopyTo(destination[offset..]);
        return offset + value.Length;
    }

    /// <summary>
    /// Decodes a value record and checks it against the leaf that names it: the key must hash to the leaf's key hash
    /// and the value to its value hash, else <see cref="ErrorCode.StorageCorrupt"/>.
    /// </summary>
    public static (byte[] Key, byte[] Value) DecodeValueRecord(ReadOnlySpan<byte> bytes, in LeafRef leaf, StateHasher hasher)
    {
        if (!TryReadVarint(bytes, out var keyLength, out var read) || keyLength == 0 || keyLength > StorageLimits.StateKeySizeBytesMax
            || (ulong)(bytes.Length - read) < keyLength)
        {
            throw CorruptValue(leaf, "bad key length");
        }

        var key = bytes.Slice(read, (int)keyLength);
        var value = bytes[(read + (int)keyLength)..];
        if (hasher.KeyHash(key) != leaf.KeyHash) throw CorruptValue(leaf, "its key does not hash to the leaf's key hash");
        if (hasher.ValueHash(value) != leaf.ValueHash) throw CorruptValue(leaf, "its value does not hash to the leaf's value hash");
        return (key.ToArray(), value.ToArray());
    }

    public static int VarintLength(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }

        return length;
    }

    public static int WriteVarint(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads a minimal LEB128 of at most 10 bytes.</summary>
    public static bool TryReadVarint(ReadOnlySpan<byte> source, out ulong value, out int read)
    {
        value = 0;
        read = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (read >= source.Length) return false;
            var b = source[read++];
            if (shift == 63 && b > 1) return false;
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return b != 0 || read == 1;
        }

        return false;
    }

    private static CustosException Corrupt(NodeKey where, string what) =>
        new(ErrorCode.StorageCorrupt, $"state node {where} is corrupt: {what}");

    private static CustosException CorruptValue(in LeafRef leaf, string what) =>
        new(ErrorCode.StorageCorrupt, $"state value {leaf.Version}/{leaf.KeyHash.ToShortString()} is corrupt: {what}");
}
