using System.Diagnostics;
using Custos.Crypto;

namespace Custos.Identity.Tests;

/// <summary>Debian's openssl (3.0) must read and verify what our PKI issues: the consortium is not a private dialect.</summary>
public sealed class OpenSslInteroperabilityTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("custos-openssl-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("gm", "SM2-with-SM3")]
    [InlineData("intl", "ecdsa-with-SHA256")]
    public void Openssl_reads_the_signature_algorithm_and_verifies_the_leaf_against_its_ca(string suiteName, string algorithm)
    {
        RequireOpenSsl();
        var pki = new Pki(CryptoSuites.Parse(suiteName), "bank-a");
        var (leaf, _) = pki.Issue("bank-a", "node1", CertificateRole.Node);
        var caPath = Path.Combine(_directory, "ca.pem");
        var leafPath = Path.Combine(_directory, "leaf.pem");
        File.WriteAllText(caPath, pki.Authorities["bank-a"].Certificate.ToPem());
        File.WriteAllText(leafPath, leaf.ToPem());

        var text = OpenSsl("x509", "-in", leafPath, "-noout", "-text");
        var verify = OpenSsl("verify", "-CAfile", caPath, leafPath);

        Assert.Contains($"Signature Algorithm: {algorithm}", text.Output);
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("OK", verify.Output);
    }

    [Fact]
    public void Ca_signing_with_the_gbt35276_default_identity_is_verified_by_custos_and_by_openssl_told_the_identity()
    {
        RequireOpenSsl();
        var suite = CryptoSuites.Gm;
        var authority = CertificateAuthority.CreateRoot("bank-a", suite.GenerateKey(), suite, TimeSpan.FromDays(10), signerIdentity: X509SignerIdentity.GbT35276Default);
        using var key = suite.GenerateKey();
        var leaf = authority.Issue(new CertificateRequest("alice", CertificateRole.Client, key.PublicKey));
        var caPath = Path.Combine(_directory, "ca.pem");
        var leafPath = Path.Combine(_directory, "leaf.pem");
        File.WriteAllText(caPath, authority.Certificate.ToPem());
        File.WriteAllText(leafPath, leaf.ToPem());

        var validator = new CertificateValidator(suite, [authority.Certificate]);

        Assert.True(validator.TryValidate(leaf, DateTimeOffset.UtcNow, [CertificateRole.Client], out _, out _));
        Assert.Equal(0, OpenSsl("verify", "-vfyopt", "distid:1234567812345678", "-CAfile", caPath, leafPath).ExitCode);
        Assert.NotEqual(0, OpenSsl("verify", "-CAfile", caPath, leafPath).ExitCode);
    }

    [Fact]
    public void Openssl_refuses_a_leaf_under_another_organisations_ca()
    {
        RequireOpenSsl();
        var pki = new Pki(CryptoSuites.Gm, "bank-a", "bank-b");
        var (leaf, _) = pki.Issue("bank-a", "node1", CertificateRole.Node);
        var caPath = Path.Combine(_directory, "other-ca.pem");
        var leafPath = Path.Combine(_directory, "leaf.pem");
        File.WriteAllText(caPath, pki.Authorities["bank-b"].Certificate.ToPem());
        File.WriteAllText(leafPath, leaf.ToPem());

        Assert.NotEqual(0, OpenSsl("verify", "-CAfile", caPath, leafPath).ExitCode);
    }

    [Fact]
    public void Openssl_reads_the_revocation_list_and_verifies_its_signature()
    {
        RequireOpenSsl();
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var list = pki.Authorities["bank-a"].IssueRevocationList(["0abc"], number: 3, TimeSpan.FromDays(7));
        var caPath = Path.Combine(_directory, "ca.pem");
        var crlPath = Path.Combine(_directory, "crl.pem");
        File.WriteAllText(caPath, pki.Authorities["bank-a"].Certificate.ToPem());
        File.WriteAllText(crlPath, list.ToPem());

        var result = OpenSsl("crl", "-in", crlPath, "-CAfile", caPath, "-noout", "-text");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("verify OK", result.Output);
        Assert.Contains("0ABC", result.Output);
    }

    private static void RequireOpenSsl()
    {
        if (!File.Exists("/usr/bin/openssl")) Assert.Skip("openssl is not installed (./test.sh installs it when run as root)");
    }

    private static (int ExitCode, string Output) OpenSsl(params string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/openssl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new TimeoutException("openssl did not finish in 30 s");
        }

        return (process.ExitCode, output.Result + error.Result);
    }
}
