using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Math.EC.Multiplier;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Custos.Crypto;

/// <summary>
/// The international suite: ECDSA on P-256 with SHA-256, ECIES (P-256 ECDH, HKDF-SHA256, AES-256-GCM),
/// AES-256-GCM, PBKDF2-HMAC-SHA256, and an ECDH "3DH" key agreement. Everything secret runs in the platform's
/// OpenSSL through System.Security.Cryptography.
/// </summary>
public sealed class IntlCryptoSuite : ICryptoSuite
{
    private static readonly X9ECParameters Curve = CustomNamedCurves.GetByOid(SecObjectIdentifiers.SecP256r1);
    private static readonly byte[] EciesInfo = "custos/v1/ecies"u8.ToArray();
    private static readonly byte[] AgreementInfo = "custos/v1/key-agreement"u8.ToArray();

    public CryptoSuiteId Id => CryptoSuiteId.Intl;

    public string Name => "intl";

    public string SignatureAlgorithmOid => "1.2.840.10045.4.3.2";

    public string SignatureAlgorithmName => "SHA256WITHECDSA";

    public string CurveOid => SecObjectIdentifiers.SecP256r1.Id;

    public int AeadKeySizeBytes => 32;

    public IHashAccumulator Begin() => new Sha256Accumulator();

    public SoftwareKey GenerateKey()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = ecdsa.ExportParameters(includePrivateParameters: true);
        return new IntlSoftwareKey(parameters.D!, CreatePublicKey(Encode(parameters.Q)));
    }

    public bool TryImportPrivateKey(ReadOnlySpan<byte> scalar, out SoftwareKey key, out CustosError error)
    {
        key = null!;
        var d = new BcBigInteger(1, scalar.ToArray());
        if (scalar.Length != 32 || d.SignValue <= 0 || d.CompareTo(Curve.N) >= 0)
        {
            error = new CustosError(ErrorCode.PrivateKeyInvalid, "a P-256 private key is a 32-byte scalar in [1, n-1]");
            return false;
        }

        // Public point from the scalar with a fixed-point comb (regular, constant-time in the scalar).
        var q = new FixedPointCombMultiplier().Multiply(Curve.G, d).Normalize();
        key = new IntlSoftwareKey(scalar.ToArray(), CreatePublicKey(q.GetEncoded(compressed: false)));
        error = null!;
        return true;
    }

    public bool TryDecodePublicKey(ReadOnlySpan<byte> encoded, out PublicKey key, out CustosError error)
    {
        key = null!;
        if (!IsValidPoint(encoded))
        {
            error = new CustosError(ErrorCode.PublicKeyInvalid, "not an uncompressed point on P-256");
            return false;
        }

        key = CreatePublicKey(encoded.ToArray());
        error = null!;
        return true;
    }

    private static bool IsValidPoint(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != 65 || encoded[0] != 0x04) return false;
        try
        {
            var point = Curve.Curve.DecodePoint(encoded.ToArray());
            return !point.IsInfinity && point.IsValid();
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static PublicKey CreatePublicKey(byte[] encoded)
    {
        var ecdsa = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = Decode(encoded) });
        return new PublicKey(CryptoSuiteId.Intl, encoded, new PreparedP256Key(ecdsa));
    }

    internal static ECPoint Decode(ReadOnlySpan<byte> encoded) => new() { X = encoded[1..33].ToArray(), Y = encoded[33..65].ToArray() };

    internal static byte[] Encode(ECPoint point)
    {
        var encoded = new byte[65];
        encoded[0] = 0x04;
        point.X!.CopyTo(encoded, 1);
        point.Y!.CopyTo(encoded, 33);
        return encoded;
    }

    public bool Verify(PublicKey key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (key.Suite != CryptoSuiteId.Intl || key.Prepared is not PreparedP256Key prepared || signature.Length != 64) return false;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(message, hash);
        return prepared.VerifyHash(hash, signature);
    }

    public bool Verify(PublicKey key, ReadOnlySpan<byte> signerId, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        Verify(key, message, signature);

    public bool VerifyObject(PublicKey key, ObjectType type, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature)
    {
        if (key.Suite != CryptoSuiteId.Intl || key.Prepared is not PreparedP256Key prepared || signature.Length != 64) return false;
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hasher.AppendData(SigningDomain.Prefix(type));
        hasher.AppendData(payload);
        Span<byte> hash = stackalloc byte[32];
        hasher.GetHashAndReset(hash);
        return prepared.VerifyHash(hash, signature);
    }

    public byte[] Encrypt(PublicKey recipient, ReadOnlySpan<byte> plaintext)
    {
        if (recipient.Suite != CryptoSuiteId.Intl) throw new CustosException(ErrorCode.SuiteMismatch, "the key is not a P-256 key");
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var peer = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = Decode(recipient.Encoded) });
        var ephemeralPublic = Encode(ephemeral.ExportParameters(includePrivateParameters: false).Q);
        var shared = ephemeral.DeriveRawSecretAgreement(peer.PublicKey);
        var key = EciesKey(shared, ephemeralPublic, recipient.Encoded);
        try
        {
            var output = new byte[65 + plaintext.Length + 16];
            ephemeralPublic.CopyTo(output, 0);
            using var aes = new AesGcm(key, 16);
            // The key is used once, so a fixed nonce is safe.
            aes.Encrypt(stackalloc byte[12], plaintext, output.AsSpan(65, plaintext.Length), output.AsSpan(65 + plaintext.Length), ephemeralPublic);
            return output;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    private static byte[] EciesKey(byte[] shared, ReadOnlySpan<byte> ephemeralPublic, ReadOnlySpan<byte> recipientPublic)
    {
        var salt = new byte[130];
        ephemeralPublic.CopyTo(salt);
        recipientPublic.CopyTo(salt.AsSpan(65));
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, salt, EciesInfo);
    }

    public byte[] AeadEncrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        CheckAeadSizes(key, nonce);
        var output = new byte[plaintext.Length + 16];
        using var aes = new AesGcm(key, 16);
        aes.Encrypt(nonce, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), associatedData);
        return output;
    }

    public bool TryAeadDecrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData, out byte[] plaintext)
    {
        CheckAeadSizes(key, nonce);
        plaintext = [];
        if (ciphertextAndTag.Length < 16) return false;
        var length = ciphertextAndTag.Length - 16;
        var output = new byte[length];
        using var aes = new AesGcm(key, 16);
        try
        {
            aes.Decrypt(nonce, ciphertextAndTag[..length], ciphertextAndTag[length..], output, associatedData);
            plaintext = output;
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private static void CheckAeadSizes(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce)
    {
        if (key.Length != 32) throw new CustosException(ErrorCode.InvalidLength, $"an AES-256 key is 32 bytes, got {key.Length}");
        if (nonce.Length != 12) throw new CustosException(ErrorCode.InvalidLength, $"a GCM nonce is 12 bytes, got {nonce.Length}");
    }

    public byte[] DeriveKeyFromPassphrase(ReadOnlySpan<char> passphrase, ReadOnlySpan<byte> salt, int iterations, int lengthBytes) =>
        Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, iterations, HashAlgorithmName.SHA256, lengthBytes);

    public byte[] AgreeKey(SoftwareKey ownStatic, SoftwareKey ownEphemeral, PublicKey peerStatic, PublicKey peerEphemeral,
        bool initiator, ReadOnlySpan<byte> ownId, ReadOnlySpan<byte> peerId, int lengthBytes)
    {
        var staticKey = IntlSoftwareKey.Of(ownStatic);
        var ephemeralKey = IntlSoftwareKey.Of(ownEphemeral);
        // Three Diffie-Hellman values in initiator/responder order: (I static, R ephemeral), (I ephemeral, R static),
        // (I ephemeral, R ephemeral). Static keys authenticate; ephemeral keys give forward secrecy.
        var first = initiator ? staticKey.Agree(peerEphemeral) : ephemeralKey.Agree(peerStatic);
        var second = initiator ? ephemeralKey.Agree(peerStatic) : staticKey.Agree(peerEphemeral);
        var third = ephemeralKey.Agree(peerEphemeral);
        var secret = new byte[96];
        first.CopyTo(secret, 0);
        second.CopyTo(secret, 32);
        third.CopyTo(secret, 64);
        var initiatorId = initiator ? ownId : peerId;
        var responderId = initiator ? peerId : ownId;
        var info = new byte[AgreementInfo.Length + 4 + initiatorId.Length + responderId.Length];
        AgreementInfo.CopyTo(info, 0);
        var offset = AgreementInfo.Length;
        info[offset++] = (byte)(initiatorId.Length >> 8);
        info[offset++] = (byte)initiatorId.Length;
        initiatorId.CopyTo(info.AsSpan(offset));
        offset += initiatorId.Length;
        info[offset++] = (byte)(responderId.Length >> 8);
        info[offset++] = (byte)responderId.Length;
        responderId.CopyTo(info.AsSpan(offset));
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, lengthBytes, salt: [], info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(first);
            CryptographicOperations.ZeroMemory(second);
            CryptographicOperations.ZeroMemory(third);
        }
    }

    /// <summary>The platform ECDsa object for a public key. OpenSSL key handles are not documented as thread-safe, so calls are serialised per key.</summary>
    private sealed class PreparedP256Key(ECDsa ecdsa)
    {
        private readonly Lock _gate = new();

        public bool VerifyHash(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> signature)
        {
            lock (_gate)
            {
                return ecdsa.VerifyHash(hash, signature, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            }
        }
    }

    private sealed class Sha256Accumulator : IHashAccumulator
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

        public Hash32 Finish()
        {
            Span<byte> output = stackalloc byte[32];
            _hash.GetHashAndReset(output);
            return new Hash32(output);
        }

        public void Dispose() => _hash.Dispose();
    }

    private sealed class IntlSoftwareKey : SoftwareKey
    {
        private readonly ECDsa _ecdsa;

        public IntlSoftwareKey(byte[] scalar, PublicKey publicKey)
            : base(CryptoSuiteId.Intl, scalar, publicKey)
        {
            _ecdsa = ECDsa.Create(Parameters(scalar, publicKey));
        }

        public static IntlSoftwareKey Of(SoftwareKey key) =>
            key as IntlSoftwareKey ?? throw new CustosException(ErrorCode.SuiteMismatch, "the key is not a P-256 software key");

        private static ECParameters Parameters(ReadOnlySpan<byte> scalar, PublicKey publicKey) => new()
        {
            Curve = ECCurve.NamedCurves.nistP256,
            D = scalar.ToArray(),
            Q = Decode(publicKey.Encoded),
        };

        public override void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
        {
            _ = Scalar;
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(message, hash);
            lock (_ecdsa)
            {
                if (!_ecdsa.TrySignHash(hash, signature, DSASignatureFormat.IeeeP1363FixedFieldConcatenation, out var written) || written != 64)
                {
                    throw new CryptographicException("ECDSA signing failed");
                }
            }
        }

        public override void Sign(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signerId, Span<byte> signature) => Sign(message, signature);

        public byte[] Agree(PublicKey peer)
        {
            if (peer.Suite != CryptoSuiteId.Intl) throw new CustosException(ErrorCode.SuiteMismatch, "the key is not a P-256 key");
            using var own = ECDiffieHellman.Create(Parameters(Scalar, PublicKey));
            using var other = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = Decode(peer.Encoded) });
            return own.DeriveRawSecretAgreement(other.PublicKey);
        }

        public override bool TryDecrypt(ReadOnlySpan<byte> ciphertext, out byte[] plaintext)
        {
            plaintext = [];
            if (ciphertext.Length < 65 + 16 || !IsValidPoint(ciphertext[..65])) return false;
            var ephemeralPublic = ciphertext[..65];
            using var own = ECDiffieHellman.Create(Parameters(Scalar, PublicKey));
            using var peer = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = Decode(ephemeralPublic) });
            var shared = own.DeriveRawSecretAgreement(peer.PublicKey);
            var key = EciesKey(shared, ephemeralPublic, PublicKey.Encoded);
            try
            {
                var length = ciphertext.Length - 65 - 16;
                var output = new byte[length];
                using var aes = new AesGcm(key, 16);
                aes.Decrypt(stackalloc byte[12], ciphertext.Slice(65, length), ciphertext[(65 + length)..], output, ephemeralPublic);
                plaintext = output;
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
                CryptographicOperations.ZeroMemory(shared);
            }
        }

        private protected override void DisposeCore() => _ecdsa.Dispose();
    }
}
