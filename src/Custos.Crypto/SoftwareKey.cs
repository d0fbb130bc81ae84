using System.Security.Cryptography;
using Custos.Core.Wire;

namespace Custos.Crypto;

/// <summary>
/// A private key held in process memory. Signing, decryption and key agreement run on vetted constant-time code
/// (BouncyCastle for SM2, the platform's OpenSSL for P-256). The scalar is wiped on dispose. Export it only to
/// write an encrypted key file (<see cref="Custody.EncryptedKeyFile"/>).
/// </summary>
public abstract class SoftwareKey : ISigningKey
{
    private readonly byte[] _scalar;
    private bool _disposed;

    private protected SoftwareKey(CryptoSuiteId suite, byte[] scalar, PublicKey publicKey)
    {
        Suite = suite;
        _scalar = scalar;
        PublicKey = publicKey;
    }

    public CryptoSuiteId Suite { get; }

    public PublicKey PublicKey { get; }

    public string Custody => "software";

    private protected ReadOnlySpan<byte> Scalar
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _scalar;
        }
    }

    public abstract void Sign(ReadOnlySpan<byte> message, Span<byte> signature);

    /// <summary>Software keys sign with any SM2 signer identity; the international suite has none and ignores it.</summary>
    public abstract void Sign(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signerId, Span<byte> signature);

    /// <summary>Decrypts what <see cref="ICryptoSuite.Encrypt"/> made for this key; false if it was not, or was altered.</summary>
    public abstract bool TryDecrypt(ReadOnlySpan<byte> ciphertext, out byte[] plaintext);

    /// <summary>The 32-byte private scalar. The caller must wipe it (<see cref="CryptographicOperations.ZeroMemory"/>).</summary>
    public byte[] ExportPrivateScalar() => Scalar.ToArray();

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        CryptographicOperations.ZeroMemory(_scalar);
        DisposeCore();
        GC.SuppressFinalize(this);
    }

    private protected virtual void DisposeCore()
    {
    }
}
