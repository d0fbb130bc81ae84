using Custos.Consensus.Wire;
using Custos.Core;

namespace Custos.Consensus;

/// <summary>What a new block carries: transactions in execution order and the state root to put in its header.</summary>
public sealed record BlockPayload(IReadOnlyList<Transaction> Transactions, Hash32 StateRoot);

/// <summary>
/// Where a leader gets the contents of its block: the mempool, later, with batches disseminated ahead of the
/// proposal. Consensus treats the payload as opaque.
/// </summary>
public interface IPayloadSource
{
    BlockPayload NextPayload(BlockRecord parent, ulong height, ulong round, long nowMs);

    /// <summary>Whether a block on <paramref name="parent"/> would carry anything (consulted only with an empty-block delay).</summary>
    bool HasPayload(BlockRecord parent) => true;
}

/// <summary>
/// Checks a proposed block's payload beyond its structure (execution, later). Returns null to accept, or the
/// typed reason to refuse. Must be deterministic: every honest validator decides the same way.
/// </summary>
public interface IBlockValidator
{
    CustosError? Validate(BlockRecord block, BlockRecord parent);
}

/// <summary>
/// A read-only view of the node's durable ledger, from which the engine serves catch-up requests.
/// Implemented by storage in a node and by the simulator's durable memory.
/// </summary>
public interface ICommittedChain
{
    /// <summary>The committed block at <paramref name="height"/>, if the ledger holds it.</summary>
    bool TryGetBlock(ulong height, out CommittedBlock block);

    /// <summary>The proof that ended <paramref name="epoch"/>, if the node kept one.</summary>
    bool TryGetEpochEnding(ulong epoch, out EpochEndingProof proof);
}
