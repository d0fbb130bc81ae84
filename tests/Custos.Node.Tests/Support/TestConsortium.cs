using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Custos.Identity.Consortium;
using Custos.Sdk;

namespace Custos.Node.Tests.Support;

/// <summary>A user of the consortium: its account, key and certificate.</summary>
internal sealed record TestUser(string Label, AccountId Account, SoftwareKey Key, ConsortiumCertificate Certificate, ulong Balance);

/// <summary>
/// A consortium built in memory the way <c>custos init</c> builds one on disk: a root CA per member organisation,
/// node and user certificates issued by them, a genesis document with accounts and balances, and the genesis QC
/// signed by the validators. Keys stay in memory, so tests can sign transactions, votes and requests with them.
/// Immutable once built; shared between tests.
/// </summary>
internal sealed class TestConsortium
{
    public const int ValidatorCount = 4;
    public const ulong FirstClientBalance = 1_000;

    private static readonly Lazy<TestConsortium> SharedIntl = new(() => Create(CryptoSuites.Intl, "custos-node-test"));

    private TestConsortium(ICryptoSuite suite, GenesisDocument genesis, IReadOnlyList<SoftwareKey> validatorKeys, IReadOnlyList<CertificateAuthority> authorities,
        IReadOnlyList<TestUser> users, IReadOnlyList<ConsortiumCertificate> nodeCertificates)
    {
        Suite = suite;
        Genesis = genesis;
        ValidatorKeys = validatorKeys;
        Authorities = authorities;
        Users = users;
        NodeCertificates = nodeCertificates;
        Encoded = genesis.Encode();
        Chain = ChainSetup.FromBytes(Encoded);
    }

    /// <summary>One intl consortium for every test that only reads it (key generation and certificates are not free).</summary>
    public static TestConsortium Intl => SharedIntl.Value;

    public ICryptoSuite Suite { get; }

    public GenesisDocument Genesis { get; }

    /// <summary>The genesis file's bytes.</summary>
    public byte[] Encoded { get; }

    public ChainSetup Chain { get; }

    public string ChainId => Genesis.ChainId;

    /// <summary>The validators' keys, in validator order.</summary>
    public IReadOnlyList<SoftwareKey> ValidatorKeys { get; }

    public IReadOnlyList<CertificateAuthority> Authorities { get; }

    /// <summary>Per organisation a client (role client) and an administrator (role admin); clients first.</summary>
    public IReadOnlyList<TestUser> Users { get; }

    /// <summary>The first organisation's client: it holds <see cref="FirstClientBalance"/>.</summary>
    public TestUser Payer => Users[0];

    /// <summary>The second organisation's client: it starts with nothing.</summary>
    public TestUser Payee => Users[1];

    /// <summary>Validators then observers, as in the genesis document.</summary>
    public IReadOnlyList<ConsortiumCertificate> NodeCertificates { get; }

    public TransactionSigner SignerFor(TestUser user) => new(ChainId, Suite, user.Key, user.Account);

    /// <summary>Signs and decodes a transfer, as admission would see it.</summary>
    public Transaction Transfer(TestUser from, TestUser to, ulong amount, ulong nonce, ulong expiryHeight = 100)
    {
        var signed = SignerFor(from).Transfer(to.Account, amount, expiryHeight, nonce);
        return Decoders.TryDecodeTransaction(signed.Envelope, out var transaction, out var error) ? transaction : throw error.ToException();
    }

    /// <summary>The genesis file with something changed, encoded as a node would read it.</summary>
    public byte[] EncodeWith(Func<GenesisDocument, GenesisDocument> change) => change(Genesis).Encode();

    public static TestConsortium Create(ICryptoSuite suite, string chainId, DateTimeOffset? genesisTime = null)
    {
        // Certificates become valid five minutes before they are issued; genesis time falls inside their validity.
        var time = genesisTime ?? DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var organisationIds = new[] { "org1", "org2" };
        var authorities = organisationIds.Select(id => CertificateAuthority.CreateRoot(id, suite.GenerateKey(), suite, TimeSpan.FromDays(30))).ToList();

        var clients = new List<TestUser>();
        var admins = new List<TestUser>();
        var accounts = new List<GenesisAccountEntry>();
        for (var i = 0; i < authorities.Count; i++)
        {
            var authority = authorities[i];
            var organisation = organisationIds[i];
            foreach (var (user, role) in new[] { ("client1", CertificateRole.Client), ("admin", CertificateRole.Admin) })
            {
                var key = suite.GenerateKey();
                var certificate = authority.Issue(new CertificateRequest($"{user}@{organisation}", role, key.PublicKey));
                var account = new AccountId((ulong)(i + 1), role == CertificateRole.Client ? 1UL : 2UL);
                var balance = role == CertificateRole.Client && i == 0 ? FirstClientBalance : 0;
                var entry = new GenesisAccountEntry
                {
                    Id = account.ToString(),
                    Label = $"{user}@{organisation}",
                    Organisation = organisation,
                    Kind = role == CertificateRole.Admin ? (i == 0 ? AccountKind.SpecialPrivilege : AccountKind.Administrator) : AccountKind.Ordinary,
                    PublicKey = key.PublicKey.ToHex(),
                    Balance = balance,
                };
                accounts.Add(entry);
                (role == CertificateRole.Client ? clients : admins).Add(new TestUser(entry.Label, account, key, certificate, balance));
            }
        }

        var validatorKeys = new List<SoftwareKey>();
        var nodes = new List<GenesisNode>();
        var nodeCertificates = new List<ConsortiumCertificate>();
        for (var i = 0; i < ValidatorCount + 1; i++)
        {
            var isValidator = i < ValidatorCount;
            var name = isValidator ? $"node{i + 1}" : "observer1";
            var organisation = i % authorities.Count;
            var key = suite.GenerateKey();
            var certificate = authorities[organisation].Issue(new CertificateRequest(name, CertificateRole.Node, key.PublicKey)
            {
                DnsNames = [name, "localhost"],
                IpAddresses = ["127.0.0.1"],
            });
            if (isValidator) validatorKeys.Add(key);
            nodeCertificates.Add(certificate);
            nodes.Add(new GenesisNode
            {
                Name = name,
                Organisation = organisationIds[organisation],
                Kind = isValidator ? NodeKind.Validator : NodeKind.Observer,
                Certificate = certificate.ToPem(),
                P2pAddress = $"127.0.0.1:{17100 + i}",
                ApiAddress = $"127.0.0.1:{18100 + i}",
            });
        }

        var genesis = new GenesisDocument
        {
            ChainId = chainId,
            CryptoSuite = suite.Name,
            GenesisTime = time,
            Organisations = authorities.Select((a, i) => new GenesisOrganisation
            {
                Id = organisationIds[i],
                Name = organisationIds[i],
                Kind = OrganisationKind.Member,
                CaCertificate = a.Certificate.ToPem(),
            }).ToList(),
            Validators = nodes.Where(n => n.Kind == NodeKind.Validator).ToList(),
            Observers = nodes.Where(n => n.Kind != NodeKind.Validator).ToList(),
            Accounts = accounts,
            Parameters = new ChainParameters(),
        };
        genesis = genesis with { GenesisQuorumCertificate = ChainSetup.CertifyGenesis(genesis, validatorKeys) };
        return new TestConsortium(suite, genesis, validatorKeys, authorities, [.. clients, .. admins], nodeCertificates);
    }
}
