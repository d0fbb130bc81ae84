using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.Journal;
using Custos.Storage.Tests.Support;

namespace Custos.Storage.Tests;

/// <summary>The hash-chained consensus journal and the safety record.</summary>
public sealed class ConsensusJournalTests
{
    [Fact]
    public void Entries_are_hash_chained_from_a_zero_hash_and_survive_reopening()
    {
        using var ledger = new TestLedger();
        var journal = ledger.Store.Journal;
        var payloads = Enumerable.Range(0, 20).Select(i => TestLedger.Bytes($"proposal {i}")).ToList();
        var positions = payloads.Take(5).Select(p => journal.Append(p)).ToList();
        positions.AddRange(journal.Append(payloads.Skip(5).Select(p => (ReadOnlyMemory<byte>)p).ToList()));

        var previous = Hash32.Zero;
        for (var i = 0; i < payloads.Count; i++)
        {
            var expected = ExpectedHash(ledger.Suite, previous, (ulong)i, payloads[i]);
            Assert.Equal(new JournalPosition((ulong)i, expected), positions[i]);
            previous = expected;
        }

        ledger.Reopen();
        journal = ledger.Store.Journal;
        Assert.Equal(new JournalHead(20, previous), journal.Head);
        var read = journal.Read(3, 9);
        Assert.Equal(Enumerable.Range(3, 6).Select(i => ((ulong)i, positions[i].Hash, payloads[i])), read.Select(e => (e.Index, e.Hash, e.Payload)));
        Assert.True(journal.TryVerify(0, 20, out _));
        Assert.True(journal.TryVerify(7, 12, out _));
        Assert.Empty(journal.Read(20, 20));
    }

    [Fact]
    public void Journal_entries_persisted_with_a_block_are_in_its_batch_and_its_recorded_position()
    {
        using var ledger = new TestLedger();
        ledger.Store.Journal.Append("vote 1"u8);
        var result = ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(), JournalEntries = ["proposal 2"u8.ToArray(), "vote 2"u8.ToArray()] });
        Assert.Equal(3UL, result.Journal.Length);
        Assert.Equal(ledger.Store.Journal.Head, result.Journal);
        ledger.Store.Journal.Append("timeout 3"u8);
        ledger.Reopen();
        Assert.Equal(4UL, ledger.Store.Journal.Head.Length);
        Assert.Equal(result.Journal, ledger.Store.Head!.Journal);
        Assert.Equal("vote 2"u8.ToArray(), ledger.Store.Journal.Read(2, 3)[0].Payload);
    }

    [Fact]
    public void Verify_reports_the_first_altered_dropped_or_rehashed_entry()
    {
        using var ledger = new TestLedger();
        for (var i = 0; i < 12; i++) ledger.Store.Journal.Append(TestLedger.Bytes($"entry {i}"));
        var store = ledger.Store;

        RawAccess.FlipByte(store, StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey(7), Hash32.SizeBytes + 2);
        AssertBrokenAt(store, 7);

        // Restore entry 7, then replace entry 4's payload and recompute its own hash: entry 5 no longer links to it.
        RawAccess.FlipByte(store, StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey(7), Hash32.SizeBytes + 2);
        Assert.True(store.Journal.TryVerify(0, 12, out _));
        var entry3 = RawAccess.Get(store, StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey(3));
        var forged = "forged"u8.ToArray();
        var forgedHash = ExpectedHash(ledger.Suite, new Hash32(entry3.AsSpan(0, 32)), 4, forged);
        RawAccess.Put(store, StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey(4), [.. forgedHash.ToArray(), .. forged]);
        AssertBrokenAt(store, 5);

        RawAccess.Delete(store, StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey(2));
        AssertBrokenAt(store, 2);
    }

    [Fact]
    public void Reading_outside_the_journal_is_a_typed_error()
    {
        using var ledger = new TestLedger();
        ledger.Store.Journal.Append("one"u8);
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<CustosException>(() => ledger.Store.Journal.Read(0, 2)).Code);
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<CustosException>(() => ledger.Store.Journal.Read(1, 0)).Code);
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<CustosException>(() => ledger.Store.Journal.Verify(0, 5)).Code);
    }

    [Fact]
    public void Safety_record_is_durable_before_save_returns_and_a_damaged_one_is_refused()
    {
        using var ledger = new TestLedger();
        Assert.Null(ledger.Store.SafetyRecord.Load());
        ledger.Store.SafetyRecord.Save("highest voted round 7, locked QC of round 6"u8);
        ledger.Store.SafetyRecord.Save("highest voted round 8, locked QC of round 7"u8);
        ledger.Reopen();
        Assert.Equal("highest voted round 8, locked QC of round 7"u8.ToArray(), ledger.Store.SafetyRecord.Load());

        RawAccess.FlipByte(ledger.Store, StorageLayout.ConsensusFamily, StorageLayout.SafetyRecordKey(), 40);
        Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => ledger.Store.SafetyRecord.Load()).Code);
        Assert.Equal(ErrorCode.TooLarge, Assert.Throws<CustosException>(() => ledger.Store.SafetyRecord.Save(new byte[StorageLimits.SafetyRecordSizeBytesMax + 1])).Code);
    }

    private static void AssertBrokenAt(LedgerStore store, ulong index)
    {
        Assert.False(store.Journal.TryVerify(0, 12, out var error));
        Assert.Equal(ErrorCode.StorageCorrupt, error.Code);
        Assert.Contains($"entry {index} ", error.Message, StringComparison.Ordinal);
    }

    private static Hash32 ExpectedHash(IHashFunction hash, Hash32 previous, ulong index, byte[] payload)
    {
        var indexBytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(indexBytes, index);
        return hash.Hash([.. "custos/v1/consensus_journal\0"u8, .. previous.ToArray(), .. indexBytes, .. payload]);
    }
}
