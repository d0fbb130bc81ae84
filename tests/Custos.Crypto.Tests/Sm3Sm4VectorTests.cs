using System.Text;
using Custos.Core;

namespace Custos.Crypto.Tests;

/// <summary>The published SM3 (GB/T 32905 Annex A) and SM4 (GB/T 32907 Annex A, RFC 8998 A.1) examples.</summary>
public sealed class Sm3Sm4VectorTests
{
    [Theory]
    [InlineData("abc", 1, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")]
    [InlineData("abcd", 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")]
    public void Sm3_of_the_standards_examples_matches_GB_T_32905(string unit, int repeat, string expected)
    {
        var message = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(unit, repeat)));

        Assert.Equal(expected, CryptoSuites.Gm.Hash(message).ToString());
    }

    [Fact]
    public void Sm3_accumulator_gives_the_same_digest_in_pieces_and_when_reused()
    {
        var message = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("abcd", 16)));
        using var accumulator = CryptoSuites.Gm.Begin();
        accumulator.Append(message.AsSpan(0, 1));
        accumulator.Append(message.AsSpan(1, 62));
        accumulator.Append(message.AsSpan(63));
        var first = accumulator.Finish();
        // Finish resets, so the same accumulator hashes the next message from scratch.
        accumulator.Append("abc"u8);
        var second = accumulator.Finish();

        Assert.Equal("debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732", first.ToString());
        Assert.Equal("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0", second.ToString());
    }

    [Fact]
    public void Sm4_block_example_encrypts_and_decrypts_as_GB_T_32907_gives()
    {
        var key = Convert.FromHexString("0123456789abcdeffedcba9876543210");
        var block = new Sm4Block(key);
        var ciphertext = new byte[16];
        var plaintext = new byte[16];

        block.Encrypt(key, ciphertext);
        block.Decrypt(ciphertext, plaintext);

        Assert.Equal("681edf34d206965e86b3e94f536e4246", Convert.ToHexStringLower(ciphertext));
        Assert.Equal(key, plaintext);
    }

    [Fact]
    public void Sm4_block_example_encrypted_a_million_times_matches_GB_T_32907()
    {
        var key = Convert.FromHexString("0123456789abcdeffedcba9876543210");
        var block = new Sm4Block(key);
        var state = key.ToArray();
        var next = new byte[16];

        for (var i = 0; i < 1_000_000; i++)
        {
            block.Encrypt(state, next);
            (state, next) = (next, state);
        }

        Assert.Equal("595298c7c6fd271f0402f804c33d3f66", Convert.ToHexStringLower(state));
        for (var i = 0; i < 1_000_000; i++)
        {
            block.Decrypt(state, next);
            (state, next) = (next, state);
        }

        Assert.Equal(key, state);
    }

    [Fact]
    public void Sm4_block_rejects_a_key_that_is_not_16_bytes()
    {
        var error = Assert.Throws<CustosException>(() => new Sm4Block(new byte[15]));

        Assert.Equal(Core.Wire.ErrorCode.InvalidLength, error.Code);
    }

    [Fact]
    public void Sm4_gcm_matches_RFC_8998_example_and_decrypts_it()
    {
        var key = Convert.FromHexString("0123456789ABCDEFFEDCBA9876543210");
        var nonce = Convert.FromHexString("00001234567800000000ABCD");
        var associatedData = Convert.FromHexString("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        var plaintext = Convert.FromHexString(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA");
        const string expected = "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
            + "83DE3541E4C2B58177E065A9BF7B62EC";

        var sealedBox = CryptoSuites.Gm.AeadEncrypt(key, nonce, plaintext, associatedData);

        Assert.Equal(expected, Convert.ToHexString(sealedBox));
        Assert.True(CryptoSuites.Gm.TryAeadDecrypt(key, nonce, sealedBox, associatedData, out var opened));
        Assert.Equal(plaintext, opened);
    }
}
