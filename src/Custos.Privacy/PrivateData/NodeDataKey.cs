using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;

namespace Custos.Privacy.PrivateData;

/// <summary>
/// The symmetric key under which a node keeps private data at rest (PRI-4). It is kept the way the node keeps its
/// keys (<see cref="KeyCustody"/>): a dedicated key in an encrypted key file (<c>custos-key/1</c>: PBKDF2 from a
/// passphrase read through a <see cref="SecretSource"/>, sealed with SM4-GCM, mode 0600), from whose private scalar
/// the data key is derived as H(domain ‖ scalar). So the data key is never on disk in the clear, its backup is the
/// key file's backup, and its passphrase comes from configuration exactly as the node key's does. A PKCS#11 key
/// cannot be used: its scalar never leaves the token.
/// </summary>
public sealed class NodeDataKey : IDisposable
{
    private readonly byte[] _key;
    private bool _disposed;

    private NodeDataKey(ICryptoSuite suite, byte[] key)
    {
        Suite = suite;
        _key = key;
    }

    public ICryptoSuite Suite { get; }

    internal ReadOnlySpan<byte> Key
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key;
        }
    }

    /// <summary>
    /// Opens the key file at <paramref name="keyReference"/> (a <c>file:</c> reference), creating it first when it
    /// does not exist and <paramref name="create"/> is set (on first start of a node).
    /// </summary>
    public static NodeDataKey Open(string keyReference, ICryptoSuite suite, SecretSource passphrase, bool create)
    {
        if (KeyReference.Parse(keyReference) is not KeyFileReference file)
        {
            throw new CustosException(ErrorCode.InvalidField, "the node data key is a file: key (a PKCS#11 key cannot derive a data key)");
        }

        var generate = create && !File.Exists(file.Path);
        if (generate && Path.GetDirectoryName(Path.GetFullPath(file.Path)) is { } directory) Directory.CreateDirectory(directory);
        var signingKey = generate
            ? KeyCustody.Generate(keyReference, suite, passphrase)
            : KeyCustody.Open(keyReference, suite, passphrase);
        using (signingKey)
        {
            if (signingKey is not SoftwareKey software) throw new CustosException(ErrorCode.InvalidField, "the node data key must be a software key");
            var scalar = software.ExportPrivateScalar();
            try
            {
                return FromSecret(suite, scalar);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(scalar);
            }
        }
    }

    /// <summary>Derives the data key from a secret of at least 16 bytes (a key scalar; in tests, random bytes).</summary>
    public static NodeDataKey FromSecret(ICryptoSuite suite, ReadOnlySpan<byte> secret)
    {
        if (secret.Length < 16) throw new CustosException(ErrorCode.InvalidLength, "a node data key secret has at least 16 bytes");
        using var accumulator = suite.Begin();
        accumulator.Append(PrivacyDomains.NodeDataKey);
        accumulator.Append(secret);
        var digest = accumulator.Finish().ToArray();
        var key = digest[..suite.AeadKeySizeBytes];
        CryptographicOperations.ZeroMemory(digest);
        return new NodeDataKey(suite, key);
    }

    /// <summary>A fresh random key held only in memory (tests, and nodes that keep no private data across restarts).</summary>
    public static NodeDataKey Ephemeral(ICryptoSuite suite) => FromSecret(suite, RandomNumberGenerator.GetBytes(32));

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }
}
