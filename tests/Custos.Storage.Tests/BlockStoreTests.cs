using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.Tests.Support;
using Custos.Storage.Wire;
using Google.Protobuf;

namespace Custos.Storage.Tests;

/// <summary>Blocks, transactions, receipts, events and configuration entries: what persist accepts and reads return.</summary>
public sealed class BlockStoreTests
{
    [Fact]
    public void Configuration_written_on_its_own_survives_a_reopen_and_leaves_the_head_alone()
    {
        using var ledger = new TestLedger();
        ledger.Persist();
        var head = ledger.Store.Head;

        ledger.Store.PersistConfiguration([new("consensus/epoch-ending/0", "proof"u8.ToArray()), new("consensus/validator-set/1", "set"u8.ToArray())]);
        ledger.Reopen();

        Assert.Equal("proof"u8.ToArray(), ledger.Store.ReadConfiguration("consensus/epoch-ending/0"));
        Assert.Equal("set"u8.ToArray(), ledger.Store.ReadConfiguration("consensus/validator-set/1"));
        Assert.Equal(head, ledger.Store.Head);
        var refused = Assert.Throws<CustosException>(() => ledger.Store.PersistConfiguration([new("", "x"u8.ToArray()), new("written-not", "y"u8.ToArray())]));
        Assert.Equal(ErrorCode.InvalidField, refused.Error.Code);
        Assert.Null(ledger.Store.ReadConfiguration("written-not"));
    }

    [Fact]
    public void Persisted_block_is_read_back_by_height_and_hash_with_its_transactions_receipts_and_events()
    {
        using var ledger = new TestLedger();
        ledger.Persist();
        var block = ledger.NextBlock(transactions: 3);
        var receipts = block.Transactions.Select((t, i) => (ReadOnlyMemory<byte>)new Receipt { TransactionId = t.ComputeId(ledger.Suite).ToByteString(), GasUsed = (ulong)(10 * i) }.ToByteArray()).ToList();
        var events = new[]
        {
            new StoredEvent(0, new Event { Contract = "token", Name = "minted" }.ToByteArray()),
            new StoredEvent(2, new Event { Contract = "token", Name = "moved", Data = ByteString.CopyFromUtf8("x") }.ToByteArray()),
            new StoredEvent(2, new Event { Contract = "token", Name = "moved", Data = ByteString.CopyFromUtf8("y") }.ToByteArray()),
        };
        var result = ledger.Store.Persist(new BlockPersist
        {
            Block = block,
            StateWrites = [TestLedger.Put("k", "v")],
            Receipts = receipts,
            Events = events,
            Configuration = [new("parameters", "{\"block_time_ms\":500}"u8.ToArray())],
        });

        ledger.Reopen();
        var store = ledger.Store;
        Assert.Equal(1UL, result.Height);
        Assert.Equal(new StoreHead(1, result.BlockHash, result.StateRoot, store.Journal.Head), store.Head);
        var byHeight = store.ReadBlock(1)!;
        var byHash = store.ReadBlock(result.BlockHash)!;
        Assert.Equal(block.Encoded.ToArray(), byHeight.Block.Encoded.ToArray());
        Assert.Equal(byHeight.Block.Encoded.ToArray(), byHash.Block.Encoded.ToArray());
        Assert.Null(store.ReadBlock(2));
        Assert.Null(store.ReadBlock(ledger.Suite.Hash("no such block"u8)));
        for (var i = 0; i < 3; i++)
        {
            var id = block.Transactions[i].ComputeId(ledger.Suite);
            var found = store.ReadTransaction(id)!.Value;
            Assert.Equal(new TransactionLocation(1, (uint)i), found.Location);
            Assert.Equal(block.Transactions[i].Envelope.ToArray(), found.Transaction.Envelope.ToArray());
            Assert.Equal(receipts[i].ToArray(), store.ReadReceipt(found.Location));
        }

        Assert.Null(store.FindTransaction(ledger.Suite.Hash("unknown"u8)));
        Assert.Equal(events.Select(e => (e.TransactionIndex, e.Encoded.ToArray())), store.ReadEvents(1).Select(e => (e.TransactionIndex, e.Encoded.ToArray())));
        Assert.Empty(store.ReadEvents(0));
        Assert.Equal("{\"block_time_ms\":500}"u8.ToArray(), store.ReadConfiguration("parameters"));
        Assert.Null(store.ReadConfiguration("absent"));
    }

    [Fact]
    public void Block_that_does_not_extend_the_head_is_refused_and_nothing_is_written()
    {
        using var ledger = new TestLedger();
        ledger.Persist([TestLedger.Put("a", "1")]);
        ledger.Persist([TestLedger.Put("b", "2")]);
        var head = ledger.Store.Head!;
        var root = ledger.Store.State.LatestRoot;
        var parent = ledger.Store.ReadBlock(head.Height)!;
        var grandparent = ledger.Store.ReadBlock(head.Height - 1)!;
        var next = ledger.NextBlock();
        var skipped = new StoredBlock(head.Height + 1, next.ComputeHash(ledger.Suite), next);

        var cases = new (string What, DecodedBlock Block, ErrorCode Code)[]
        {
            ("a block at the head's own height", ledger.Chain.NextBlock(grandparent, root), ErrorCode.InvalidField),
            ("a block skipping a height", ledger.Chain.NextBlock(skipped, root), ErrorCode.InvalidField),
            ("a block whose parent hash is not the head", ledger.Chain.NextBlock(parent with { Hash = ledger.Suite.Hash("x"u8) }, root), ErrorCode.InvalidField),
            ("a block of another chain", new Benchmarks.SyntheticChain("other-chain", ledger.Suite.Id, ledger.Suite).NextBlock(parent, root), ErrorCode.ChainIdMismatch),
            ("a block carrying a state root other than the previous version's", ledger.Chain.NextBlock(parent, ledger.Suite.Hash("wrong root"u8)), ErrorCode.InvalidField),
            ("a block whose transaction root does not match", Modify(ledger.NextBlock(transactions: 2), h => h.TransactionRoot = ledger.Suite.Hash("x"u8).ToByteString()), ErrorCode.InvalidField),
        };
        foreach (var (what, block, code) in cases)
        {
            var error = Assert.Throws<CustosException>(() => ledger.Store.Persist(new BlockPersist { Block = block, StateWrites = [TestLedger.Put("c", "3")] }));
            Assert.True(code == error.Code, $"{what}: {error.Error}");
        }

        Assert.Equal(head, ledger.Store.Head);
        Assert.Equal(root, ledger.Store.State.LatestRoot);
        Assert.Null(ledger.Store.State.Get(TestLedger.Bytes("c")));
        ledger.Reopen();
        Assert.Equal(head, ledger.Store.Head);
        Assert.Equal(head.Height + 1, ledger.Persist([TestLedger.Put("c", "3")]).Height);
    }

    [Fact]
    public void Transaction_repeated_in_a_later_block_is_stored_with_it_and_keeps_its_first_location()
    {
        using var ledger = new TestLedger();
        ledger.Persist();
        var first = ledger.NextBlock(transactions: 2);
        ledger.Store.Persist(new BlockPersist { Block = first });
        var repeat = ledger.NextBlock();
        var wire = Block.Parser.ParseFrom(repeat.Encoded.ToArray());
        var header = BlockHeader.Parser.ParseFrom(wire.Header);
        wire.Transactions.Add(ByteString.CopyFrom(first.Transactions[1].Envelope.Span));
        header.TransactionRoot = MerkleRoot.Compute(ledger.Suite, [first.Transactions[1].ComputeId(ledger.Suite)]).ToByteString();
        wire.Header = header.ToByteString();
        Assert.True(Decoders.TryDecodeBlock(wire.ToByteArray(), out var decoded, out _));

        // Consensus ordered it again; execution gave it a DUPLICATE_TRANSACTION receipt. Storage keeps the block whole
        // and the index keeps the place where the transaction took effect.
        var result = ledger.Store.Persist(new BlockPersist { Block = decoded });
        Assert.Equal(first.Transactions.Count + 0u, (uint)ledger.Store.ReadBlock(result.Height - 1)!.Block.Transactions.Count);
        Assert.Single(ledger.Store.ReadBlock(result.Height)!.Block.Transactions);
        var location = ledger.Store.FindTransaction(first.Transactions[1].ComputeId(ledger.Suite));
        Assert.Equal(new TransactionLocation(result.Height - 1, 1), location);
    }

    [Fact]
    public void Receipts_of_a_block_are_read_together_and_one_by_one()
    {
        using var ledger = new TestLedger();
        ledger.Persist();
        var block = ledger.NextBlock(transactions: 4);
        var receipts = Enumerable.Range(0, 4).Select(i => (ReadOnlyMemory<byte>)new Receipt { GasUsed = (ulong)i + 1 }.ToByteArray()).ToList();
        ledger.Store.Persist(new BlockPersist { Block = block, Receipts = receipts });
        var empty = ledger.NextBlock(transactions: 0);
        ledger.Store.Persist(new BlockPersist { Block = empty });

        Assert.Equal(receipts.Select(r => r.ToArray()), ledger.Store.ReadReceipts(1));
        Assert.Equal(receipts[3].ToArray(), ledger.Store.ReadReceipt(new TransactionLocation(1, 3)));
        Assert.Null(ledger.Store.ReadReceipt(new TransactionLocation(1, 4)));
        Assert.Empty(ledger.Store.ReadReceipts(2));
        Assert.Null(ledger.Store.ReadReceipt(new TransactionLocation(2, 0)));
        Assert.Empty(ledger.Store.ReadEvents(2));
    }

    [Fact]
    public void Events_given_out_of_transaction_order_are_read_back_in_transaction_order()
    {
        using var ledger = new TestLedger();
        ledger.Persist();
        ledger.Store.Persist(new BlockPersist
        {
            Block = ledger.NextBlock(transactions: 3),
            Events = [new StoredEvent(2, new byte[] { 1 }), new StoredEvent(0, new byte[] { 2 }), new StoredEvent(2, new byte[] { 3 })],
        });

        Assert.Equal([(0u, (byte)2), (2u, (byte)1), (2u, (byte)3)], ledger.Store.ReadEvents(1).Select(e => (e.TransactionIndex, e.Encoded.Span[0])));
    }

    [Fact]
    public void A_corrupt_receipts_value_is_reported_as_storage_corruption()
    {
        using var ledger = new TestLedger();
        ledger.Persist();
        ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(transactions: 1), Receipts = [new byte[] { 7 }] });
        RawAccess.Put(ledger.Store, StorageLayout.TransactionsFamily, StorageLayout.ReceiptsKey(1), [0x0a, 0x05, 0x01]);
        ledger.Reopen();

        Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => ledger.Store.ReadReceipts(1)).Code);
    }

    [Fact]
    public void Receipts_that_do_not_match_the_transactions_are_refused()
    {
        using var ledger = new TestLedger();
        var error = Assert.Throws<CustosException>(() => ledger.Store.Persist(new BlockPersist
        {
            Block = ledger.NextBlock(transactions: 2),
            Receipts = [new byte[] { 1 }],
        }));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
        var eventError = Assert.Throws<CustosException>(() => ledger.Store.Persist(new BlockPersist
        {
            Block = ledger.NextBlock(transactions: 1),
            Events = [new StoredEvent(5, new byte[] { 1 })],
        }));
        Assert.Equal(ErrorCode.InvalidField, eventError.Code);
        Assert.Null(ledger.Store.Head);
    }

    [Fact]
    public void Staged_delta_must_be_for_the_block_and_on_the_latest_version()
    {
        using var ledger = new TestLedger();
        ledger.Persist([TestLedger.Put("a", "1")]);
        var stale = ledger.Store.State.Stage([TestLedger.Put("b", "2")]);
        ledger.Persist([TestLedger.Put("c", "3")]);
        var error = Assert.Throws<CustosException>(() => ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(), StateDelta = stale }));
        Assert.Equal(ErrorCode.InvalidField, error.Code);

        // Staged ahead: version 2 on the persisted head, version 3 on top of the unpersisted version 2.
        var next = ledger.Store.State.Stage([TestLedger.Put("d", "4")]);
        var after = ledger.Store.State.Stage([TestLedger.Put("e", "5")], onTopOf: next);
        var outOfOrder = Assert.Throws<CustosException>(() => ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(), StateDelta = after }));
        Assert.Equal(ErrorCode.InvalidField, outOfOrder.Code);
        ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(), StateDelta = next });
        ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(), StateDelta = after });
        Assert.Equal("5"u8.ToArray(), ledger.Store.State.Get("e"u8));
        Assert.Equal("4"u8.ToArray(), ledger.Store.State.Get("d"u8, 2));
        Assert.Null(ledger.Store.State.Get("e"u8, 2));
    }

    private static DecodedBlock Modify(DecodedBlock block, Action<BlockHeader> change)
    {
        var wire = Block.Parser.ParseFrom(block.Encoded.ToArray());
        var header = BlockHeader.Parser.ParseFrom(wire.Header);
        change(header);
        wire.Header = header.ToByteString();
        Assert.True(Decoders.TryDecodeBlock(wire.ToByteArray(), out var decoded, out var error), error?.ToString());
        return decoded;
    }
}
