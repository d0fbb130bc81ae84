using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;

namespace Custos.Identity;

/// <summary>
/// An X.509 v2 revocation list issued by an organisation's CA (the public cancellation list of ID-6), verified
/// against that CA on decoding. On-chain revocations by governance feed <see cref="CertificateValidator"/> the same way.
/// </summary>
public sealed class RevocationList
{
    private readonly byte[] _der;
    private readonly HashSet<string> _revoked;

    private RevocationList(byte[] der, string issuer, long number, DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate, HashSet<string> revoked)
    {
        _der = der;
        Issuer = issuer;
        Number = number;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        _revoked = revoked;
    }

    public string Issuer { get; }

    public long Number { get; }

    public DateTimeOffset ThisUpdate { get; }

    public DateTimeOffset? NextUpdate { get; }

    public IReadOnlyCollection<string> RevokedSerials => _revoked;

    public ReadOnlySpan<byte> Der => _der;

    public bool IsRevoked(string serialHex) => _revoked.Contains(serialHex.ToLowerInvariant());

    public string ToPem() => Pem.Encode("X509 CRL", _der);

    public static RevocationList Decode(ReadOnlySpan<byte> der, ConsortiumCertificate issuer, ICryptoSuite suite) =>
        TryDecode(der, issuer, suite, out var list, out var error) ? list : throw error.ToException();

    public static bool TryDecode(ReadOnlySpan<byte> der, ConsortiumCertificate issuer, ICryptoSuite suite, out RevocationList list, out CustosError error)
    {
        list = null!;
        var bytes = der.ToArray();
        X509Crl crl;
        try
        {
            crl = new X509Crl(CertificateList.GetInstance(Asn1Object.FromByteArray(bytes)));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error = new CustosError(ErrorCode.RevocationListInvalid, $"revocation list does not decode: {e.GetType().Name}");
            return false;
        }

        if (crl.SigAlgOid != suite.SignatureAlgorithmOid || crl.IssuerDN.ToString() != issuer.Subject)
        {
            error = new CustosError(ErrorCode.RevocationListInvalid, "revocation list is not from this CA or not in the chain's suite");
            return false;
        }

        if (!SigningKeySignatureFactory.Verify(suite, issuer.PublicKey, crl.GetTbsCertList(), crl.GetSignature()))
        {
            error = new CustosError(ErrorCode.RevocationListInvalid, $"revocation list signature does not verify under {issuer.Subject}");
            return false;
        }

        var numberValue = crl.GetExtensionValue(X509Extensions.CrlNumber);
        var number = numberValue is null ? 0 : DerInteger.GetInstance(Asn1Object.FromByteArray(numberValue.GetOctets())).LongValueExact;
        var revoked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in crl.GetRevokedCertificates() ?? new HashSet<X509CrlEntry>())
        {
            revoked.Add(entry.SerialNumber.ToString(16));
        }

        list = new RevocationList(bytes, issuer.Subject, number,
            new DateTimeOffset(crl.ThisUpdate, TimeSpan.Zero),
            crl.NextUpdate is { } next ? new DateTimeOffset(next, TimeSpan.Zero) : null,
            revoked);
        error = null!;
        return true;
    }
}
