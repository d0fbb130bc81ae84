using Custos.Consensus;
using Custos.Crypto;
using Custos.Storage.Journal;
using Custos.Storage.Tests.Support;
using CsCheck;

namespace Custos.Storage.Tests;

/// <summary>
/// The journal a node stores and the chain rule consensus audits with are one rule: an auditor checks a node's
/// stored journal with <see cref="JournalChain.FirstBrokenLink"/> and nothing else.
/// </summary>
public sealed class JournalChainAgreementTests
{
    [Fact]
    public void Stored_entry_hashes_are_the_consensus_chain_rule_under_both_suites()
    {
        // Each history: batches of payloads, appended directly or persisted with a block; the store is reopened midway.
        var gen = Gen.Select(Gen.Byte.Array[0, 300].List[1, 6], Gen.Bool).List[1, 8];
        foreach (var suite in new[] { CryptoSuites.Gm, CryptoSuites.Intl })
        {
            gen.Sample(history => CheckAgainstJournalChain(suite, history), iter: 12);
        }
    }

    [Fact]
    public void A_stored_entry_altered_on_disk_is_the_first_broken_link_for_the_auditor()
    {
        using var ledger = new TestLedger();
        for (var i = 0; i < 10; i++) ledger.Store.Journal.Append(TestLedger.Bytes($"vote {i}"));
        var records = AsRecords(ledger.Store.Journal.Read(0, 10));
        Assert.Equal(-1, JournalChain.FirstBrokenLink(ledger.Suite, records));

        RawAccess.FlipByte(ledger.Store, StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey(6), Core.Hash32.SizeBytes + 1);
        var tampered = records.Select(r => r.Index == 6
            ? r with { Payload = RawAccess.Get(ledger.Store, StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey(6))[Core.Hash32.SizeBytes..] }
            : r).ToList();
        Assert.Equal(6, JournalChain.FirstBrokenLink(ledger.Suite, tampered));
    }

    private static void CheckAgainstJournalChain(ICryptoSuite suite, List<(List<byte[]> Payloads, bool WithBlock)> history)
    {
        using var ledger = new TestLedger(suite);
        var appended = new List<byte[]>();
        for (var step = 0; step < history.Count; step++)
        {
            var (payloads, withBlock) = history[step];
            var entries = payloads.Select(p => (ReadOnlyMemory<byte>)p).ToList();
            if (withBlock) ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(), JournalEntries = entries });
            else ledger.Store.Journal.Append(entries);
            appended.AddRange(payloads);
            if (step == history.Count / 2) ledger.Reopen();
        }

        var stored = ledger.Store.Journal.Read(0, ledger.Store.Journal.Head.Length);
        Assert.Equal(appended.Count, stored.Count);
        var chain = new JournalChain(suite);
        var previous = Core.Hash32.Zero;
        for (var i = 0; i < stored.Count; i++)
        {
            Assert.Equal(appended[i], stored[i].Payload);
            Assert.Equal(JournalChain.EntryHash(suite, previous, (ulong)i, stored[i].Payload), stored[i].Hash);
            Assert.Equal(chain.Append(stored[i].Payload).Hash, stored[i].Hash);
            previous = stored[i].Hash;
        }

        Assert.Equal(chain.Head, ledger.Store.Journal.Head.LastHash);
        Assert.Equal(-1, JournalChain.FirstBrokenLink(suite, AsRecords(stored)));
    }

    private static List<JournalRecord> AsRecords(IReadOnlyList<JournalEntry> entries) =>
        entries.Select(e => new JournalRecord(e.Index, e.Payload, e.Hash)).ToList();
}
