using System.Numerics;
using CsCheck;
using Custos.Identity.Pseudonyms;

namespace Custos.Identity.Tests;

public sealed class PseudonymShamirTests
{
    private static readonly Gen<BigInteger> Element =
        Gen.Byte.Array[Shamir.ElementSizeBytes].Select(bytes => Shamir.Reduce(new BigInteger(bytes, isUnsigned: true, isBigEndian: true)));

    [Fact]
    public void Field_prime_is_the_mersenne_prime_2_pow_521_minus_1_and_passes_miller_rabin()
    {
        Assert.Equal(BigInteger.Pow(2, 521) - 1, Shamir.Prime);
        Assert.True(Shamir.Prime.GetBitLength() >= 256);
        var p = Shamir.Prime;
        var d = p - 1;
        var s = 0;
        while (d.IsEven)
        {
            d >>= 1;
            s++;
        }

        foreach (var a in new BigInteger[] { 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37 })
        {
            var x = BigInteger.ModPow(a, d, p);
            var probablePrime = x.IsOne || x == p - 1;
            for (var r = 1; r < s && !probablePrime; r++)
            {
                x = BigInteger.ModPow(x, 2, p);
                probablePrime = x == p - 1;
            }

            Assert.True(probablePrime, $"witness {a}");
        }
    }

    [Fact]
    public void Any_t_points_of_a_random_polynomial_interpolate_to_its_constant_term()
    {
        Gen.Select(Element.Array[1, 8], Gen.Int[0, 8], Gen.Int[0, int.MaxValue]).Sample((coefficients, extra, seed) =>
        {
            // t = number of coefficients; pick t distinct x from 1..t + extra in a seeded random order.
            var random = new Random(seed);
            var xs = Enumerable.Range(1, coefficients.Length + extra).OrderBy(_ => random.Next()).Take(coefficients.Length).ToArray();
            var points = xs.Select(x => ((BigInteger)x, Shamir.Evaluate(coefficients, x))).ToArray();
            Assert.Equal(coefficients[0], Shamir.InterpolateAt(points, BigInteger.Zero));
        });
    }

    [Fact]
    public void Split_gives_f_of_1_to_n_of_a_polynomial_with_the_secret_at_zero()
    {
        Gen.Select(Element, Gen.Int[1, 10], Gen.Int[0, int.MaxValue]).Sample((secret, n, seed) =>
        {
            var t = 1 + seed % n;
            var random = new Random(seed);
            var shares = Shamir.Split(secret, t, n, buffer => random.NextBytes(buffer));

            Assert.Equal(n, shares.Length);
            Assert.All(shares, y => Assert.InRange(y, BigInteger.Zero, Shamir.Prime - 1));
            // Every window of t consecutive shares, and the first t, rebuild the secret.
            for (var start = 0; start + t <= n; start++)
            {
                var points = Enumerable.Range(start, t).Select(i => ((BigInteger)(i + 1), shares[i])).ToArray();
                Assert.Equal(secret, Shamir.InterpolateAt(points, BigInteger.Zero));
            }
        });
    }

    [Fact]
    public void Threshold_one_makes_every_share_the_secret()
    {
        var shares = Shamir.Split(123456789, 1, 5, Shamir.SystemRandom);
        Assert.All(shares, y => Assert.Equal(new BigInteger(123456789), y));
    }

    [Fact]
    public void T_minus_1_shares_are_consistent_with_every_secret_through_a_polynomial_of_degree_below_t()
    {
        Gen.Select(Element, Element, Gen.Int[2, 8], Gen.Int[0, int.MaxValue]).Sample((secret, other, t, seed) =>
        {
            var random = new Random(seed);
            var shares = Shamir.Split(secret, t, t + 2, buffer => random.NextBytes(buffer));
            var known = Enumerable.Range(0, t - 1).Select(i => ((BigInteger)(i + 1), shares[i])).ToArray();

            // The t points (0, other) and the t − 1 known shares define a polynomial of degree below t that explains
            // the known shares just as well: nothing in them favours the true secret.
            var alternative = known.Append((BigInteger.Zero, other)).ToArray();
            Assert.Equal(other, Shamir.InterpolateAt(alternative, BigInteger.Zero));
            foreach (var (x, y) in known) Assert.Equal(y, Shamir.InterpolateAt(alternative, x));
        });
    }

    [Fact]
    public void Fewer_than_t_shares_rebuild_another_value_than_the_secret()
    {
        var random = new Random(7);
        var secret = new BigInteger(RandomBytes(random, 32), isUnsigned: true);
        var shares = Shamir.Split(secret, 3, 5, buffer => random.NextBytes(buffer));
        var two = new[] { ((BigInteger)1, shares[0]), ((BigInteger)2, shares[1]) };
        Assert.NotEqual(secret, Shamir.InterpolateAt(two, BigInteger.Zero));
    }

    [Fact]
    public void Inverse_times_the_value_is_one()
    {
        Element.Where(e => !e.IsZero).Sample(e => Assert.Equal(BigInteger.One, Shamir.Reduce(e * Shamir.Inverse(e))));
        Assert.Throws<DivideByZeroException>(() => Shamir.Inverse(Shamir.Prime));
    }

    [Fact]
    public void Element_encoding_is_66_bytes_big_endian_and_round_trips()
    {
        Element.Sample(e =>
        {
            var bytes = new byte[Shamir.ElementSizeBytes];
            Shamir.Encode(e, bytes);
            Assert.True(Shamir.TryDecode(bytes, out var decoded));
            Assert.Equal(e, decoded);
        });

        var one = new byte[Shamir.ElementSizeBytes];
        Shamir.Encode(BigInteger.One, one);
        Assert.Equal(1, one[^1]);
        Assert.All(one[..^1], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Decoding_refuses_p_itself_and_wrong_lengths()
    {
        var p = Shamir.Prime.ToByteArray(isUnsigned: true, isBigEndian: true);
        Assert.Equal(Shamir.ElementSizeBytes, p.Length);
        Assert.False(Shamir.TryDecode(p, out _));
        Assert.False(Shamir.TryDecode(new byte[Shamir.ElementSizeBytes - 1], out _));
        Assert.False(Shamir.TryDecode(new byte[Shamir.ElementSizeBytes + 1], out _));
    }

    [Fact]
    public void Random_elements_are_below_p_and_use_the_top_bit()
    {
        var elements = Enumerable.Range(0, 200).Select(_ => Shamir.RandomElement(Shamir.SystemRandom)).ToArray();
        Assert.All(elements, e => Assert.InRange(e, BigInteger.Zero, Shamir.Prime - 1));
        Assert.Contains(elements, e => e.GetBitLength() == 521);
        Assert.Equal(elements.Length, elements.Distinct().Count());
    }

    [Fact]
    public void Interpolation_refuses_repeated_x()
    {
        var points = new[] { ((BigInteger)1, (BigInteger)5), ((BigInteger)1, (BigInteger)6) };
        Assert.Throws<ArgumentException>(() => Shamir.InterpolateAt(points, BigInteger.Zero));
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
