using Custos.Crypto;
using Custos.Identity;
using Custos.Network.Tls;

namespace Custos.Network.Tests;

/// <summary>
/// A consortium built in memory the way <c>custos init</c> builds one: a root CA per organisation and role
/// certificates issued by them (nodes carry their name, localhost and 127.0.0.1 as alternative names).
/// </summary>
internal sealed class TestConsortium
{
    public TestConsortium(ICryptoSuite suite, params string[] organisations)
    {
        Suite = suite;
        foreach (var organisation in organisations)
        {
            var key = suite.GenerateKey();
            _authorityKeys[organisation] = key;
            Authorities[organisation] = CertificateAuthority.CreateRoot(organisation, key, suite, TimeSpan.FromDays(3650));
        }
    }

    private readonly Dictionary<string, ISigningKey> _authorityKeys = [];

    public ICryptoSuite Suite { get; }

    public Dictionary<string, CertificateAuthority> Authorities { get; } = [];

    public CertificateValidator Validator(params RevocationList[] revocations) =>
        new(Suite, Authorities.Values.Select(a => a.Certificate), revocations);

    public TrustStore Trust(TimeProvider? clock = null, params RevocationList[] revocations) => new(Validator(revocations), clock);

    /// <summary>A certificate and key; by default a node certificate of the first organisation, valid for a year.</summary>
    public TlsIdentity Issue(string name, CertificateRole role = CertificateRole.Node, string? organisation = null, TimeSpan? lifetime = null,
        CertificateAuthority? authority = null)
    {
        authority ??= Authorities[organisation ?? Authorities.Keys.First()];
        var key = Suite.GenerateKey();
        var request = new CertificateRequest(name, role, key.PublicKey)
        {
            Lifetime = lifetime ?? TimeSpan.FromDays(365),
            DnsNames = role == CertificateRole.Node ? [name, "localhost"] : [],
            IpAddresses = role == CertificateRole.Node ? ["127.0.0.1"] : [],
        };
        return new TlsIdentity(authority.Issue(request), key);
    }

    /// <summary>A node certificate that expired yesterday: issued by the real CA running on a clock two days behind.</summary>
    public TlsIdentity IssueExpired(string name, string? organisation = null)
    {
        organisation ??= Authorities.Keys.First();
        var past = new ManualClock(DateTimeOffset.UtcNow.AddDays(-2));
        var authority = new CertificateAuthority(Authorities[organisation].Certificate, _authorityKeys[organisation], Suite, past);
        return Issue(name, lifetime: TimeSpan.FromDays(1), authority: authority);
    }

    /// <summary>Revokes the certificate of <paramref name="identity"/> in a revocation list of its CA.</summary>
    public RevocationList Revoke(TlsIdentity identity)
    {
        var authority = Authorities.Values.Single(a => a.Certificate.Subject == identity.Certificate.Issuer);
        return authority.IssueRevocationList([identity.Certificate.SerialNumber], number: 1, TimeSpan.FromDays(30));
    }

}
