using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto;

/// <summary>
/// Every cryptographic algorithm a chain uses, chosen once at genesis (invariant 7: crypto agility). Code outside
/// Custos.Crypto names algorithms only through this interface. Implementations are stateless and thread-safe.
/// </summary>
public interface ICryptoSuite : IHashFunction
{
    CryptoSuiteId Id { get; }

    /// <summary>"gm" or "intl", as written in genesis files and on the command line.</summary>
    string Name { get; }

    /// <summary>OID of the certificate signature algorithm (SM2-with-SM3 1.2.156.10197.1.501 or ecdsa-with-SHA256).</summary>
    string SignatureAlgorithmOid { get; }

    /// <summary>BouncyCastle's name for that algorithm, used to sign X.509 objects.</summary>
    string SignatureAlgorithmName { get; }

    /// <summary>OID of the named curve keys live on (sm2p256v1 1.2.156.10197.1.301 or prime256v1).</summary>
    string CurveOid { get; }

    /// <summary>Key size of <see cref="AeadEncrypt"/>: 16 bytes for SM4, 32 for AES-256.</summary>
    int AeadKeySizeBytes { get; }

    /// <summary>A new key pair held in process memory. Uses the operating system's CSPRNG.</summary>
    SoftwareKey GenerateKey();

    /// <summary>Rebuilds a software key from its 32-byte private scalar (as stored in an encrypted key file).</summary>
    bool TryImportPrivateKey(ReadOnlySpan<byte> scalar, out SoftwareKey key, out CustosError error);

    /// <summary>Decodes and validates a SEC1 uncompressed public key (point on the curve, not infinity).</summary>
    bool TryDecodePublicKey(ReadOnlySpan<byte> encoded, out PublicKey key, out CustosError error);

    /// <summary>Verifies a 64-byte r||s signature over <paramref name="message"/>. False on any defect, never throws.</summary>
    bool Verify(PublicKey key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature);

    /// <summary>
    /// Verifies with an explicit SM2 signer identity (the ID in Z_A). Only X.509 objects need it: GB/T 35276 names
    /// "1234567812345678" the default, while OpenSSL 1.1.1 to 3.x sign and verify certificates with an empty identity.
    /// Suites without signer identities ignore it.
    /// </summary>
    bool Verify(PublicKey key, ReadOnlySpan<byte> signerId, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature);

    /// <summary>Verifies a signature over <see cref="SigningDomain.Prefix"/>(<paramref name="type"/>) || <paramref name="payload"/> without copying.</summary>
    bool VerifyObject(PublicKey key, ObjectType type, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature);

    /// <summary>Randomised public-key encryption to <paramref name="recipient"/> (SM2 encryption, C1||C3||C2; or ECIES).</summary>
    byte[] Encrypt(PublicKey recipient, ReadOnlySpan<byte> plaintext);

    /// <summary>Authenticated encryption: SM4-GCM or AES-256-GCM with a 12-byte nonce and a 16-byte tag appended.</summary>
    byte[] AeadEncrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData);

    /// <summary>Inverse of <see cref="AeadEncrypt"/>; false (and no plaintext) if the tag does not verify.</summary>
    bool TryAeadDecrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData, out byte[] plaintext);

    /// <summary>PBKDF2 with the suite's HMAC (HMAC-SM3 or HMAC-SHA256): turns a passphrase into a key.</summary>
    byte[] DeriveKeyFromPassphrase(ReadOnlySpan<char> passphrase, ReadOnlySpan<byte> salt, int iterations, int lengthBytes);

    /// <summary>
    /// Authenticated key agreement between two parties, each with a static key and a fresh ephemeral key
    /// (SM2 key exchange of GB/T 32918.3 on gm; ECDH "3DH" with HKDF-SHA256 on intl). Both sides get the same key.
    /// </summary>
    byte[] AgreeKey(SoftwareKey ownStatic, SoftwareKey ownEphemeral, PublicKey peerStatic, PublicKey peerEphemeral,
        bool initiator, ReadOnlySpan<byte> ownId, ReadOnlySpan<byte> peerId, int lengthBytes);
}

/// <summary>A private key that can sign: in process memory (<see cref="SoftwareKey"/>) or in an HSM.</summary>
public interface ISigningKey : IDisposable
{
    CryptoSuiteId Suite { get; }

    PublicKey PublicKey { get; }

    /// <summary>Where the private key lives: "software" or "pkcs11".</summary>
    string Custody { get; }

    /// <summary>Writes a 64-byte r||s signature over <paramref name="message"/>.</summary>
    void Sign(ReadOnlySpan<byte> message, Span<byte> signature);

    /// <summary>
    /// Signs with an explicit SM2 signer identity (see <see cref="ICryptoSuite.Verify(PublicKey, ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>).
    /// Keys that can only sign with the default identity (some HSMs) refuse any other.
    /// </summary>
    void Sign(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signerId, Span<byte> signature)
    {
        if (Suite == CryptoSuiteId.Gm && !signerId.SequenceEqual(GmCryptoSuite.DefaultUserId))
        {
            throw new CustosException(ErrorCode.HsmFailure, $"a {Custody} key of this kind signs only with the default SM2 identity");
        }

        Sign(message, signature);
    }
}

public static class SigningKeyExtensions
{
    public static byte[] Sign(this ISigningKey key, ReadOnlySpan<byte> message)
    {
        var signature = new byte[WireLimits.SignatureSizeBytes];
        key.Sign(message, signature);
        return signature;
    }

    /// <summary>Signs <see cref="SigningDomain.Prefix"/>(<paramref name="type"/>) || <paramref name="payload"/>.</summary>
    public static byte[] SignObject(this ISigningKey key, ObjectType type, ReadOnlySpan<byte> payload) =>
        key.Sign(SigningDomain.Wrap(type, payload));
}
