using System.Buffers.Binary;
using System.Text;
using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Consensus.Tests;

/// <summary>The consensus journal (docs/consensus.md section 10): its hash chain and the audit over it.</summary>
public sealed class JournalTests
{
    private readonly TestChain _chain = new();

    [Fact]
    public void Journal_entry_hash_follows_the_documented_rule()
    {
        var journal = new JournalChain(_chain.Suite);
        var first = journal.Append([1, 2, 3]);
        var second = journal.Append([4]);

        static byte[] Preimage(Hash32 previous, ulong index, byte[] payload)
        {
            var indexBytes = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(indexBytes, index);
            return [.. Encoding.ASCII.GetBytes("custos/v1/consensus_journal\0"), .. previous.ToArray(), .. indexBytes, .. payload];
        }

        Assert.Equal(_chain.Suite.Hash(Preimage(Hash32.Zero, 0, [1, 2, 3])), first.Hash);
        Assert.Equal(_chain.Suite.Hash(Preimage(first.Hash, 1, [4])), second.Hash);
        Assert.Equal(-1, JournalChain.FirstBrokenLink(_chain.Suite, journal.Records));
    }

    [Fact]
    public void Altered_journal_entry_breaks_the_chain_at_that_entry()
    {
        var journal = new JournalChain(_chain.Suite);
        for (var i = 0; i < 5; i++) journal.Append([(byte)i]);
        var records = journal.Records.ToList();
        records[2] = records[2] with { Payload = [9] };
        Assert.Equal(2, JournalChain.FirstBrokenLink(_chain.Suite, records));
        records = [.. journal.Records];
        records.RemoveAt(3);
        Assert.Equal(3, JournalChain.FirstBrokenLink(_chain.Suite, records));
    }

    private TestNetwork RunNetwork()
    {
        var network = new TestNetwork(_chain, 4);
        network.Down.Add(new NodeId(3));
        network.StartAll();
        for (var i = 0; i < 4; i++)
        {
            network.Run(steps: 300);
            network.TimeoutAll();
        }

        network.Down.Remove(new NodeId(3));
        for (var i = 0; i < 3; i++)
        {
            network.Run(steps: 300);
            network.TimeoutAll();
        }

        return network;
    }

    private AuditReport Audit(TestNode node, IReadOnlyList<JournalRecord>? records = null) =>
        ConsensusAudit.Verify(records ?? node.Journal.Records, node.Ledger.Blocks, new Dictionary<ulong, ValidatorSet> { [1] = _chain.Set }, TestChain.Id, _chain.Suite);

    /// <summary>Two transactions every block carries (the tests' validator accepts any payload).</summary>
    private sealed class TwoTransactionsPayloadSource : IPayloadSource
    {
        public BlockPayload NextPayload(BlockRecord parent, ulong height, ulong round, long nowMs) => new([TestChain.SampleTransaction(height * 2), TestChain.SampleTransaction(height * 2 + 1)], Hash32.Zero);
    }

    [Fact]
    public void Proposals_are_journalled_as_their_signed_header_without_transactions_and_the_audit_passes()
    {
        var network = new TestNetwork(_chain, 4);
        foreach (var node in network.Nodes)
        {
            node.PayloadSource = new TwoTransactionsPayloadSource();
            node.NewEngine(null);
        }

        network.StartAll();
        network.Run(steps: 300);

        foreach (var node in network.Nodes)
        {
            Assert.True(node.Ledger.Blocks.Count >= 3);
            Assert.All(node.Ledger.Blocks.Skip(1), b => Assert.Equal(2, b.Block.Decoded.Transactions.Count));
            var proposals = node.JournalEntries()
                .Where(e => e.Kind is JournalEntryKind.Received or JournalEntryKind.Sent)
                .Select(e => ConsensusMessage.Parser.ParseFrom(e.Message))
                .Where(m => m.BodyCase == ConsensusMessage.BodyOneofCase.Proposal)
                .Select(m => Block.Parser.ParseFrom(m.Proposal.Block))
                .ToList();
            Assert.NotEmpty(proposals);
            Assert.All(proposals, p => Assert.Empty(p.Transactions));
            var committed = node.Ledger.Blocks.Skip(1).Select(b => b.Block.HeaderBytes.ToArray()).ToList();
            Assert.All(committed, header => Assert.Contains(proposals, p => p.Header.Span.SequenceEqual(header)));

            var report = Audit(node);
            Assert.True(report.Passed, string.Join("\n", report.Failures));
        }
    }

    [Fact]
    public void Audit_of_a_run_with_view_changes_and_catch_up_verifies_every_certificate_and_passes()
    {
        var network = RunNetwork();
        foreach (var node in network.Nodes)
        {
            var report = Audit(node);
            Assert.True(report.Passed, string.Join("\n", report.Failures));
            Assert.True(report.CertificatesVerified > 5);
            Assert.True(report.CommitsVerified >= 3);
            Assert.Empty(report.Culprits);
        }
    }

    [Fact]
    public void Audit_reports_equivocation_with_the_culprits_index()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var a = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2);
        var b = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2, timestampMs: a.TimestampMs + 1);
        node.Receive(new NodeId(2), _chain.SignProposal(2, a));
        node.Receive(new NodeId(2), _chain.SignProposal(2, b));
        var report = Audit(node);
        Assert.True(report.Passed, string.Join("\n", report.Failures));
        Assert.Equal([(1UL, 2u)], report.Culprits);
    }

    [Fact]
    public void Audit_fails_when_a_certificate_in_the_journal_is_forged_even_if_the_chain_is_rebuilt()
    {
        var network = RunNetwork();
        var node = network.Nodes[0];
        var index = node.JournalEntries().ToList().FindIndex(e => e.Kind == JournalEntryKind.Received && TestNode.Decode(e.Message.ToByteArray()).BodyCase == ConsensusMessage.BodyOneofCase.Proposal);
        var entry = JournalEntry.Parser.ParseFrom(node.Journal.Records[index].Payload);
        var message = TestNode.Decode(entry.Message.ToByteArray());
        var block = Core.Wire.Block.Parser.ParseFrom(message.Proposal.Block);
        var header = Core.Wire.BlockHeader.Parser.ParseFrom(block.Header);
        var signature = header.ParentQc.Signatures[0].ToByteArray();
        signature[3] ^= 0x20;
        header.ParentQc.Signatures[0] = ByteString.CopyFrom(signature);
        block.Header = header.ToByteString();
        message.Proposal.Block = block.ToByteString();
        entry.Message = message.ToByteString();

        // An insider rewrites the entry and recomputes every later hash: the chain holds, the certificate does not.
        var rebuilt = new JournalChain(_chain.Suite);
        for (var i = 0; i < node.Journal.Records.Count; i++) rebuilt.Append(i == index ? entry.ToByteArray() : node.Journal.Records[i].Payload);
        var report = Audit(node, rebuilt.Records);
        Assert.False(report.Passed);
        Assert.Contains(report.Failures, f => f.Kind is AuditFindingKind.InvalidCertificate or AuditFindingKind.InvalidSignature);
    }

    [Fact]
    public void Audit_fails_when_an_entry_is_altered_without_rebuilding_the_chain()
    {
        var network = RunNetwork();
        var node = network.Nodes[1];
        var records = node.Journal.Records.ToList();
        records[4] = records[4] with { Payload = [.. records[4].Payload, 0] };
        var report = Audit(node, records);
        Assert.Contains(report.Failures, f => f.Kind == AuditFindingKind.BrokenJournalChain && f.JournalIndex == 4);
    }

    [Fact]
    public void Audit_fails_when_committed_blocks_do_not_form_a_chain()
    {
        var network = RunNetwork();
        var node = network.Nodes[2];
        var ledger = node.Ledger.Blocks.ToList();
        var other = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2, timestampMs: _chain.GenesisBlock.TimestampMs + 50);
        ledger[0] = new CommittedBlock(other, _chain.Certify(other, 0), ledger[0].CommitQc);
        var report = ConsensusAudit.Verify([], ledger, new Dictionary<ulong, ValidatorSet> { [1] = _chain.Set }, TestChain.Id, _chain.Suite);
        Assert.Contains(report.Failures, f => f.Kind is AuditFindingKind.BrokenLedgerChain or AuditFindingKind.UnprovenCommit);
    }

    [Fact]
    public void Audit_without_the_epochs_validator_set_reports_it()
    {
        var network = RunNetwork();
        var report = ConsensusAudit.Verify(network.Nodes[0].Journal.Records, [], new Dictionary<ulong, ValidatorSet>(), TestChain.Id, _chain.Suite);
        Assert.Contains(report.Failures, f => f.Kind == AuditFindingKind.UnknownEpoch);
    }
}
