using Custos.Consensus.Wire;

namespace Custos.Consensus;

/// <summary>Something the host must do for the engine. Actions of one call are returned in the order they must be done.</summary>
public abstract record ConsensusAction;

/// <summary>Send an encoded <see cref="ConsensusMessage"/> to one node.</summary>
public sealed record SendMessage(NodeId To, byte[] Message) : ConsensusAction;

/// <summary>Send an encoded <see cref="ConsensusMessage"/> to every other node (validators and observers).</summary>
public sealed record BroadcastMessage(byte[] Message) : ConsensusAction
{
    /// <summary>
    /// For this engine's own proposal: its block and the same message with the block's header only. A host that
    /// disseminates transactions apart (in batches) sends that form without parsing the whole message back.
    /// </summary>
    public ProposalForms? Proposal { get; init; }
}

/// <param name="Block">The proposal's block, as the engine built it.</param>
/// <param name="HeaderOnly">The encoded proposal message with the block's header and no transactions: all the proposer signed.</param>
public sealed record ProposalForms(BlockRecord Block, ReadOnlyMemory<byte> HeaderOnly);

/// <summary>
/// Write the encoded <see cref="SafetyState"/> durably, then report <see cref="SafetyStatePersisted"/> with this
/// sequence number. Votes, timeouts and proposals signed under this state are held back until then.
/// </summary>
public sealed record PersistSafetyState(byte[] State, long Sequence) : ConsensusAction;

/// <summary>Append a committed block to the ledger, execute it, then report <see cref="BlockExecuted"/>.</summary>
public sealed record CommitBlock(CommittedBlock Block) : ConsensusAction;

/// <summary>Keep the proof that ended an epoch (served to lagging nodes) and the next epoch's validator set.</summary>
public sealed record PersistEpochEnding(EpochEndingProof Proof, ValidatorSet Next) : ConsensusAction;

/// <summary>Set the node's one round timer (replacing any earlier one) to fire at <paramref name="AtMs"/> on the node's clock.</summary>
public sealed record ScheduleTimer(ulong Epoch, ulong Round, long AtMs) : ConsensusAction;

/// <summary>Send a catch-up request (an encoded <see cref="ConsensusMessage"/>) asking <paramref name="Peer"/> for the blocks above <paramref name="FromHeight"/>.</summary>
public sealed record RequestBlocks(NodeId Peer, ulong FromHeight, byte[] Message) : ConsensusAction;

/// <summary>A validator signed two conflicting statements; the evidence verifies with the validator set alone.</summary>
public sealed record EmitEvidence(EquivocationEvidence Evidence) : ConsensusAction;

/// <summary>Append an encoded <see cref="JournalEntry"/> to the node's hash-chained consensus journal.</summary>
public sealed record JournalAppend(byte[] Payload) : ConsensusAction
{
    /// <summary>What the entry records, so that a host can act on refusals without decoding every entry (a proposal's holds its whole block).</summary>
    public Wire.JournalEntryKind Kind { get; init; }
}

/// <summary>
/// A broken invariant (more than f validators broke the rules, or the host fed inconsistent events): the node must
/// stop rather than continue on state it cannot trust. The engine ignores every later event.
/// </summary>
public sealed record Halt(string Reason) : ConsensusAction;
