using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;

namespace Custos.Identity;

/// <summary>
/// A decoded certificate of the consortium PKI with the facts Custos decides on. Decoding checks structure and
/// suite only; whether the certificate is trusted is <see cref="CertificateValidator"/>'s question.
/// </summary>
public sealed class ConsortiumCertificate
{
    private readonly byte[] _der;

    private ConsortiumCertificate(byte[] der, X509Certificate certificate, PublicKey publicKey, CertificateRole? role, Hash32 fingerprint)
    {
        _der = der;
        Certificate = certificate;
        PublicKey = publicKey;
        Role = role;
        Fingerprint = fingerprint;
        Subject = certificate.SubjectDN.ToString();
        Issuer = certificate.IssuerDN.ToString();
        CommonName = FirstValue(certificate.SubjectDN, X509Name.CN) ?? string.Empty;
        Organisation = FirstValue(certificate.SubjectDN, X509Name.O) ?? string.Empty;
        SerialNumber = certificate.SerialNumber.ToString(16);
        NotBefore = new DateTimeOffset(certificate.NotBefore, TimeSpan.Zero);
        NotAfter = new DateTimeOffset(certificate.NotAfter, TimeSpan.Zero);
        IsCertificateAuthority = certificate.GetBasicConstraints() >= 0;
        SubjectKeyIdentifier = ReadSubjectKeyIdentifier(certificate);
        AuthorityKeyIdentifier = ReadAuthorityKeyIdentifier(certificate);
    }

    public ReadOnlySpan<byte> Der => _der;

    internal X509Certificate Certificate { get; }

    public PublicKey PublicKey { get; }

    /// <summary>The role extension's value, or null if the certificate has none (CA certificates have none).</summary>
    public CertificateRole? Role { get; }

    /// <summary>The chain hash (SM3 or SHA-256) of the DER encoding.</summary>
    public Hash32 Fingerprint { get; }

    public string Subject { get; }

    public string Issuer { get; }

    public string CommonName { get; }

    public string Organisation { get; }

    /// <summary>Lower-case hexadecimal, as revocation lists and logs name it.</summary>
    public string SerialNumber { get; }

    public DateTimeOffset NotBefore { get; }

    public DateTimeOffset NotAfter { get; }

    public bool IsCertificateAuthority { get; }

    public byte[]? SubjectKeyIdentifier { get; }

    public byte[]? AuthorityKeyIdentifier { get; }

    public bool IsSelfIssued => Subject == Issuer;

    /// <summary>Whether the key usage extension asserts <paramref name="usage"/>; false if the extension is absent.</summary>
    public bool HasKeyUsage(KeyUsageBit usage)
    {
        var bits = Certificate.GetKeyUsage();
        return bits is not null && (int)usage < bits.Length && bits[(int)usage];
    }

    public string ToPem() => Pem.Encode("CERTIFICATE", _der);

    public override string ToString() => $"{Subject} (serial {SerialNumber}, role {Role?.ToString() ?? "none"})";

    /// <summary>Decodes a DER certificate of the given suite. Never throws on bad input.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> der, ICryptoSuite suite, out ConsortiumCertificate certificate, out CustosError error)
    {
        certificate = null!;
        if (der.Length == 0 || der.Length > WireLimits.CertificateSizeBytesMax)
        {
            error = new CustosError(ErrorCode.CertificateMalformed, $"a certificate is 1 to {WireLimits.CertificateSizeBytesMax} bytes, got {der.Length}");
            return false;
        }

        var bytes = der.ToArray();
        X509Certificate parsed;
        try
        {
            // Parse strictly as one DER structure: trailing bytes or BER forms are refused.
            var structure = Asn1Object.FromByteArray(bytes);
            if (!structure.GetDerEncoded().AsSpan().SequenceEqual(bytes))
            {
                error = new CustosError(ErrorCode.CertificateMalformed, "certificate is not in DER form");
                return false;
            }

            parsed = new X509Certificate(X509CertificateStructure.GetInstance(structure));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // BouncyCastle's ASN.1 layer reports bad input through many exception types; all mean "malformed".
            error = new CustosError(ErrorCode.CertificateMalformed, $"certificate does not decode: {e.GetType().Name}");
            return false;
        }

        if (parsed.Version != 3)
        {
            error = new CustosError(ErrorCode.CertificateMalformed, $"certificate is X.509 v{parsed.Version}, v3 required");
            return false;
        }

        if (parsed.SigAlgOid != suite.SignatureAlgorithmOid)
        {
            error = new CustosError(ErrorCode.CertificateSuiteMismatch, $"certificate is signed with {parsed.SigAlgOid}, the chain's suite '{suite.Name}' uses {suite.SignatureAlgorithmOid}");
            return false;
        }

        if (!TryReadPublicKey(parsed, suite, out var publicKey, out error)) return false;
        if (!TryReadRole(parsed, out var role, out error)) return false;
        try
        {
            certificate = new ConsortiumCertificate(bytes, parsed, publicKey, role, suite.Hash(bytes));
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Extensions are parsed lazily by BouncyCastle; a malformed one surfaces here.
            error = new CustosError(ErrorCode.CertificateMalformed, $"certificate extension does not decode: {e.GetType().Name}");
            return false;
        }
    }

    public static ConsortiumCertificate Decode(ReadOnlySpan<byte> der, ICryptoSuite suite) =>
        TryDecode(der, suite, out var certificate, out var error) ? certificate : throw error.ToException();

    public static ConsortiumCertificate FromPem(string pem, ICryptoSuite suite) => Decode(Pem.Decode("CERTIFICATE", pem), suite);

    private static bool TryReadPublicKey(X509Certificate certificate, ICryptoSuite suite, out PublicKey key, out CustosError error)
    {
        key = null!;
        var info = certificate.CertificateStructure.SubjectPublicKeyInfo;
        var algorithm = info.Algorithm;
        var curve = algorithm.Parameters as DerObjectIdentifier;
        if (algorithm.Algorithm.Id != "1.2.840.10045.2.1" || curve?.Id != suite.CurveOid)
        {
            error = new CustosError(ErrorCode.CertificateSuiteMismatch, $"certificate key is not an EC key on the suite's curve {suite.CurveOid}");
            return false;
        }

        if (!suite.TryDecodePublicKey(info.PublicKey.GetOctets(), out key, out var inner))
        {
            error = new CustosError(ErrorCode.CertificateMalformed, $"certificate public key: {inner.Message}");
            return false;
        }

        error = null!;
        return true;
    }

    private static bool TryReadRole(X509Certificate certificate, out CertificateRole? role, out CustosError error)
    {
        role = null;
        error = null!;
        var value = certificate.GetExtensionValue(new DerObjectIdentifier(CustosOids.RoleExtension));
        if (value is null) return true;
        try
        {
            var enumerated = DerEnumerated.GetInstance(Asn1Object.FromByteArray(value.GetOctets()));
            var number = enumerated.IntValueExact;
            if (!Enum.IsDefined((CertificateRole)number))
            {
                error = new CustosError(ErrorCode.CertificateMalformed, $"unknown role {number} in the role extension");
                return false;
            }

            role = (CertificateRole)number;
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error = new CustosError(ErrorCode.CertificateMalformed, $"role extension does not decode: {e.GetType().Name}");
            return false;
        }
    }

    private static string? FirstValue(X509Name name, DerObjectIdentifier oid)
    {
        var values = name.GetValueList(oid);
        return values.Count > 0 ? values[0] : null;
    }

    private static byte[]? ReadSubjectKeyIdentifier(X509Certificate certificate)
    {
        var value = certificate.GetExtensionValue(X509Extensions.SubjectKeyIdentifier);
        return value is null ? null : Asn1OctetString.GetInstance(Asn1Object.FromByteArray(value.GetOctets())).GetOctets();
    }

    private static byte[]? ReadAuthorityKeyIdentifier(X509Certificate certificate)
    {
        var value = certificate.GetExtensionValue(X509Extensions.AuthorityKeyIdentifier);
        return value is null ? null : Org.BouncyCastle.Asn1.X509.AuthorityKeyIdentifier.GetInstance(Asn1Object.FromByteArray(value.GetOctets())).KeyIdentifier?.GetOctets();
    }
}
