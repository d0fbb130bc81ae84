using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Identity;
using Custos.Identity.Consortium;
using Custos.Storage;
using Custos.Storage.State;
using Google.Protobuf;

namespace Custos.Node;

/// <summary>
/// Everything a node derives from the genesis document: the suite, node numbering (validators in genesis order,
/// then observers), the first validator set, consensus parameters, the genesis block, its QC and its state.
/// Every node derives the same values from the same file.
/// </summary>
public sealed class ChainSetup
{
    // Read on every received frame, written only when governance admits a node: lookups take no lock.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, NodeId> _idByName;
    private readonly List<string> _addedNames = [];

    private ChainSetup(GenesisDocument genesis, byte[] encoded)
    {
        Genesis = genesis;
        Encoded = encoded;
        Suite = genesis.Suite;
        GenesisHash = genesis.ComputeHash(encoded);
        Nodes = [.. genesis.Validators, .. genesis.Observers];
        _idByName = new(Nodes.Select((n, i) => KeyValuePair.Create(n.Name, new NodeId(i))), StringComparer.Ordinal);
        Validators = new ValidatorSet(0, genesis.Validators.Select((v, i) =>
            new Validator(new NodeId(i), ConsortiumCertificate.FromPem(v.Certificate, Suite).PublicKey)));
        GenesisBlock = CreateGenesisBlock(genesis);
        Identity = new ChainIdentity(genesis.ChainId, GenesisHash, Suite.Id);
        var parameters = genesis.Parameters;
        Consensus = new ConsensusConfig
        {
            ChainId = genesis.ChainId,
            RoundTimeoutMs = parameters.RoundTimeoutMs,
            RoundTimeoutBackoff = parameters.RoundTimeoutBackoff,
            RoundTimeoutMsMax = parameters.RoundTimeoutMsMax,
        };
        Execution = new ExecutionLimits { KeyResetLockBlocks = (ulong)parameters.KeyResetLockWindowBlocks };
        if (genesis.GenesisQuorumCertificate is { } qcText)
        {
            byte[] qcBytes;
            try
            {
                qcBytes = Convert.FromBase64String(qcText);
            }
            catch (FormatException)
            {
                throw new CustosException(ErrorCode.Malformed, "genesis: genesisQuorumCertificate is not base64");
            }

            if (!Decoders.TryDecodeQuorumCertificate(qcBytes, out var qc, out _, out var error)) throw (error with { Message = $"genesis QC: {error.Message}" }).ToException();
            if (!CertificateVerifier.TryVerify(qc, genesis.ChainId, Validators, Suite, out var view, out var verifyError))
            {
                throw (verifyError with { Message = $"genesis QC: {verifyError.Message}" }).ToException();
            }

            if (view.BlockHash != GenesisBlock.Hash) throw new CustosException(ErrorCode.InvalidField, "genesis QC does not certify this genesis block");

            GenesisQc = qc;
        }
    }

    public GenesisDocument Genesis { get; }

    /// <summary>The genesis file's bytes, exactly as hashed.</summary>
    public byte[] Encoded { get; }

    public Hash32 GenesisHash { get; }

    public ICryptoSuite Suite { get; }

    public string ChainId => Genesis.ChainId;

    /// <summary>Validators then observers; a node's index here is its <see cref="NodeId"/>.</summary>
    public IReadOnlyList<GenesisNode> Nodes { get; }

    public ValidatorSet Validators { get; }

    public BlockRecord GenesisBlock { get; }

    /// <summary>Null only for a genesis file written before the first validators signed it.</summary>
    public QuorumCertificate? GenesisQc { get; }

    public ChainIdentity Identity { get; }

    public ConsensusConfig Consensus { get; }

    /// <summary>The execution parameters genesis fixes (the key-reset lock window); the executor must be built with them.</summary>
    public ExecutionLimits Execution { get; }

    public static ChainSetup Load(string path)
    {
        if (!File.Exists(path)) throw new CustosException(ErrorCode.NotFound, $"no genesis file at {path}");
        return FromBytes(File.ReadAllBytes(path));
    }

    public static ChainSetup FromBytes(byte[] encoded) => new(GenesisDocument.Decode(encoded), encoded);

    public bool TryGetNode(string name, out NodeId id) => _idByName.TryGetValue(name, out id);

    /// <summary>
    /// The host's number for a node, numbering a node governance named that genesis does not know after all the
    /// others (the numbers are this host's own; consensus uses validator indices).
    /// </summary>
    public NodeId NodeIdFor(string name)
    {
        lock (_addedNames)
        {
            if (_idByName.TryGetValue(name, out var id)) return id;
            id = new NodeId(Nodes.Count + _addedNames.Count);
            _addedNames.Add(name);
            _idByName[name] = id;
            return id;
        }
    }

    public string NameOf(NodeId id)
    {
        if (id.Value >= 0 && id.Value < Nodes.Count) return Nodes[id.Value].Name;
        lock (_addedNames) return id.Value - Nodes.Count is var added && added >= 0 && added < _addedNames.Count ? _addedNames[added] : id.ToString();
    }

    /// <summary>The genesis block: height 0, epoch 0, at genesis time, on the empty state (its state is version 0).</summary>
    public static BlockRecord CreateGenesisBlock(GenesisDocument genesis)
    {
        var suite = genesis.Suite;
        return Custos.Consensus.Genesis.CreateBlock(genesis.ChainId, 0, (ulong)genesis.GenesisTime.ToUnixTimeMilliseconds(), StateHashing.EmptyRoot(suite), suite);
    }

    /// <summary>The first validators' signatures on the genesis block, in validator order (init holds every key).</summary>
    public static string CertifyGenesis(GenesisDocument genesis, IReadOnlyList<ISigningKey> validatorKeys)
    {
        var block = CreateGenesisBlock(genesis);
        var qc = Custos.Consensus.Genesis.Certify(block, validatorKeys.Select((k, i) => ((uint)i, k)));
        return Convert.ToBase64String(qc.ToByteArray());
    }

    /// <summary>The genesis accounts as execution builds the first state from them.</summary>
    public IReadOnlyList<GenesisAccount> Accounts() => Genesis.Accounts.Select(a => new GenesisAccount(
        AccountId.Parse(a.Id),
        a.Organisation,
        Convert.FromHexString(a.PublicKey),
        a.Kind switch
        {
            AccountKind.Administrator => AccountType.Administrator,
            AccountKind.SpecialPrivilege => AccountType.SpecialPrivilege,
            _ => AccountType.Ordinary,
        },
        a.Balance)).ToList();

    /// <summary>The organisations and their roles as execution records them at genesis.</summary>
    public IReadOnlyList<GenesisOrganisationRole> Organisations() => Genesis.Organisations.Select(o => new GenesisOrganisationRole(
        o.Id, o.Kind == OrganisationKind.Regulator ? OrganisationRole.Regulator : OrganisationRole.Member)).ToList();

    /// <summary>The genesis validators as governance's record of the validator set starts.</summary>
    public IReadOnlyList<GenesisValidator> GenesisValidators() => Genesis.Validators.Select(v => new GenesisValidator(
        v.Name, v.Organisation, ConsortiumCertificate.FromPem(v.Certificate, Suite).PublicKey.ToArray())).ToList();

    /// <summary>The writes of state version 0, persisted with the genesis block.</summary>
    public IReadOnlyList<StateWrite> GenesisWrites() =>
        GenesisState.Build(Accounts(), Organisations(), GenesisValidators()).Changes.Select(c => new StateWrite(c.Key, c.Value)).ToList();
}
