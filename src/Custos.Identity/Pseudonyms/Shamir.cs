using System.Numerics;
using System.Security.Cryptography;

namespace Custos.Identity.Pseudonyms;

/// <summary>Fills a buffer with random bytes (the operating system's CSPRNG in production, a seeded one in tests).</summary>
internal delegate void RandomFill(Span<byte> buffer);

/// <summary>
/// Shamir secret sharing over the prime field of p = 2^521 − 1 (a Mersenne prime). The field is larger than any
/// data key (at most 256 bits), so every key is a field element; share i is f(i) for i = 1..n, where f has degree
/// t − 1, f(0) is the secret and the other coefficients are uniform. Any t shares determine f(0) by Lagrange
/// interpolation; any t − 1 are consistent with every secret, each through exactly one polynomial, so they reveal
/// nothing. BigInteger arithmetic is not constant-time: it runs only in the registrar's and the requester's process,
/// on values that are used once.
/// </summary>
internal static class Shamir
{
    public static readonly BigInteger Prime = (BigInteger.One << 521) - 1;

    /// <summary>A field element's fixed big-endian encoding: 521 bits in 66 bytes.</summary>
    public const int ElementSizeBytes = 66;

    public static readonly RandomFill SystemRandom = RandomNumberGenerator.Fill;

    /// <summary>The values f(1), ..., f(count) of a fresh random polynomial of degree threshold − 1 with f(0) = secret.</summary>
    public static BigInteger[] Split(BigInteger secret, int threshold, int count, RandomFill random)
    {
        if (secret.Sign < 0 || secret >= Prime) throw new ArgumentOutOfRangeException(nameof(secret), "the secret is not a field element");
        if (threshold < 1 || threshold > count) throw new ArgumentOutOfRangeException(nameof(threshold), "the threshold is 1 to the number of shares");
        var coefficients = new BigInteger[threshold];
        coefficients[0] = secret;
        for (var i = 1; i < threshold; i++) coefficients[i] = RandomElement(random);
        var shares = new BigInteger[count];
        for (var x = 1; x <= count; x++) shares[x - 1] = Evaluate(coefficients, x);
        return shares;
    }

    /// <summary>f(x) by Horner's rule; coefficients[0] is the constant term.</summary>
    public static BigInteger Evaluate(IReadOnlyList<BigInteger> coefficients, BigInteger x)
    {
        var value = BigInteger.Zero;
        for (var i = coefficients.Count - 1; i >= 0; i--) value = Reduce(value * x + coefficients[i]);
        return value;
    }

    /// <summary>The value at <paramref name="x"/> of the polynomial of least degree through the points (distinct x).</summary>
    public static BigInteger InterpolateAt(IReadOnlyList<(BigInteger X, BigInteger Y)> points, BigInteger x)
    {
        if (points.Count == 0) throw new ArgumentException("interpolation needs at least one point", nameof(points));
        var sum = BigInteger.Zero;
        for (var i = 0; i < points.Count; i++)
        {
            // Lagrange basis l_i(x) = prod_{j != i} (x − x_j) / (x_i − x_j).
            var numerator = BigInteger.One;
            var denominator = BigInteger.One;
            for (var j = 0; j < points.Count; j++)
            {
                if (j == i) continue;
                numerator = Reduce(numerator * (x - points[j].X));
                denominator = Reduce(denominator * (points[i].X - points[j].X));
            }

            if (denominator.IsZero) throw new ArgumentException("interpolation points repeat an x", nameof(points));
            sum = Reduce(sum + points[i].Y * numerator * Inverse(denominator));
        }

        return sum;
    }

    public static BigInteger Inverse(BigInteger value)
    {
        value = Reduce(value);
        if (value.IsZero) throw new DivideByZeroException("zero has no inverse");
        return BigInteger.ModPow(value, Prime - 2, Prime);
    }

    /// <summary>The representative in [0, p).</summary>
    public static BigInteger Reduce(BigInteger value)
    {
        var r = BigInteger.Remainder(value, Prime);
        return r.Sign < 0 ? r + Prime : r;
    }

    /// <summary>A uniform element of the field: 521 random bits, redrawn in the (2^-521 likely) case they equal p.</summary>
    public static BigInteger RandomElement(RandomFill random)
    {
        Span<byte> bytes = stackalloc byte[ElementSizeBytes];
        while (true)
        {
            random(bytes);
            bytes[0] &= 0x01;
            var value = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            CryptographicOperations.ZeroMemory(bytes);
            if (value < Prime) return value;
        }
    }

    public static void Encode(BigInteger element, Span<byte> destination)
    {
        if (element.Sign < 0 || element >= Prime) throw new ArgumentOutOfRangeException(nameof(element), "not a field element");
        destination[..ElementSizeBytes].Clear();
        var length = element.GetByteCount(isUnsigned: true);
        element.TryWriteBytes(destination.Slice(ElementSizeBytes - length, length), out _, isUnsigned: true, isBigEndian: true);
    }

    /// <summary>False for a wrong length or a value not below p.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, out BigInteger element)
    {
        element = BigInteger.Zero;
        if (encoded.Length != ElementSizeBytes) return false;
        var value = new BigInteger(encoded, isUnsigned: true, isBigEndian: true);
        if (value >= Prime) return false;
        element = value;
        return true;
    }
}
