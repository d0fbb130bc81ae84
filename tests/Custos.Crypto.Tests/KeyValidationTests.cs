using Custos.Core.Wire;
using Org.BouncyCastle.Asn1.GM;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Utilities;

namespace Custos.Crypto.Tests;

/// <summary>Public and private keys that are not keys of the suite's curve are refused with typed errors.</summary>
public sealed class KeyValidationTests
{
    public static readonly TheoryData<string, string> InvalidPublicKeys = Cases(
        "empty", "one byte short", "one byte long", "compressed", "compressed prefix on 65 bytes", "hybrid prefix",
        "not on the curve", "infinity as one byte", "infinity as 65 zero bytes", "origin", "x equal to p", "y equal to p",
        "x above p yet valid modulo p", "all ones");

    [Theory]
    [MemberData(nameof(InvalidPublicKeys))]
    public void Invalid_public_key_encodings_give_PublicKeyInvalid(string suiteName, string defect)
    {
        var suite = CryptoSuites.Parse(suiteName);
        var encoded = InvalidEncoding(Curve(suite), defect);

        Assert.False(suite.TryDecodePublicKey(encoded, out var key, out var error));
        Assert.Null(key);
        Assert.Equal(ErrorCode.PublicKeyInvalid, error.Code);
    }

    [Theory]
    [InlineData("gm")]
    [InlineData("intl")]
    public void Generator_point_is_accepted_as_a_public_key(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);

        Assert.True(suite.TryDecodePublicKey(Curve(suite).G.GetEncoded(false), out var key, out _));
        Assert.Equal(suite.Id, key.Suite);
    }

    public static readonly TheoryData<string, string> InvalidPrivateKeys = Cases("zero", "order", "order plus one", "all ones", "31 bytes", "33 bytes", "empty");

    [Theory]
    [MemberData(nameof(InvalidPrivateKeys))]
    public void Invalid_private_scalars_give_PrivateKeyInvalid(string suiteName, string defect)
    {
        var suite = CryptoSuites.Parse(suiteName);
        var n = Curve(suite).N;
        byte[] scalar = defect switch
        {
            "zero" => new byte[32],
            "order" => BigIntegers.AsUnsignedByteArray(32, n),
            "order plus one" => BigIntegers.AsUnsignedByteArray(32, n.Add(BigInteger.One)),
            "all ones" => Enumerable.Repeat((byte)0xFF, 32).ToArray(),
            "31 bytes" => Enumerable.Repeat((byte)0x01, 31).ToArray(),
            "33 bytes" => Enumerable.Repeat((byte)0x01, 33).ToArray(),
            _ => [],
        };

        Assert.False(suite.TryImportPrivateKey(scalar, out var key, out var error));
        Assert.Null(key);
        Assert.Equal(ErrorCode.PrivateKeyInvalid, error.Code);
    }

    [Fact]
    public void Sm2_private_key_n_minus_1_is_refused_as_GB_T_32918_1_requires()
    {
        // d must lie in [1, n-2]: with d = n-1, 1 + d is 0 mod n and signing would divide by zero.
        var scalar = BigIntegers.AsUnsignedByteArray(32, GmCryptoSuite.Domain.N.Subtract(BigInteger.One));

        Assert.False(CryptoSuites.Gm.TryImportPrivateKey(scalar, out _, out var error));
        Assert.Equal(ErrorCode.PrivateKeyInvalid, error.Code);
    }

    [Theory]
    [InlineData("gm", "01")]
    [InlineData("gm", "n-2")]
    [InlineData("intl", "01")]
    [InlineData("intl", "n-1")]
    public void Extreme_valid_private_scalars_are_accepted_and_sign(string suiteName, string which)
    {
        var suite = CryptoSuites.Parse(suiteName);
        var n = Curve(suite).N;
        var d = which switch
        {
            "01" => BigInteger.One,
            "n-2" => n.Subtract(BigInteger.Two),
            _ => n.Subtract(BigInteger.One),
        };

        Assert.True(suite.TryImportPrivateKey(BigIntegers.AsUnsignedByteArray(32, d), out var key, out _));
        using var ownedKey = key;
        Assert.Equal(Curve(suite).G.Multiply(d).Normalize().GetEncoded(false), key.PublicKey.ToArray());
        Assert.True(suite.Verify(key.PublicKey, "edge"u8, key.Sign("edge"u8)));
    }

    [Theory]
    [InlineData("gm")]
    [InlineData("intl")]
    public void Exported_private_scalar_imports_to_the_same_key(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var key = suite.GenerateKey();
        var scalar = key.ExportPrivateScalar();

        Assert.True(suite.TryImportPrivateKey(scalar, out var imported, out _));
        using var ownedImport = imported;
        Assert.Equal(key.PublicKey, imported.PublicKey);
        Assert.True(suite.Verify(key.PublicKey, "same key"u8, imported.Sign("same key"u8)));
    }

    private static X9ECParameters Curve(ICryptoSuite suite) =>
        suite.Id == CryptoSuiteId.Gm ? GMNamedCurves.GetByOid(GMObjectIdentifiers.sm2p256v1) : SecNamedCurves.GetByOid(SecObjectIdentifiers.SecP256r1);

    private static byte[] InvalidEncoding(X9ECParameters curve, string defect)
    {
        var g = curve.G.GetEncoded(false);
        var p = curve.Curve.Field.Characteristic;
        var gy = g[33..];
        byte[] Point(BigInteger x, byte[] y) => [0x04, .. BigIntegers.AsUnsignedByteArray(32, x), .. y];
        switch (defect)
        {
            case "empty": return [];
            case "one byte short": return g[..64];
            case "one byte long": return [.. g, 0];
            case "compressed": return curve.G.GetEncoded(true);
            case "compressed prefix on 65 bytes": return [0x02, .. g[1..]];
            case "hybrid prefix": return [(byte)(0x06 | (gy[31] & 1)), .. g[1..]];
            case "not on the curve":
                var offCurve = g.ToArray();
                offCurve[64] ^= 1;
                return offCurve;
            case "infinity as one byte": return [0x00];
            case "infinity as 65 zero bytes": return new byte[65];
            case "origin": return [0x04, .. new byte[64]];
            case "x equal to p": return Point(p, gy);
            case "y equal to p": return [.. g[..33], .. BigIntegers.AsUnsignedByteArray(32, p)];
            case "x above p yet valid modulo p":
                // The smallest x with a point on the curve, written as x + p (still 32 bytes as x is tiny).
                for (var x = 0; ; x++)
                {
                    try
                    {
                        var point = curve.Curve.DecodePoint([0x02, .. BigIntegers.AsUnsignedByteArray(32, BigInteger.ValueOf(x))]);
                        return Point(BigInteger.ValueOf(x).Add(p), point.AffineYCoord.GetEncoded());
                    }
                    catch (ArgumentException)
                    {
                        // No point has this x; try the next.
                    }
                }

            default: return Enumerable.Repeat((byte)0xFF, 65).ToArray();
        }
    }

    private static TheoryData<string, string> Cases(params string[] defects)
    {
        var data = new TheoryData<string, string>();
        foreach (var suite in new[] { "gm", "intl" })
        {
            foreach (var defect in defects) data.Add(suite, defect);
        }

        return data;
    }
}
