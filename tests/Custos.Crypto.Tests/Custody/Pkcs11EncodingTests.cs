using System.Formats.Asn1;
using System.Numerics;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto.Custody;
using CsCheck;

namespace Custos.Crypto.Tests.Custody;

/// <summary>The encodings tokens hand back: CKA_EC_POINT and signatures. No token needed.</summary>
public sealed class Pkcs11EncodingTests
{
    [Fact]
    public void Ec_point_wrapped_in_an_octet_string_or_bare_decodes_to_the_point()
    {
        using var key = CryptoSuites.Intl.GenerateKey();
        var point = key.PublicKey.ToArray();
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteOctetString(point);
        var wrapped = writer.Encode();

        Assert.Equal(67, wrapped.Length);
        Assert.Equal(point, Pkcs11KeyStore.DecodeEcPoint(wrapped));
        Assert.Equal(point, Pkcs11KeyStore.DecodeEcPoint(point));
    }

    [Fact]
    public void Malformed_ec_point_is_an_hsm_failure()
    {
        Gen.Byte.Array[0, 80].Sample(bytes =>
        {
            var isPoint = (bytes.Length == 65 && bytes[0] == 0x04) || (bytes.Length == 67 && bytes[0] == 0x04 && bytes[1] == 0x41 && bytes[2] == 0x04);
            if (isPoint) return;
            var error = Assert.Throws<CustosException>(() => Pkcs11KeyStore.DecodeEcPoint(bytes));
            Assert.Equal(ErrorCode.HsmFailure, error.Code);
        }, iter: 5000);
    }

    [Fact]
    public void Der_signature_is_normalised_to_the_same_r_and_s()
    {
        Gen.Select(Gen.Byte.Array[32], Gen.Byte.Array[32]).Sample((r, s) =>
        {
            var writer = new AsnWriter(AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                writer.WriteInteger(new BigInteger(r, isUnsigned: true, isBigEndian: true));
                writer.WriteInteger(new BigInteger(s, isUnsigned: true, isBigEndian: true));
            }

            var signature = new byte[64];

            Assert.True(Pkcs11KeyStore.TryNormaliseSignature(writer.Encode(), signature));
            Assert.Equal([.. r, .. s], signature);
        }, iter: 2000);
    }

    [Fact]
    public void Signature_that_is_neither_raw_nor_der_is_refused()
    {
        // Anything that is not 64 bytes and does not start as a DER SEQUENCE is neither form.
        Gen.Byte.Array[0, 80].Where(bytes => bytes.Length != 64 && (bytes.Length == 0 || bytes[0] != 0x30)).Sample(bytes =>
        {
            Assert.False(Pkcs11KeyStore.TryNormaliseSignature(bytes, new byte[64]));
        }, iter: 5000);

        var negative = new AsnWriter(AsnEncodingRules.DER);
        using (negative.PushSequence())
        {
            negative.WriteInteger(-5);
            negative.WriteInteger(7);
        }

        Assert.False(Pkcs11KeyStore.TryNormaliseSignature(negative.Encode(), new byte[64]));
        Assert.False(Pkcs11KeyStore.TryNormaliseSignature(new byte[63], new byte[64]));
    }

    [Fact]
    public void Mechanism_sets_default_per_suite()
    {
        Assert.Equal(Pkcs11MechanismSet.P256, Pkcs11MechanismSet.DefaultFor(CryptoSuites.Intl));
        Assert.Equal(Pkcs11MechanismSet.Sm2VendorDefault, Pkcs11MechanismSet.DefaultFor(CryptoSuites.Gm));
        Assert.Equal(CryptoSuites.Intl.CurveOid, Pkcs11MechanismSet.P256.CurveOid);
        Assert.Equal(CryptoSuites.Gm.CurveOid, Pkcs11MechanismSet.Sm2VendorDefault.CurveOid);
        // prime256v1 as DER: 06 08 2a 86 48 ce 3d 03 01 07.
        Assert.Equal(Convert.FromHexString("06082a8648ce3d030107"), Pkcs11MechanismSet.P256.EncodedCurveParameters());
    }
}
