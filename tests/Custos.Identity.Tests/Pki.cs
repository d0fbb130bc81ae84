using Custos.Crypto;

namespace Custos.Identity.Tests;

/// <summary>A small consortium built in memory for tests: one CA per organisation and helpers to issue leaves.</summary>
internal sealed class Pki
{
    public Pki(ICryptoSuite suite, params string[] organisations)
    {
        Suite = suite;
        foreach (var organisation in organisations)
        {
            var key = suite.GenerateKey();
            Authorities[organisation] = CertificateAuthority.CreateRoot(organisation, key, suite, TimeSpan.FromDays(3650));
        }
    }

    public ICryptoSuite Suite { get; }

    public Dictionary<string, CertificateAuthority> Authorities { get; } = [];

    public CertificateValidator Validator(params RevocationList[] lists) =>
        new(Suite, Authorities.Values.Select(a => a.Certificate), lists);

    public (ConsortiumCertificate Certificate, SoftwareKey Key) Issue(string organisation, string name, CertificateRole role, TimeSpan? lifetime = null)
    {
        var key = Suite.GenerateKey();
        var certificate = Authorities[organisation].Issue(new CertificateRequest(name, role, key.PublicKey) { Lifetime = lifetime ?? TimeSpan.FromDays(365) });
        return (certificate, key);
    }
}
