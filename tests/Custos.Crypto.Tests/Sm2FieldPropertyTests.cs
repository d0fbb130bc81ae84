using System.Numerics;
using CsCheck;
using Custos.Crypto.Sm2;
using static Custos.Crypto.Tests.Support.Sm2EngineReference;

namespace Custos.Crypto.Tests;

/// <summary>
/// The fast engine's field arithmetic modulo the SM2 prime against System.Numerics.BigInteger, on random values
/// and on the limb-boundary values where carries and the special-form reduction go wrong first.
/// </summary>
public sealed class Sm2FieldPropertyTests
{
    private static readonly BigInteger[] Edges =
    [
        0, 1, 2, 3, P - 1, P - 2, P - 3, (BigInteger.One << 64) - 1, BigInteger.One << 64, (BigInteger.One << 128) - 1, BigInteger.One << 128,
        BigInteger.One << 192, (BigInteger.One << 224) - 1, BigInteger.One << 224, BigInteger.One << 255, (BigInteger.One << 256) - P,
        P - (BigInteger.One << 64), P - (BigInteger.One << 96), P >> 1, (P >> 1) + 1, (BigInteger.One << 32) - 1, BigInteger.One << 32,
    ];

    private static readonly Gen<BigInteger> Value = Gen.Frequency(
        (4, Gen.Byte.Array[32].Select(bytes => new BigInteger(bytes, isUnsigned: true, isBigEndian: true) % P)),
        (1, Gen.Int[0, Edges.Length - 1].Select(i => Edges[i])),
        // Values whose limbs are mostly all-ones or all-zeros.
        (1, Gen.Select(Gen.Int[0, 15], Gen.Int[0, 15]).Select((ones, zeros) => Limbs(ones, zeros) % P)));

    private static BigInteger Limbs(int ones, int zeros)
    {
        BigInteger value = 0;
        for (var i = 0; i < 4; i++)
        {
            var limb = (ones >> i & 1) == 1 ? ulong.MaxValue : (zeros >> i & 1) == 1 ? 0UL : 0xFFFFFFFF00000000UL;
            value |= new BigInteger(limb) << (64 * i);
        }

        return value;
    }

    private static BigInteger Mod(BigInteger value)
    {
        var reduced = BigInteger.Remainder(value, P);
        return reduced.Sign < 0 ? reduced + P : reduced;
    }

    [Fact]
    public void Multiply_square_add_subtract_negate_and_double_match_big_integer_arithmetic()
    {
        Gen.Select(Value, Value).Sample((a, b) =>
        {
            var x = Element(a);
            var y = Element(b);
            Sm2Field.Multiply(x, y, out var product);
            Sm2Field.Square(x, out var square);
            Sm2Field.Add(x, y, out var sum);
            Sm2Field.Subtract(x, y, out var difference);
            Sm2Field.Negate(x, out var negation);
            Sm2Field.Double(x, out var twice);
            return Value(product) == Mod(a * b)
                && Value(square) == Mod(a * a)
                && Value(sum) == Mod(a + b)
                && Value(difference) == Mod(a - b)
                && Value(negation) == Mod(-a)
                && Value(twice) == Mod(2 * a);
        }, iter: 20_000);
    }

    [Fact]
    public void Results_are_always_canonical_so_equal_values_have_equal_limbs()
    {
        Gen.Select(Value, Value).Sample((a, b) =>
        {
            Sm2Field.Multiply(Element(a), Element(b), out var product);
            Sm2Field.Subtract(Element(a), Element(b), out var difference);
            return Sm2Field.IsBelowP(product) && Sm2Field.IsBelowP(difference)
                && product.Equals(Element(Mod(a * b))) && difference.Equals(Element(Mod(a - b)));
        }, iter: 5_000);
    }

    [Fact]
    public void Multiplication_is_associative_commutative_and_distributes_over_addition()
    {
        Gen.Select(Value, Value, Value).Sample((a, b, c) =>
        {
            var (x, y, z) = (Element(a), Element(b), Element(c));
            Sm2Field.Multiply(x, y, out var xy);
            Sm2Field.Multiply(xy, z, out var xyThenZ);
            Sm2Field.Multiply(y, z, out var yz);
            Sm2Field.Multiply(x, yz, out var xThenYz);
            Sm2Field.Multiply(y, x, out var yx);
            Sm2Field.Add(y, z, out var ySumZ);
            Sm2Field.Multiply(x, ySumZ, out var distributed);
            Sm2Field.Multiply(x, z, out var xz);
            Sm2Field.Add(xy, xz, out var expanded);
            return xyThenZ.Equals(xThenYz) && xy.Equals(yx) && distributed.Equals(expanded);
        }, iter: 5_000);
    }

    [Fact]
    public void Every_non_zero_element_times_its_inverse_is_one_and_zero_inverts_to_zero()
    {
        Value.Where(a => !a.IsZero).Sample(a =>
        {
            var x = Element(a);
            Sm2Field.Invert(x, out var inverse);
            Sm2Field.Multiply(x, inverse, out var one);
            return one.Equals(Sm2Field.One) && Value(inverse) == BigInteger.ModPow(a, P - 2, P);
        }, iter: 500);
        Sm2Field.Invert(default, out var zeroInverse);
        Assert.True(zeroInverse.IsZero);
    }

    [Fact]
    public void Decode_accepts_values_below_p_only_and_round_trips()
    {
        foreach (var value in new[] { P, P + 1, (BigInteger.One << 256) - 1, P + (BigInteger.One << 64) })
        {
            Assert.False(Sm2Field.TryDecode(BigEndian(value), out _), $"{value:X} accepted");
        }

        Value.Sample(a =>
        {
            Span<byte> encoded = stackalloc byte[32];
            Sm2Field.Encode(Element(a), encoded);
            return Sm2Field.TryDecode(BigEndian(a), out _) && encoded.SequenceEqual(BigEndian(a));
        }, iter: 2_000);
    }

    [Fact]
    public void Scalar_arithmetic_modulo_the_order_matches_big_integer_arithmetic()
    {
        var scalar = Gen.Frequency(
            (4, Gen.Byte.Array[32].Select(bytes => new BigInteger(bytes, isUnsigned: true, isBigEndian: true) % N)),
            (1, Gen.Int[0, 5].Select(i => new[] { BigInteger.Zero, BigInteger.One, N - 1, N - 2, N >> 1, BigInteger.One << 255 }[i] % N)));
        Gen.Select(scalar, scalar, Gen.Byte.Array[32]).Sample((a, b, raw) =>
        {
            var e = new BigInteger(raw, isUnsigned: true, isBigEndian: true);
            return Value(Sm2Scalar.AddModOrder(Scalar(a), Scalar(b))) == (a + b) % N
                && Value(Sm2Scalar.SubtractModOrder(Scalar(a), Scalar(b))) == ((a - b) % N + N) % N
                && Value(Sm2Scalar.ReduceOnce(Sm2Scalar.ReadBigEndian(raw))) == e % N
                && Scalar(a).IsBelowOrder
                && Sm2Scalar.ReadBigEndian(raw).IsBelowOrder == (e < N);
        }, iter: 10_000);
    }

    [Fact]
    public void Wnaf_digits_are_odd_bounded_sparse_and_sum_to_the_scalar()
    {
        var scalar = Gen.Frequency(
            (4, Gen.Byte.Array[32].Select(bytes => new BigInteger(bytes, isUnsigned: true, isBigEndian: true))),
            (1, Gen.Int[0, 4].Select(i => new[] { BigInteger.Zero, BigInteger.One, N - 1, (BigInteger.One << 256) - 1, BigInteger.One << 255 }[i])));
        Gen.Select(scalar, Gen.Int[2, 8], Gen.Bool).Sample((k, width, quarter) =>
        {
            // The whole scalar, or its low 64 bits as the verifier's split uses them.
            if (quarter) k &= ulong.MaxValue;
            Span<sbyte> digits = stackalloc sbyte[257];
            var length = Scalar(k).ToWnaf(width, digits, quarter ? 64 : 256);
            BigInteger sum = 0;
            var lastNonZero = -width;
            for (var i = 0; i < (quarter ? 65 : 257); i++)
            {
                int digit = digits[i];
                if (digit == 0) continue;
                if (digit % 2 == 0 || Math.Abs(digit) >= 1 << (width - 1) || i - lastNonZero < width || i >= length) return false;
                lastNonZero = i;
                sum += new BigInteger(digit) << i;
            }

            return sum == k && (length == 0 || digits[length - 1] != 0);
        }, iter: 5_000);
    }
}
