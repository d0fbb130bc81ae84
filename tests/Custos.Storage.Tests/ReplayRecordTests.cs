using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.State;
using Custos.Storage.Tests.Support;

namespace Custos.Storage.Tests;

/// <summary>
/// Replay records (keys under <see cref="ReplayRecords.KeyPrefix"/>) are kept beside the authenticated tree: written
/// atomically with their block, read back, deleted, and kept across a reopen, without touching the root or the tree.
/// </summary>
public sealed class ReplayRecordTests
{
    private static byte[] RecordKey(int n)
    {
        var id = new byte[Hash32.SizeBytes];
        BitConverter.TryWriteBytes(id, n);
        return [.. ReplayRecords.KeyPrefix, .. id];
    }

    [Fact]
    public void Replay_records_change_neither_the_state_root_nor_the_tree()
    {
        using var withRecords = new TestLedger();
        using var without = new TestLedger();
        var records = Enumerable.Range(0, 200).Select(n => StateWrite.Put(RecordKey(n), BitConverter.GetBytes((ulong)n))).ToList();
        var account = TestLedger.Put("account/alice", "100");

        var staged = withRecords.Store.State.Stage([account, .. records]);
        Assert.Equal(1, staged.WriteCount);
        Assert.Equal(200, staged.ReplayWrites.Length);
        var persisted = withRecords.Store.Persist(new BlockPersist { Block = withRecords.NextBlock(), StateDelta = staged });
        var plain = without.Persist([account]);

        Assert.Equal(plain.StateRoot, persisted.StateRoot);
        Assert.Equal(plain.StateNodesWritten, persisted.StateNodesWritten);
        Assert.Single(withRecords.Store.State.Enumerate(0));
        Assert.Equal(BitConverter.GetBytes(7UL), withRecords.Store.State.Get(RecordKey(7)));
        Assert.Equal(TestLedger.Bytes("100"), withRecords.Store.State.Get(TestLedger.Bytes("account/alice")));
    }

    [Fact]
    public void Replay_records_are_deleted_by_a_later_block_and_kept_across_a_reopen()
    {
        using var ledger = new TestLedger();
        ledger.Persist([StateWrite.Put(RecordKey(1), [1]), StateWrite.Put(RecordKey(2), [2])]);
        ledger.Persist([StateWrite.Delete(RecordKey(1)), StateWrite.Put(RecordKey(3), [3])]);
        ledger.Reopen();

        Assert.Null(ledger.Store.State.Get(RecordKey(1)));
        Assert.Equal([2], ledger.Store.State.Get(RecordKey(2)));
        Assert.Equal([3], ledger.Store.State.Get(RecordKey(3)));
        Assert.Equal(ledger.Store.State.EmptyRoot, ledger.Store.State.LatestRoot);
    }

    [Fact]
    public void Replay_records_staged_but_not_persisted_are_not_read_and_are_written_with_their_block()
    {
        using var ledger = new TestLedger();
        ledger.Persist([TestLedger.Put("k", "v")]);
        var first = ledger.Store.State.Stage([StateWrite.Put(RecordKey(5), [5])]);
        var second = ledger.Store.State.Stage([StateWrite.Delete(RecordKey(5)), StateWrite.Put(RecordKey(6), [6])], first);
        Assert.Null(ledger.Store.State.Get(RecordKey(5)));

        ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(), StateDelta = first });
        Assert.Equal([5], ledger.Store.State.Get(RecordKey(5)));
        Assert.Null(ledger.Store.State.Get(RecordKey(6)));

        ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(), StateDelta = second });
        Assert.Null(ledger.Store.State.Get(RecordKey(5)));
        Assert.Equal([6], ledger.Store.State.Get(RecordKey(6)));
    }

    [Fact]
    public void A_proof_of_a_replay_record_is_refused_with_a_typed_error()
    {
        using var ledger = new TestLedger();
        ledger.Persist([StateWrite.Put(RecordKey(1), [1])]);
        var refused = Assert.Throws<CustosException>(() => ledger.Store.State.Prove(RecordKey(1)));
        Assert.Equal(ErrorCode.InvalidField, refused.Code);
    }

    [Fact]
    public void An_oversized_replay_record_is_refused_and_nothing_is_written()
    {
        using var ledger = new TestLedger();
        var oversized = new byte[StorageLimits.StateValueSizeBytesMax + 1];
        var refused = Assert.Throws<CustosException>(() => ledger.Persist([StateWrite.Put(RecordKey(1), oversized), TestLedger.Put("k", "v")]));
        Assert.Equal(ErrorCode.TooLarge, refused.Code);
        Assert.Null(ledger.Store.Head);
        Assert.Null(ledger.Store.State.Get(RecordKey(1)));
    }
}
