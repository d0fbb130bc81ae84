using System.Text;
using System.Text.Json;
using Custos.Consensus;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Identity;
using Custos.Identity.Consortium;
using Custos.Node;

namespace Custos.Cli.Tests;

/// <summary>One user of the consortium: its encrypted key file and certificate on disk, and the key itself for re-signing in tests.</summary>
internal sealed record AuditUser(string KeyPath, string CertificatePath, SoftwareKey Key, ConsortiumCertificate Certificate);

/// <summary>
/// A consortium on disk for audit-report tests: organisation CAs (two members and the regulator), four validators
/// whose certificates are in a real genesis file, users with encrypted key files (the regulator, an administrator, a
/// client, and an impostor "regulator" whose CA is not the consortium's), and the data directory of a node of a real
/// engine network started from that genesis, written the way a node writes it.
/// </summary>
internal sealed class AuditConsortium
{
    public const string Passphrase = "audit passphrase: not for production";

    /// <summary>The CAs' clock: a month before the genesis time, so that every certificate is valid from genesis on.</summary>
    private static readonly DateTimeOffset IssuedAt = DateTimeOffset.FromUnixTimeMilliseconds(EngineNetwork.StartTimeMs).AddDays(-31);

    private AuditConsortium(string root, ICryptoSuite suite, ChainSetup chain, byte[] genesisBytes, EngineNetwork network, Dictionary<string, AuditUser> users)
    {
        Root = root;
        Suite = suite;
        Chain = chain;
        GenesisBytes = genesisBytes;
        Network = network;
        Regulator = users["regulator"];
        Admin = users["admin"];
        Client = users["client"];
        Impostor = users["impostor"];
    }

    public string Root { get; }

    public ICryptoSuite Suite { get; }

    public ChainSetup Chain { get; }

    public byte[] GenesisBytes { get; }

    public EngineNetwork Network { get; }

    public string GenesisPath => Path.Combine(Root, "genesis.json");

    public string PassphrasePath => Path.Combine(Root, "passphrase");

    public string Data => Path.Combine(Root, "data");

    public AuditUser Regulator { get; }

    public AuditUser Admin { get; }

    public AuditUser Client { get; }

    /// <summary>Holds a regulator certificate from a CA that has the regulator's name but is not in genesis.</summary>
    public AuditUser Impostor { get; }

    /// <summary>Creates the consortium in <paramref name="root"/> and runs its engines until the recorder committed <paramref name="height"/>.</summary>
    public static AuditConsortium Create(string root, ICryptoSuite suite, ulong height, int seed = 7, int? equivocator = null)
    {
        Directory.CreateDirectory(root);
        var clock = new FixedClock(IssuedAt);
        var lifetime = TimeSpan.FromDays(3650);
        var authorities = new[] { "org1", "org2", "regulator" }.ToDictionary(id => id, id => CertificateAuthority.CreateRoot(id, suite.GenerateKey(), suite, lifetime, clock));
        var impostorAuthority = CertificateAuthority.CreateRoot("regulator", suite.GenerateKey(), suite, lifetime, clock);

        var validatorKeys = Enumerable.Range(0, 4).Select(_ => suite.GenerateKey()).ToList();
        var validators = validatorKeys.Select((key, i) =>
        {
            var organisation = i % 2 == 0 ? "org1" : "org2";
            var certificate = authorities[organisation].Issue(new CertificateRequest($"node{i + 1}", CertificateRole.Node, key.PublicKey) { Lifetime = lifetime });
            return new GenesisNode
            {
                Name = $"node{i + 1}",
                Organisation = organisation,
                Kind = NodeKind.Validator,
                Certificate = certificate.ToPem(),
                P2pAddress = $"127.0.0.1:{17601 + i}",
                ApiAddress = $"127.0.0.1:{18601 + i}",
            };
        }).ToList();

        var genesis = new GenesisDocument
        {
            ChainId = EngineNetwork.ChainId,
            CryptoSuite = suite.Name,
            GenesisTime = DateTimeOffset.FromUnixTimeMilliseconds(EngineNetwork.StartTimeMs),
            Organisations = [.. authorities.Select(a => new GenesisOrganisation
            {
                Id = a.Key,
                Name = a.Key,
                Kind = a.Key == "regulator" ? OrganisationKind.Regulator : OrganisationKind.Member,
                CaCertificate = a.Value.Certificate.ToPem(),
            })],
            Validators = validators,
            Parameters = new ChainParameters(),
        };
        genesis = genesis with { GenesisQuorumCertificate = ChainSetup.CertifyGenesis(genesis, validatorKeys) };
        var genesisBytes = genesis.Encode();
        File.WriteAllBytes(Path.Combine(root, "genesis.json"), genesisBytes);
        File.WriteAllText(Path.Combine(root, "passphrase"), Passphrase + "\n");
        var chain = ChainSetup.FromBytes(genesisBytes);

        var users = new Dictionary<string, AuditUser>
        {
            ["regulator"] = User(root, "regulator", authorities["regulator"], CertificateRole.Regulator, suite, lifetime),
            ["admin"] = User(root, "admin", authorities["org1"], CertificateRole.Admin, suite, lifetime),
            ["client"] = User(root, "client", authorities["org1"], CertificateRole.Client, suite, lifetime),
            ["impostor"] = User(root, "impostor", impostorAuthority, CertificateRole.Regulator, suite, lifetime),
        };

        var engineChain = new EngineNetwork.EngineChain(
            [.. validatorKeys.Cast<ISigningKey>()],
            chain.Validators,
            new CommittedBlock(chain.GenesisBlock, chain.GenesisQc, null),
            chain.GenesisHash,
            [
                new("genesis", genesisBytes),
                new("node-names", Encoding.UTF8.GetBytes(JsonSerializer.Serialize(validators.Select(v => v.Name)))),
            ]);
        var network = new EngineNetwork(suite, engineChain, seed, equivocator);
        Assert.True(network.RunUntilCommitted(height), "the engines did not commit in time");
        Assert.Empty(network.Recorder.Halts);
        network.WriteRecorderStore(Path.Combine(root, "data"));
        return new AuditConsortium(root, suite, chain, genesisBytes, network, users);
    }

    private static AuditUser User(string root, string name, CertificateAuthority authority, CertificateRole role, ICryptoSuite suite, TimeSpan lifetime)
    {
        var directory = Directory.CreateDirectory(Path.Combine(root, "users", name)).FullName;
        var key = suite.GenerateKey();
        var certificate = authority.Issue(new CertificateRequest($"{name}@{authority.Organisation}", role, key.PublicKey) { Lifetime = lifetime });
        var keyPath = Path.Combine(directory, $"{name}.key");
        var certificatePath = Path.Combine(directory, $"{name}.pem");
        EncryptedKeyFile.Save(keyPath, key, Passphrase, overwrite: false, iterations: EncryptedKeyFile.MinimumIterations);
        File.WriteAllText(certificatePath, certificate.ToPem());
        return new AuditUser(keyPath, certificatePath, key, certificate);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
