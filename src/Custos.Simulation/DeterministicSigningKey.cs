using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Org.BouncyCastle.Crypto.EC;

using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;

namespace Custos.Simulation;

/// <summary>
/// A signing key whose signatures are a function of the key and the message, so that a simulation seed reproduces
/// a run byte for byte. The signatures are ordinary ECDSA P-256 (nonce by RFC 6979's HMAC-DRBG) or SM2 (nonce from
/// a hash DRBG seeded with the key and the message), verified by the chain's suite like any other. For simulation
/// and tests only: a node uses <see cref="SoftwareKey"/> or an HSM.
/// </summary>
public sealed class DeterministicSigningKey : ISigningKey
{
    private static readonly ECDomainParameters P256 = FromCurve(CustomNamedCurves.GetByName("P-256"));
    private static readonly ECDomainParameters Sm2 = FromCurve(CustomNamedCurves.GetByName("sm2p256v1"));

    private readonly byte[] _scalar;
    private readonly ECPrivateKeyParameters _private;

    private DeterministicSigningKey(CryptoSuiteId suite, byte[] scalar, PublicKey publicKey)
    {
        Suite = suite;
        _scalar = scalar;
        PublicKey = publicKey;
        _private = new ECPrivateKeyParameters(new BigInteger(1, scalar), suite == CryptoSuiteId.Gm ? Sm2 : P256);
    }

    public CryptoSuiteId Suite { get; }

    public PublicKey PublicKey { get; }

    public string Custody => "simulation";

    /// <summary>The key for a 32-byte scalar; its public key is the one the suite derives for that scalar.</summary>
    public static DeterministicSigningKey FromScalar(ICryptoSuite suite, ReadOnlySpan<byte> scalar)
    {
        if (!suite.TryImportPrivateKey(scalar, out var imported, out var error)) throw error.ToException();
        using (imported)
        {
            return new DeterministicSigningKey(suite.Id, scalar.ToArray(), imported.PublicKey);
        }
    }

    /// <summary>A fixed key per label (for example "validator-3"): the scalar is the suite hash of the label.</summary>
    public static DeterministicSigningKey ForLabel(ICryptoSuite suite, string label)
    {
        var scalar = suite.Hash(System.Text.Encoding.UTF8.GetBytes($"custos-simulation-key/{label}")).ToArray();
        scalar[0] &= 0x7f;
        scalar[0] |= 0x01;
        return FromScalar(suite, scalar);
    }

    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        if (signature.Length != WireLimits.SignatureSizeBytes) throw new CustosException(ErrorCode.InvalidLength, "a signature is 64 bytes");
        if (Suite == CryptoSuiteId.Gm)
        {
            var random = new SecureRandom(new DigestRandomGenerator(new Sha256Digest()));
            random.SetSeed(_scalar);
            random.SetSeed(message.ToArray());
            var signer = new SM2Signer(PlainDsaEncoding.Instance, new SM3Digest());
            signer.Init(true, new ParametersWithID(new ParametersWithRandom(_private, random), GmCryptoSuite.DefaultUserId.ToArray()));
            signer.BlockUpdate(message);
            signer.GenerateSignature().CopyTo(signature);
            return;
        }

        var digest = System.Security.Cryptography.SHA256.HashData(message);
        var ecdsa = new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest()));
        ecdsa.Init(true, _private);
        var rs = ecdsa.GenerateSignature(digest);
        WriteFixed(rs[0], signature[..32]);
        WriteFixed(rs[1], signature[32..]);
    }

    private static void WriteFixed(BigInteger value, Span<byte> destination)
    {
        var bytes = value.ToByteArrayUnsigned();
        destination.Clear();
        bytes.CopyTo(destination[(destination.Length - bytes.Length)..]);
    }

    public void Dispose()
    {
    }

    private static ECDomainParameters FromCurve(Org.BouncyCastle.Asn1.X9.X9ECParameters curve) => new(curve.Curve, curve.G, curve.N, curve.H, curve.GetSeed());
}
