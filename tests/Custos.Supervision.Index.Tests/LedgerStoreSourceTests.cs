using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Storage.State;
using Google.Protobuf;

namespace Custos.Supervision.Index.Tests;

/// <summary>The source over the node's own store: blocks, receipts, events and organisations as persisted.</summary>
public sealed class LedgerStoreSourceTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;
    private static readonly AccountId Payer = new(0, 1);
    private static readonly AccountId Payee = new(0, 2);
    private static readonly AccountId Stranger = new(0, 99);

    /// <summary>Genesis registers the payer (org1) and the payee (org2); block 1 holds a transfer and a stranger's failed call.</summary>
    private static (StoreChain Store, IReadOnlyList<Hash32> Ids) Build()
    {
        var store = new StoreChain();
        var writes = new[] { (Payer, "org1"), (Payee, "org2") }
            .Select(a => StateWrite.Put(AccountRegistry.RecordKey(a.Item1),
                new AccountRecord { AccountId = a.Item1.ToByteString(), Organisation = a.Item2, Type = AccountType.Ordinary, Status = AccountStatus.Active }.ToByteArray()))
            .ToList();
        store.Persist([], _ => (ErrorCode.Ok, []), writes);
        var transfer = new TransferEvent { From = Payer.ToByteString(), To = Payee.ToByteString(), Amount = 1_234 };
        var ids = store.Persist(
            [
                StoreChain.Body(Payer, "token", "transfer", new TransferArguments { To = Payee.ToByteString(), Amount = 1_234 }, nonce: 1),
                StoreChain.Body(Stranger, "token", "transfer", new TransferArguments { To = Payer.ToByteString(), Amount = 1 }, nonce: 1),
            ],
            i => i == 0
                ? (ErrorCode.Ok, [new Event { Contract = "token", Name = "transfer", Data = transfer.ToByteString() }])
                : (ErrorCode.SenderUnknown, []));
        return (store, ids);
    }

    [Fact]
    public void The_source_reads_blocks_with_receipts_events_and_the_senders_organisations()
    {
        var (store, ids) = Build();
        using var _ = store;
        var source = new LedgerStoreBlockSource(store.Store);

        Assert.Equal(1UL, source.HeadHeight);
        var block = source.ReadBlock(1)!;
        Assert.Null(source.ReadBlock(2));

        Assert.Equal(store.Store.Head!.BlockHash, block.Hash);
        Assert.Equal(store.Store.ReadBlock(0)!.Hash, block.ParentHash);
        Assert.Equal(TestChain.StartMs + 1000, block.TimestampMs);
        Assert.Equal(2, block.Transactions.Count);
        var (paid, failed) = (block.Transactions[0], block.Transactions[1]);
        Assert.Equal((ids[0], 0u, Payer, "org1", "token", "transfer", 1UL), (paid.Id, paid.Index, paid.Sender, paid.SenderOrganisation, paid.Contract, paid.Method, paid.Nonce));
        Assert.Equal((ErrorCode?)ErrorCode.Ok, paid.Code);
        Assert.Equal(500UL, paid.GasUsed);
        var e = Assert.Single(paid.Events);
        Assert.Equal(new TokenTransfer("transfer", Payer, Payee, 1_234), TokenTransfer.TryDecode(e));
        Assert.Equal((ids[1], (string?)null, (ErrorCode?)ErrorCode.SenderUnknown), (failed.Id, failed.SenderOrganisation, failed.Code));
        Assert.Empty(failed.Events);
    }

    [Fact]
    public async Task A_store_indexes_to_the_same_counts_as_the_chain()
    {
        server.SkipIfUnavailable();
        var (store, _) = Build();
        using var __ = store;
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("store"), Cancel);

        var progress = await new SupervisionIndexer(new LedgerStoreBlockSource(store.Store), writer).CatchUpAsync(Cancel);

        Assert.Equal(new IndexProgress(1, store.Store.Head!.BlockHash), progress);
        Assert.Equal(new IndexTotals(2, 2, 1, 1, 0), await writer.ReadTotalsAsync(Cancel));
        await using var sql = await server.ConnectAsync(writer.Options.Schema);
        var payee = Assert.Single(await Sql.RowsAsync(sql, "SELECT role, amount FROM account_transactions WHERE account = $1", Payee.ToArray()));
        Assert.Equal(("payee", 1_234m), ((string)payee["role"]!, (decimal)payee["amount"]!));
    }
}
