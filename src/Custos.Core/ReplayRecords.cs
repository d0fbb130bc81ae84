namespace Custos.Core;

/// <summary>
/// Where the ledger keeps its replay records: the ids of executed transactions that have not expired yet, each with
/// its expiry height. Execution writes and reads them like any other state key under <see cref="KeyPrefix"/>, but the
/// store keeps them beside the authenticated tree, not in it. They are bookkeeping derived from the blocks (which
/// the chain already authenticates), read only to refuse a replay, and one is added per transaction: in the tree each
/// added a leaf and rewrote the internal nodes above it, which made them most of the tree's work and of its growth.
/// Every node derives the same records from the same blocks, so execution stays deterministic; a node whose records
/// differed would give other receipts than its peers and could not join a quorum on them.
/// </summary>
public static class ReplayRecords
{
    /// <summary>
    /// The prefix of every replay record's key: the ledger's system namespace, the namespace separator, then
    /// <c>seen/</c> (the transaction id follows).
    /// </summary>
    public static ReadOnlySpan<byte> KeyPrefix => "system.ledger\0seen/"u8;

    public static bool IsReplayRecord(ReadOnlySpan<byte> key) => key.StartsWith(KeyPrefix);
}
