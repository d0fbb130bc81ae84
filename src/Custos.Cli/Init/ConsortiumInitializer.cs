using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Identity;
using Custos.Identity.Consortium;
using Custos.Node;

namespace Custos.Cli.Init;

/// <summary>What `custos init` is asked to create.</summary>
public sealed record InitOptions
{
    public required string OutputDirectory { get; init; }

    /// <summary>Member organisations (banks, operators, the central bank). A regulator organisation is added unless disabled.</summary>
    public int Organisations { get; init; } = 3;

    public ICryptoSuite Suite { get; init; } = CryptoSuites.Gm;

    public int Validators { get; init; } = 4;

    /// <summary>Non-voting nodes; the first is the regulator's supervisor node when there is a regulator.</summary>
    public int Observers { get; init; } = 1;

    public bool IncludeRegulator { get; init; } = true;

    public string? ChainId { get; init; }

    public int BasePort { get; init; } = 7100;

    /// <summary>Environment variable holding the passphrase for every key; when null, a random passphrase per organisation is generated into secrets/.</summary>
    public string? PassphraseEnvironmentVariable { get; init; }

    public int KdfIterations { get; init; } = EncryptedKeyFile.DefaultIterations;

    public bool Overwrite { get; init; }

    /// <summary>SM2 identity the CAs sign certificates with (empty by default, so Debian's openssl verifies them).</summary>
    public X509SignerIdentity X509SignerIdentity { get; init; } = X509SignerIdentity.Empty;

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Opening token balance of each organisation's client account.</summary>
    public ulong ClientBalance { get; init; } = 1_000_000_000;
}

public sealed record InitResult(string GenesisPath, GenesisDocument Genesis, Hash32 GenesisHash, IReadOnlyList<string> NodeConfigurations, int KeysWritten);

/// <summary>
/// Creates a consortium on disk: per organisation a root CA (key encrypted at rest), certificates and encrypted keys
/// for its nodes and users, the genesis file, and one configuration file per node.
/// </summary>
public sealed class ConsortiumInitializer(TextWriter log)
{
    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan NodeCertificateLifetime = TimeSpan.FromDays(365);
    private static readonly TimeSpan UserCertificateLifetime = TimeSpan.FromDays(730);

    public InitResult Run(InitOptions options)
    {
        Check(options);
        var root = Path.GetFullPath(options.OutputDirectory);
        PrepareDirectory(root, options.Overwrite);
        var suite = options.Suite;
        var chainId = options.ChainId ?? $"custos-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        var genesisTime = DateTimeOffset.FromUnixTimeSeconds(options.Clock.GetUtcNow().ToUnixTimeSeconds());

        var organisations = new List<(GenesisOrganisation Entry, CertificateAuthority Authority, OrganisationSecret Secret)>();
        var accounts = new List<GenesisAccountEntry>();
        // Key files are sealed at the end, in parallel: the passphrase KDF is deliberately slow.
        var pendingKeys = new List<(string Path, SoftwareKey Key, OrganisationSecret Secret)>();
        for (var i = 1; i <= options.Organisations + (options.IncludeRegulator ? 1 : 0); i++)
        {
            var isRegulator = options.IncludeRegulator && i == options.Organisations + 1;
            var id = isRegulator ? "regulator" : $"org{i}";
            var secret = PrepareSecret(root, id, options);
            var caDirectory = Directory.CreateDirectory(Path.Combine(root, "orgs", id, "ca")).FullName;
            var caKey = suite.GenerateKey();
            var authority = CertificateAuthority.CreateRoot(id, caKey, suite, CaLifetime, options.Clock, options.X509SignerIdentity);
            pendingKeys.Add((Path.Combine(caDirectory, "ca.key"), caKey, secret));
            File.WriteAllText(Path.Combine(caDirectory, "ca.pem"), authority.Certificate.ToPem());
            File.WriteAllText(Path.Combine(caDirectory, "crl.pem"), authority.IssueRevocationList([], number: 1, TimeSpan.FromDays(30)).ToPem());
            var entry = new GenesisOrganisation
            {
                Id = id,
                Name = id,
                Kind = isRegulator ? OrganisationKind.Regulator : OrganisationKind.Member,
                CaCertificate = authority.Certificate.ToPem(),
            };
            organisations.Add((entry, authority, secret));
            foreach (var (user, role) in UsersOf(isRegulator))
            {
                var userDirectory = Directory.CreateDirectory(Path.Combine(root, "orgs", id, "users", user)).FullName;
                var key = suite.GenerateKey();
                var certificate = authority.Issue(new CertificateRequest($"{user}@{id}", role, key.PublicKey) { Lifetime = UserCertificateLifetime });
                pendingKeys.Add((Path.Combine(userDirectory, $"{user}.key"), key, secret));
                // The first member organisation is the issuer: its administrator holds the special privilege.
                var kind = role switch
                {
                    CertificateRole.Admin when i == 1 && !isRegulator => AccountKind.SpecialPrivilege,
                    CertificateRole.Admin or CertificateRole.Registrar or CertificateRole.Regulator => AccountKind.Administrator,
                    _ => AccountKind.Ordinary,
                };
                accounts.Add(new GenesisAccountEntry
                {
                    Id = new AccountId(RandomNumberGenerator.GetBytes(AccountId.SizeBytes)).ToString(),
                    Label = $"{user}@{id}",
                    Organisation = id,
                    Kind = kind,
                    PublicKey = key.PublicKey.ToHex(),
                    Balance = role == CertificateRole.Client ? options.ClientBalance : 0,
                });
                File.WriteAllText(Path.Combine(userDirectory, $"{user}.pem"), certificate.ToPem());
            }

            log.WriteLine($"  organisation {id}{(isRegulator ? " (regulator)" : string.Empty)}: CA {authority.Certificate.Fingerprint.ToShortString()}");
        }

        var members = organisations.Where(o => o.Entry.Kind == OrganisationKind.Member).ToList();
        var regulator = organisations.FirstOrDefault(o => o.Entry.Kind == OrganisationKind.Regulator);
        var plannedNodes = new List<(string Name, NodeKind Kind, int OrganisationIndex)>();
        for (var v = 0; v < options.Validators; v++) plannedNodes.Add(($"node{v + 1}", NodeKind.Validator, organisations.IndexOf(members[v % members.Count])));
        for (var o = 0; o < options.Observers; o++)
        {
            if (o == 0 && regulator.Authority is not null) plannedNodes.Add(("supervisor1", NodeKind.Supervisor, organisations.IndexOf(regulator)));
            else plannedNodes.Add(($"observer{o + 1}", NodeKind.Observer, organisations.IndexOf(members[o % members.Count])));
        }

        var nodes = new List<(GenesisNode Entry, string KeyPath, string CertificatePath, OrganisationSecret Secret)>();
        for (var i = 0; i < plannedNodes.Count; i++)
        {
            var (name, kind, organisationIndex) = plannedNodes[i];
            var organisation = organisations[organisationIndex];
            var nodeDirectory = Directory.CreateDirectory(Path.Combine(root, "orgs", organisation.Entry.Id, "nodes", name)).FullName;
            var key = suite.GenerateKey();
            var certificate = organisation.Authority.Issue(new CertificateRequest(name, CertificateRole.Node, key.PublicKey)
            {
                DnsNames = [name, "localhost"],
                IpAddresses = ["127.0.0.1"],
                Lifetime = NodeCertificateLifetime,
            });
            var keyPath = Path.Combine(nodeDirectory, "node.key");
            var certificatePath = Path.Combine(nodeDirectory, "node.pem");
            pendingKeys.Add((keyPath, key, organisation.Secret));
            File.WriteAllText(certificatePath, certificate.ToPem());
            var entry = new GenesisNode
            {
                Name = name,
                Organisation = organisation.Entry.Id,
                Kind = kind,
                Certificate = certificate.ToPem(),
                P2pAddress = $"127.0.0.1:{options.BasePort + i + 1}",
                ApiAddress = $"127.0.0.1:{options.BasePort + 1000 + i + 1}",
            };
            nodes.Add((entry, keyPath, certificatePath, organisation.Secret));
        }

        var genesis = new GenesisDocument
        {
            ChainId = chainId,
            CryptoSuite = suite.Name,
            GenesisTime = genesisTime,
            Organisations = organisations.Select(o => o.Entry).ToList(),
            Validators = nodes.Where(n => n.Entry.Kind == NodeKind.Validator).Select(n => n.Entry).ToList(),
            Observers = nodes.Where(n => n.Entry.Kind != NodeKind.Validator).Select(n => n.Entry).ToList(),
            Accounts = accounts,
            Parameters = new ChainParameters(),
        };
        // The first validators certify the genesis block now, while init holds their keys, so that the first
        // proposal has a parent QC; the QC is part of the genesis file and of its hash.
        var validatorKeys = nodes.Select((n, i) => (n, i)).Where(p => p.n.Entry.Kind == NodeKind.Validator)
            .Select(p => (ISigningKey)pendingKeys.First(k => k.Path == p.n.KeyPath).Key).ToList();
        genesis = genesis with { GenesisQuorumCertificate = ChainSetup.CertifyGenesis(genesis, validatorKeys) };
        var genesisBytes = genesis.Encode();
        // Check what we wrote the way a node will read it: every certificate chains to its organisation's CA.
        GenesisDocument.Decode(genesisBytes);
        var genesisPath = Path.Combine(root, "genesis.json");
        File.WriteAllBytes(genesisPath, genesisBytes);

        var configurations = new List<string>();
        foreach (var node in nodes)
        {
            var directory = Directory.CreateDirectory(Path.Combine(root, "nodes", node.Entry.Name)).FullName;
            var config = new NodeConfigurationFile
            {
                Node = node.Entry.Name,
                Organisation = node.Entry.Organisation,
                Kind = node.Entry.Kind,
                Genesis = Path.GetRelativePath(directory, genesisPath),
                DataDirectory = "data",
                P2pListen = node.Entry.P2pAddress,
                ApiListen = node.Entry.ApiAddress,
                HttpListen = HttpAddressOf(node.Entry.ApiAddress),
                Key = "file:" + Path.GetRelativePath(directory, node.KeyPath),
                KeySecret = node.Secret.FilePath is { } secretPath
                    ? "file:" + Path.GetRelativePath(directory, secretPath)
                    : node.Secret.Source,
                Certificate = Path.GetRelativePath(directory, node.CertificatePath),
                Peers = nodes.Where(n => n.Entry.Name != node.Entry.Name).Select(n => $"{n.Entry.Name}@{n.Entry.P2pAddress}").ToList(),
            };
            var path = Path.Combine(directory, "node.json");
            File.WriteAllBytes(path, config.Encode());
            configurations.Add(path);
        }

        Parallel.ForEach(pendingKeys, pending =>
        {
            using (pending.Key)
            {
                EncryptedKeyFile.Save(pending.Path, pending.Key, pending.Secret.Passphrase, overwrite: false, iterations: options.KdfIterations);
            }
        });

        return new InitResult(genesisPath, genesis, genesis.ComputeHash(genesisBytes), configurations, pendingKeys.Count);
    }

    /// <summary>The plain HTTP listener (health, metrics, REST) sits 1000 ports above the client API, on the same host.</summary>
    private static string HttpAddressOf(string apiAddress)
    {
        var separator = apiAddress.LastIndexOf(':');
        return $"{apiAddress[..separator]}:{int.Parse(apiAddress[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture) + 1000}";
    }

    private static IEnumerable<(string User, CertificateRole Role)> UsersOf(bool regulator) => regulator
        ? [("admin", CertificateRole.Admin), ("regulator", CertificateRole.Regulator)]
        : [("admin", CertificateRole.Admin), ("registrar", CertificateRole.Registrar), ("client1", CertificateRole.Client)];

    private static void Check(InitOptions options)
    {
        if (options.Organisations < 1 || options.Organisations > 64) throw new CustosException(ErrorCode.InvalidField, "--orgs must be between 1 and 64");
        if (options.Validators < 4 || options.Validators > WireLimits.ValidatorsMax)
        {
            throw new CustosException(ErrorCode.InvalidField, $"--validators must be between 4 (the minimum safe number, n = 3f + 1 with f = 1) and {WireLimits.ValidatorsMax}");
        }

        if (options.Observers < 0 || options.Observers > 64) throw new CustosException(ErrorCode.InvalidField, "--observers must be between 0 and 64");
        if (options.BasePort < 1024 || options.BasePort + 2000 + options.Validators + options.Observers > 65535) throw new CustosException(ErrorCode.InvalidField, "--base-port leaves no room for the nodes' ports");
        if (options.ChainId is not null && Decoders.CheckChainId(options.ChainId) is { } error) throw error.ToException();
        if (options.KdfIterations < EncryptedKeyFile.MinimumIterations) throw new CustosException(ErrorCode.InvalidField, $"--kdf-iterations must be at least {EncryptedKeyFile.MinimumIterations}");
    }

    private static void PrepareDirectory(string root, bool overwrite)
    {
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
        {
            if (!overwrite) throw new CustosException(ErrorCode.InvalidField, $"{root} is not empty; choose another directory or pass --force to replace it");
            Directory.Delete(root, recursive: true);
        }

        Directory.CreateDirectory(root);
    }

    /// <summary>An organisation's key passphrase and where configurations say to find it.</summary>
    private sealed record OrganisationSecret(string Source, string? FilePath, string Passphrase);

    private OrganisationSecret PrepareSecret(string root, string organisation, InitOptions options)
    {
        if (options.PassphraseEnvironmentVariable is { } variable)
        {
            var value = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(value))
            {
                throw new CustosException(ErrorCode.InvalidField, $"environment variable {variable} holds no passphrase");
            }

            return new OrganisationSecret($"env:{variable}", null, value);
        }

        var secrets = Path.Combine(root, "secrets");
        Directory.CreateDirectory(secrets);
        File.SetUnixFileMode(secrets, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Path.Combine(secrets, $"{organisation}.passphrase");
        var passphrase = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        using (var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(passphrase);
        }

        if (organisation == "org1")
        {
            log.WriteLine($"  passphrases generated into {secrets} (mode 0600). For production, keep keys in an HSM or pass --passphrase-env.");
        }

        return new OrganisationSecret($"file:{path}", path, passphrase);
    }

}
