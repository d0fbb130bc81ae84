using Custos.Core;

namespace Custos.Consensus;

/// <summary>Something that happened to a node, handed to <see cref="ConsensusEngine.Handle"/> with the node's current time.</summary>
public abstract record ConsensusEvent;

/// <summary>A message arrived from a peer. The transport authenticated the peer; the engine still verifies every signature.</summary>
public sealed record MessageReceived(NodeId From, ReadOnlyMemory<byte> Bytes) : ConsensusEvent
{
    /// <summary>
    /// For a proposal, its block as the caller already built it from transactions it had decoded (a proposal rebuilt
    /// from batches), so that the engine does not decode them again. Used only if its encoding is exactly the
    /// proposal's block bytes, or the proposal's block is exactly this block's header (the compact form sent with
    /// batch digests; the transaction root is then checked against this block's transactions).
    /// </summary>
    public BlockRecord? Block { get; init; }
}

/// <summary>The timer set by <see cref="ScheduleTimer"/> for this (epoch, round) went off.</summary>
public sealed record TimerFired(ulong Epoch, ulong Round) : ConsensusEvent;

/// <summary>The safety state emitted with this sequence number (and every earlier one) is durable.</summary>
public sealed record SafetyStatePersisted(long Sequence) : ConsensusEvent;

/// <summary>
/// Execution finished a committed block. <paramref name="NextEpoch"/> is set when executing it ended the epoch: the
/// validator set of the next epoch, whose <see cref="ValidatorSet.Epoch"/> must be the current epoch plus one.
/// </summary>
public sealed record BlockExecuted(ulong Height, Hash32 BlockHash, Hash32 StateRoot, ValidatorSet? NextEpoch = null) : ConsensusEvent;

/// <summary>
/// Payload became available, or an empty-block delay (<see cref="ConsensusConfig.EmptyBlockDelayMs"/>) may have
/// passed: a leader holding back an empty proposal checks again.
/// </summary>
public sealed record ProposalDue : ConsensusEvent;
