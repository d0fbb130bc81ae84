using System.Text;
using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Simulation;

/// <summary>One simulated node's identity: its number, its key, and whether the run makes it Byzantine.</summary>
internal sealed record SimNodeIdentity(NodeId Id, DeterministicSigningKey Key, bool Byzantine);

/// <summary>
/// The validator sets of a run's epochs, standing in for governance: every <c>epochLength</c> committed blocks the
/// epoch ends and one honest validator swaps places with an honest spare node. Byzantine validators stay, so every
/// set keeps at most f of them. Deterministic in its inputs.
/// </summary>
internal sealed class EpochPlan
{
    private readonly IReadOnlyList<SimNodeIdentity> _nodes;
    private readonly int _epochLength;
    private readonly List<ValidatorSet> _sets = [];

    public EpochPlan(IReadOnlyList<SimNodeIdentity> nodes, int validators, int epochLength)
    {
        _nodes = nodes;
        _epochLength = epochLength;
        _sets.Add(new ValidatorSet(1, nodes.Take(validators).Select(n => new Validator(n.Id, n.Key.PublicKey))));
    }

    public int EpochLength => _epochLength;

    public bool EndsEpoch(ulong height) => _epochLength > 0 && height > 0 && height % (ulong)_epochLength == 0;

    public ValidatorSet SetFor(ulong epoch)
    {
        if (epoch == 0) throw new ArgumentOutOfRangeException(nameof(epoch));
        while ((ulong)_sets.Count < epoch)
        {
            var previous = _sets[^1];
            var members = previous.Members.Select(m => m.Node).ToHashSet();
            var honestMembers = previous.Members.Where(m => !IdentityOf(m.Node).Byzantine).Select(m => m.Node).OrderBy(n => n.Value).ToList();
            var spares = _nodes.Where(n => !n.Byzantine && !members.Contains(n.Id)).Select(n => n.Id).ToList();
            if (spares.Count > 0 && honestMembers.Count > 0)
            {
                members.Remove(honestMembers[(int)((previous.Epoch - 1) % (ulong)honestMembers.Count)]);
                members.Add(spares[0]);
            }

            _sets.Add(new ValidatorSet(previous.Epoch + 1, members.OrderBy(n => n.Value).Select(n => new Validator(n, IdentityOf(n).Key.PublicKey))));
        }

        return _sets[(int)epoch - 1];
    }

    private SimNodeIdentity IdentityOf(NodeId id) => _nodes[id.Value];
}

/// <summary>
/// The simulated executor: a state root that chains every committed block, and the epoch plan's validator-set
/// changes. Deterministic, as execution must be: every honest node gets the same result for the same block.
/// </summary>
internal static class SimulatedExecutor
{
    public static BlockExecuted Execute(Hash32 previousStateRoot, BlockRecord block, EpochPlan plan, IHashFunction hash)
    {
        using var accumulator = hash.Begin();
        accumulator.Append("custos-simulation/state\0"u8);
        accumulator.Append(previousStateRoot.ToArray());
        accumulator.Append(block.Hash.ToArray());
        var root = accumulator.Finish();
        var next = block.Height > 0 && plan.EndsEpoch(block.Height) ? plan.SetFor(block.Epoch + 1) : null;
        return new BlockExecuted(block.Height, block.Hash, root, next);
    }
}

/// <summary>
/// Fills blocks with one small signed transaction, tagged with the replica that proposed it (so that Twins
/// replicas propose different blocks), and the latest state root execution reported.
/// </summary>
internal sealed class SimulatedPayloadSource(string chainId, ICryptoSuite suite, ISigningKey client, int replicaTag, Func<Hash32> latestStateRoot) : IPayloadSource
{
    private ulong _nonce;

    public BlockPayload NextPayload(BlockRecord parent, ulong height, ulong round, long nowMs) =>
        new([MakeTransaction(height, round, replicaTag)], latestStateRoot());

    public Transaction MakeTransaction(ulong height, ulong round, int tag)
    {
        var body = new TransactionBody
        {
            ChainId = chainId,
            Sender = new AccountId(0, (ulong)replicaTag + 1).ToByteString(),
            Nonce = ++_nonce,
            ExpiryHeight = height + 1_000,
            Contract = "simulation",
            ContractVersion = 1,
            Method = "note",
            Arguments = ByteString.CopyFrom(Encoding.ASCII.GetBytes($"{tag}/{height}/{round}/{_nonce}")),
            Suite = suite.Id,
        }.ToByteString();
        return SimulatedTransactions.Seal(client, body);
    }
}

/// <summary>
/// Payload rule of the simulation: at most 16 transactions. Client signatures are admission's business (checked
/// once when a transaction enters the mempool), not consensus's, so they are not re-verified here.
/// </summary>
internal sealed class SimulatedBlockValidator : IBlockValidator
{
    public CustosError? Validate(BlockRecord block, BlockRecord parent) =>
        block.Decoded.Transactions.Count > 16 ? new CustosError(ErrorCode.TooLarge, "more than 16 transactions") : null;
}

/// <summary>Signs a transaction body into the envelope a node would receive, decoded as admission decodes it.</summary>
internal static class SimulatedTransactions
{
    public static Transaction Seal(ISigningKey key, ByteString body)
    {
        var envelope = new TransactionEnvelope
        {
            Body = body,
            PublicKey = ByteString.CopyFrom(key.PublicKey.Encoded),
            Signature = ByteString.CopyFrom(key.SignObject(ObjectType.Transaction, body.Span)),
        };
        return Decoders.TryDecodeTransaction(envelope.ToByteArray(), out var transaction, out var error) ? transaction : throw error.ToException();
    }
}
