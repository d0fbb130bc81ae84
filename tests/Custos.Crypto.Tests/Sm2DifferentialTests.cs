using Custos.Crypto.Reference;
using Custos.Crypto.Tests.Support;

namespace Custos.Crypto.Tests;

/// <summary>
/// SM2 against OpenSSL's independent implementation on random keys and messages: each signs, the other verifies,
/// and every corrupted signature is rejected by both. Keys are drawn from the seeded random source and imported
/// through the suite, so a failure replays from its seed. Each signature gets one of the nine corruptions, rotating,
/// so every kind is tried on over 1,100 signatures of each signer (OpenSSL 3.0's SM2 is slow; this keeps the test short).
/// </summary>
public sealed class Sm2DifferentialTests
{
    private const int Cases = 10_000;

    [Fact]
    public void Signatures_agree_with_OpenSSL_and_corrupted_ones_are_rejected_by_both()
    {
        OpenSslReference.Require();
        var suite = CryptoSuites.Gm;
        var order = GmCryptoSuite.Domain.N;
        using var otherKey = suite.GenerateKey();
        using var otherOpenSslKey = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, otherKey.PublicKey.Encoded);

        TestSeed.RunCases("SM2 vs OpenSSL", Cases, (index, random, fail) =>
        {
            // SM2 private keys lie in [1, n-2] (GB/T 32918.1 §6.1).
            var scalar = random.RandomScalar(order.Subtract(Org.BouncyCastle.Math.BigInteger.One));
            Assert.True(suite.TryImportPrivateKey(scalar, out var key, out _));
            using var ownedKey = key;
            using var reference = OpenSslLibCrypto.ImportPrivateKey(OpenSslCurve.Sm2, scalar);
            var message = random.Bytes(0, 300);
            var context = $"d={Convert.ToHexString(scalar)} m={Convert.ToHexString(message)}";
            if (!reference.PublicPoint.SequenceEqual(key.PublicKey.Encoded)) fail($"public keys differ, {context}");

            var ours = key.Sign(message);
            var theirs = reference.Sign(message);
            if (!reference.Verify(message, ours)) fail($"OpenSSL rejects our signature {Convert.ToHexString(ours)}, {context}");
            if (!suite.Verify(key.PublicKey, message, theirs)) fail($"we reject OpenSSL's signature {Convert.ToHexString(theirs)}, {context}");
            if (!suite.Verify(key.PublicKey, message, ours)) fail($"we reject our own signature, {context}");

            foreach (var (signer, signature, number) in new[] { ("ours", ours, 0), ("OpenSSL's", theirs, 1) })
            {
                foreach (var corruption in Signatures.CorruptionsFor(index, number, count: 1))
                {
                    var (alteredMessage, altered, wrongKey) = Signatures.Corrupt(corruption, random, order, message, signature);
                    var acceptedByUs = suite.Verify(wrongKey ? otherKey.PublicKey : key.PublicKey, alteredMessage, altered);
                    var acceptedByOpenSsl = (wrongKey ? otherOpenSslKey : reference).Verify(alteredMessage, altered);
                    if (acceptedByUs || acceptedByOpenSsl)
                    {
                        fail($"{signer} signature with {corruption} accepted (us: {acceptedByUs}, OpenSSL: {acceptedByOpenSsl}), " +
                             $"sig={Convert.ToHexString(altered)} {context}");
                    }
                }
            }
        });
    }

    [Fact]
    public void Signatures_of_generated_keys_verify_in_OpenSSL()
    {
        OpenSslReference.Require();
        TestSeed.RunCases("SM2 generated keys vs OpenSSL", 200, (index, random, fail) =>
        {
            using var key = CryptoSuites.Gm.GenerateKey();
            using var reference = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, key.PublicKey.Encoded);
            var message = random.Bytes(0, 300);
            if (!reference.Verify(message, key.Sign(message))) fail($"OpenSSL rejects a signature by generated key {key.PublicKey.ToHex()}");
        });
    }

    [Fact]
    public void Object_signatures_verify_in_OpenSSL_over_the_domain_prefixed_bytes()
    {
        OpenSslReference.Require();
        using var key = CryptoSuites.Gm.GenerateKey();
        using var reference = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, key.PublicKey.Encoded);
        var payload = "a transaction's canonical bytes"u8.ToArray();

        var signature = key.SignObject(Core.Wire.ObjectType.Transaction, payload);

        Assert.True(CryptoSuites.Gm.VerifyObject(key.PublicKey, Core.Wire.ObjectType.Transaction, payload, signature));
        Assert.True(reference.Verify(Core.SigningDomain.Wrap(Core.Wire.ObjectType.Transaction, payload), signature));
        Assert.False(CryptoSuites.Gm.VerifyObject(key.PublicKey, Core.Wire.ObjectType.Vote, payload, signature));
    }
}
