using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;

namespace Custos.Identity;

/// <summary>What a new leaf certificate should say.</summary>
public sealed record CertificateRequest(string CommonName, CertificateRole Role, PublicKey PublicKey)
{
    /// <summary>DNS names for the subject alternative name (nodes: the names peers dial).</summary>
    public IReadOnlyList<string> DnsNames { get; init; } = [];

    /// <summary>IP addresses for the subject alternative name.</summary>
    public IReadOnlyList<string> IpAddresses { get; init; } = [];

    public TimeSpan Lifetime { get; init; } = TimeSpan.FromDays(365);
}

/// <summary>
/// An organisation's root certificate authority: issues role certificates and revocation lists, signing with a key
/// in a key file or an HSM. Serial numbers are 127-bit random, as RFC 5280 and the CA/B forum advise.
/// </summary>
public sealed class CertificateAuthority
{
    private readonly ISigningKey _key;
    private readonly ICryptoSuite _suite;
    private readonly TimeProvider _clock;
    private readonly SecureRandom _random = new();

    public CertificateAuthority(ConsortiumCertificate certificate, ISigningKey key, ICryptoSuite suite, TimeProvider? clock = null,
        X509SignerIdentity signerIdentity = X509SignerIdentity.Empty)
    {
        if (!certificate.IsCertificateAuthority || !certificate.PublicKey.Equals(key.PublicKey))
        {
            throw new CustosException(ErrorCode.CertificateKeyUsage, "the certificate is not a CA certificate for this key");
        }

        Certificate = certificate;
        _key = key;
        _suite = suite;
        _clock = clock ?? TimeProvider.System;
        SignerIdentity = signerIdentity;
    }

    /// <summary>The SM2 identity this CA signs X.509 objects with.</summary>
    public X509SignerIdentity SignerIdentity { get; }

    public ConsortiumCertificate Certificate { get; }

    public string Organisation => Certificate.Organisation;

    /// <summary>Creates a self-signed root CA certificate for an organisation.</summary>
    public static CertificateAuthority CreateRoot(string organisation, ISigningKey key, ICryptoSuite suite, TimeSpan lifetime, TimeProvider? clock = null,
        X509SignerIdentity signerIdentity = X509SignerIdentity.Empty)
    {
        clock ??= TimeProvider.System;
        var now = clock.GetUtcNow();
        var name = new X509Name($"C=CN,O={Escape(organisation)},OU=ca,CN={Escape(organisation)} Root CA");
        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(NewSerial(new SecureRandom()));
        generator.SetIssuerDN(name);
        generator.SetSubjectDN(name);
        generator.SetNotBefore(now.UtcDateTime.AddMinutes(-5));
        generator.SetNotAfter(now.Add(lifetime).UtcDateTime);
        var publicKey = ToBouncyCastle(key.PublicKey, suite);
        generator.SetPublicKey(publicKey);
        generator.AddExtension(X509Extensions.BasicConstraints, critical: true, new BasicConstraints(0));
        generator.AddExtension(X509Extensions.KeyUsage, critical: true, new KeyUsage(KeyUsage.KeyCertSign | KeyUsage.CrlSign | KeyUsage.DigitalSignature));
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, critical: false, X509ExtensionUtilities.CreateSubjectKeyIdentifier(publicKey));
        var certificate = generator.Generate(new SigningKeySignatureFactory(key, suite, signerIdentity));
        return new CertificateAuthority(ConsortiumCertificate.Decode(certificate.GetEncoded(), suite), key, suite, clock, signerIdentity);
    }

    /// <summary>Issues a leaf certificate carrying the requested role.</summary>
    public ConsortiumCertificate Issue(CertificateRequest request)
    {
        if (request.PublicKey.Suite != _suite.Id)
        {
            throw new CustosException(ErrorCode.CertificateSuiteMismatch, "the request's key belongs to another suite");
        }

        var now = _clock.GetUtcNow();
        var notAfter = now.Add(request.Lifetime);
        if (notAfter > Certificate.NotAfter) notAfter = Certificate.NotAfter;
        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(NewSerial(_random));
        generator.SetIssuerDN(Certificate.Certificate.SubjectDN);
        generator.SetSubjectDN(new X509Name($"C=CN,O={Escape(Organisation)},OU={RoleName(request.Role)},CN={Escape(request.CommonName)}"));
        generator.SetNotBefore(now.UtcDateTime.AddMinutes(-5));
        generator.SetNotAfter(notAfter.UtcDateTime);
        var publicKey = ToBouncyCastle(request.PublicKey, _suite);
        generator.SetPublicKey(publicKey);
        generator.AddExtension(X509Extensions.BasicConstraints, critical: true, new BasicConstraints(cA: false));
        // Digital signature for transactions and TLS; key agreement for the SM2 key exchange in the secure channel.
        generator.AddExtension(X509Extensions.KeyUsage, critical: true, new KeyUsage(KeyUsage.DigitalSignature | KeyUsage.NonRepudiation | KeyUsage.KeyAgreement));
        generator.AddExtension(X509Extensions.ExtendedKeyUsage, critical: false, request.Role == CertificateRole.Node
            ? new ExtendedKeyUsage(KeyPurposeID.id_kp_serverAuth, KeyPurposeID.id_kp_clientAuth)
            : new ExtendedKeyUsage(KeyPurposeID.id_kp_clientAuth));
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, critical: false, X509ExtensionUtilities.CreateSubjectKeyIdentifier(publicKey));
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, critical: false, X509ExtensionUtilities.CreateAuthorityKeyIdentifier(Certificate.Certificate));
        generator.AddExtension(new DerObjectIdentifier(CustosOids.RoleExtension), critical: false, new DerEnumerated((int)request.Role));
        var names = request.DnsNames.Select(n => new GeneralName(GeneralName.DnsName, n))
            .Concat(request.IpAddresses.Select(ip => new GeneralName(GeneralName.IPAddress, ip)))
            .ToArray();
        if (names.Length > 0) generator.AddExtension(X509Extensions.SubjectAlternativeName, critical: false, new GeneralNames(names));
        var certificate = generator.Generate(new SigningKeySignatureFactory(_key, _suite, SignerIdentity));
        return ConsortiumCertificate.Decode(certificate.GetEncoded(), _suite);
    }

    /// <summary>Issues a signed X.509 v2 revocation list naming the given serial numbers (hexadecimal).</summary>
    public RevocationList IssueRevocationList(IEnumerable<string> revokedSerials, long number, TimeSpan validity)
    {
        var now = _clock.GetUtcNow();
        var generator = new X509V2CrlGenerator();
        generator.SetIssuerDN(Certificate.Certificate.SubjectDN);
        generator.SetThisUpdate(now.UtcDateTime);
        generator.SetNextUpdate(now.Add(validity).UtcDateTime);
        foreach (var serial in revokedSerials.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            generator.AddCrlEntry(new BigInteger(serial, 16), now.UtcDateTime, CrlReason.Unspecified);
        }

        generator.AddExtension(X509Extensions.CrlNumber, critical: false, new CrlNumber(BigInteger.ValueOf(number)));
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, critical: false, X509ExtensionUtilities.CreateAuthorityKeyIdentifier(Certificate.Certificate));
        var crl = generator.Generate(new SigningKeySignatureFactory(_key, _suite, SignerIdentity));
        return RevocationList.Decode(crl.GetEncoded(), Certificate, _suite);
    }

    internal static ECPublicKeyParameters ToBouncyCastle(PublicKey key, ICryptoSuite suite)
    {
        var curveOid = new DerObjectIdentifier(suite.CurveOid);
        var curve = Org.BouncyCastle.Crypto.EC.CustomNamedCurves.GetByOid(curveOid) ?? Org.BouncyCastle.Asn1.X9.ECNamedCurveTable.GetByOid(curveOid);
        return new ECPublicKeyParameters("EC", curve.Curve.DecodePoint(key.ToArray()), curveOid);
    }

    private static BigInteger NewSerial(SecureRandom random) => new BigInteger(127, random).SetBit(126);

    private static string RoleName(CertificateRole role) => role.ToString().ToLowerInvariant();

    // X509Name parses its string form, so separators inside values must be escaped.
    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace(",", "\\,").Replace("=", "\\=").Replace("+", "\\+");
}
