using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.Journal;
using Custos.Storage.State;

namespace Custos.Storage;

/// <summary>Which chain a data directory belongs to. Stored once at creation and checked on every open.</summary>
public sealed record ChainIdentity(string ChainId, Hash32 GenesisHash, CryptoSuiteId Suite)
{
    public override string ToString() => $"chain '{ChainId}' (genesis {GenesisHash.ToShortString()}, suite {Suite})";
}

/// <summary>The last complete block of a store and what was persisted with it.</summary>
public sealed record StoreHead(ulong Height, Hash32 BlockHash, Hash32 StateRoot, JournalHead Journal);

/// <summary>A block read back from the store, its hash and transaction root verified.</summary>
public sealed record StoredBlock(ulong Height, Hash32 Hash, DecodedBlock Block);

/// <summary>Where a transaction is: the block height and its index in that block.</summary>
public readonly record struct TransactionLocation(ulong Height, uint Index);

/// <summary>An event emitted by the transaction at <see cref="TransactionIndex"/>; <see cref="Encoded"/> is opaque to storage.</summary>
public sealed record StoredEvent(uint TransactionIndex, ReadOnlyMemory<byte> Encoded);

/// <summary>
/// Everything persisted with one block, in one atomic, synced batch: the block, its state changes, receipts and
/// events, configuration changes and consensus-journal entries. After a crash the store holds all of it or none.
/// </summary>
public sealed class BlockPersist
{
    public required DecodedBlock Block { get; init; }

    /// <summary>The block's state changes, staged in advance with <see cref="AuthenticatedState.Stage"/>.</summary>
    public StateDelta? StateDelta { get; init; }

    /// <summary>Or the writes themselves, staged during the persist. Neither: the state is unchanged.</summary>
    public IReadOnlyList<StateWrite>? StateWrites { get; init; }

    /// <summary>One encoded receipt per transaction (or none at all).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Receipts { get; init; } = [];

    public IReadOnlyList<StoredEvent> Events { get; init; } = [];

    /// <summary>Named configuration entries this block sets (genesis document, parameters decided by governance).</summary>
    public IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> Configuration { get; init; } = [];

    /// <summary>Consensus-journal entries to append in the same batch.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> JournalEntries { get; init; } = [];
}

/// <summary>What a persist wrote.</summary>
public sealed record PersistResult(ulong Height, Hash32 BlockHash, Hash32 StateRoot, int StateNodesWritten, JournalHead Journal);

/// <summary>What <see cref="LedgerStore.VerifyChain"/> checked.</summary>
public sealed record ChainVerification(ulong BlocksChecked, StoreHead? Head, Hash32 StateRoot, long StateKeys, ulong JournalEntries);
