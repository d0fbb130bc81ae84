using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Supervision.Index;

/// <summary>
/// Committed blocks read from the node's own <see cref="LedgerStore"/>: the verified block, one receipt per
/// transaction and the events stored with the block. The sender's organisation comes from its
/// <c>system.accounts</c> record in the latest state: an account's organisation is fixed at registration and records
/// are never deleted, so the latest state answers for every past block too, even where old versions were pruned.
/// <para>Threading: one reader (the indexer's loop); the store itself may be written concurrently.</para>
/// </summary>
public sealed class LedgerStoreBlockSource(LedgerStore store) : ICommittedBlockSource
{
    /// <summary>Organisations remembered before the memo is emptied: bounds memory on chains with many accounts.</summary>
    public const int OrganisationMemoEntriesMax = 100_000;

    // Only found organisations are remembered: a sender unknown today may be registered by a later block.
    private readonly Dictionary<AccountId, string> _organisations = [];

    public ulong? HeadHeight => store.Head?.Height;

    public IndexedBlock? ReadBlock(ulong height)
    {
        if (store.ReadBlock(height) is not { } stored) return null;
        var block = stored.Block;
        var eventsByTransaction = ReadEvents(height, block.Transactions.Count);
        var transactions = new IndexedTransaction[block.Transactions.Count];
        for (var i = 0; i < transactions.Length; i++)
        {
            var transaction = block.Transactions[i];
            var id = transaction.ComputeId(store.Suite);
            var receipt = ReadReceipt(height, (uint)i, id);
            var body = transaction.Body;
            transactions[i] = new IndexedTransaction(
                id, (uint)i, transaction.Sender, Organisation(transaction.Sender),
                body.Contract, body.ContractVersion, body.Method, body.Nonce, body.Arguments.Memory,
                receipt?.Code, receipt?.Message ?? "", receipt?.GasUsed ?? 0,
                eventsByTransaction[i] ?? []);
        }

        var header = block.Header;
        return new IndexedBlock(height, stored.Hash, new Hash32(header.ParentHash.Span), header.TimestampMs, header.Proposer,
            new Hash32(header.StateRoot.Span), transactions);
    }

    private List<IndexedEvent>?[] ReadEvents(ulong height, int transactionCount)
    {
        var result = new List<IndexedEvent>?[transactionCount];
        foreach (var stored in store.ReadEvents(height))
        {
            if (stored.TransactionIndex >= transactionCount)
            {
                throw new CustosException(ErrorCode.StorageCorrupt, $"an event of block {height} names transaction {stored.TransactionIndex} of {transactionCount}");
            }

            var decoded = Parse(Event.Parser, stored.Encoded.Span, $"an event of block {height}");
            (result[stored.TransactionIndex] ??= []).Add(new IndexedEvent(decoded.Contract, decoded.Name, decoded.Data.Memory));
        }

        return result;
    }

    private Receipt? ReadReceipt(ulong height, uint index, Hash32 id)
    {
        if (store.ReadReceipt(new TransactionLocation(height, index)) is not { } bytes) return null;
        var receipt = Parse(Receipt.Parser, bytes, $"the receipt of transaction {index} of block {height}");
        if (!receipt.TransactionId.Span.SequenceEqual(id.ToArray()))
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"the receipt of transaction {index} of block {height} names another transaction");
        }

        return receipt;
    }

    private string? Organisation(AccountId account)
    {
        if (_organisations.TryGetValue(account, out var known)) return known;
        if (store.State.LatestVersion is null) return null;
        var bytes = store.State.Get(AccountRegistry.RecordKey(account));
        if (bytes is null) return null;
        var organisation = Parse(AccountRecord.Parser, bytes, $"the account record of {account}").Organisation;
        if (_organisations.Count >= OrganisationMemoEntriesMax) _organisations.Clear();
        _organisations[account] = organisation;
        return organisation;
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySpan<byte> bytes, string what) where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"{what} does not decode", e);
        }
    }
}
