using Custos.Crypto;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// A private key that can decrypt what <see cref="ICryptoSuite.Encrypt"/> made for its public key: an escrow
/// authority's key (to take its share out of a credential) or a requester's (to read released shares). An HSM can
/// implement it; <see cref="SoftwareDecryptionKey"/> wraps a key in process memory.
/// </summary>
public interface IDecryptionKey
{
    PublicKey PublicKey { get; }

    /// <summary>False (and no plaintext) if the ciphertext was not made for this key or was altered.</summary>
    bool TryDecrypt(ReadOnlySpan<byte> ciphertext, out byte[] plaintext);
}

/// <summary>A <see cref="SoftwareKey"/> as a decryption key. Does not own the key: disposing it stays the caller's job.</summary>
public sealed class SoftwareDecryptionKey(SoftwareKey key) : IDecryptionKey
{
    public PublicKey PublicKey => key.PublicKey;

    public bool TryDecrypt(ReadOnlySpan<byte> ciphertext, out byte[] plaintext) => key.TryDecrypt(ciphertext, out plaintext);
}

public static class DecryptionKeyExtensions
{
    public static IDecryptionKey AsDecryptionKey(this SoftwareKey key) => new SoftwareDecryptionKey(key);
}
