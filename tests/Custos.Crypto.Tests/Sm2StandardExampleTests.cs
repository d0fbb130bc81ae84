using System.Text;
using Custos.Crypto.Reference;
using Custos.Crypto.Tests.Support;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;

namespace Custos.Crypto.Tests;

/// <summary>
/// The worked examples of GB/T 32918 parts 2 to 4, computed on the standard's Fp-256 test curve through the
/// domain-parameterised statics of <see cref="GmCryptoSuite"/>, plus a known signature on sm2p256v1 itself.
/// </summary>
public sealed class Sm2StandardExampleTests
{
    private static readonly byte[] AliceId = "ALICE123@YAHOO.COM"u8.ToArray();
    private static readonly byte[] BillId = "BILL456@YAHOO.COM"u8.ToArray();

    private const string SignerKey = "128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263";
    private const string SignatureK = "6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F";
    private const string ExpectedR = "40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1";
    private const string ExpectedS = "6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7";

    [Fact]
    public void Signature_example_of_GB_T_32918_2_gives_the_published_public_key_and_Z_A()
    {
        var key = Sm2TestCurve.PrivateKey(SignerKey);
        var q = Sm2TestCurve.PublicKeyOf(key).Q;

        Assert.Equal("0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A", Convert.ToHexString(q.AffineXCoord.GetEncoded()));
        Assert.Equal("7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857", Convert.ToHexString(q.AffineYCoord.GetEncoded()));
        Assert.Equal("F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A",
            Convert.ToHexString(GmCryptoSuite.ComputeZa(Sm2TestCurve.Domain, q, AliceId)));
    }

    [Fact]
    public void Signature_example_of_GB_T_32918_2_signs_to_the_published_r_and_s()
    {
        var key = Sm2TestCurve.PrivateKey(SignerKey);
        var random = FixedRandom.FromHex(SignatureK);

        var signature = GmCryptoSuite.SignWith(key, AliceId, "message digest"u8, random);

        Assert.Equal(ExpectedR + ExpectedS, Convert.ToHexString(signature));
        Assert.True(random.IsExhausted);
    }

    [Fact]
    public void Signature_example_of_GB_T_32918_2_verifies_and_any_alteration_is_rejected()
    {
        var q = Sm2TestCurve.PublicKeyOf(Sm2TestCurve.PrivateKey(SignerKey)).Q;
        var za = GmCryptoSuite.ComputeZa(Sm2TestCurve.Domain, q, AliceId);
        var signature = Convert.FromHexString(ExpectedR + ExpectedS);

        Assert.True(GmCryptoSuite.VerifyWith(Sm2TestCurve.Domain, q, za, "message digest"u8, signature));
        Assert.False(GmCryptoSuite.VerifyWith(Sm2TestCurve.Domain, q, za, "message digesT"u8, signature));
        Assert.False(GmCryptoSuite.VerifyWith(Sm2TestCurve.Domain, q, GmCryptoSuite.ComputeZa(Sm2TestCurve.Domain, q, BillId), "message digest"u8, signature));
        for (var bit = 0; bit < 512; bit += 7)
        {
            var altered = signature.ToArray();
            altered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(GmCryptoSuite.VerifyWith(Sm2TestCurve.Domain, q, za, "message digest"u8, altered), $"bit {bit} flipped was accepted");
        }
    }

    // A signature on sm2p256v1 with a non-default user id (the example BouncyCastle's SM2 signer tests use).
    private const string RealCurveKey = "110E7973206F68C19EE5F7328C036F26911C8C73B4E4F36AE3291097F8984FFC";
    private const string RealCurveSignature =
        "05890B9077B92E47B17A1FF42A814280E556AFD92B4A98B9670BF8B1A274C2FA" + "E3ABBB8DB2B6ECD9B24ECCEA7F679FB9A4B1DB52F4AA985E443AD73237FA1993";

    [Fact]
    public void Known_signature_on_sm2p256v1_is_reproduced_with_its_k_and_verified()
    {
        var key = new ECPrivateKeyParameters(Sm2TestCurve.Hex(RealCurveKey), GmCryptoSuite.Domain);
        var id = "sm2test@example.com"u8;

        var signature = GmCryptoSuite.SignWith(key, id, "hi chappy"u8, FixedRandom.FromHex("3174C6FFC3C279D2422F3FC0A9F3E574674A4490FE45A5325CAF7D3EC4C8F96C"));

        Assert.Equal(RealCurveSignature, Convert.ToHexString(signature));
        var q = GmCryptoSuite.Domain.G.Multiply(key.D).Normalize();
        Assert.True(GmCryptoSuite.VerifyWith(GmCryptoSuite.Domain, q, GmCryptoSuite.ComputeZa(q, id), "hi chappy"u8, signature));
        // The suite's own Verify uses the default id, under which this signature is not valid.
        Assert.True(CryptoSuites.Gm.TryDecodePublicKey(q.GetEncoded(false), out var publicKey, out _));
        Assert.False(CryptoSuites.Gm.Verify(publicKey, "hi chappy"u8, signature));
    }

    [Fact]
    public void Known_signature_on_sm2p256v1_verifies_in_OpenSSL_only_under_its_own_user_id()
    {
        OpenSslReference.Require();
        using var key = OpenSslLibCrypto.ImportPrivateKey(OpenSslCurve.Sm2, Convert.FromHexString(RealCurveKey));
        var signature = Convert.FromHexString(RealCurveSignature);

        Assert.True(key.Verify("hi chappy"u8, signature, "sm2test@example.com"u8));
        Assert.False(key.Verify("hi chappy"u8, signature));
    }

    private const string EncryptionKey = "1649AB77A00637BD5E2EFE283FBF353534AA7F7CB89463F208DDBC2920BB0DA0";
    private const string EncryptionK = "4C62EEFD6ECFC2B95B92FD6C3D9575148AFA17425546D49018E5388D49DD7B4F";
    private const string ExpectedC1C2C3 =
        "04245C26FB68B1DDDDB12C4B6BF9F2B6D5FE60A383B0D18D1C4144ABF17F6252E776CB9264C2A7E88E52B19903FDC47378F605E36811F5C07423A24B84400F01B8"
        + "650053A89B41C418B0C3AAD00D886C002864679C3D7360C30156FAB7C80A0276712DA9D8094A634B766D3A285E07480653426D";

    [Fact]
    public void Encryption_example_of_GB_T_32918_4_gives_the_published_C1_C2_C3()
    {
        var recipient = Sm2TestCurve.PublicKeyOf(Sm2TestCurve.PrivateKey(EncryptionKey));

        var ciphertext = GmCryptoSuite.EncryptWith(recipient, "encryption standard"u8, FixedRandom.FromHex(EncryptionK), SM2Engine.Mode.C1C2C3);

        Assert.Equal(ExpectedC1C2C3, Convert.ToHexString(ciphertext));
    }

    [Fact]
    public void Encryption_example_in_the_default_C1_C3_C2_order_is_the_same_pieces_reordered_and_decrypts()
    {
        var privateKey = Sm2TestCurve.PrivateKey(EncryptionKey);
        var message = "encryption standard"u8.ToArray();

        var ciphertext = GmCryptoSuite.EncryptWith(Sm2TestCurve.PublicKeyOf(privateKey), message, FixedRandom.FromHex(EncryptionK));

        var published = Convert.FromHexString(ExpectedC1C2C3);
        var c1 = published[..65];
        var c2 = published[65..(65 + message.Length)];
        var c3 = published[(65 + message.Length)..];
        Assert.Equal(Convert.ToHexString([.. c1, .. c3, .. c2]), Convert.ToHexString(ciphertext));
        var engine = new SM2Engine(SM2Engine.Mode.C1C3C2);
        engine.Init(false, privateKey);
        Assert.Equal(message, engine.ProcessBlock(ciphertext, 0, ciphertext.Length));
    }

    [Fact]
    public void Encryption_with_a_fixed_k_on_sm2p256v1_orders_C1_C3_C2_and_the_suite_decrypts_it()
    {
        var k = new byte[32];
        k[31] = 0x2A;
        var suite = new GmCryptoSuite(new FixedRandom(k));
        Assert.True(suite.TryImportPrivateKey(Convert.FromHexString(EncryptionKey), out var key, out _));
        using var ownedKey = key;
        var message = Encoding.UTF8.GetBytes("encryption standard");

        var ciphertext = suite.Encrypt(key.PublicKey, message);
        var recipient = new ECPublicKeyParameters(GmCryptoSuite.Domain.Curve.DecodePoint(key.PublicKey.ToArray()), GmCryptoSuite.Domain);
        var oldOrder = GmCryptoSuite.EncryptWith(recipient, message, new FixedRandom(k), SM2Engine.Mode.C1C2C3);

        Assert.Equal(oldOrder[..65], ciphertext[..65]);
        Assert.Equal(oldOrder[(65 + message.Length)..], ciphertext[65..97]);
        Assert.Equal(oldOrder[65..(65 + message.Length)], ciphertext[97..]);
        Assert.True(key.TryDecrypt(ciphertext, out var decrypted));
        Assert.Equal(message, decrypted);
        Assert.False(key.TryDecrypt(oldOrder, out _));
    }

    [Fact]
    public void Key_exchange_example_of_GB_T_32918_3_gives_both_sides_the_published_key()
    {
        var aliceStatic = Sm2TestCurve.PrivateKey("6FCBA2EF9AE0AB902BC3BDE3FF915D44BA4CC78F88E2F8E7F8996D3B8CCEEDEE");
        var aliceEphemeral = Sm2TestCurve.PrivateKey("83A2C9C8B96E5AF70BD480B472409A9A327257F1EBB73F5B073354B248668563");
        var billStatic = Sm2TestCurve.PrivateKey("5E35D7D3F3C54DBAC72E61819E730B019A84208CA3A35E4C2E353DFCCB2A3B53");
        var billEphemeral = Sm2TestCurve.PrivateKey("33FE21940342161C55619C4A0C060293D543C80AF19748CE176D83477DE71C80");

        var alice = GmCryptoSuite.AgreeKeyWith(aliceStatic, aliceEphemeral, Sm2TestCurve.PublicKeyOf(billStatic), Sm2TestCurve.PublicKeyOf(billEphemeral),
            initiator: true, AliceId, BillId, 16);
        var bill = GmCryptoSuite.AgreeKeyWith(billStatic, billEphemeral, Sm2TestCurve.PublicKeyOf(aliceStatic), Sm2TestCurve.PublicKeyOf(aliceEphemeral),
            initiator: false, BillId, AliceId, 16);

        Assert.Equal("55b0ac62a6b927ba23703832c853ded4", Convert.ToHexStringLower(alice));
        Assert.Equal("55b0ac62a6b927ba23703832c853ded4", Convert.ToHexStringLower(bill));
    }

    [Fact]
    public void Test_curve_is_the_one_the_standard_defines()
    {
        var g = Sm2TestCurve.Domain.G;

        Assert.True(g.IsValid());
        Assert.True(g.Multiply(Sm2TestCurve.N).IsInfinity);
        Assert.True(Sm2TestCurve.N.IsProbablePrime(64));
        Assert.Equal(BigInteger.One, Sm2TestCurve.Domain.H);
    }
}
