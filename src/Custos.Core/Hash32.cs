using System.Buffers.Binary;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Core;

/// <summary>A 32-byte digest (SM3 or SHA-256 depending on the chain's suite). Ordered bytewise.</summary>
public readonly struct Hash32 : IEquatable<Hash32>, IComparable<Hash32>
{
    public const int SizeBytes = 32;

    // Big-endian words so that comparing words compares the bytes lexicographically.
    private readonly ulong _w0, _w1, _w2, _w3;

    public Hash32(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != SizeBytes)
        {
            throw new CustosException(ErrorCode.InvalidLength, $"a hash is {SizeBytes} bytes, got {bytes.Length}");
        }

        _w0 = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _w1 = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _w2 = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _w3 = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    public static Hash32 Zero => default;

    public bool IsZero => (_w0 | _w1 | _w2 | _w3) == 0;

    public static bool TryCreate(ReadOnlySpan<byte> bytes, out Hash32 hash)
    {
        if (bytes.Length != SizeBytes)
        {
            hash = default;
            return false;
        }

        hash = new Hash32(bytes);
        return true;
    }

    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _w3);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[SizeBytes];
        CopyTo(bytes);
        return bytes;
    }

    public ByteString ToByteString() => UnsafeByteOperations.UnsafeWrap(ToArray());

    /// <summary>Parses 64 hexadecimal digits (see <see cref="HexText"/> for the errors).</summary>
    public static Hash32 Parse(string hex) => new(HexText.Decode(hex, SizeBytes, "hash"));

    public override string ToString() => Convert.ToHexStringLower(ToArray());

    /// <summary>First bytes in hex, for logs and status lines.</summary>
    public string ToShortString() => ToString()[..12];

    public bool Equals(Hash32 other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    public override bool Equals(object? obj) => obj is Hash32 other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);

    public int CompareTo(Hash32 other)
    {
        var c = _w0.CompareTo(other._w0);
        if (c != 0) return c;
        c = _w1.CompareTo(other._w1);
        if (c != 0) return c;
        c = _w2.CompareTo(other._w2);
        return c != 0 ? c : _w3.CompareTo(other._w3);
    }

    public static bool operator ==(Hash32 left, Hash32 right) => left.Equals(right);

    public static bool operator !=(Hash32 left, Hash32 right) => !left.Equals(right);
}
