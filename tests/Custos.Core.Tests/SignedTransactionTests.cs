using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Core.Tests;

/// <summary>
/// A transaction as a client makes it and a node checks it: real keys, the signing domain, the decoder, and
/// verification over the exact body bytes carried in the envelope.
/// </summary>
public sealed class SignedTransactionTests
{
    public static TheoryData<string> SuiteNames => ["gm", "intl"];

    [Theory]
    [MemberData(nameof(SuiteNames))]
    public void Signed_transaction_decodes_and_verifies_over_its_body_bytes(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var key = suite.GenerateKey();
        var transaction = SignAndDecode(suite, key, out _);

        Assert.True(suite.TryDecodePublicKey(transaction.PublicKey.Span, out var publicKey, out var error), error?.ToString());
        Assert.Equal(key.PublicKey, publicKey);
        Assert.True(suite.VerifyObject(publicKey, ObjectType.Transaction, transaction.BodyBytes.Span, transaction.Signature.Span));
    }

    [Fact]
    public void Flipping_any_byte_of_the_signed_body_makes_verification_fail()
    {
        var suite = CryptoSuites.Gm;
        using var key = suite.GenerateKey();
        var transaction = SignAndDecode(suite, key, out var bodyBytes);
        Assert.True(suite.TryDecodePublicKey(transaction.PublicKey.Span, out var publicKey, out _));

        for (var i = 0; i < bodyBytes.Length; i++)
        {
            var altered = (byte[])bodyBytes.Clone();
            altered[i] ^= 0xff;
            Assert.False(suite.VerifyObject(publicKey, ObjectType.Transaction, altered, transaction.Signature.Span), $"byte {i} flipped still verifies");
        }
    }

    [Fact]
    public void Transaction_signature_does_not_verify_as_a_vote_or_any_other_object()
    {
        var suite = CryptoSuites.Gm;
        using var key = suite.GenerateKey();
        var transaction = SignAndDecode(suite, key, out _);
        Assert.True(suite.TryDecodePublicKey(transaction.PublicKey.Span, out var publicKey, out _));

        Assert.False(suite.VerifyObject(publicKey, ObjectType.Vote, transaction.BodyBytes.Span, transaction.Signature.Span));
        foreach (var type in Enum.GetValues<ObjectType>().Where(t => t is not ObjectType.Unspecified and not ObjectType.Transaction))
        {
            Assert.False(suite.VerifyObject(publicKey, type, transaction.BodyBytes.Span, transaction.Signature.Span), $"verifies as {type}");
        }

        // Nor as a plain message without the domain prefix.
        Assert.False(suite.Verify(publicKey, transaction.BodyBytes.Span, transaction.Signature.Span));
    }

    [Fact]
    public void Signature_by_another_key_does_not_verify()
    {
        var suite = CryptoSuites.Gm;
        using var signer = suite.GenerateKey();
        using var other = suite.GenerateKey();
        var transaction = SignAndDecode(suite, signer, out _);
        Assert.False(suite.VerifyObject(other.PublicKey, ObjectType.Transaction, transaction.BodyBytes.Span, transaction.Signature.Span));
    }

    [Fact]
    public void Transaction_id_is_the_hash_of_the_domain_and_the_body_bytes_and_ignores_the_signature()
    {
        var suite = CryptoSuites.Gm;
        using var key = suite.GenerateKey();
        var first = SignAndDecode(suite, key, out var bodyBytes);
        var second = SignAndDecode(suite, key, out _);

        // SM2 signatures are randomised: two signatures of one body differ, the id does not.
        Assert.NotEqual(first.Signature.ToArray(), second.Signature.ToArray());
        Assert.Equal(first.ComputeId(suite), second.ComputeId(suite));
        Assert.Equal(suite.Hash(SigningDomain.Wrap(ObjectType.Transaction, bodyBytes)), first.ComputeId(suite));
    }

    private static Transaction SignAndDecode(ICryptoSuite suite, SoftwareKey key, out byte[] bodyBytes)
    {
        var body = WireSamples.Body();
        body.Suite = suite.Id;
        bodyBytes = body.ToByteArray();
        var envelope = new TransactionEnvelope
        {
            Body = ByteString.CopyFrom(bodyBytes),
            PublicKey = ByteString.CopyFrom(key.PublicKey.Encoded),
            Signature = ByteString.CopyFrom(key.SignObject(ObjectType.Transaction, bodyBytes)),
        };
        Assert.True(Decoders.TryDecodeTransaction(envelope.ToByteArray(), out var transaction, out var error), error?.ToString());
        Assert.Equal(bodyBytes, transaction.BodyBytes.ToArray());
        return transaction;
    }
}
