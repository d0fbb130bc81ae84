using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Pseudonyms;
using Custos.Privacy.Envelopes;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Tests;

public sealed class EnvelopeTests : IDisposable
{
    private static readonly ICryptoSuite Suite = CryptoSuites.Gm;
    private static readonly byte[] Value = "张三 6222021234567890123 ¥12,345.67"u8.ToArray();
    private readonly SoftwareKey _writer = Suite.GenerateKey();
    private readonly SoftwareKey _payer = Suite.GenerateKey();
    private readonly SoftwareKey _payee = Suite.GenerateKey();
    private readonly SoftwareKey _supervisor = Suite.GenerateKey();
    private readonly SoftwareKey _outsider = Suite.GenerateKey();

    private static EnvelopeAddress Address(string key = "payment/42") => new("custos-test", "dcep", System.Text.Encoding.UTF8.GetBytes(key), DataClass.C2);

    private PrivateEnvelope Seal(byte[]? value = null, EnvelopeAddress? address = null, ICryptoSuite? suite = null) =>
        PrivacyEnvelope.Seal(suite ?? Suite, _writer, address ?? Address(), value ?? Value, [_payer.PublicKey, _payee.PublicKey], _supervisor.PublicKey);

    [Fact]
    public void Each_party_and_the_supervisor_decrypt_the_value()
    {
        var envelope = Seal();
        foreach (var key in new[] { _payer, _payee, _supervisor })
        {
            Assert.True(PrivacyEnvelope.TryOpen(Suite, envelope, key.AsDecryptionKey(), out var value, out var error), error?.ToString());
            Assert.Equal(Value, value);
        }
    }

    [Fact]
    public void A_non_party_cannot_decrypt()
    {
        Assert.False(PrivacyEnvelope.TryOpen(Suite, Seal(), _outsider.AsDecryptionKey(), out var value, out var error));
        Assert.Equal(ErrorCode.NotAuthorised, error.Code);
        Assert.Empty(value);
    }

    [Fact]
    public void A_non_party_cannot_decrypt_even_with_a_grant_addressed_to_its_key_copied_from_another()
    {
        // The outsider relabels the payer's grant as its own and re-signs with its own key: the wrapped data key
        // was encrypted to the payer, so the outsider's key cannot unwrap it.
        var envelope = Seal();
        var body = EnvelopeBody.Parser.ParseFrom(envelope.Body);
        body.Grants[1].RecipientPublicKey = ByteString.CopyFrom(_outsider.PublicKey.Encoded);
        body.WriterPublicKey = ByteString.CopyFrom(_outsider.PublicKey.Encoded);
        var forged = ReSign(body, _outsider);
        Assert.False(PrivacyEnvelope.TryOpen(Suite, forged, _outsider.AsDecryptionKey(), out _, out var error));
        Assert.Equal(ErrorCode.EnvelopeInvalid, error.Code);
    }

    [Fact]
    public void Anyone_verifies_the_hash_and_signature_without_a_key()
    {
        var envelope = Seal();
        Assert.True(PrivacyEnvelope.TryVerify(Suite, envelope.ToByteArray(), _supervisor.PublicKey, out var verified, out var error), error?.ToString());
        Assert.Equal(_writer.PublicKey, verified.Writer);
        Assert.Equal(PrivacyEnvelope.Hash(Suite, envelope), verified.Hash);
        Assert.Equal(DataClass.C2, verified.Address.Class);
        Assert.Equal(3, verified.Body.Grants.Count);
    }

    public static TheoryData<string> BodyFields =>
    [
        "format_version", "chain_id", "contract", "key", "data_class", "commitment", "nonce", "ciphertext",
        "grant_recipient", "grant_role", "grant_wrapped_key", "grant_removed", "grant_added", "writer_public_key",
    ];

    [Theory]
    [MemberData(nameof(BodyFields))]
    public void Tampering_with_any_body_field_is_detected_by_anyone(string field)
    {
        var envelope = Seal();
        var body = EnvelopeBody.Parser.ParseFrom(envelope.Body);
        Tamper(body, field);
        var tampered = new PrivateEnvelope { Body = body.ToByteString(), Signature = envelope.Signature };
        Assert.False(PrivacyEnvelope.TryVerify(Suite, tampered, expectedSupervisor: null, out _, out var error));
        Assert.NotEqual(ErrorCode.Ok, error.Code);
        Assert.False(PrivacyEnvelope.TryOpen(Suite, tampered, _payer.AsDecryptionKey(), out _, out _));
    }

    [Fact]
    public void Tampering_with_the_signature_is_detected()
    {
        var envelope = Seal();
        var signature = envelope.Signature.ToByteArray();
        signature[10] ^= 1;
        var tampered = new PrivateEnvelope { Body = envelope.Body, Signature = ByteString.CopyFrom(signature) };
        Assert.False(PrivacyEnvelope.TryVerify(Suite, tampered, null, out _, out var error));
        Assert.Equal(ErrorCode.SignatureInvalid, error.Code);
    }

    [Fact]
    public void A_body_that_is_not_canonically_encoded_is_refused()
    {
        var envelope = Seal();
        // An unknown field appended: same meaning to a lenient parser, different bytes.
        var padded = envelope.Body.Concat(new byte[] { 0xF8, 0x01, 0x01 }).ToArray();
        var tampered = new PrivateEnvelope { Body = ByteString.CopyFrom(padded), Signature = ByteString.CopyFrom(_writer.Sign([.. "custos/v1/privacy_envelope\0"u8, .. padded])) };
        Assert.False(PrivacyEnvelope.TryVerify(Suite, tampered, null, out _, out var error));
        Assert.Equal(ErrorCode.Malformed, error.Code);
    }

    [Fact]
    public void A_ciphertext_moved_to_another_key_does_not_open_even_when_re_signed_by_the_writer()
    {
        // The associated data binds the key: a writer cannot make one ciphertext stand for two records.
        var envelope = Seal();
        var body = EnvelopeBody.Parser.ParseFrom(envelope.Body);
        body.Key = ByteString.CopyFromUtf8("payment/43");
        var moved = ReSign(body, _writer);
        Assert.True(PrivacyEnvelope.TryVerify(Suite, moved, null, out _, out _));
        Assert.False(PrivacyEnvelope.TryOpen(Suite, moved, _payer.AsDecryptionKey(), out _, out var error));
        Assert.Equal(ErrorCode.EnvelopeInvalid, error.Code);
    }

    [Fact]
    public void Equal_plaintexts_give_unlinkable_commitments_and_ciphertexts()
    {
        var first = EnvelopeBody.Parser.ParseFrom(Seal().Body);
        var second = EnvelopeBody.Parser.ParseFrom(Seal().Body);
        Assert.NotEqual(first.Commitment, second.Commitment);
        Assert.NotEqual(first.Ciphertext, second.Ciphertext);
        Assert.NotEqual(first.Nonce, second.Nonce);
    }

    [Fact]
    public void The_supervisor_grant_must_go_to_the_chains_escrow_key_when_one_is_expected()
    {
        Assert.False(PrivacyEnvelope.TryVerify(Suite, Seal(), _outsider.PublicKey, out _, out var error));
        Assert.Equal(ErrorCode.EnvelopeInvalid, error.Code);
    }

    [Fact]
    public void The_international_suite_seals_and_opens_too()
    {
        var suite = CryptoSuites.Intl;
        using var writer = suite.GenerateKey();
        using var party = suite.GenerateKey();
        using var supervisor = suite.GenerateKey();
        var envelope = PrivacyEnvelope.Seal(suite, writer, Address(), Value, [party.PublicKey], supervisor.PublicKey);
        Assert.True(PrivacyEnvelope.TryOpen(suite, envelope, party.AsDecryptionKey(), out var value, out var error), error?.ToString());
        Assert.Equal(Value, value);
    }

    [Fact]
    public void Garbage_and_oversize_input_is_refused_without_throwing()
    {
        var random = new Random(8);
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(0, 400)];
            random.NextBytes(bytes);
            Assert.False(PrivacyEnvelope.TryVerify(Suite, bytes, null, out _, out _));
        }

        Assert.False(PrivacyEnvelope.TryVerify(Suite, new byte[PrivacyEnvelope.EnvelopeSizeBytesMax + 1], null, out _, out var error));
        Assert.Equal(ErrorCode.TooLarge, error.Code);
    }

    private static PrivateEnvelope ReSign(EnvelopeBody body, SoftwareKey key)
    {
        var bytes = body.ToByteArray();
        return new PrivateEnvelope { Body = ByteString.CopyFrom(bytes), Signature = ByteString.CopyFrom(key.Sign([.. "custos/v1/privacy_envelope\0"u8, .. bytes])) };
    }

    private void Tamper(EnvelopeBody body, string field)
    {
        switch (field)
        {
            case "format_version": body.FormatVersion = 2; break;
            case "chain_id": body.ChainId = "custos-other"; break;
            case "contract": body.Contract = "other"; break;
            case "key": body.Key = ByteString.CopyFromUtf8("payment/43"); break;
            case "data_class": body.DataClass = DataClass.C1; break;
            case "commitment": body.Commitment = Flip(body.Commitment); break;
            case "nonce": body.Nonce = Flip(body.Nonce); break;
            case "ciphertext": body.Ciphertext = Flip(body.Ciphertext); break;
            case "grant_recipient": body.Grants[1].RecipientPublicKey = ByteString.CopyFrom(_outsider.PublicKey.Encoded); break;
            case "grant_role": body.Grants[1].Role = RecipientRole.Supervisor; break;
            case "grant_wrapped_key": body.Grants[2].WrappedKey = Flip(body.Grants[2].WrappedKey); break;
            case "grant_removed": body.Grants.RemoveAt(2); break;
            case "grant_added":
                body.Grants.Add(new KeyGrant { RecipientPublicKey = ByteString.CopyFrom(_outsider.PublicKey.Encoded), Role = RecipientRole.Party, WrappedKey = body.Grants[1].WrappedKey });
                break;
            case "writer_public_key": body.WriterPublicKey = ByteString.CopyFrom(_outsider.PublicKey.Encoded); break;
            default: throw new ArgumentException(field);
        }
    }

    private static ByteString Flip(ByteString bytes)
    {
        var copy = bytes.ToByteArray();
        copy[copy.Length / 2] ^= 0x01;
        return ByteString.CopyFrom(copy);
    }

    public void Dispose()
    {
        _writer.Dispose();
        _payer.Dispose();
        _payee.Dispose();
        _supervisor.Dispose();
        _outsider.Dispose();
    }
}
