using System.Numerics;
using CsCheck;
using Custos.Crypto.Sm2;
using Org.BouncyCastle.Math.EC;
using Org.BouncyCastle.Math.EC.Multiplier;
using static Custos.Crypto.Tests.Support.Sm2EngineReference;
using BcPoint = Org.BouncyCastle.Math.EC.ECPoint;

namespace Custos.Crypto.Tests;

/// <summary>
/// The fast engine's group law on sm2p256v1: associativity, inverses, doubling equal to adding a point to itself,
/// [n]P = infinity, and the interleaved double multiplication, each against BouncyCastle's arithmetic. Points are
/// random multiples of G made by BouncyCastle, and every Jacobian input is also tried under a random rescaling.
/// </summary>
public sealed class Sm2GroupLawTests
{
    private static readonly BcPoint BcG = GmCryptoSuite.Domain.G;

    private static readonly Gen<BigInteger> ScalarValue = Gen.Frequency(
        (6, Gen.Byte.Array[32].Select(bytes => new BigInteger(bytes, isUnsigned: true, isBigEndian: true) % (N - 1) + 1)),
        (1, Gen.Int[0, 5].Select(i => new[] { BigInteger.One, 2, 3, N - 1, N - 2, N - 3 }[i])));

    private static readonly Gen<BigInteger> Lambda = Gen.Byte.Array[32].Select(bytes => new BigInteger(bytes, isUnsigned: true, isBigEndian: true) % (P - 1) + 1);

    private static BcPoint BcMultiple(BigInteger k) => new FixedPointCombMultiplier().Multiply(BcG, ToBc(k));

    private static Sm2JacobianPoint Jacobian(BcPoint point) => Sm2JacobianPoint.FromAffine(FromBouncyCastle(point));

    [Fact]
    public void The_base_point_and_b_are_the_standard_ones_and_on_the_curve()
    {
        Assert.Equal(Affine(BcG), Affine(Sm2JacobianPoint.FromAffine(Sm2Curve.G)));
        Assert.True(Sm2Curve.IsOnCurve(Sm2Curve.G));
        Assert.Equal(ToBig(GmCryptoSuite.Domain.Curve.B.ToBigInteger()), Value(Sm2Curve.B));
        var offCurve = Sm2Curve.G;
        Sm2Field.Add(offCurve.Y, Sm2Field.One, out offCurve.Y);
        Assert.False(Sm2Curve.IsOnCurve(offCurve));
    }

    [Fact]
    public void Addition_matches_BouncyCastle_in_mixed_and_full_Jacobian_forms()
    {
        Gen.Select(ScalarValue, ScalarValue, Lambda, Lambda).Sample((a, b, l1, l2) =>
        {
            var (p, q) = (BcMultiple(a), BcMultiple(b));
            var expected = Affine(p.Add(q));
            Sm2Curve.AddAffine(Rescale(Jacobian(p), l1), FromBouncyCastle(q), out var mixed);
            Sm2Curve.Add(Rescale(Jacobian(p), l1), Rescale(Jacobian(q), l2), out var full);
            return Affine(mixed) == expected && Affine(full) == expected;
        }, iter: 300);
    }

    [Fact]
    public void Addition_is_associative_and_commutative()
    {
        Gen.Select(ScalarValue, ScalarValue, ScalarValue, Lambda).Sample((a, b, c, l) =>
        {
            var (p, q, r) = (Jacobian(BcMultiple(a)), Rescale(Jacobian(BcMultiple(b)), l), Jacobian(BcMultiple(c)));
            Sm2Curve.Add(p, q, out var pq);
            Sm2Curve.Add(pq, r, out var left);
            Sm2Curve.Add(q, r, out var qr);
            Sm2Curve.Add(p, qr, out var right);
            Sm2Curve.Add(q, p, out var qp);
            return Affine(left) == Affine(right) && Affine(pq) == Affine(qp);
        }, iter: 300);
    }

    [Fact]
    public void A_point_plus_its_negation_is_infinity_and_infinity_is_the_identity()
    {
        Gen.Select(ScalarValue, Lambda).Sample((a, l) =>
        {
            var p = FromBouncyCastle(BcMultiple(a));
            Sm2Field.Negate(p.Y, out var negatedY);
            var negation = new Sm2AffinePoint(p.X, negatedY);
            Sm2Curve.AddAffine(Rescale(Sm2JacobianPoint.FromAffine(p), l), negation, out var mixed);
            Sm2Curve.Add(Rescale(Sm2JacobianPoint.FromAffine(p), l), Sm2JacobianPoint.FromAffine(negation), out var full);
            Sm2Curve.AddAffine(Sm2JacobianPoint.Infinity, p, out var fromInfinity);
            Sm2Curve.Add(Rescale(Sm2JacobianPoint.FromAffine(p), l), Sm2JacobianPoint.Infinity, out var plusInfinity);
            Sm2Curve.Double(Sm2JacobianPoint.Infinity, out var doubledInfinity);
            return mixed.IsInfinity && full.IsInfinity && doubledInfinity.IsInfinity
                && Affine(fromInfinity) == Affine(Sm2JacobianPoint.FromAffine(p)) && Affine(plusInfinity) == Affine(Sm2JacobianPoint.FromAffine(p));
        }, iter: 300);
    }

    [Fact]
    public void Doubling_equals_adding_a_point_to_itself_and_BouncyCastle_twice()
    {
        Gen.Select(ScalarValue, Lambda, Lambda).Sample((a, l1, l2) =>
        {
            var bc = BcMultiple(a);
            var p = FromBouncyCastle(bc);
            Sm2Curve.Double(Rescale(Sm2JacobianPoint.FromAffine(p), l1), out var doubled);
            Sm2Curve.AddAffine(Rescale(Sm2JacobianPoint.FromAffine(p), l1), p, out var mixed);
            Sm2Curve.Add(Rescale(Sm2JacobianPoint.FromAffine(p), l1), Rescale(Sm2JacobianPoint.FromAffine(p), l2), out var full);
            var expected = Affine(bc.Twice());
            return Affine(doubled) == expected && Affine(mixed) == expected && Affine(full) == expected;
        }, iter: 300);
    }

    [Fact]
    public void The_order_times_G_or_any_public_point_is_infinity()
    {
        Assert.True(Multiply(Sm2JacobianPoint.FromAffine(Sm2Curve.G), N).IsInfinity);
        Assert.Equal(Affine(BcG.Negate()), Affine(Multiply(Sm2JacobianPoint.FromAffine(Sm2Curve.G), N - 1)));
        Assert.Equal(Affine(BcG), Affine(Multiply(Sm2JacobianPoint.FromAffine(Sm2Curve.G), N + 1)));
        ScalarValue.Sample(d =>
        {
            var q = Jacobian(BcMultiple(d));
            return Multiply(q, N).IsInfinity && Affine(Multiply(q, N + 2)) == Affine(BcMultiple(d).Twice());
        }, iter: 20);
    }

    [Fact]
    public void Tables_hold_the_odd_multiples_of_each_quarter()
    {
        var table = Sm2BasePointTable.OddMultiples;
        Assert.Equal(Sm2SplitTable.Quarters * Sm2BasePointTable.PerQuarter, table.Length);
        for (var q = 0; q < Sm2SplitTable.Quarters; q++)
        {
            for (var i = 0; i < Sm2BasePointTable.PerQuarter; i++)
            {
                Assert.Equal(Affine(BcMultiple((2 * i + 1) * (BigInteger.One << (64 * q)))), Affine(Sm2JacobianPoint.FromAffine(table[q * Sm2BasePointTable.PerQuarter + i])));
            }
        }

        var point = BcMultiple(12345);
        Assert.True(Sm2VerificationKey.TryCreate(point.GetEncoded(false).AsSpan(1), out var key));
        Assert.Equal(Sm2SplitTable.Quarters * Sm2VerificationKey.PerQuarter, key.OddMultiples.Length);
        for (var q = 0; q < Sm2SplitTable.Quarters; q++)
        {
            for (var i = 0; i < Sm2VerificationKey.PerQuarter; i++)
            {
                Assert.Equal(Affine(point.Multiply(ToBc((2 * i + 1) * (BigInteger.One << (64 * q))))), Affine(Sm2JacobianPoint.FromAffine(key.OddMultiples[q * Sm2VerificationKey.PerQuarter + i])));
            }
        }
    }

    [Fact]
    public void Interleaved_double_multiplication_matches_BouncyCastle_including_sums_to_infinity()
    {
        var anyScalar = Gen.Frequency(
            (6, Gen.Byte.Array[32].Select(bytes => new BigInteger(bytes, isUnsigned: true, isBigEndian: true) % N)),
            (1, Gen.Int[0, 4].Select(i => new[] { BigInteger.Zero, BigInteger.One, N - 1, 2, N >> 1 }[i])));
        Gen.Select(anyScalar, anyScalar, ScalarValue, Gen.Int[0, 3]).Sample((a, b, d, shape) =>
        {
            // Shapes that force the exceptional additions: Q = ±G (d = 1 or n − 1) and b = −a/d, where the sum is infinity.
            if (shape == 1) d = 1;
            if (shape == 2) d = N - 1;
            if (shape == 3 && d != 0) b = (N - a * BigInteger.ModPow(d, N - 2, N) % N) % N;
            var bcQ = BcMultiple(d);
            Assert.True(Sm2VerificationKey.TryCreate(bcQ.GetEncoded(false).AsSpan(1), out var key));
            Sm2Verifier.MultiplyAdd(Scalar(a), Scalar(b), key, out var sum);
            var expected = Affine(ECAlgorithms.SumOfTwoMultiplies(BcG, ToBc(a), bcQ, ToBc(b)));
            return Affine(sum) == expected && (shape != 3 || sum.IsInfinity);
        }, iter: 500);
    }
}
