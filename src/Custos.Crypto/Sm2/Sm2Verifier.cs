using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Custos.Crypto.Sm2;

/// <summary>
/// SM2 signature verification (GB/T 32918.2 §7.1, steps B1–B2 and B5–B7; the caller hashes) on sm2p256v1 by the
/// specialised field and curve code of this folder: [s]G + [t]Q by interleaved wNAF (Shamir's trick, with both
/// scalars split in four quarters) over a static base-point table and the key's own table, and the final comparison
/// without an inversion. Variable-time (public inputs only); allocates nothing; thread-safe.
/// </summary>
internal static class Sm2Verifier
{
    /// <summary>
    /// True if <paramref name="signature"/> (r || s, 32 bytes each, big-endian) is valid for the message digest
    /// e = SM3(Z_A || M) in <paramref name="digest"/> under <paramref name="key"/>.
    /// </summary>
    [SkipLocalsInit]
    public static bool Verify(Sm2VerificationKey key, ReadOnlySpan<byte> digest, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 64 || digest.Length != 32) return false;

        // B1, B2: r and s in [1, n − 1].
        var r = Sm2Scalar.ReadBigEndian(signature[..32]);
        var s = Sm2Scalar.ReadBigEndian(signature[32..]);
        if (r.IsZero || !r.IsBelowOrder || s.IsZero || !s.IsBelowOrder) return false;

        // B5: t = (r + s) mod n, not zero.
        var t = Sm2Scalar.AddModOrder(r, s);
        if (t.IsZero) return false;

        // B6: (x1, y1) = [s]G + [t]Q.
        MultiplyAdd(s, t, key, out var sum);
        if (sum.IsInfinity) return false;

        // B7: R = (e + x1) mod n must equal r, that is x1 ≡ r − e (mod n). x1 < p < 2n, so x1 is v = (r − e) mod n or,
        // when that is still below p, v + n. With x1 = X/Z², compare X with v·Z² rather than invert Z.
        var e = Sm2Scalar.ReduceOnce(Sm2Scalar.ReadBigEndian(digest));
        var v = Sm2Scalar.SubtractModOrder(r, e);
        Sm2Field.Square(sum.Z, out var zz);
        if (MatchesX(v, zz, sum.X)) return true;
        if (Sm2Scalar.Add(v, Sm2Scalar.Order, out var vPlusN) != 0) return false;
        var candidate = new Sm2FieldElement(vPlusN.L0, vPlusN.L1, vPlusN.L2, vPlusN.L3);
        return Sm2Field.IsBelowP(candidate) && MatchesX(vPlusN, zz, sum.X);
    }

    /// <summary>True if X = x·Z² for the plain integer x (below p).</summary>
    private static bool MatchesX(in Sm2Scalar x, in Sm2FieldElement zz, in Sm2FieldElement jacobianX)
    {
        var plain = new Sm2FieldElement(x.L0, x.L1, x.L2, x.L3);
        Sm2Field.Multiply(Sm2Field.ToMontgomery(plain), zz, out var scaled);
        return scaled.Equals(jacobianX);
    }

    /// <summary>
    /// [a]G + [b]Q. Each scalar is split into four 64-bit quarters with a wNAF each, and all eight expansions are
    /// walked together from the top, so they share 64 doublings; each non-zero digit adds one precomputed point.
    /// </summary>
    [SkipLocalsInit]
    internal static void MultiplyAdd(in Sm2Scalar a, in Sm2Scalar b, Sm2VerificationKey key, out Sm2JacobianPoint result)
    {
        const int stride = Sm2SplitTable.QuarterBits + 1;
        const int terms = 2 * Sm2SplitTable.Quarters;
        Span<sbyte> digits = stackalloc sbyte[terms * stride];
        var length = 0;
        for (var quarter = 0; quarter < Sm2SplitTable.Quarters; quarter++)
        {
            var used = a.Quarter(quarter).ToWnaf(Sm2BasePointTable.WindowWidth, digits.Slice(quarter * stride, stride), Sm2SplitTable.QuarterBits);
            length = Math.Max(length, used);
            used = b.Quarter(quarter).ToWnaf(Sm2VerificationKey.WindowWidth, digits.Slice((Sm2SplitTable.Quarters + quarter) * stride, stride), Sm2SplitTable.QuarterBits);
            length = Math.Max(length, used);
        }

        ref var tableA = ref MemoryMarshal.GetArrayDataReference(Sm2BasePointTable.OddMultiples);
        ref var tableB = ref MemoryMarshal.GetArrayDataReference(key.OddMultiples);
        ref var digit0 = ref MemoryMarshal.GetReference(digits);

        var accumulator = Sm2JacobianPoint.Infinity;
        for (var i = length - 1; i >= 0; i--)
        {
            if (!accumulator.IsInfinity) Sm2Curve.Double(accumulator, out accumulator);
            for (var quarter = 0; quarter < Sm2SplitTable.Quarters; quarter++)
            {
                int digit = Unsafe.Add(ref digit0, quarter * stride + i);
                if (digit != 0) AddMultiple(ref accumulator, ref Unsafe.Add(ref tableA, quarter * Sm2BasePointTable.PerQuarter), digit);
                digit = Unsafe.Add(ref digit0, (Sm2SplitTable.Quarters + quarter) * stride + i);
                if (digit != 0) AddMultiple(ref accumulator, ref Unsafe.Add(ref tableB, quarter * Sm2VerificationKey.PerQuarter), digit);
            }
        }

        result = accumulator;
    }

    /// <summary>accumulator += digit·P for an odd digit, from the table of odd multiples of P.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMultiple(ref Sm2JacobianPoint accumulator, ref Sm2AffinePoint table, int digit)
    {
        if (digit > 0)
        {
            Sm2Curve.AddAffine(accumulator, Unsafe.Add(ref table, digit >> 1), out accumulator);
        }
        else
        {
            ref readonly var entry = ref Unsafe.Add(ref table, -digit >> 1);
            Sm2Field.Negate(entry.Y, out var negatedY);
            Sm2Curve.AddAffine(accumulator, new Sm2AffinePoint(entry.X, negatedY), out accumulator);
        }
    }
}
