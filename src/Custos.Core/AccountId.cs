using System.Buffers.Binary;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Core;

/// <summary>
/// An account's identifier: 16 bytes assigned at registration and never reused. It is deliberately not derived
/// from any key (ID-2): keys can be reset or rotated while the account keeps its id.
/// </summary>
public readonly struct AccountId : IEquatable<AccountId>, IComparable<AccountId>
{
    public const int SizeBytes = 16;

    private readonly ulong _hi, _lo;

    public AccountId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != SizeBytes)
        {
            throw new CustosException(ErrorCode.InvalidLength, $"an account id is {SizeBytes} bytes, got {bytes.Length}");
        }

        _hi = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _lo = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
    }

    public AccountId(ulong hi, ulong lo)
    {
        _hi = hi;
        _lo = lo;
    }

    public bool IsEmpty => (_hi | _lo) == 0;

    public static bool TryCreate(ReadOnlySpan<byte> bytes, out AccountId id)
    {
        if (bytes.Length != SizeBytes)
        {
            id = default;
            return false;
        }

        id = new AccountId(bytes);
        return true;
    }

    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _lo);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[SizeBytes];
        CopyTo(bytes);
        return bytes;
    }

    public ByteString ToByteString() => UnsafeByteOperations.UnsafeWrap(ToArray());

    /// <summary>Parses 32 hexadecimal digits (see <see cref="HexText"/> for the errors).</summary>
    public static AccountId Parse(string hex) => new(HexText.Decode(hex, SizeBytes, "account id"));

    public override string ToString() => Convert.ToHexStringLower(ToArray());

    public bool Equals(AccountId other) => _hi == other._hi && _lo == other._lo;

    public override bool Equals(object? obj) => obj is AccountId other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_hi, _lo);

    public int CompareTo(AccountId other)
    {
        var c = _hi.CompareTo(other._hi);
        return c != 0 ? c : _lo.CompareTo(other._lo);
    }

    public static bool operator ==(AccountId left, AccountId right) => left.Equals(right);

    public static bool operator !=(AccountId left, AccountId right) => !left.Equals(right);
}
