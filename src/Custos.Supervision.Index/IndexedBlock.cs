using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Supervision.Index;

/// <summary>
/// A committed block as the index stores it: header fields, and each transaction with its receipt and events. It
/// is what a <see cref="ICommittedBlockSource"/> yields, independent of how the node keeps blocks.
/// </summary>
public sealed record IndexedBlock(
    ulong Height,
    Hash32 Hash,
    Hash32 ParentHash,
    ulong TimestampMs,
    uint Proposer,
    Hash32 StateRoot,
    IReadOnlyList<IndexedTransaction> Transactions);

/// <summary>
/// One transaction of a block with its outcome. <see cref="Code"/> is null when the block was stored without
/// receipts (only blocks persisted outside execution, such as synthetic benchmark chains).
/// <see cref="SenderOrganisation"/> is the organisation the sender's account is registered to, or null if the
/// source does not know it (an unregistered sender, whose transaction failed).
/// </summary>
public sealed record IndexedTransaction(
    Hash32 Id,
    uint Index,
    AccountId Sender,
    string? SenderOrganisation,
    string Contract,
    uint ContractVersion,
    string Method,
    ulong Nonce,
    ReadOnlyMemory<byte> Arguments,
    ErrorCode? Code,
    string Message,
    ulong GasUsed,
    IReadOnlyList<IndexedEvent> Events);

/// <summary>An event a contract emitted; <see cref="Data"/> is the contract's own encoding.</summary>
public sealed record IndexedEvent(string Contract, string Name, ReadOnlyMemory<byte> Data);

/// <summary>
/// An alert raised by the supervision rules. Identified by (height, rule, subject, transaction): writing the same
/// alert again changes nothing, so the rules component can re-deliver after a restart.
/// </summary>
public sealed record IndexedAlert(
    ulong Height,
    string RuleId,
    string Kind,
    string Severity,
    string Subject,
    ulong Amount,
    byte[]? TransactionId,
    string Detail);

/// <summary>The last height written to the index and its block hash.</summary>
public sealed record IndexProgress(ulong Height, Hash32 BlockHash);

/// <summary>Row counts of the index's tables (what a check against the chain compares).</summary>
public sealed record IndexTotals(long Blocks, long Transactions, long Events, long Transfers, long Alerts);
