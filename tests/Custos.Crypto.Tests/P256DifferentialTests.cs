using Custos.Crypto.Reference;
using Custos.Crypto.Tests.Support;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math.EC.Multiplier;
using Org.BouncyCastle.Utilities;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Custos.Crypto.Tests;

/// <summary>
/// ECDSA P-256 of the intl suite against two references. On Linux .NET signs and verifies through the same
/// libcrypto the OpenSSL reference calls, so BouncyCastle's ECDsaSigner with its own SHA-256 is the independent one;
/// OpenSSL is kept as the second opinion. Each signature gets two of the nine corruptions, rotating.
/// </summary>
public sealed class P256DifferentialTests
{
    private const int Cases = 10_000;

    private static readonly ECDomainParameters BcP256 = CreateGenericDomain();

    [Fact]
    public void Signatures_agree_with_BouncyCastle_and_OpenSSL_and_corrupted_ones_are_rejected_by_all()
    {
        OpenSslReference.Require();
        var suite = CryptoSuites.Intl;
        var order = BcP256.N;
        using var otherKey = suite.GenerateKey();
        using var otherOpenSslKey = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.P256, otherKey.PublicKey.Encoded);
        var otherBcKey = new ECPublicKeyParameters(BcP256.Curve.DecodePoint(otherKey.PublicKey.ToArray()), BcP256);

        TestSeed.RunCases("ECDSA P-256 vs BouncyCastle and OpenSSL", Cases, (index, random, fail) =>
        {
            var scalar = random.RandomScalar(order);
            Assert.True(suite.TryImportPrivateKey(scalar, out var key, out _));
            using var ownedKey = key;
            using var openSsl = OpenSslLibCrypto.ImportPrivateKey(OpenSslCurve.P256, scalar);
            var bcPrivate = new ECPrivateKeyParameters(new BcBigInteger(1, scalar), BcP256);
            var bcPublic = new ECPublicKeyParameters(new FixedPointCombMultiplier().Multiply(BcP256.G, bcPrivate.D).Normalize(), BcP256);
            var message = random.Bytes(0, 300);
            var context = $"d={Convert.ToHexString(scalar)} m={Convert.ToHexString(message)}";
            if (!bcPublic.Q.GetEncoded(false).AsSpan().SequenceEqual(key.PublicKey.Encoded) || !openSsl.PublicPoint.SequenceEqual(key.PublicKey.Encoded))
            {
                fail($"public keys differ, {context}");
            }

            var ours = key.Sign(message);
            var bouncyCastle = BcSign(bcPrivate, message);
            var theirs = openSsl.Sign(message);
            if (!BcVerify(bcPublic, message, ours) || !openSsl.Verify(message, ours)) fail($"a reference rejects our signature {Convert.ToHexString(ours)}, {context}");
            if (!suite.Verify(key.PublicKey, message, bouncyCastle)) fail($"we reject BouncyCastle's signature {Convert.ToHexString(bouncyCastle)}, {context}");
            if (!suite.Verify(key.PublicKey, message, theirs)) fail($"we reject OpenSSL's signature {Convert.ToHexString(theirs)}, {context}");

            foreach (var (signer, signature, number) in new[] { ("ours", ours, 0), ("BouncyCastle's", bouncyCastle, 1), ("OpenSSL's", theirs, 2) })
            {
                foreach (var corruption in Signatures.CorruptionsFor(index, number, count: 2))
                {
                    var (alteredMessage, altered, wrongKey) = Signatures.Corrupt(corruption, random, order, message, signature);
                    var byUs = suite.Verify(wrongKey ? otherKey.PublicKey : key.PublicKey, alteredMessage, altered);
                    var byBouncyCastle = BcVerify(wrongKey ? otherBcKey : bcPublic, alteredMessage, altered);
                    var byOpenSsl = (wrongKey ? otherOpenSslKey : openSsl).Verify(alteredMessage, altered);
                    if (byUs || byBouncyCastle || byOpenSsl)
                    {
                        fail($"{signer} signature with {corruption} accepted (us: {byUs}, BouncyCastle: {byBouncyCastle}, OpenSSL: {byOpenSsl}), " +
                             $"sig={Convert.ToHexString(altered)} {context}");
                    }
                }
            }
        });
    }

    [Fact]
    public void Ecdsa_twin_signature_with_s_negated_is_accepted_alike_by_all_verifiers()
    {
        // ECDSA signatures are malleable: (r, n - s) verifies wherever (r, s) does. The suite follows the standard
        // (as OpenSSL and BouncyCastle do), so anything hashing signed objects must not include the signature.
        OpenSslReference.Require();
        using var key = CryptoSuites.Intl.GenerateKey();
        using var openSsl = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.P256, key.PublicKey.Encoded);
        var bcPublic = new ECPublicKeyParameters(BcP256.Curve.DecodePoint(key.PublicKey.ToArray()), BcP256);
        var message = "twin"u8.ToArray();
        var signature = key.Sign(message);
        byte[] twin = [.. signature.AsSpan(0, 32), .. BigIntegers.AsUnsignedByteArray(32, BcP256.N.Subtract(new BcBigInteger(1, signature.AsSpan(32))))];

        Assert.True(CryptoSuites.Intl.Verify(key.PublicKey, message, twin));
        Assert.True(openSsl.Verify(message, twin));
        Assert.True(BcVerify(bcPublic, message, twin));
    }

    private static byte[] BcSign(ECPrivateKeyParameters key, byte[] message)
    {
        var signer = new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest()));
        signer.Init(true, key);
        var rs = signer.GenerateSignature(BcSha256(message));
        return [.. BigIntegers.AsUnsignedByteArray(32, rs[0]), .. BigIntegers.AsUnsignedByteArray(32, rs[1])];
    }

    private static bool BcVerify(ECPublicKeyParameters key, byte[] message, byte[] signature)
    {
        var verifier = new ECDsaSigner();
        verifier.Init(false, key);
        return verifier.VerifySignature(BcSha256(message), new BcBigInteger(1, signature.AsSpan(0, 32)), new BcBigInteger(1, signature.AsSpan(32)));
    }

    private static byte[] BcSha256(byte[] message)
    {
        var digest = new Sha256Digest();
        digest.BlockUpdate(message);
        var hash = new byte[32];
        digest.DoFinal(hash);
        return hash;
    }

    private static ECDomainParameters CreateGenericDomain()
    {
        // BouncyCastle's specialised P-256 arithmetic: its generic curve is an order of magnitude slower.
        var x9 = CustomNamedCurves.GetByOid(SecObjectIdentifiers.SecP256r1);
        return new ECDomainParameters(x9.Curve, x9.G, x9.N, x9.H);
    }
}
