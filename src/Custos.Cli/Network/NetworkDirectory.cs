using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Identity;
using Custos.Identity.Consortium;
using Custos.Node;
using Custos.Sdk;

namespace Custos.Cli.Network;

/// <summary>A user of a network directory written by `custos init`: certificate, key, account and a signer.</summary>
internal sealed record NetworkUser(string Label, ConsortiumCertificate Certificate, ISigningKey Key, AccountId Account, TransactionSigner Signer) : IDisposable
{
    public void Dispose() => Key.Dispose();
}

/// <summary>
/// A network directory as `custos init` (and `custos devnet`) lays it out: genesis.json, orgs/ORG/users/USER/ with
/// the encrypted key and certificate, secrets/ORG.passphrase, nodes/NODE/node.json. Tools use it to act as one of
/// its users against one of its nodes.
/// </summary>
internal sealed class NetworkDirectory
{
    private NetworkDirectory(string root, ChainSetup chain)
    {
        Root = root;
        Chain = chain;
        Trust = new ChainTrust(chain.ChainId, chain.Suite, chain.Genesis.CreateValidator(), chain.Validators);
    }

    public string Root { get; }

    public ChainSetup Chain { get; }

    public ChainTrust Trust { get; }

    public static NetworkDirectory Open(string root)
    {
        var full = Path.GetFullPath(root);
        return new NetworkDirectory(full, ChainSetup.Load(Path.Combine(full, "genesis.json")));
    }

    public string ConfigPath(string node) => Path.Combine(Root, "nodes", node, "node.json");

    /// <summary>Loads user <c>USER@ORG</c> (for example client1@org1) with its key and genesis account.</summary>
    public NetworkUser User(string label)
    {
        var at = label.IndexOf('@');
        if (at <= 0 || at == label.Length - 1) throw new CustosException(ErrorCode.InvalidField, $"'{label}' is not USER@ORG");
        var (user, organisation) = (label[..at], label[(at + 1)..]);
        var directory = Path.Combine(Root, "orgs", organisation, "users", user);
        if (!Directory.Exists(directory)) throw new CustosException(ErrorCode.NotFound, $"no user {label} in {Root}");
        var certificate = ConsortiumCertificate.FromPem(File.ReadAllText(Path.Combine(directory, $"{user}.pem")), Chain.Suite);
        var secret = Path.Combine(Root, "secrets", $"{organisation}.passphrase");
        var key = KeyCustody.Open("file:" + Path.Combine(directory, $"{user}.key"), Chain.Suite, SecretSource.FromFile(secret));
        var account = Account(label);
        return new NetworkUser(label, certificate, key, account, new TransactionSigner(Chain.ChainId, Chain.Suite, key, account));
    }

    /// <summary>The genesis account with this label, or an account id given in hexadecimal.</summary>
    public AccountId Account(string labelOrHex)
    {
        var entry = Chain.Genesis.Accounts.FirstOrDefault(a => a.Label == labelOrHex);
        if (entry is not null) return AccountId.Parse(entry.Id);
        try
        {
            return AccountId.Parse(labelOrHex);
        }
        catch (CustosException)
        {
            throw new CustosException(ErrorCode.NotFound, $"no genesis account labelled '{labelOrHex}' (and it is not an account id)");
        }
    }

    public GenesisNode Node(string name) => Chain.Nodes.FirstOrDefault(n => n.Name == name)
        ?? throw new CustosException(ErrorCode.NotFound, $"no node '{name}' in the genesis file");

    public CustosClient Connect(NetworkUser user, string node)
    {
        var entry = Node(node);
        var separator = entry.ApiAddress.LastIndexOf(':');
        return CustosClient.Connect(Trust, user.Certificate, user.Key, entry.Name, entry.ApiAddress[..separator], int.Parse(entry.ApiAddress[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
