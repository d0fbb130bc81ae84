using Custos.Core.Wire;
using Custos.Crypto;

namespace Custos.Identity.Tests;

public sealed class CertificateValidatorTests
{
    public static TheoryData<string> Suites => new() { "gm", "intl" };

    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Theory]
    [MemberData(nameof(Suites))]
    public void Certificate_issued_by_a_consortium_ca_is_valid_with_its_role(string suiteName)
    {
        var pki = new Pki(CryptoSuites.Parse(suiteName), "bank-a", "bank-b");
        var (certificate, _) = pki.Issue("bank-b", "node7", CertificateRole.Node);

        var identity = pki.Validator().Validate(certificate, Now, CertificateRole.Node);

        Assert.Equal("bank-b", identity.Organisation);
        Assert.Equal("node7", identity.CommonName);
        Assert.Equal(CertificateRole.Node, identity.Role);
    }

    [Fact]
    public void Gm_certificates_are_signed_sm2_with_sm3_on_the_sm2_curve()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (certificate, _) = pki.Issue("bank-a", "alice", CertificateRole.Client);

        Assert.Equal(CustosOids.Sm2WithSm3, certificate.Certificate.SigAlgOid);
        Assert.Equal(CustosOids.Sm2WithSm3, pki.Authorities["bank-a"].Certificate.Certificate.SigAlgOid);
        Assert.Equal(3, certificate.Certificate.Version);
        Assert.True(certificate.HasKeyUsage(KeyUsageBit.DigitalSignature));
        Assert.False(certificate.IsCertificateAuthority);
    }

    [Fact]
    public void Certificate_with_another_role_is_refused_as_wrong_role()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (client, _) = pki.Issue("bank-a", "alice", CertificateRole.Client);

        var accepted = pki.Validator().TryValidate(client, Now, [CertificateRole.Node], out _, out var error);

        Assert.False(accepted);
        Assert.Equal(ErrorCode.CertificateWrongRole, error.Code);
    }

    [Fact]
    public void Expired_certificate_is_refused_as_expired()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (certificate, _) = pki.Issue("bank-a", "alice", CertificateRole.Client, TimeSpan.FromDays(30));

        Assert.False(pki.Validator().TryValidate(certificate, Now.AddDays(31), [], out _, out var error));
        Assert.Equal(ErrorCode.CertificateExpired, error.Code);
    }

    [Fact]
    public void Certificate_before_its_validity_is_refused_as_not_yet_valid()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (certificate, _) = pki.Issue("bank-a", "alice", CertificateRole.Client);

        Assert.False(pki.Validator().TryValidate(certificate, Now.AddDays(-1), [], out _, out var error));
        Assert.Equal(ErrorCode.CertificateNotYetValid, error.Code);
    }

    [Fact]
    public void Certificate_named_in_a_revocation_list_is_refused_as_revoked()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (revoked, _) = pki.Issue("bank-a", "mallory", CertificateRole.Client);
        var (kept, _) = pki.Issue("bank-a", "alice", CertificateRole.Client);
        var list = pki.Authorities["bank-a"].IssueRevocationList([revoked.SerialNumber], number: 2, TimeSpan.FromDays(7));

        var validator = pki.Validator(list);

        Assert.False(validator.TryValidate(revoked, Now, [], out _, out var error));
        Assert.Equal(ErrorCode.CertificateRevoked, error.Code);
        Assert.True(validator.TryValidate(kept, Now, [], out _, out _));
        Assert.Equal(2, list.Number);
    }

    [Fact]
    public void Revocation_decided_by_governance_is_honoured_without_a_list()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (revoked, _) = pki.Issue("bank-a", "mallory", CertificateRole.Client);
        var validator = new CertificateValidator(pki.Suite, pki.Authorities.Values.Select(a => a.Certificate),
            revokedByGovernance: [(revoked.Issuer, revoked.SerialNumber)]);

        Assert.False(validator.TryValidate(revoked, Now, [], out _, out var error));
        Assert.Equal(ErrorCode.CertificateRevoked, error.Code);
    }

    [Fact]
    public void Revocation_list_from_another_ca_does_not_decode_under_this_ca()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a", "bank-b");
        var list = pki.Authorities["bank-b"].IssueRevocationList(["01"], number: 1, TimeSpan.FromDays(7));

        Assert.False(RevocationList.TryDecode(list.Der, pki.Authorities["bank-a"].Certificate, pki.Suite, out _, out var error));
        Assert.Equal(ErrorCode.RevocationListInvalid, error.Code);
    }

    [Fact]
    public void Revocation_list_with_an_altered_entry_fails_its_signature_check()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var list = pki.Authorities["bank-a"].IssueRevocationList(["0abc"], number: 1, TimeSpan.FromDays(7));
        var der = list.Der.ToArray();
        var at = der.AsSpan().IndexOf(new byte[] { 0x0a, 0xbc });
        Assert.True(at > 0);
        der[at + 1] ^= 0x01;

        Assert.False(RevocationList.TryDecode(der, pki.Authorities["bank-a"].Certificate, pki.Suite, out _, out var error));
        Assert.Equal(ErrorCode.RevocationListInvalid, error.Code);
    }

    [Fact]
    public void Certificate_from_an_unknown_ca_is_untrusted()
    {
        var consortium = new Pki(CryptoSuites.Gm, "bank-a");
        var outsider = new Pki(CryptoSuites.Gm, "shadow-bank");
        var (certificate, _) = outsider.Issue("shadow-bank", "node1", CertificateRole.Node);

        Assert.False(consortium.Validator().TryValidate(certificate, Now, [], out _, out var error));
        Assert.Equal(ErrorCode.CertificateUntrusted, error.Code);
    }

    [Fact]
    public void Certificate_from_an_impostor_ca_with_the_same_name_is_refused()
    {
        var consortium = new Pki(CryptoSuites.Gm, "bank-a");
        var impostor = new Pki(CryptoSuites.Gm, "bank-a");
        var (certificate, _) = impostor.Issue("bank-a", "node1", CertificateRole.Node);

        Assert.False(consortium.Validator().TryValidate(certificate, Now, [], out _, out var error));
        Assert.Contains(error.Code, new[] { ErrorCode.CertificateUntrusted, ErrorCode.CertificateSignatureInvalid });
    }

    [Fact]
    public void Certificate_with_a_flipped_signature_bit_is_refused()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (certificate, _) = pki.Issue("bank-a", "alice", CertificateRole.Client);
        var der = certificate.Der.ToArray();
        der[^5] ^= 0x10; // inside the signature value at the end of the structure

        var accepted = pki.Validator().TryValidate(der, Now, [], out _, out var error);

        Assert.False(accepted);
        Assert.Contains(error.Code, new[] { ErrorCode.CertificateSignatureInvalid, ErrorCode.CertificateMalformed });
    }

    [Fact]
    public void Ca_certificate_presented_as_a_leaf_is_refused_for_key_usage()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");

        Assert.False(pki.Validator().TryValidate(pki.Authorities["bank-a"].Certificate, Now, [], out _, out var error));
        Assert.Equal(ErrorCode.CertificateKeyUsage, error.Code);
    }

    [Fact]
    public void Intl_certificate_presented_to_a_gm_chain_is_a_suite_mismatch()
    {
        var intl = new Pki(CryptoSuites.Intl, "bank-a");
        var (certificate, _) = intl.Issue("bank-a", "alice", CertificateRole.Client);

        Assert.False(ConsortiumCertificate.TryDecode(certificate.Der, CryptoSuites.Gm, out _, out var error));
        Assert.Equal(ErrorCode.CertificateSuiteMismatch, error.Code);
    }

    [Fact]
    public void Leaf_certificate_is_refused_as_a_consortium_ca()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (leaf, _) = pki.Issue("bank-a", "alice", CertificateRole.Client);

        var failure = Assert.Throws<Core.CustosException>(() => new CertificateValidator(pki.Suite, [leaf]));
        Assert.Equal(ErrorCode.CertificateKeyUsage, failure.Code);
    }

    [Fact]
    public void Role_extension_is_a_non_critical_der_enumerated_under_the_custos_arc()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (certificate, _) = pki.Issue("bank-a", "regulator", CertificateRole.Regulator);

        var value = certificate.Certificate.GetExtensionValue(new Org.BouncyCastle.Asn1.DerObjectIdentifier(CustosOids.RoleExtension));

        Assert.Equal("2.25.157558823564724582895549995043318333056.1.1", CustosOids.RoleExtension);
        Assert.Equal("0a0104", Convert.ToHexStringLower(value!.GetOctets()));
        Assert.DoesNotContain(CustosOids.RoleExtension, certificate.Certificate.GetCriticalExtensionOids());
        Assert.Equal(1, (int)CertificateRole.Client);
        Assert.Equal(2, (int)CertificateRole.Node);
        Assert.Equal(3, (int)CertificateRole.Admin);
        Assert.Equal(4, (int)CertificateRole.Regulator);
        Assert.Equal(5, (int)CertificateRole.Registrar);
    }
}
