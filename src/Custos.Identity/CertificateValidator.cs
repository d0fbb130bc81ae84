using System.Collections.Frozen;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;

namespace Custos.Identity;

/// <summary>Who a validated certificate speaks for.</summary>
public sealed record ValidatedIdentity(string Organisation, string CommonName, CertificateRole Role, ConsortiumCertificate Certificate);

/// <summary>
/// Decides whether a presented certificate is trusted: issued directly by one of the consortium's organisation root
/// CAs (from genesis and governance), signature valid under the chain's suite, inside its validity period at the
/// given time, a leaf with digital-signature key usage, carrying one of the expected roles, and not revoked.
/// Immutable: a revocation or a new organisation produces a new validator.
/// </summary>
public sealed class CertificateValidator
{
    private readonly ICryptoSuite _suite;
    private readonly FrozenDictionary<string, ConsortiumCertificate> _authorities;
    private readonly FrozenDictionary<string, FrozenSet<string>> _revoked;

    public CertificateValidator(ICryptoSuite suite, IEnumerable<ConsortiumCertificate> authorities, IEnumerable<RevocationList>? revocationLists = null,
        IEnumerable<(string Issuer, string Serial)>? revokedByGovernance = null)
    {
        _suite = suite;
        var byName = new Dictionary<string, ConsortiumCertificate>(StringComparer.Ordinal);
        foreach (var authority in authorities)
        {
            var error = CheckAuthority(authority);
            if (error is not null) throw error.ToException();
            if (!byName.TryAdd(authority.Subject, authority))
            {
                throw new CustosException(ErrorCode.CertificateUntrusted, $"two consortium CAs share the name {authority.Subject}");
            }
        }

        _authorities = byName.ToFrozenDictionary(StringComparer.Ordinal);
        var revoked = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var list in revocationLists ?? [])
        {
            if (!_authorities.ContainsKey(list.Issuer))
            {
                throw new CustosException(ErrorCode.RevocationListInvalid, $"revocation list from {list.Issuer}, which is not a consortium CA");
            }

            AddAll(revoked, list.Issuer, list.RevokedSerials);
        }

        foreach (var (issuer, serial) in revokedByGovernance ?? [])
        {
            AddAll(revoked, issuer, [serial.ToLowerInvariant()]);
        }

        _revoked = revoked.ToFrozenDictionary(p => p.Key, p => p.Value.ToFrozenSet(StringComparer.Ordinal), StringComparer.Ordinal);
    }

    public ICryptoSuite Suite => _suite;

    public IReadOnlyCollection<ConsortiumCertificate> Authorities => _authorities.Values;

    public bool TryValidate(ReadOnlySpan<byte> der, DateTimeOffset at, IReadOnlyCollection<CertificateRole> acceptedRoles, out ValidatedIdentity identity, out CustosError error)
    {
        identity = null!;
        if (!ConsortiumCertificate.TryDecode(der, _suite, out var certificate, out error)) return false;
        return TryValidate(certificate, at, acceptedRoles, out identity, out error);
    }

    public bool TryValidate(ConsortiumCertificate certificate, DateTimeOffset at, IReadOnlyCollection<CertificateRole> acceptedRoles, out ValidatedIdentity identity, out CustosError error)
    {
        identity = null!;
        error = Check(certificate, at, acceptedRoles)!;
        if (error is not null) return false;
        identity = new ValidatedIdentity(certificate.Organisation, certificate.CommonName, certificate.Role!.Value, certificate);
        return true;
    }

    public ValidatedIdentity Validate(ConsortiumCertificate certificate, DateTimeOffset at, params CertificateRole[] acceptedRoles) =>
        TryValidate(certificate, at, acceptedRoles, out var identity, out var error) ? identity : throw error.ToException();

    private CustosError? Check(ConsortiumCertificate certificate, DateTimeOffset at, IReadOnlyCollection<CertificateRole> acceptedRoles)
    {
        if (!_authorities.TryGetValue(certificate.Issuer, out var authority))
        {
            return new CustosError(ErrorCode.CertificateUntrusted, $"issuer {certificate.Issuer} is not a consortium CA");
        }

        if (authority.SubjectKeyIdentifier is { } ski && certificate.AuthorityKeyIdentifier is { } aki && !ski.AsSpan().SequenceEqual(aki))
        {
            return new CustosError(ErrorCode.CertificateUntrusted, $"certificate names a key of {certificate.Issuer} that is not the consortium's");
        }

        if (!VerifySignature(certificate, authority))
        {
            return new CustosError(ErrorCode.CertificateSignatureInvalid, $"signature of {certificate.Subject} does not verify under {authority.Subject}");
        }

        // The certificate's own period first, so that a leaf issued "tomorrow" says so rather than blaming its CA.
        if (at < certificate.NotBefore)
        {
            return new CustosError(ErrorCode.CertificateNotYetValid, $"certificate {certificate.Subject} is valid from {certificate.NotBefore:u}");
        }

        if (at > certificate.NotAfter)
        {
            return new CustosError(ErrorCode.CertificateExpired, $"certificate {certificate.Subject} expired at {certificate.NotAfter:u}");
        }

        if (at < authority.NotBefore)
        {
            return new CustosError(ErrorCode.CertificateNotYetValid, $"issuing CA {authority.Subject} is valid from {authority.NotBefore:u}");
        }

        if (at > authority.NotAfter)
        {
            return new CustosError(ErrorCode.CertificateExpired, $"issuing CA {authority.Subject} expired at {authority.NotAfter:u}");
        }

        if (certificate.IsCertificateAuthority || !certificate.HasKeyUsage(KeyUsageBit.DigitalSignature))
        {
            return new CustosError(ErrorCode.CertificateKeyUsage, $"certificate {certificate.Subject} is not an end-entity signing certificate");
        }

        if (_revoked.TryGetValue(authority.Subject, out var revoked) && revoked.Contains(certificate.SerialNumber))
        {
            return new CustosError(ErrorCode.CertificateRevoked, $"certificate {certificate.Subject} (serial {certificate.SerialNumber}) is revoked");
        }

        if (certificate.Role is not { } role)
        {
            return new CustosError(ErrorCode.CertificateWrongRole, $"certificate {certificate.Subject} carries no Custos role");
        }

        if (acceptedRoles.Count > 0 && !acceptedRoles.Contains(role))
        {
            return new CustosError(ErrorCode.CertificateWrongRole, $"certificate {certificate.Subject} has role {role}, expected {string.Join(" or ", acceptedRoles)}");
        }

        if (certificate.Organisation != authority.Organisation)
        {
            return new CustosError(ErrorCode.CertificateUntrusted, $"certificate claims organisation '{certificate.Organisation}' but was issued by {authority.Subject}");
        }

        return null;
    }

    private CustosError? CheckAuthority(ConsortiumCertificate authority)
    {
        if (!authority.IsCertificateAuthority || !authority.HasKeyUsage(KeyUsageBit.KeyCertSign) || !authority.IsSelfIssued)
        {
            return new CustosError(ErrorCode.CertificateKeyUsage, $"{authority.Subject} is not a self-signed CA certificate");
        }

        return VerifySignature(authority, authority)
            ? null
            : new CustosError(ErrorCode.CertificateSignatureInvalid, $"self-signature of {authority.Subject} does not verify");
    }

    private bool VerifySignature(ConsortiumCertificate certificate, ConsortiumCertificate issuer) =>
        SigningKeySignatureFactory.Verify(_suite, issuer.PublicKey, certificate.Certificate.GetTbsCertificate(), certificate.Certificate.GetSignature());

    private static void AddAll(Dictionary<string, HashSet<string>> revoked, string issuer, IEnumerable<string> serials)
    {
        if (!revoked.TryGetValue(issuer, out var set)) revoked[issuer] = set = new HashSet<string>(StringComparer.Ordinal);
        set.UnionWith(serials);
    }
}
