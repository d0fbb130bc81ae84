using System.Buffers.Binary;
using Custos.Core;

namespace Custos.Storage.State;

/// <summary>
/// A position in the sparse Merkle tree: the first <see cref="Length"/> nibbles (4-bit digits, most significant
/// first) of a key hash. A full-length path (64 nibbles) is a key hash itself. Nibbles past the length are zero, so
/// equal paths have equal bits.
/// </summary>
internal readonly struct NibblePath : IEquatable<NibblePath>, IComparable<NibblePath>
{
    public const int LengthMax = 64;

    // Nibble i lives in word i / 16, bits 63 - 4 (i % 16) down: comparing words compares the nibbles in order.
    private readonly ulong _w0, _w1, _w2, _w3;

    private NibblePath(ulong w0, ulong w1, ulong w2, ulong w3, int length)
    {
        _w0 = w0;
        _w1 = w1;
        _w2 = w2;
        _w3 = w3;
        Length = length;
    }

    public static NibblePath Empty => default;

    public int Length { get; }

    public static NibblePath FromHash(in Hash32 hash)
    {
        Span<byte> bytes = stackalloc byte[Hash32.SizeBytes];
        hash.CopyTo(bytes);
        return new NibblePath(
            BinaryPrimitives.ReadUInt64BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]),
            LengthMax);
    }

    public int this[int index] => (int)((Word(index >> 4) >> (60 - 4 * (index & 15))) & 0xF);

    /// <summary>The first <paramref name="length"/> nibbles.</summary>
    public NibblePath Prefix(int length)
    {
        if ((uint)length > (uint)Length) throw new ArgumentOutOfRangeException(nameof(length));
        return new NibblePath(Mask(_w0, length), Mask(_w1, length - 16), Mask(_w2, length - 32), Mask(_w3, length - 48), length);
    }

    public NibblePath Append(int nibble)
    {
        if (Length >= LengthMax) throw new InvalidOperationException("a nibble path holds at most 64 nibbles");
        var shift = 60 - 4 * (Length & 15);
        var bits = (ulong)(nibble & 0xF) << shift;
        return (Length >> 4) switch
        {
            0 => new NibblePath(_w0 | bits, _w1, _w2, _w3, Length + 1),
            1 => new NibblePath(_w0, _w1 | bits, _w2, _w3, Length + 1),
            2 => new NibblePath(_w0, _w1, _w2 | bits, _w3, Length + 1),
            _ => new NibblePath(_w0, _w1, _w2, _w3 | bits, Length + 1),
        };
    }

    /// <summary>True when this path is a prefix of <paramref name="other"/> (or equal to it).</summary>
    public bool IsPrefixOf(in NibblePath other) => Length <= other.Length && other.Prefix(Length).Equals(this);

    public Hash32 ToHash()
    {
        Span<byte> bytes = stackalloc byte[Hash32.SizeBytes];
        WriteWords(bytes);
        return new Hash32(bytes);
    }

    public int PackedLength => (Length + 1) / 2;

    /// <summary>Two nibbles per byte, high nibble first; an odd length leaves the last low nibble zero.</summary>
    public void WritePacked(Span<byte> destination)
    {
        Span<byte> bytes = stackalloc byte[Hash32.SizeBytes];
        WriteWords(bytes);
        bytes[..PackedLength].CopyTo(destination);
    }

    public static bool TryReadPacked(ReadOnlySpan<byte> packed, int length, out NibblePath path)
    {
        path = default;
        if ((uint)length > LengthMax || packed.Length != (length + 1) / 2) return false;
        if ((length & 1) == 1 && (packed[^1] & 0x0F) != 0) return false;
        Span<byte> bytes = stackalloc byte[Hash32.SizeBytes];
        bytes.Clear();
        packed.CopyTo(bytes);
        path = new NibblePath(
            BinaryPrimitives.ReadUInt64BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]),
            length);
        return true;
    }

    public bool Equals(NibblePath other) =>
        Length == other.Length && _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    public override bool Equals(object? obj) => obj is NibblePath other && Equals(other);

    // The words are hash bits, but a short path's bits sit at the top of the first word: a splitmix64 finaliser spreads
    // them over every output bit, at a fraction of HashCode.Combine's cost.
    public override int GetHashCode()
    {
        var x = _w0 ^ (_w1 * 0xC2B2AE3D27D4EB4FUL) ^ (_w2 * 0x165667B19E3779F9UL) ^ _w3 ^ (ulong)Length;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return (int)(x ^ (x >> 31));
    }

    /// <summary>Shorter paths first, then by nibbles: the order of their encoded node keys within one version.</summary>
    public int CompareTo(NibblePath other)
    {
        var c = Length.CompareTo(other.Length);
        if (c != 0) return c;
        return CompareBits(other);
    }

    /// <summary>Orders by nibbles only (key-hash order for full paths).</summary>
    public int CompareBits(in NibblePath other)
    {
        var c = _w0.CompareTo(other._w0);
        if (c != 0) return c;
        c = _w1.CompareTo(other._w1);
        if (c != 0) return c;
        c = _w2.CompareTo(other._w2);
        return c != 0 ? c : _w3.CompareTo(other._w3);
    }

    public override string ToString()
    {
        var chars = new char[Length];
        for (var i = 0; i < Length; i++) chars[i] = "0123456789abcdef"[this[i]];
        return new string(chars);
    }

    private ulong Word(int index) => index switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };

    private void WriteWords(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt64BigEndian(bytes, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[24..], _w3);
    }

    // Keeps the first `nibbles` nibbles of a word (all of them from 16 up, none at 0 or below).
    private static ulong Mask(ulong word, int nibbles) =>
        nibbles <= 0 ? 0 : nibbles >= 16 ? word : word & ~(ulong.MaxValue >> (4 * nibbles));
}

/// <summary>
/// Where a node is stored: the version that wrote it and its position. Encoded as version (u64 BE) ‖ nibble count
/// (1 byte) ‖ packed nibbles, so the nodes of one version are contiguous and written in key order.
/// </summary>
internal readonly record struct NodeKey(ulong Version, NibblePath Path) : IComparable<NodeKey>
{
    public const int EncodedLengthMax = 8 + 1 + 32;

    public int EncodedLength => 9 + Path.PackedLength;

    public int Encode(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, Version);
        destination[8] = (byte)Path.Length;
        Path.WritePacked(destination[9..]);
        return EncodedLength;
    }

    public byte[] Encode()
    {
        var bytes = new byte[EncodedLength];
        Encode(bytes);
        return bytes;
    }

    public static bool TryDecode(ReadOnlySpan<byte> encoded, out NodeKey key)
    {
        key = default;
        if (encoded.Length < 9) return false;
        var length = encoded[8];
        if (!NibblePath.TryReadPacked(encoded[9..], length, out var path)) return false;
        key = new NodeKey(BinaryPrimitives.ReadUInt64BigEndian(encoded), path);
        return true;
    }

    public int CompareTo(NodeKey other)
    {
        var c = Version.CompareTo(other.Version);
        return c != 0 ? c : Path.CompareTo(other.Path);
    }

    public override string ToString() => $"{Version}/{Path}";
}
