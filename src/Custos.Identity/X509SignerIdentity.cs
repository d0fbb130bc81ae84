namespace Custos.Identity;

/// <summary>
/// The SM2 signer identity (the ID hashed into Z_A) a CA signs X.509 certificates and revocation lists with.
/// GB/T 35276 names "1234567812345678" the default; OpenSSL 1.1.1 to 3.x (Debian 12's openssl among them) sign
/// and verify certificates with an empty identity unless told otherwise. Custos signs with the one the consortium
/// chooses at init (empty by default, so the standard openssl tool verifies its chains) and, when verifying,
/// accepts either, because both are in use by real CAs. See docs/decisions/0001-sm2-identity-in-x509.md.
/// Irrelevant to the intl suite.
/// </summary>
public enum X509SignerIdentity
{
    /// <summary>Empty identity: what <c>openssl verify</c> 1.1.1-3.x checks by default.</summary>
    Empty = 0,

    /// <summary>"1234567812345678", the GB/T 35276 default that CAs such as CFCA use.</summary>
    GbT35276Default = 1,
}

internal static class X509SignerIdentities
{
    private static readonly byte[] EmptyId = [];
    private static readonly byte[] DefaultId = "1234567812345678"u8.ToArray();

    public static ReadOnlySpan<byte> Bytes(this X509SignerIdentity identity) => identity switch
    {
        X509SignerIdentity.GbT35276Default => DefaultId,
        _ => EmptyId,
    };

    /// <summary>Identities a verifier accepts for X.509 objects, most likely first.</summary>
    public static readonly X509SignerIdentity[] Accepted = [X509SignerIdentity.Empty, X509SignerIdentity.GbT35276Default];
}
