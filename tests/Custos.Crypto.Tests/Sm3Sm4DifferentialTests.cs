using Custos.Core;
using Custos.Crypto.Reference;
using Custos.Crypto.Tests.Support;

namespace Custos.Crypto.Tests;

/// <summary>SM3, SM4-ECB, SM4-CBC and SM4-GCM against OpenSSL on random inputs.</summary>
public sealed class Sm3Sm4DifferentialTests
{
    private const int Cases = 10_000;

    [Fact]
    public void Sm3_agrees_with_OpenSSL_on_random_messages_whole_and_in_pieces()
    {
        OpenSslReference.Require();
        TestSeed.RunCases("SM3 vs OpenSSL", Cases, (index, random, fail) =>
        {
            var message = random.Bytes(0, 1000);
            var expected = Convert.ToHexStringLower(OpenSslLibCrypto.Sm3(message));
            var whole = CryptoSuites.Gm.Hash(message).ToString();

            using var accumulator = CryptoSuites.Gm.Begin();
            var offset = 0;
            while (offset < message.Length)
            {
                var piece = random.Next(0, message.Length - offset + 1);
                accumulator.Append(message.AsSpan(offset, piece));
                offset += piece;
            }

            var pieces = accumulator.Finish().ToString();
            if (whole != expected || pieces != expected)
            {
                fail($"SM3 of {message.Length} bytes: OpenSSL {expected}, whole {whole}, pieces {pieces}, m={Convert.ToHexString(message)}");
            }
        });
    }

    [Fact]
    public void Sm4_block_agrees_with_OpenSSL_ecb_on_random_keys_and_blocks()
    {
        OpenSslReference.Require();
        TestSeed.RunCases("SM4 block vs OpenSSL", Cases, (index, random, fail) =>
        {
            var key = random.Bytes(16);
            var plaintext = random.Bytes(16);
            var block = new Sm4Block(key);
            var ciphertext = new byte[16];
            var decrypted = new byte[16];
            block.Encrypt(plaintext, ciphertext);
            block.Decrypt(ciphertext, decrypted);

            var expected = OpenSslLibCrypto.Sm4Ecb(encrypt: true, key, plaintext);
            if (!expected.AsSpan().SequenceEqual(ciphertext) || !decrypted.AsSpan().SequenceEqual(plaintext))
            {
                fail($"SM4 k={Convert.ToHexString(key)} p={Convert.ToHexString(plaintext)}: OpenSSL {Convert.ToHexString(expected)}, ours {Convert.ToHexString(ciphertext)}");
            }
        });
    }

    [Fact]
    public void Sm4_engine_agrees_with_BouncyCastles_engine_through_both_block_interfaces()
    {
        // BouncyCastle's engine is the one the TLS stack used before; this one replaces it there and in GCM and CBC.
        TestSeed.RunCases("SM4 engine vs BouncyCastle", Cases, (index, random, fail) =>
        {
            var key = new Org.BouncyCastle.Crypto.Parameters.KeyParameter(random.Bytes(16));
            var plaintext = random.Bytes(16);
            var forEncryption = random.Next(0, 2) == 1;
            var ours = new Sm4Engine();
            var theirs = new Org.BouncyCastle.Crypto.Engines.SM4Engine();
            ours.Init(forEncryption, key);
            theirs.Init(forEncryption, key);
            var expected = new byte[16];
            theirs.ProcessBlock(plaintext, 0, expected, 0);
            var viaArrays = new byte[20];
            ours.ProcessBlock(plaintext, 0, viaArrays, 4);
            var viaSpans = new byte[16];
            ours.ProcessBlock(plaintext, viaSpans);
            if (!expected.AsSpan().SequenceEqual(viaArrays.AsSpan(4)) || !expected.AsSpan().SequenceEqual(viaSpans))
            {
                fail($"SM4 {(forEncryption ? "encrypt" : "decrypt")} k={Convert.ToHexString(key.GetKey())} in={Convert.ToHexString(plaintext)}: BouncyCastle {Convert.ToHexString(expected)}, ours {Convert.ToHexString(viaSpans)}");
            }
        });
    }

    [Fact]
    public void Sm4_engine_refuses_short_buffers_a_wrong_key_and_use_before_init()
    {
        var engine = new Sm4Engine();
        Assert.Throws<InvalidOperationException>(() => engine.ProcessBlock(new byte[16], new byte[16]));
        Assert.Throws<ArgumentException>(() => engine.Init(true, new Org.BouncyCastle.Crypto.Parameters.KeyParameter(new byte[15])));
        engine.Init(true, new Org.BouncyCastle.Crypto.Parameters.KeyParameter(new byte[16]));
        Assert.Throws<Org.BouncyCastle.Crypto.DataLengthException>(() => engine.ProcessBlock(new byte[15], new byte[16]));
        Assert.Throws<Org.BouncyCastle.Crypto.OutputLengthException>(() => engine.ProcessBlock(new byte[16], new byte[15]));
        Assert.Equal(16, engine.GetBlockSize());
    }

    [Fact]
    public void Sm4_cbc_agrees_with_OpenSSL_including_on_corrupted_ciphertexts()
    {
        OpenSslReference.Require();
        TestSeed.RunCases("SM4-CBC vs OpenSSL", Cases, (index, random, fail) =>
        {
            var key = random.Bytes(16);
            var iv = random.Bytes(16);
            var plaintext = random.Bytes(0, 1000);
            var context = $"k={Convert.ToHexString(key)} iv={Convert.ToHexString(iv)} p={Convert.ToHexString(plaintext)}";

            var ours = GmCryptoSuite.Sm4CbcEncrypt(key, iv, plaintext);
            var theirs = OpenSslLibCrypto.Sm4CbcEncrypt(key, iv, plaintext);
            if (!ours.AsSpan().SequenceEqual(theirs)) fail($"ciphertexts differ, {context}");
            if (!GmCryptoSuite.TrySm4CbcDecrypt(key, iv, theirs, out var decrypted) || !decrypted.AsSpan().SequenceEqual(plaintext))
            {
                fail($"we do not decrypt OpenSSL's ciphertext, {context}");
            }

            // Corrupt the ciphertext (a flipped bit, or a truncation): both must decide alike, and alike in plaintext.
            var corrupted = random.Next(4) == 0
                ? ours[..random.Next(ours.Length)]
                : Signatures.AlterMessage(random, ours);
            var weAccept = GmCryptoSuite.TrySm4CbcDecrypt(key, iv, corrupted, out var ourPlaintext);
            var theyAccept = OpenSslLibCrypto.TrySm4CbcDecrypt(key, iv, corrupted, out var theirPlaintext);
            if (weAccept != theyAccept || !ourPlaintext.AsSpan().SequenceEqual(theirPlaintext))
            {
                fail($"corrupted c={Convert.ToHexString(corrupted)}: we {(weAccept ? "accept" : "reject")}, OpenSSL {(theyAccept ? "accepts" : "rejects")}, {context}");
            }
        });
    }

    [Fact]
    public void Sm4_gcm_agrees_with_GCM_rebuilt_from_OpenSSL_sm4_and_rejects_tampering()
    {
        OpenSslReference.Require();
        var suite = CryptoSuites.Gm;
        TestSeed.RunCases("SM4-GCM vs OpenSSL SM4 + GHASH", Cases, (index, random, fail) =>
        {
            var key = random.Bytes(16);
            var nonce = random.Bytes(12);
            var plaintext = random.Bytes(0, 1000);
            var associatedData = random.Bytes(0, 64);
            var context = $"k={Convert.ToHexString(key)} n={Convert.ToHexString(nonce)} a={Convert.ToHexString(associatedData)} p={Convert.ToHexString(plaintext)}";

            var ours = suite.AeadEncrypt(key, nonce, plaintext, associatedData);
            var reference = GcmReference.Sm4GcmEncrypt(key, nonce, plaintext, associatedData);
            if (!ours.AsSpan().SequenceEqual(reference)) fail($"sealed boxes differ: ours {Convert.ToHexString(ours)}, reference {Convert.ToHexString(reference)}, {context}");
            if (!suite.TryAeadDecrypt(key, nonce, reference, associatedData, out var opened) || !opened.AsSpan().SequenceEqual(plaintext))
            {
                fail($"the reference's box does not open, {context}");
            }

            var tampered = Signatures.AlterMessage(random, ours);
            if (suite.TryAeadDecrypt(key, nonce, tampered, associatedData, out _)) fail($"tampered box opened, {context}");
            if (suite.TryAeadDecrypt(key, nonce, ours, Signatures.AlterMessage(random, associatedData), out _)) fail($"box opened with other AAD, {context}");
            if (suite.TryAeadDecrypt(key, Signatures.AlterMessage(random, nonce), ours, associatedData, out _)) fail($"box opened with other nonce, {context}");
        });
    }

    [Fact]
    public void Pbkdf2_hmac_sm3_agrees_with_OpenSSL()
    {
        OpenSslReference.Require();
        TestSeed.RunCases("PBKDF2-HMAC-SM3 vs OpenSSL", 200, (index, random, fail) =>
        {
            var passphrase = new string([.. Enumerable.Range(0, random.Next(0, 40)).Select(_ => (char)random.Next(0x20, 0x7F))]);
            var salt = random.Bytes(0, 32);
            var iterations = random.Next(1, 200);
            var length = random.Next(1, 80);

            var ours = CryptoSuites.Gm.DeriveKeyFromPassphrase(passphrase, salt, iterations, length);
            var theirs = OpenSslLibCrypto.Pbkdf2(sm3: true, System.Text.Encoding.UTF8.GetBytes(passphrase), salt, iterations, length);
            if (!ours.AsSpan().SequenceEqual(theirs)) fail($"PBKDF2-SM3('{passphrase}', {Convert.ToHexString(salt)}, {iterations}, {length}) differs");
        });
    }

    [Fact]
    public void Sm4_cbc_rejects_ciphertexts_that_are_not_whole_blocks_without_throwing()
    {
        var key = new byte[16];
        var iv = new byte[16];

        Assert.False(GmCryptoSuite.TrySm4CbcDecrypt(key, iv, [], out _));
        Assert.False(GmCryptoSuite.TrySm4CbcDecrypt(key, iv, new byte[15], out _));
        Assert.False(GmCryptoSuite.TrySm4CbcDecrypt(key, iv, new byte[17], out _));
        Assert.Equal(Core.Wire.ErrorCode.InvalidLength, Assert.Throws<CustosException>(() => GmCryptoSuite.Sm4CbcEncrypt(new byte[15], iv, [])).Code);
    }
}
