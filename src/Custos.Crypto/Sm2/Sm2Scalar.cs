using System.Buffers.Binary;
using System.Diagnostics;

namespace Custos.Crypto.Sm2;

/// <summary>A 256-bit unsigned integer as four limbs, least significant first; used for scalars modulo the order n.</summary>
internal struct Sm2Scalar
{
    public ulong L0;
    public ulong L1;
    public ulong L2;
    public ulong L3;

    public Sm2Scalar(ulong l0, ulong l1, ulong l2, ulong l3)
    {
        L0 = l0;
        L1 = l1;
        L2 = l2;
        L3 = l3;
    }

    /// <summary>The group order n of sm2p256v1.</summary>
    public static readonly Sm2Scalar Order = new(0x53BBF40939D54123, 0x7203DF6B21C6052B, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFEFFFFFFFF);

    public readonly bool IsZero => (L0 | L1 | L2 | L3) == 0;

    public static Sm2Scalar ReadBigEndian(ReadOnlySpan<byte> bigEndian) => new(
        BinaryPrimitives.ReadUInt64BigEndian(bigEndian[24..]),
        BinaryPrimitives.ReadUInt64BigEndian(bigEndian[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(bigEndian[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(bigEndian));

    public readonly void WriteBigEndian(Span<byte> bigEndian)
    {
        BinaryPrimitives.WriteUInt64BigEndian(bigEndian, L3);
        BinaryPrimitives.WriteUInt64BigEndian(bigEndian[8..], L2);
        BinaryPrimitives.WriteUInt64BigEndian(bigEndian[16..], L1);
        BinaryPrimitives.WriteUInt64BigEndian(bigEndian[24..], L0);
    }

    public readonly bool IsBelowOrder => Subtract(this, Order, out _) != 0;

    /// <summary>r = a + b; returns the carry out of 256 bits.</summary>
    public static ulong Add(in Sm2Scalar a, in Sm2Scalar b, out Sm2Scalar r)
    {
        var u = (UInt128)a.L0 + b.L0;
        var r0 = (ulong)u;
        u = (u >> 64) + a.L1 + b.L1;
        var r1 = (ulong)u;
        u = (u >> 64) + a.L2 + b.L2;
        var r2 = (ulong)u;
        u = (u >> 64) + a.L3 + b.L3;
        r = new Sm2Scalar(r0, r1, r2, (ulong)u);
        return (ulong)(u >> 64);
    }

    /// <summary>r = a − b mod 2^256; returns the borrow (1 when a &lt; b).</summary>
    public static ulong Subtract(in Sm2Scalar a, in Sm2Scalar b, out Sm2Scalar r)
    {
        var u = (UInt128)a.L0 - b.L0;
        var r0 = (ulong)u;
        var borrow = (ulong)(u >> 64) & 1;
        u = (UInt128)a.L1 - b.L1 - borrow;
        var r1 = (ulong)u;
        borrow = (ulong)(u >> 64) & 1;
        u = (UInt128)a.L2 - b.L2 - borrow;
        var r2 = (ulong)u;
        borrow = (ulong)(u >> 64) & 1;
        u = (UInt128)a.L3 - b.L3 - borrow;
        r = new Sm2Scalar(r0, r1, r2, (ulong)u);
        return (ulong)(u >> 64) & 1;
    }

    /// <summary>a mod n for any 256-bit a (one subtraction suffices: 2^256 &lt; 2n).</summary>
    public static Sm2Scalar ReduceOnce(in Sm2Scalar a)
    {
        return Subtract(a, Order, out var reduced) == 0 ? reduced : a;
    }

    /// <summary>(a + b) mod n for a, b below n.</summary>
    public static Sm2Scalar AddModOrder(in Sm2Scalar a, in Sm2Scalar b)
    {
        var carry = Add(a, b, out var sum);
        // With a carry the true sum is 2^256 + sum ≥ n, and sum − n (mod 2^256) is right.
        if (carry != 0 || Subtract(sum, Order, out _) == 0) Subtract(sum, Order, out sum);
        return sum;
    }

    /// <summary>(a − b) mod n for a, b below n.</summary>
    public static Sm2Scalar SubtractModOrder(in Sm2Scalar a, in Sm2Scalar b)
    {
        if (Subtract(a, b, out var difference) != 0) Add(difference, Order, out difference);
        return difference;
    }

    /// <summary>
    /// The width-<paramref name="width"/> non-adjacent form of the scalar's low <paramref name="bits"/> bits (the rest
    /// are ignored): <paramref name="digits"/>[i] is 0 or odd with |digit| &lt; 2^(width−1), Σ digits[i]·2^i equals
    /// that value, and any <paramref name="width"/> consecutive digits hold at most one non-zero. Needs bits + 1
    /// digits; returns how many are used (index of the top non-zero + 1).
    /// </summary>
    public readonly int ToWnaf(int width, Span<sbyte> digits, int bits = 256)
    {
        Debug.Assert(width is >= 2 and <= 8 && bits is > 0 and <= 256 && digits.Length > bits);
        digits[..(bits + 1)].Clear();
        int bit = 0, carry = 0, length = 0;
        while (bit <= bits)
        {
            // A bit equal to the carry leaves a zero digit (0 + 0, or 1 + 1 carrying on).
            if (Bit(bit, bits) == carry)
            {
                bit++;
                continue;
            }

            var word = Bits(bit, width, bits) + carry;
            carry = (word >> (width - 1)) & 1;
            word -= carry << width;
            digits[bit] = (sbyte)word;
            length = bit + 1;
            bit += width;
        }

        Debug.Assert(carry == 0);
        return length;
    }

    private readonly int Bit(int index, int bits) => index >= bits ? 0 : (int)((Limb(index >> 6) >> (index & 63)) & 1);

    private readonly ulong Limb(int index) => index switch
    {
        0 => L0,
        1 => L1,
        2 => L2,
        3 => L3,
        _ => 0,
    };

    /// <summary>The <paramref name="count"/> (≤ 31) bits from <paramref name="index"/> upward; bits from <paramref name="bits"/> on read as zero.</summary>
    private readonly int Bits(int index, int count, int bits)
    {
        var limb = index >> 6;
        var shift = index & 63;
        var value = Limb(limb) >> shift;
        if (shift + count > 64) value |= Limb(limb + 1) << (64 - shift);
        var left = bits - index;
        if (left <= 0) return 0;
        if (left < 64) value &= (1UL << left) - 1;
        return (int)(value & ((1UL << count) - 1));
    }

    /// <summary>The 64-bit limb <paramref name="index"/> (0 lowest) as a scalar of its own.</summary>
    public readonly Sm2Scalar Quarter(int index) => new(Limb(index), 0, 0, 0);
}
