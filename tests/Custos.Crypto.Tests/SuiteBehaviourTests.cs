using CsCheck;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto.Tests;

/// <summary>What both suites promise through <see cref="ICryptoSuite"/>, on good and on hostile input.</summary>
public sealed class SuiteBehaviourTests
{
    public static readonly TheoryData<string> Suites = ["gm", "intl"];

    [Theory]
    [MemberData(nameof(Suites))]
    public void Signature_from_another_suite_is_rejected(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        var other = suite.Id == CryptoSuiteId.Gm ? CryptoSuites.Intl : CryptoSuites.Gm;
        using var ownKey = suite.GenerateKey();
        using var otherKey = other.GenerateKey();
        var message = "cross-suite"u8.ToArray();
        var foreignSignature = otherKey.Sign(message);

        Assert.False(suite.Verify(otherKey.PublicKey, message, foreignSignature));
        Assert.False(suite.Verify(ownKey.PublicKey, message, foreignSignature));
        Assert.False(suite.VerifyObject(otherKey.PublicKey, ObjectType.Vote, message, otherKey.SignObject(ObjectType.Vote, message)));
        // The other curve's point is not a point of this suite's curve.
        Assert.False(suite.TryDecodePublicKey(otherKey.PublicKey.Encoded, out _, out var error));
        Assert.Equal(ErrorCode.PublicKeyInvalid, error.Code);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Verify_never_throws_and_rejects_random_signatures_messages_and_keys(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var key = suite.GenerateKey();
        var signatureGen = Gen.OneOf(Gen.Byte.Array[0, 100], Gen.Byte.Array[64]);

        Gen.Select(signatureGen, Gen.Byte.Array[0, 200], Gen.Byte.Array[0, 70]).Sample((signature, message, publicKey) =>
        {
            var rejected = !suite.Verify(key.PublicKey, message, signature) && !suite.VerifyObject(key.PublicKey, ObjectType.Block, message, signature);
            if (publicKey.Length > 0) publicKey[0] = publicKey.Length == 65 ? (byte)0x04 : publicKey[0];
            if (suite.TryDecodePublicKey(publicKey, out var randomKey, out _)) rejected &= !suite.Verify(randomKey, message, signature);
            return rejected;
        }, iter: 1_000);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void TryDecodePublicKey_never_throws_on_random_bytes(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);

        Gen.OneOf(Gen.Byte.Array[0, 100], Gen.Byte.Array[65]).Sample(encoded =>
        {
            if (encoded.Length == 65) encoded[0] = 0x04;
            return suite.TryDecodePublicKey(encoded, out var key, out var error)
                ? key.Encoded.SequenceEqual(encoded)
                : error.Code == ErrorCode.PublicKeyInvalid;
        }, iter: 5_000);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void TryDecrypt_never_throws_on_random_or_spliced_ciphertexts(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var key = suite.GenerateKey();
        // A real ciphertext's ephemeral point followed by random bytes reaches the checks after point decoding.
        var realPrefix = suite.Encrypt(key.PublicKey, "prefix"u8)[..65];

        Gen.Select(Gen.Byte.Array[0, 300], Gen.Bool).Sample((tail, splice) =>
        {
            byte[] ciphertext = splice ? [.. realPrefix, .. tail] : tail;
            return !key.TryDecrypt(ciphertext, out var plaintext) && plaintext.Length == 0;
        }, iter: 1_000);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Encrypt_round_trips_and_any_tampered_byte_is_refused(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var key = suite.GenerateKey();

        Gen.Select(Gen.Byte.Array[1, 300], Gen.Int[0, int.MaxValue], Gen.Int[0, 7]).Sample((plaintext, position, bit) =>
        {
            var ciphertext = suite.Encrypt(key.PublicKey, plaintext);
            var roundTrips = key.TryDecrypt(ciphertext, out var decrypted) && decrypted.AsSpan().SequenceEqual(plaintext);
            var tampered = ciphertext.ToArray();
            tampered[position % tampered.Length] ^= (byte)(1 << bit);
            return roundTrips && !key.TryDecrypt(tampered, out _) && !key.TryDecrypt(ciphertext[..^1], out _);
        }, iter: 100);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Ciphertext_for_one_key_does_not_decrypt_under_another(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var recipient = suite.GenerateKey();
        using var stranger = suite.GenerateKey();

        var ciphertext = suite.Encrypt(recipient.PublicKey, "for the recipient only"u8);

        Assert.False(stranger.TryDecrypt(ciphertext, out _));
        Assert.True(recipient.TryDecrypt(ciphertext, out _));
    }

    [Fact]
    public void Sm2_encryption_of_an_empty_message_is_refused_with_a_typed_error()
    {
        // GB/T 32918.4 A5 restarts while the key stream t is all zero, which an empty t always is.
        using var key = CryptoSuites.Gm.GenerateKey();

        var error = Assert.Throws<CustosException>(() => CryptoSuites.Gm.Encrypt(key.PublicKey, []));

        Assert.Equal(ErrorCode.InvalidLength, error.Code);
    }

    [Fact]
    public void Ecies_encryption_of_an_empty_message_round_trips()
    {
        using var key = CryptoSuites.Intl.GenerateKey();

        var ciphertext = CryptoSuites.Intl.Encrypt(key.PublicKey, []);

        Assert.True(key.TryDecrypt(ciphertext, out var plaintext));
        Assert.Empty(plaintext);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Encrypting_to_a_key_of_the_other_suite_is_a_typed_error(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var foreign = (suite.Id == CryptoSuiteId.Gm ? CryptoSuites.Intl : CryptoSuites.Gm).GenerateKey();

        Assert.Equal(ErrorCode.SuiteMismatch, Assert.Throws<CustosException>(() => suite.Encrypt(foreign.PublicKey, "x"u8)).Code);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Aead_round_trips_and_refuses_a_changed_tag_ciphertext_associated_data_or_nonce(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);

        Gen.Select(Gen.Byte.Array[suite.AeadKeySizeBytes], Gen.Byte.Array[12], Gen.Byte.Array[0, 200], Gen.Byte.Array[0, 40], Gen.Int[0, int.MaxValue])
            .Sample((key, nonce, plaintext, associatedData, position) =>
            {
                var sealedBox = suite.AeadEncrypt(key, nonce, plaintext, associatedData);
                var opens = suite.TryAeadDecrypt(key, nonce, sealedBox, associatedData, out var opened) && opened.AsSpan().SequenceEqual(plaintext);
                var tag = sealedBox.ToArray();
                tag[^(1 + (position % 16))] ^= 0x01;
                var otherAssociatedData = (byte[])[.. associatedData, 0];
                var otherNonce = nonce.ToArray();
                otherNonce[position % 12] ^= 0x80;
                var refusals = !suite.TryAeadDecrypt(key, nonce, tag, associatedData, out var refused) && refused.Length == 0
                    && !suite.TryAeadDecrypt(key, nonce, sealedBox, otherAssociatedData, out _)
                    && !suite.TryAeadDecrypt(key, otherNonce, sealedBox, associatedData, out _)
                    && !suite.TryAeadDecrypt(key, nonce, sealedBox[..^1], associatedData, out _)
                    && !suite.TryAeadDecrypt(key, nonce, sealedBox[..15], associatedData, out _);
                if (plaintext.Length > 0)
                {
                    var body = sealedBox.ToArray();
                    body[position % plaintext.Length] ^= 0x01;
                    refusals &= !suite.TryAeadDecrypt(key, nonce, body, associatedData, out _);
                }

                return opens && sealedBox.Length == plaintext.Length + 16 && refusals;
            }, iter: 1_000);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Aead_with_a_wrong_key_or_nonce_size_is_a_typed_error(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        var key = new byte[suite.AeadKeySizeBytes];

        Assert.Equal(ErrorCode.InvalidLength, Assert.Throws<CustosException>(() => suite.AeadEncrypt(key[1..], new byte[12], [], [])).Code);
        Assert.Equal(ErrorCode.InvalidLength, Assert.Throws<CustosException>(() => suite.AeadEncrypt(key, new byte[16], [], [])).Code);
        Assert.Equal(ErrorCode.InvalidLength, Assert.Throws<CustosException>(() => suite.TryAeadDecrypt([.. key, 0], new byte[12], new byte[16], [], out _)).Code);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Agreed_keys_are_equal_on_both_sides_and_depend_on_the_identities(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var aliceStatic = suite.GenerateKey();
        using var aliceEphemeral = suite.GenerateKey();
        using var bobStatic = suite.GenerateKey();
        using var bobEphemeral = suite.GenerateKey();
        var alice = "alice@bank-a"u8.ToArray();
        var bob = "bob@bank-b"u8.ToArray();

        var atAlice = suite.AgreeKey(aliceStatic, aliceEphemeral, bobStatic.PublicKey, bobEphemeral.PublicKey, initiator: true, alice, bob, 32);
        var atBob = suite.AgreeKey(bobStatic, bobEphemeral, aliceStatic.PublicKey, aliceEphemeral.PublicKey, initiator: false, bob, alice, 32);
        var bobMisled = suite.AgreeKey(bobStatic, bobEphemeral, aliceStatic.PublicKey, aliceEphemeral.PublicKey, initiator: false, bob, "mallory"u8, 32);
        using var mallory = suite.GenerateKey();
        var impostor = suite.AgreeKey(mallory, aliceEphemeral, bobStatic.PublicKey, bobEphemeral.PublicKey, initiator: true, alice, bob, 32);

        Assert.Equal(32, atAlice.Length);
        Assert.Equal(atAlice, atBob);
        Assert.NotEqual(atAlice, bobMisled);
        Assert.NotEqual(atAlice, impostor);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Agreeing_with_a_key_of_the_other_suite_is_a_typed_error(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var own = suite.GenerateKey();
        using var foreign = (suite.Id == CryptoSuiteId.Gm ? CryptoSuites.Intl : CryptoSuites.Gm).GenerateKey();

        var error = Assert.Throws<CustosException>(() => suite.AgreeKey(own, own, foreign.PublicKey, foreign.PublicKey, true, "a"u8, "b"u8, 16));

        Assert.Equal(ErrorCode.SuiteMismatch, error.Code);
    }

    [Fact]
    public void Pbkdf2_hmac_sm3_is_deterministic_and_depends_on_every_input()
    {
        var suite = CryptoSuites.Gm;
        var salt = "custos-salt"u8.ToArray();

        var first = suite.DeriveKeyFromPassphrase("correct horse", salt, 1_000, 32);
        var again = suite.DeriveKeyFromPassphrase("correct horse", salt, 1_000, 32);

        Assert.Equal(32, first.Length);
        Assert.Equal(first, again);
        Assert.NotEqual(first, suite.DeriveKeyFromPassphrase("correct horsE", salt, 1_000, 32));
        Assert.NotEqual(first, suite.DeriveKeyFromPassphrase("correct horse", "custos-salT"u8, 1_000, 32));
        Assert.NotEqual(first, suite.DeriveKeyFromPassphrase("correct horse", salt, 1_001, 32));
        Assert.NotEqual(first, CryptoSuites.Intl.DeriveKeyFromPassphrase("correct horse", salt, 1_000, 32));
        // PBKDF2 output is a prefix-stable stream of blocks.
        Assert.Equal(first[..16], suite.DeriveKeyFromPassphrase("correct horse", salt, 1_000, 16));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Signatures_verify_concurrently_on_one_shared_public_key(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var key = suite.GenerateKey();
        var messages = Enumerable.Range(0, 32).Select(i => BitConverter.GetBytes(i * 7919)).ToArray();
        var signatures = new byte[messages.Length][];
        Parallel.For(0, messages.Length, i => signatures[i] = key.Sign(messages[i]));
        var results = new bool[1_000];

        Parallel.For(0, results.Length, i =>
            results[i] = suite.Verify(key.PublicKey, messages[i % 32], signatures[i % 32]) && !suite.Verify(key.PublicKey, messages[i % 32], signatures[(i + 1) % 32]));

        Assert.All(results, Assert.True);
    }
}
