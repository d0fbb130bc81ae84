using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;

namespace Custos.Simulation;

/// <summary>
/// One engine instance of a simulated node and its storage. The durable part (safety state, ledger with execution
/// results, epoch-ending proofs, journal) survives a crash; the engine and everything in flight do not. A Twins
/// node has two replicas sharing one key.
/// </summary>
internal sealed class SimReplica(SimNode node, int instance, IHashFunction hash) : ICommittedChain
{
    public SimNode Node { get; } = node;

    public int Instance { get; } = instance;

    public string Name => Node.Replicas.Count > 1 ? $"{Node.Id}.{Instance}" : Node.Id.ToString();

    // Durable.
    public byte[]? Safety { get; set; }

    public List<(CommittedBlock Block, BlockExecuted Execution)> Ledger { get; } = [];

    public Dictionary<ulong, EpochEndingProof> EpochEndings { get; } = [];

    public JournalChain Journal { get; } = new(hash);

    /// <summary>The executed currency state (currency workload only), durable with the ledger it belongs to.</summary>
    public CurrencyLedger? Currency { get; init; }

    // Volatile.
    public ConsensusEngine? Engine { get; set; }

    public int TimerGeneration { get; set; }

    /// <summary>Signed statements delivered to this replica since it last started, for the evidence checker.</summary>
    public Dictionary<(ulong Epoch, ulong Round, SignedKind Kind, uint Author), Google.Protobuf.ByteString> Delivered { get; } = [];

    /// <summary>Evidence the engine emitted since it last started, by (epoch, round, kind, culprit).</summary>
    public HashSet<(ulong Epoch, ulong Round, SignedKind Kind, uint Author)> EvidenceEmitted { get; } = [];

    public bool TryGetBlock(ulong height, out CommittedBlock block)
    {
        // Heights of the ledger are contiguous from its first entry.
        if (Ledger.Count > 0 && height >= Ledger[0].Block.Height && height - Ledger[0].Block.Height < (ulong)Ledger.Count)
        {
            block = Ledger[(int)(height - Ledger[0].Block.Height)].Block;
            return true;
        }

        block = null!;
        return false;
    }

    public bool TryGetEpochEnding(ulong epoch, out EpochEndingProof proof) => EpochEndings.TryGetValue(epoch, out proof!);
}

/// <summary>A simulated node: identity, clock skew, disk speed, up or down, and its replicas (two for Twins).</summary>
internal sealed class SimNode(SimNodeIdentity identity)
{
    public SimNodeIdentity Identity { get; } = identity;

    public NodeId Id => Identity.Id;

    public bool Byzantine => Identity.Byzantine;

    public Adversary? Adversary { get; set; }

    public List<SimReplica> Replicas { get; } = [];

    public long SkewMs { get; set; }

    public long DiskDelayMsMax { get; set; }

    public bool Up { get; set; } = true;

    public int Incarnation { get; set; }

    public long LocalTime(long virtualMs) => virtualMs + SkewMs;
}
