using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Custos.Crypto.Sm2;

/// <summary>
/// An element of the SM2 prime field in Montgomery form (a·2^256 mod p), four 64-bit limbs, least significant first.
/// Every operation returns the canonical representative in [0, p), so equality is limb equality.
/// </summary>
internal struct Sm2FieldElement
{
    public ulong L0;
    public ulong L1;
    public ulong L2;
    public ulong L3;

    public Sm2FieldElement(ulong l0, ulong l1, ulong l2, ulong l3)
    {
        L0 = l0;
        L1 = l1;
        L2 = l2;
        L3 = l3;
    }

    public readonly bool IsZero => (L0 | L1 | L2 | L3) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Equals(in Sm2FieldElement other) =>
        ((L0 ^ other.L0) | (L1 ^ other.L1) | (L2 ^ other.L2) | (L3 ^ other.L3)) == 0;

    public override readonly string ToString() => $"{L3:x16}{L2:x16}{L1:x16}{L0:x16} (Montgomery)";
}

/// <summary>
/// Arithmetic modulo the SM2 prime p = 2^256 − 2^224 − 2^96 + 2^64 − 1 (GB/T 32918.5), specialised for speed and
/// variable-time: it serves verification, which handles public data only.
/// </summary>
/// <remarks>
/// Montgomery multiplication with R = 2^256. Because p ≡ −1 (mod 2^64), the Montgomery factor −p^−1 mod 2^64 is 1,
/// so each reduction round takes m = the lowest limb; and because p + 1 = 2^64·(2^192 − 2^160 − 2^32 + 1), adding
/// m·p and dropping the low limb is "add m·(2^192 + 1) − m·(2^160 + 2^32)", shifts and subtractions instead of
/// multiplications. High halves of products come from BMI2's MULX (<see cref="Bmi2.X64.MultiplyNoFlags(ulong, ulong)"/>)
/// where present and from <see cref="Math.BigMul(ulong, ulong, out ulong)"/> elsewhere; low halves are plain
/// multiplications. .NET exposes no add-with-carry (ADX) intrinsic, so carries are compare-and-add (CMP/SETB).
/// </remarks>
internal static class Sm2Field
{
    // p, least significant limb first.
    public const ulong P0 = 0xFFFFFFFFFFFFFFFF;
    public const ulong P1 = 0xFFFFFFFF00000000;
    public const ulong P2 = 0xFFFFFFFFFFFFFFFF;
    public const ulong P3 = 0xFFFFFFFEFFFFFFFF;

    // 2^256 − p = 2^224 + 2^96 − 2^64 + 1: adding it and dropping the carry subtracts p; it is also R mod p, i.e. 1.
    private const ulong C0 = 0x0000000000000001;
    private const ulong C1 = 0x00000000FFFFFFFF;
    private const ulong C2 = 0x0000000000000000;
    private const ulong C3 = 0x0000000100000000;

    /// <summary>1 in Montgomery form (R mod p).</summary>
    public static readonly Sm2FieldElement One = new(C0, C1, C2, C3);

    /// <summary>R² mod p, which maps a plain integer into Montgomery form in one multiplication.</summary>
    private static readonly Sm2FieldElement RSquared = ComputeRSquared();

    /// <summary>True where the multiplications run on BMI2's MULX (reported by the benchmark).</summary>
    public static bool UsesBmi2 => Bmi2.X64.IsSupported;

    /// <summary>Reads a 32-byte big-endian integer; false if it is not below p.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bigEndian, out Sm2FieldElement element)
    {
        var plain = ReadBigEndian(bigEndian);
        if (!IsBelowP(plain))
        {
            element = default;
            return false;
        }

        element = ToMontgomery(plain);
        return true;
    }

    /// <summary>Reads 32 big-endian bytes as four limbs, without reduction.</summary>
    public static Sm2FieldElement ReadBigEndian(ReadOnlySpan<byte> bigEndian) => new(
        BinaryPrimitives.ReadUInt64BigEndian(bigEndian[24..]),
        BinaryPrimitives.ReadUInt64BigEndian(bigEndian[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(bigEndian[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(bigEndian));

    /// <summary>Writes the plain (non-Montgomery) value of <paramref name="element"/> as 32 big-endian bytes.</summary>
    public static void Encode(in Sm2FieldElement element, Span<byte> bigEndian)
    {
        var plain = FromMontgomery(element);
        BinaryPrimitives.WriteUInt64BigEndian(bigEndian, plain.L3);
        BinaryPrimitives.WriteUInt64BigEndian(bigEndian[8..], plain.L2);
        BinaryPrimitives.WriteUInt64BigEndian(bigEndian[16..], plain.L1);
        BinaryPrimitives.WriteUInt64BigEndian(bigEndian[24..], plain.L0);
    }

    /// <summary>True if the limbs, read as a plain integer, are below p.</summary>
    public static bool IsBelowP(in Sm2FieldElement plain)
    {
        // x < p exactly when x + (2^256 − p) does not carry out of 256 bits.
        AddConstant(plain, out _, out var carry);
        return carry == 0;
    }

    /// <summary>Maps a plain integer below p into Montgomery form.</summary>
    public static Sm2FieldElement ToMontgomery(in Sm2FieldElement plain)
    {
        Multiply(plain, RSquared, out var result);
        return result;
    }

    /// <summary>The plain integer in [0, p) that <paramref name="element"/> represents.</summary>
    public static Sm2FieldElement FromMontgomery(in Sm2FieldElement element)
    {
        var one = new Sm2FieldElement(1, 0, 0, 0);
        Multiply(element, one, out var result);
        return result;
    }

    /// <summary>r = a + b mod p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(in Sm2FieldElement a, in Sm2FieldElement b, out Sm2FieldElement r)
    {
        ulong carry;
        var s0 = a.L0 + b.L0;
        carry = s0 < a.L0 ? 1UL : 0UL;
        var t = a.L1 + carry;
        carry = t < carry ? 1UL : 0UL;
        var s1 = t + b.L1;
        carry += s1 < t ? 1UL : 0UL;
        t = a.L2 + carry;
        carry = t < carry ? 1UL : 0UL;
        var s2 = t + b.L2;
        carry += s2 < t ? 1UL : 0UL;
        t = a.L3 + carry;
        carry = t < carry ? 1UL : 0UL;
        var s3 = t + b.L3;
        carry += s3 < t ? 1UL : 0UL;
        ReduceOnce(s0, s1, s2, s3, carry, out r);
    }

    /// <summary>r = a − b mod p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Subtract(in Sm2FieldElement a, in Sm2FieldElement b, out Sm2FieldElement r)
    {
        ulong borrow;
        var d0 = a.L0 - b.L0;
        borrow = a.L0 < b.L0 ? 1UL : 0UL;
        var t = b.L1 + borrow;
        borrow = t < borrow ? 1UL : 0UL;
        borrow += a.L1 < t ? 1UL : 0UL;
        var d1 = a.L1 - t;
        t = b.L2 + borrow;
        borrow = t < borrow ? 1UL : 0UL;
        borrow += a.L2 < t ? 1UL : 0UL;
        var d2 = a.L2 - t;
        t = b.L3 + borrow;
        borrow = t < borrow ? 1UL : 0UL;
        borrow += a.L3 < t ? 1UL : 0UL;
        var d3 = a.L3 - t;

        // On a borrow the difference wrapped to a − b + 2^256; adding p is then subtracting (2^256 − p).
        var mask = 0UL - borrow;
        var c0 = C0 & mask;
        var c1 = C1 & mask;
        var c3 = C3 & mask;
        var e0 = d0 - c0;
        var b0 = d0 < c0 ? 1UL : 0UL;
        t = c1 + b0;
        var e1 = d1 - t;
        var b1 = d1 < t ? 1UL : 0UL;
        var e2 = d2 - b1;
        var b2 = d2 < b1 ? 1UL : 0UL;
        var e3 = d3 - c3 - b2;
        r = new Sm2FieldElement(e0, e1, e2, e3);
    }

    /// <summary>r = −a mod p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Negate(in Sm2FieldElement a, out Sm2FieldElement r)
    {
        var zero = default(Sm2FieldElement);
        Subtract(zero, a, out r);
    }

    /// <summary>r = 2a mod p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Double(in Sm2FieldElement a, out Sm2FieldElement r)
    {
        var carry = a.L3 >> 63;
        var s3 = (a.L3 << 1) | (a.L2 >> 63);
        var s2 = (a.L2 << 1) | (a.L1 >> 63);
        var s1 = (a.L1 << 1) | (a.L0 >> 63);
        var s0 = a.L0 << 1;
        ReduceOnce(s0, s1, s2, s3, carry, out r);
    }

    /// <summary>Brings carry·2^256 + s, known to be below 2p, into [0, p).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReduceOnce(ulong s0, ulong s1, ulong s2, ulong s3, ulong carry, out Sm2FieldElement r)
    {
        // s − p = s + (2^256 − p) − 2^256: take it when the sum carries out or the input carried already.
        var u0 = s0 + C0;
        var k = u0 < s0 ? 1UL : 0UL;
        // C1 + k and C3 + k are below 2^64 and not zero, so a sum wrapped exactly when it came out smaller.
        var u1 = s1 + C1 + k;
        k = u1 < s1 ? 1UL : 0UL;
        var u2 = s2 + k;
        k = u2 < k ? 1UL : 0UL;
        var u3 = s3 + C3 + k;
        k = u3 < s3 ? 1UL : 0UL;
        var mask = 0UL - (k | carry);
        r = new Sm2FieldElement(
            (u0 & mask) | (s0 & ~mask),
            (u1 & mask) | (s1 & ~mask),
            (u2 & mask) | (s2 & ~mask),
            (u3 & mask) | (s3 & ~mask));
    }

    /// <summary>x + (2^256 − p) and its carry out of 256 bits.</summary>
    private static void AddConstant(in Sm2FieldElement x, out Sm2FieldElement sum, out ulong carry)
    {
        var u = (UInt128)x.L0 + C0;
        var s0 = (ulong)u;
        u = (u >> 64) + x.L1 + C1;
        var s1 = (ulong)u;
        u = (u >> 64) + x.L2 + C2;
        var s2 = (ulong)u;
        u = (u >> 64) + x.L3 + C3;
        sum = new Sm2FieldElement(s0, s1, s2, (ulong)u);
        carry = (ulong)(u >> 64);
    }

    /// <summary>
    /// The high 64 bits of a·b. MULX's form without the low output keeps everything in registers (the two-output
    /// forms pass the low half through memory in RyuJIT); the low half is a plain multiplication, which runs alongside.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MultiplyHigh(ulong a, ulong b) => Bmi2.X64.IsSupported ? Bmi2.X64.MultiplyNoFlags(a, b) : Math.BigMul(a, b, out _);

    /// <summary>r = a·b·R^−1 mod p (Montgomery product).</summary>
    /// <remarks>
    /// Written out in one body: RyuJIT stops inlining nested helpers once a method grows, and a helper left as a call
    /// takes its limbs by reference, through memory. The method itself stays a call (RyuJIT will not inline a body
    /// this large); its time is the latency of the carry chains, about 110 cycles, not the 16 multiplications.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Multiply(in Sm2FieldElement a, in Sm2FieldElement b, out Sm2FieldElement r)
    {
        ulong a0 = a.L0, a1 = a.L1, a2 = a.L2, a3 = a.L3;
        ulong b0 = b.L0, b1 = b.L1, b2 = b.L2, b3 = b.L3;
        ulong lo, hi, c;

        // Row 0: t = a0·b.
        var t0 = a0 * b0;
        var t1 = MultiplyHigh(a0, b0);
        lo = a0 * b1;
        hi = MultiplyHigh(a0, b1);
        t1 += lo;
        c = hi + (t1 < lo ? 1UL : 0UL);
        lo = a0 * b2;
        hi = MultiplyHigh(a0, b2);
        var t2 = lo + c;
        c = hi + (t2 < lo ? 1UL : 0UL);
        lo = a0 * b3;
        hi = MultiplyHigh(a0, b3);
        var t3 = lo + c;
        var t4 = hi + (t3 < lo ? 1UL : 0UL);

        // Rows 1 to 3: t += a_i·b·2^(64i).
        lo = a1 * b0;
        hi = MultiplyHigh(a1, b0);
        t1 += lo;
        c = hi + (t1 < lo ? 1UL : 0UL);
        lo = a1 * b1;
        hi = MultiplyHigh(a1, b1);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        t2 += lo;
        c = hi + (t2 < lo ? 1UL : 0UL);
        lo = a1 * b2;
        hi = MultiplyHigh(a1, b2);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        t3 += lo;
        c = hi + (t3 < lo ? 1UL : 0UL);
        lo = a1 * b3;
        hi = MultiplyHigh(a1, b3);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        t4 += lo;
        var t5 = hi + (t4 < lo ? 1UL : 0UL);

        lo = a2 * b0;
        hi = MultiplyHigh(a2, b0);
        t2 += lo;
        c = hi + (t2 < lo ? 1UL : 0UL);
        lo = a2 * b1;
        hi = MultiplyHigh(a2, b1);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        t3 += lo;
        c = hi + (t3 < lo ? 1UL : 0UL);
        lo = a2 * b2;
        hi = MultiplyHigh(a2, b2);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        t4 += lo;
        c = hi + (t4 < lo ? 1UL : 0UL);
        lo = a2 * b3;
        hi = MultiplyHigh(a2, b3);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        t5 += lo;
        var t6 = hi + (t5 < lo ? 1UL : 0UL);

        lo = a3 * b0;
        hi = MultiplyHigh(a3, b0);
        t3 += lo;
        c = hi + (t3 < lo ? 1UL : 0UL);
        lo = a3 * b1;
        hi = MultiplyHigh(a3, b1);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        t4 += lo;
        c = hi + (t4 < lo ? 1UL : 0UL);
        lo = a3 * b2;
        hi = MultiplyHigh(a3, b2);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        t5 += lo;
        c = hi + (t5 < lo ? 1UL : 0UL);
        lo = a3 * b3;
        hi = MultiplyHigh(a3, b3);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        t6 += lo;
        var t7 = hi + (t6 < lo ? 1UL : 0UL);

        // Montgomery reduction of the low half, one round per limb: with m the lowest limb, (s + m·p)/2^64 equals
        // (s >> 64) + m·(2^192 + 1) − m·(2^160 + 2^32), and d below is that last part. After four rounds the
        // reduced low half (L + M·p)/2^256 sits in t0..t3, lowest first; the high half is then added to it.
        // Carries are propagated with plain 64-bit additions and comparisons: without dynamic PGO (nodes run fully
        // optimised, untiered) RyuJIT left UInt128 additions in this large body as calls.
        ulong m, low, high, d0, d1, d2, d3, borrow, sum, carry, next;
        m = t0;
        low = m << 32;
        high = m >> 32;
        d0 = m - low;
        borrow = m < low ? 1UL : 0UL;
        d1 = 0UL - high - borrow;
        borrow = (high | borrow) != 0 ? 1UL : 0UL;
        d2 = 0UL - low - borrow;
        borrow = (low | borrow) != 0 ? 1UL : 0UL;
        d3 = m - high - borrow;
        sum = t1 + d0;
        carry = sum < t1 ? 1UL : 0UL;
        t1 = sum;
        sum = t2 + d1;
        next = sum < t2 ? 1UL : 0UL;
        sum += carry;
        next += sum < carry ? 1UL : 0UL;
        t2 = sum;
        sum = t3 + d2;
        carry = sum < t3 ? 1UL : 0UL;
        t3 = sum + next;
        carry += t3 < next ? 1UL : 0UL;
        t0 = carry + d3;

        m = t1;
        low = m << 32;
        high = m >> 32;
        d0 = m - low;
        borrow = m < low ? 1UL : 0UL;
        d1 = 0UL - high - borrow;
        borrow = (high | borrow) != 0 ? 1UL : 0UL;
        d2 = 0UL - low - borrow;
        borrow = (low | borrow) != 0 ? 1UL : 0UL;
        d3 = m - high - borrow;
        sum = t2 + d0;
        carry = sum < t2 ? 1UL : 0UL;
        t2 = sum;
        sum = t3 + d1;
        next = sum < t3 ? 1UL : 0UL;
        sum += carry;
        next += sum < carry ? 1UL : 0UL;
        t3 = sum;
        sum = t0 + d2;
        carry = sum < t0 ? 1UL : 0UL;
        t0 = sum + next;
        carry += t0 < next ? 1UL : 0UL;
        t1 = carry + d3;

        m = t2;
        low = m << 32;
        high = m >> 32;
        d0 = m - low;
        borrow = m < low ? 1UL : 0UL;
        d1 = 0UL - high - borrow;
        borrow = (high | borrow) != 0 ? 1UL : 0UL;
        d2 = 0UL - low - borrow;
        borrow = (low | borrow) != 0 ? 1UL : 0UL;
        d3 = m - high - borrow;
        sum = t3 + d0;
        carry = sum < t3 ? 1UL : 0UL;
        t3 = sum;
        sum = t0 + d1;
        next = sum < t0 ? 1UL : 0UL;
        sum += carry;
        next += sum < carry ? 1UL : 0UL;
        t0 = sum;
        sum = t1 + d2;
        carry = sum < t1 ? 1UL : 0UL;
        t1 = sum + next;
        carry += t1 < next ? 1UL : 0UL;
        t2 = carry + d3;

        m = t3;
        low = m << 32;
        high = m >> 32;
        d0 = m - low;
        borrow = m < low ? 1UL : 0UL;
        d1 = 0UL - high - borrow;
        borrow = (high | borrow) != 0 ? 1UL : 0UL;
        d2 = 0UL - low - borrow;
        borrow = (low | borrow) != 0 ? 1UL : 0UL;
        d3 = m - high - borrow;
        sum = t0 + d0;
        carry = sum < t0 ? 1UL : 0UL;
        t0 = sum;
        sum = t1 + d1;
        next = sum < t1 ? 1UL : 0UL;
        sum += carry;
        next += sum < carry ? 1UL : 0UL;
        t1 = sum;
        sum = t2 + d2;
        carry = sum < t2 ? 1UL : 0UL;
        t2 = sum + next;
        carry += t2 < next ? 1UL : 0UL;
        t3 = carry + d3;

        var s0 = t0 + t4;
        carry = s0 < t0 ? 1UL : 0UL;
        var s1 = t1 + t5;
        next = s1 < t1 ? 1UL : 0UL;
        s1 += carry;
        next += s1 < carry ? 1UL : 0UL;
        var s2 = t2 + t6;
        carry = s2 < t2 ? 1UL : 0UL;
        s2 += next;
        carry += s2 < next ? 1UL : 0UL;
        var s3 = t3 + t7;
        next = s3 < t3 ? 1UL : 0UL;
        s3 += carry;
        next += s3 < carry ? 1UL : 0UL;
        carry = next;

        // The sum is below 2p: subtract p once when it carried out or is at least p.
        var v0 = s0 + C0;
        var k = v0 < s0 ? 1UL : 0UL;
        var v1 = s1 + C1 + k;
        k = v1 < s1 ? 1UL : 0UL;
        var v2 = s2 + k;
        k = v2 < k ? 1UL : 0UL;
        var v3 = s3 + C3 + k;
        k = v3 < s3 ? 1UL : 0UL;
        var mask = 0UL - (k | carry);
        r = new Sm2FieldElement(
            (v0 & mask) | (s0 & ~mask),
            (v1 & mask) | (s1 & ~mask),
            (v2 & mask) | (s2 & ~mask),
            (v3 & mask) | (s3 & ~mask));
    }

    /// <summary>r = a²·R^−1 mod p.</summary>
    /// <remarks>
    /// The general product: a dedicated squaring (10 multiplications instead of 16) measured slower here, because its
    /// doubling and diagonal carry chains are longer than the multiplications it saves.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Square(in Sm2FieldElement a, out Sm2FieldElement r) => Multiply(a, a, out r);

    /// <summary>r = a^−1 mod p by Fermat, a^(p−2), with an addition chain of 255 squarings and 15 multiplications; 0 maps to 0.</summary>
    public static void Invert(in Sm2FieldElement a, out Sm2FieldElement r)
    {
        // x_k = a^(2^k − 1).
        var x1 = a;
        SquareTimes(x1, 1, out var x2);
        Multiply(x2, x1, out x2);
        SquareTimes(x2, 1, out var x3);
        Multiply(x3, x1, out x3);
        SquareTimes(x3, 3, out var x6);
        Multiply(x6, x3, out x6);
        SquareTimes(x6, 6, out var x12);
        Multiply(x12, x6, out x12);
        SquareTimes(x12, 12, out var x24);
        Multiply(x24, x12, out x24);
        SquareTimes(x24, 6, out var x30);
        Multiply(x30, x6, out x30);
        SquareTimes(x30, 1, out var x31);
        Multiply(x31, x1, out x31);
        SquareTimes(x31, 1, out var x32);
        Multiply(x32, x1, out x32);

        // p − 2, from the top: 31 ones, a zero, 128 ones, 32 zeros, 32 ones, 30 ones, "01".
        SquareTimes(x31, 1, out var t);
        for (var i = 0; i < 4; i++)
        {
            SquareTimes(t, 32, out t);
            Multiply(t, x32, out t);
        }

        SquareTimes(t, 32, out t);
        SquareTimes(t, 32, out t);
        Multiply(t, x32, out t);
        SquareTimes(t, 30, out t);
        Multiply(t, x30, out t);
        SquareTimes(t, 2, out t);
        Multiply(t, x1, out r);
    }

    /// <summary>r = a^(2^count).</summary>
    public static void SquareTimes(in Sm2FieldElement a, int count, out Sm2FieldElement r)
    {
        var x = a;
        for (var i = 0; i < count; i++) Square(x, out x);
        r = x;
    }

    private static Sm2FieldElement ComputeRSquared()
    {
        // R mod p is (2^256 − p); doubling it 256 times gives R·2^256 = R² mod p, in plain integers.
        var x = new Sm2FieldElement(C0, C1, C2, C3);
        for (var i = 0; i < 256; i++) Double(x, out x);
        return x;
    }
}
