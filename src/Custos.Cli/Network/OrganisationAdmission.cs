using System.Globalization;
using System.Security.Cryptography;
using Custos.Core;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Identity;
using Custos.Identity.Consortium;
using Custos.Node;
using Custos.Sdk;

namespace Custos.Cli.Network;

/// <summary>
/// What an organisation joining a running consortium prepares on its side, laid out as `custos init` lays out the
/// others (orgs/ORG/ca, orgs/ORG/nodes/NODE, nodes/NODE/node.json, secrets/ORG.passphrase): its own CA, its first
/// administrator's key and account id (named in the add_organisation proposal), and a node whose configuration
/// trusts its CA (the others learn it from the chain) and lists the existing nodes as peers.
/// </summary>
internal sealed class OrganisationAdmission : IDisposable
{
    private OrganisationAdmission(string organisation, CertificateAuthority authority, SoftwareKey administratorKey, AccountId administrator, TransactionSigner signer)
    {
        Organisation = organisation;
        Authority = authority;
        AdministratorKey = administratorKey;
        Administrator = administrator;
        Signer = signer;
    }

    public string Organisation { get; }

    public CertificateAuthority Authority { get; }

    public SoftwareKey AdministratorKey { get; }

    public AccountId Administrator { get; }

    public TransactionSigner Signer { get; }

    public static OrganisationAdmission Prepare(NetworkDirectory network, string organisation)
    {
        var suite = network.Chain.Suite;
        var caDirectory = Directory.CreateDirectory(Path.Combine(network.Root, "orgs", organisation, "ca")).FullName;
        var caKey = suite.GenerateKey();
        var authority = CertificateAuthority.CreateRoot(organisation, caKey, suite, TimeSpan.FromDays(3650));
        File.WriteAllText(Path.Combine(caDirectory, "ca.pem"), authority.Certificate.ToPem());
        EncryptedKeyFile.Save(Path.Combine(caDirectory, "ca.key"), caKey, Passphrase(network, organisation), overwrite: true, iterations: EncryptedKeyFile.MinimumIterations);
        var administratorKey = suite.GenerateKey();
        var administrator = new AccountId(RandomNumberGenerator.GetBytes(AccountId.SizeBytes));
        return new OrganisationAdmission(organisation, authority, administratorKey, administrator,
            new TransactionSigner(network.Chain.ChainId, suite, administratorKey, administrator));
    }

    /// <summary>Writes a node's key, certificate and configuration; returns the configuration's path and the node's public key.</summary>
    public (string ConfigPath, NodeConfigurationFile Config, PublicKey Key) PrepareNode(NetworkDirectory network, string name, int portOffset)
    {
        var suite = network.Chain.Suite;
        var first = network.Chain.Nodes[0];
        int Port(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        var nodeDirectory = Directory.CreateDirectory(Path.Combine(network.Root, "orgs", Organisation, "nodes", name)).FullName;
        using var key = suite.GenerateKey();
        var certificate = Authority.Issue(new CertificateRequest(name, CertificateRole.Node, key.PublicKey)
        {
            DnsNames = [name, "localhost"],
            IpAddresses = ["127.0.0.1"],
            Lifetime = TimeSpan.FromDays(365),
        });
        var keyPath = Path.Combine(nodeDirectory, "node.key");
        var certificatePath = Path.Combine(nodeDirectory, "node.pem");
        EncryptedKeyFile.Save(keyPath, key, Passphrase(network, Organisation), overwrite: true, iterations: EncryptedKeyFile.MinimumIterations);
        File.WriteAllText(certificatePath, certificate.ToPem());

        var directory = Directory.CreateDirectory(Path.Combine(network.Root, "nodes", name)).FullName;
        var p2p = $"127.0.0.1:{Port(first.P2pAddress) + portOffset}";
        var api = $"127.0.0.1:{Port(first.ApiAddress) + portOffset}";
        var config = new NodeConfigurationFile
        {
            Node = name,
            Organisation = Organisation,
            Kind = NodeKind.Observer,
            Genesis = Path.GetRelativePath(directory, Path.Combine(network.Root, "genesis.json")),
            DataDirectory = "data",
            P2pListen = p2p,
            ApiListen = api,
            HttpListen = $"127.0.0.1:{Port(api) + 1000}",
            Key = "file:" + Path.GetRelativePath(directory, keyPath),
            KeySecret = "file:" + Path.GetRelativePath(directory, PassphrasePath(network, Organisation)),
            Certificate = Path.GetRelativePath(directory, certificatePath),
            Peers = network.Chain.Nodes.Select(n => $"{n.Name}@{n.P2pAddress}").ToList(),
            Authorities = [Path.GetRelativePath(directory, Path.Combine(network.Root, "orgs", Organisation, "ca", "ca.pem"))],
        };
        var path = Path.Combine(directory, "node.json");
        File.WriteAllBytes(path, config.Encode());
        return (path, config, key.PublicKey);
    }

    private static string PassphrasePath(NetworkDirectory network, string organisation) => Path.Combine(network.Root, "secrets", $"{organisation}.passphrase");

    /// <summary>The organisation's key-file passphrase, created on first use with owner-only permissions.</summary>
    private static string Passphrase(NetworkDirectory network, string organisation)
    {
        var path = PassphrasePath(network, organisation);
        if (File.Exists(path)) return File.ReadAllText(path).Trim();
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

        return passphrase;
    }

    public void Dispose() => AdministratorKey.Dispose();
}
