namespace Custos.Identity.Pseudonyms;

/// <summary>
/// Bounds checked before a credential or a released share is parsed, and the fixed sizes of the scheme. Part of the
/// format: changing one changes which credentials are valid.
/// </summary>
public static class CredentialLimits
{
    public const uint FormatVersion = 1;

    /// <summary>At most this many escrow authorities (n) per credential.</summary>
    public const int AuthoritiesMax = 16;

    public const int CredentialSizeBytesMax = 16 * 1024;

    public const int ReleasedShareSizeBytesMax = 4096;

    public const int OrganisationLengthMax = 64;

    public const int AuthorityNameLengthMax = 64;

    public const int CaseReferenceLengthMax = 128;

    /// <summary>
    /// Every sealed identity has this plaintext size (length prefix, encoded identity, zero padding), so the length
    /// of a sealed identity says nothing about the person.
    /// </summary>
    public const int SealedIdentityPlaintextSizeBytes = 1024;

    public const int AeadNonceSizeBytes = 12;

    public const int AeadTagSizeBytes = 16;

    public const int SaltSizeBytes = 32;

    /// <summary>Upper bound on an escrow share's ciphertext (the plaintext is 154 bytes; SM2 and ECIES add under 100).</summary>
    public const int ShareCiphertextSizeBytesMax = 512;

    public const int LegalNameLengthMax = 128;

    public const int DocumentNumberLengthMax = 32;

    public const int CustomerReferenceLengthMax = 64;
}
