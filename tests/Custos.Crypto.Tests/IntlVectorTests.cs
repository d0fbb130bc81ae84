using System.Text;

namespace Custos.Crypto.Tests;

/// <summary>Published vectors for the intl suite: RFC 6979 A.2.5, the GCM specification's test case 16, RFC 7914 §11.</summary>
public sealed class IntlVectorTests
{
    private const string Rfc6979PrivateKey = "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721";
    private const string Rfc6979PublicKey = "04"
        + "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
        + "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299";
    private const string Rfc6979SampleSignature =
        "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716" + "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8";

    [Fact]
    public void Ecdsa_p256_signature_of_RFC_6979_A_2_5_verifies_and_its_alterations_do_not()
    {
        Assert.True(CryptoSuites.Intl.TryDecodePublicKey(Convert.FromHexString(Rfc6979PublicKey), out var key, out _));
        var signature = Convert.FromHexString(Rfc6979SampleSignature);

        Assert.True(CryptoSuites.Intl.Verify(key, "sample"u8, signature));
        Assert.False(CryptoSuites.Intl.Verify(key, "test"u8, signature));
        for (var bit = 0; bit < 512; bit += 5)
        {
            var altered = signature.ToArray();
            altered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(CryptoSuites.Intl.Verify(key, "sample"u8, altered), $"bit {bit} flipped was accepted");
        }
    }

    [Fact]
    public void Ecdsa_p256_private_key_of_RFC_6979_A_2_5_has_the_published_public_key_and_its_signatures_verify()
    {
        Assert.True(CryptoSuites.Intl.TryImportPrivateKey(Convert.FromHexString(Rfc6979PrivateKey), out var key, out _));
        using var ownedKey = key;

        Assert.Equal(Rfc6979PublicKey, Convert.ToHexString(key.PublicKey.Encoded));
        Assert.True(CryptoSuites.Intl.Verify(key.PublicKey, "sample"u8, key.Sign("sample"u8)));
    }

    [Fact]
    public void Aes256_gcm_matches_test_case_16_of_the_GCM_specification()
    {
        var key = Convert.FromHexString("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        var nonce = Convert.FromHexString("cafebabefacedbaddecaf888");
        var plaintext = Convert.FromHexString(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
        var associatedData = Convert.FromHexString("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        const string expected = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
            + "76fc6ece0f4e1768cddf8853bb2d551b";

        var sealedBox = CryptoSuites.Intl.AeadEncrypt(key, nonce, plaintext, associatedData);

        Assert.Equal(expected, Convert.ToHexStringLower(sealedBox));
        Assert.True(CryptoSuites.Intl.TryAeadDecrypt(key, nonce, sealedBox, associatedData, out var opened));
        Assert.Equal(plaintext, opened);
    }

    [Theory]
    [InlineData("passwd", "salt", 1,
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")]
    [InlineData("Password", "NaCl", 80000,
        "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d")]
    public void Pbkdf2_hmac_sha256_matches_RFC_7914_section_11(string passphrase, string salt, int iterations, string expected)
    {
        var derived = CryptoSuites.Intl.DeriveKeyFromPassphrase(passphrase, Encoding.ASCII.GetBytes(salt), iterations, 64);

        Assert.Equal(expected, Convert.ToHexStringLower(derived));
    }
}
