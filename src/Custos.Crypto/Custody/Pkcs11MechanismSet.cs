using Custos.Core;
using Custos.Core.Wire;
using Org.BouncyCastle.Asn1;

namespace Custos.Crypto.Custody;

/// <summary>
/// The PKCS#11 identifiers a token uses for one suite's keys: key type, key-pair generation mechanism, signing
/// mechanism, whether that mechanism hashes the message itself, and the curve parameters (CKA_EC_PARAMS).
/// <para>
/// P-256 uses the standard values (CKK_EC, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA over a SHA-256 digest computed here).
/// PKCS#11 up to v3.1 defines no SM2 mechanisms, so every SM2 token uses vendor-defined numbers. The
/// <see cref="Sm2VendorDefault"/> and <see cref="Sm2VendorPrehashed"/> sets carry a widespread layout
/// (CKM_VENDOR_DEFINED + 0x8000 family, CKK_VENDOR_DEFINED + 4), which is vendor-specific: check the token's
/// own pkcs11 header and override the values where they differ. Every signature a token returns is verified
/// against the key's public key before use, so wrong values show up at once as <see cref="ErrorCode.HsmFailure"/>.
/// </para>
/// </summary>
public sealed record Pkcs11MechanismSet
{
    public const ulong CkkEc = 0x3;
    public const ulong CkmEcKeyPairGen = 0x1040;
    public const ulong CkmEcdsa = 0x1041;
    public const ulong CkmEcdsaSha256 = 0x1044;
    public const ulong CkkVendorDefined = 0x80000000;
    public const ulong CkmVendorDefined = 0x80000000;

    /// <summary>CKA_KEY_TYPE of the key pair.</summary>
    public required ulong KeyType { get; init; }

    /// <summary>Mechanism for C_GenerateKeyPair.</summary>
    public required ulong KeyGenerationMechanism { get; init; }

    /// <summary>Mechanism for C_Sign.</summary>
    public required ulong SignMechanism { get; init; }

    /// <summary>
    /// True: the token is given the message and hashes it itself (CKM_ECDSA_SHA256; an SM2-with-SM3 mechanism that
    /// computes Z_A with the default identity "1234567812345678"). False: the token is given the digest, computed
    /// here: SHA-256(M) on intl, e = SM3(Z_A || M) on gm.
    /// </summary>
    public required bool TokenHashesMessage { get; init; }

    /// <summary>OID of the named curve written as CKA_EC_PARAMS at generation; null when the token's key type implies the curve.</summary>
    public required string? CurveOid { get; init; }

    /// <summary>ECDSA on P-256 with the hash computed here: the standard mechanisms every PKCS#11 token supports.</summary>
    public static Pkcs11MechanismSet P256 { get; } = new()
    {
        KeyType = CkkEc,
        KeyGenerationMechanism = CkmEcKeyPairGen,
        SignMechanism = CkmEcdsa,
        TokenHashesMessage = false,
        CurveOid = "1.2.840.10045.3.1.7",
    };

    /// <summary>
    /// SM2 with the token computing Z_A (default identity) and SM3: CKK_SM2 = CKK_VENDOR_DEFINED + 4,
    /// CKM_SM2_KEY_PAIR_GEN = CKM_VENDOR_DEFINED + 0x8001, CKM_SM3_SM2_APPID1 = CKM_VENDOR_DEFINED + 0x8102.
    /// Vendor-specific; not tested here (SoftHSM has no SM2).
    /// </summary>
    public static Pkcs11MechanismSet Sm2VendorDefault { get; } = new()
    {
        KeyType = CkkVendorDefined + 4,
        KeyGenerationMechanism = CkmVendorDefined + 0x8001,
        SignMechanism = CkmVendorDefined + 0x8102,
        TokenHashesMessage = true,
        CurveOid = "1.2.156.10197.1.301",
    };

    /// <summary>
    /// SM2 with e = SM3(Z_A || M) computed here and signed raw by the token (CKM_SM2_SIGN = CKM_VENDOR_DEFINED + 0x8104).
    /// Vendor-specific; not tested here.
    /// </summary>
    public static Pkcs11MechanismSet Sm2VendorPrehashed { get; } = Sm2VendorDefault with
    {
        SignMechanism = CkmVendorDefined + 0x8104,
        TokenHashesMessage = false,
    };

    public static Pkcs11MechanismSet DefaultFor(ICryptoSuite suite) => suite.Id switch
    {
        CryptoSuiteId.Gm => Sm2VendorDefault,
        CryptoSuiteId.Intl => P256,
        _ => throw new CustosException(ErrorCode.SuiteMismatch, $"no PKCS#11 mechanisms for suite {suite.Name}"),
    };

    /// <summary>CKA_EC_PARAMS: the DER encoding of the curve OID.</summary>
    internal byte[]? EncodedCurveParameters()
    {
        if (CurveOid is null) return null;
        try
        {
            return new DerObjectIdentifier(CurveOid).GetEncoded();
        }
        catch (ArgumentException)
        {
            throw new CustosException(ErrorCode.InvalidField, $"'{CurveOid}' is not an object identifier");
        }
    }
}
