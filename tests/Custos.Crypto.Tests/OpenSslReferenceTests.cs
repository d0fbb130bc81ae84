using CsCheck;
using Custos.Crypto.Reference;
using Custos.Crypto.Tests.Support;

namespace Custos.Crypto.Tests;

/// <summary>
/// The OpenSSL reference itself checked against published vectors, so that agreeing with it means something,
/// and its key handle checked for use from many threads at once (as the crypto benchmark will use it).
/// </summary>
public sealed class OpenSslReferenceTests
{
    [Fact]
    public void Reference_sm3_and_sm4_reproduce_the_published_examples()
    {
        OpenSslReference.Require();
        var key = Convert.FromHexString("0123456789abcdeffedcba9876543210");

        Assert.Equal("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0", Convert.ToHexStringLower(OpenSslLibCrypto.Sm3("abc"u8)));
        Assert.Equal("681edf34d206965e86b3e94f536e4246", Convert.ToHexStringLower(OpenSslLibCrypto.Sm4Ecb(encrypt: true, key, key)));
        Assert.Equal(key, OpenSslLibCrypto.Sm4Ecb(encrypt: false, key, Convert.FromHexString("681edf34d206965e86b3e94f536e4246")));
    }

    [Fact]
    public void Reference_gcm_rebuilt_from_openssl_sm4_reproduces_RFC_8998()
    {
        OpenSslReference.Require();

        var sealedBox = GcmReference.Sm4GcmEncrypt(
            Convert.FromHexString("0123456789ABCDEFFEDCBA9876543210"),
            Convert.FromHexString("00001234567800000000ABCD"),
            Convert.FromHexString("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"),
            Convert.FromHexString("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2"));

        Assert.Equal(
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
            + "83DE3541E4C2B58177E065A9BF7B62EC",
            Convert.ToHexString(sealedBox));
    }

    [Fact]
    public void Reference_p256_derives_the_RFC_6979_public_key_and_verifies_its_signature()
    {
        OpenSslReference.Require();
        using var key = OpenSslLibCrypto.ImportPrivateKey(OpenSslCurve.P256, Convert.FromHexString("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721"));
        var signature = Convert.FromHexString(
            "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");

        Assert.Equal("0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB67903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
            Convert.ToHexString(key.PublicPoint));
        Assert.True(key.Verify("sample"u8, signature));
        Assert.True(OpenSslLibCrypto.Verify(OpenSslCurve.P256, key.PublicPoint, "sample"u8, signature));
        Assert.False(key.Verify("sample!"u8, signature));
    }

    [Fact]
    public void Reference_sm2_signature_verifies_in_the_reference_and_in_the_suite()
    {
        OpenSslReference.Require();
        using var ours = CryptoSuites.Gm.GenerateKey();
        var scalar = ours.ExportPrivateScalar();

        var signature = OpenSslLibCrypto.Sign(OpenSslCurve.Sm2, scalar, "one-shot"u8);

        Assert.True(OpenSslLibCrypto.Verify(OpenSslCurve.Sm2, ours.PublicKey.Encoded, "one-shot"u8, signature));
        Assert.True(CryptoSuites.Gm.Verify(ours.PublicKey, "one-shot"u8, signature));
    }

    [Fact]
    public void Reference_rejects_public_points_off_the_curve()
    {
        OpenSslReference.Require();
        using var key = CryptoSuites.Gm.GenerateKey();
        var offCurve = key.PublicKey.ToArray();
        offCurve[64] ^= 1;

        Assert.True(OpenSslLibCrypto.TryImportPublicKey(OpenSslCurve.Sm2, key.PublicKey.Encoded, out var accepted));
        accepted.Dispose();
        Assert.False(OpenSslLibCrypto.TryImportPublicKey(OpenSslCurve.Sm2, offCurve, out _));
        Assert.False(OpenSslLibCrypto.Verify(OpenSslCurve.Sm2, offCurve, "m"u8, new byte[64]));
    }

    [Fact]
    public void Der_conversion_round_trips_every_r_and_s_including_leading_zeros_and_high_bits()
    {
        Gen.Select(Gen.Byte.Array[64], Gen.Int[0, 32], Gen.Int[0, 32], Gen.Bool).Sample((signature, zerosInR, zerosInS, highBits) =>
        {
            signature.AsSpan(0, zerosInR).Clear();
            signature.AsSpan(32, zerosInS).Clear();
            if (highBits)
            {
                signature[0] |= 0x80;
                signature[32] |= 0x80;
            }

            var der = OpenSslLibCrypto.DerFromRs(signature);
            return OpenSslLibCrypto.TryRsFromDer(der, out var back) && back.AsSpan().SequenceEqual(signature);
        }, iter: 5000);
    }

    [Fact]
    public void Prebuilt_key_handle_verifies_from_many_threads_at_once()
    {
        OpenSslReference.Require();
        using var key = CryptoSuites.Gm.GenerateKey();
        using var reference = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, key.PublicKey.Encoded);
        var messages = Enumerable.Range(0, 64).Select(i => BitConverter.GetBytes(i)).ToArray();
        var signatures = messages.Select(m => key.Sign(m)).ToArray();
        var results = new bool[400];

        Parallel.For(0, results.Length, i =>
        {
            var valid = reference.Verify(messages[i % 64], signatures[i % 64]);
            var forged = reference.Verify(messages[i % 64], signatures[(i + 1) % 64]);
            results[i] = valid && !forged;
        });

        Assert.All(results, Assert.True);
    }
}
