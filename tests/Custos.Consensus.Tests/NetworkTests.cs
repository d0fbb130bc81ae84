using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Consensus.Tests;

/// <summary>Whole-protocol behaviour of real engines connected by a hand-driven network.</summary>
public sealed class NetworkTests
{
    private readonly TestChain _chain = new();

    private static void AssertSameLedgers(IEnumerable<TestNode> nodes)
    {
        var ledgers = nodes.Select(n => n.Ledger.Blocks.Select(b => b.Hash).ToList()).ToList();
        var shortest = ledgers.Min(l => l.Count);
        foreach (var ledger in ledgers) Assert.Equal(ledgers[0].Take(shortest), ledger.Take(shortest));
    }

    [Fact]
    public void Four_validators_commit_the_same_blocks_two_rounds_after_they_are_proposed()
    {
        var network = new TestNetwork(_chain, 4);
        network.StartAll();
        network.Run(steps: 400);
        Assert.All(network.Nodes, n => Assert.True(n.Height >= 10, $"{n.Id} at height {n.Height}"));
        AssertSameLedgers(network.Nodes);

        // Happy path: one block per round, and a block of round r is committed once QC(r + 1) exists, which a
        // node learns in round r + 2.
        var node = network.Nodes[0];
        Assert.All(node.Ledger.Blocks, b => Assert.Equal(b.Height, b.Block.Round));
        Assert.True(node.Engine.CurrentRound - node.Ledger.Blocks[^1].Block.Round <= 3);
        Assert.All(network.Nodes, n => Assert.Empty(n.Halts));
    }

    [Fact]
    public void View_change_forms_a_tc_and_the_next_leader_proposes_with_it()
    {
        var network = new TestNetwork(_chain, 4);
        network.Down.Add(new NodeId(2)); // leads round 1
        network.StartAll();
        network.Run();
        Assert.All(network.Nodes, n => Assert.Empty(n.Ledger.Blocks));

        network.TimeoutAll();
        network.Run(steps: 30);
        var proposal = network.Nodes[3].SentMessages().First(m => m.BodyCase == ConsensusMessage.BodyOneofCase.Proposal).Proposal;
        var header = BlockRecord.Decode(proposal.Block.Span, _chain.Suite).Header;
        Assert.Equal(2UL, header.Round);
        Assert.NotNull(header.TimeoutCertificate);
        Assert.Equal(1UL, header.TimeoutCertificate.Round);

        for (var i = 0; i < 3; i++)
        {
            network.Run(steps: 200);
            network.TimeoutAll();
        }

        var live = network.Nodes.Where(n => n.Id.Value != 2).ToList();
        Assert.All(live, n => Assert.True(n.Height >= 2, $"{n.Id} at height {n.Height}"));
        AssertSameLedgers(live);
    }

    [Fact]
    public void F_plus_one_timeouts_make_a_validator_time_out_at_once()
    {
        var node = new TestNode(_chain, 0);
        node.Start();
        var timeout = (int author) => ConsensusMessages.Encode(new TimeoutMessage { Timeout = _chain.SignTimeout(author, 1, _chain.GenesisQc, 0) });
        node.Receive(new NodeId(1), timeout(1));
        Assert.DoesNotContain(node.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Timeout);
        node.Receive(new NodeId(3), timeout(3));
        Assert.Contains(node.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Timeout && m.Timeout.Timeout.Author == 0);
    }

    [Fact]
    public void Quorum_of_timeouts_moves_every_node_to_the_next_round()
    {
        var node = new TestNode(_chain, 0);
        node.Start();
        foreach (var author in new[] { 1, 2, 3 })
        {
            node.Receive(new NodeId(author), ConsensusMessages.Encode(new TimeoutMessage { Timeout = _chain.SignTimeout(author, 1, _chain.GenesisQc, 0) }));
        }

        Assert.Equal(2UL, node.Engine.CurrentRound);
    }

    [Fact]
    public void Lagging_validator_catches_up_by_fetching_blocks_and_verifying_them()
    {
        var network = new TestNetwork(_chain, 4);
        var lagging = new NodeId(0);
        network.Down.Add(lagging);
        network.StartAll();
        for (var i = 0; i < 10; i++)
        {
            network.Run(steps: 300);
            network.TimeoutAll();
        }

        var ahead = network.Nodes[1].Height;
        Assert.True(ahead >= 5, $"the others reached only height {ahead}");
        Assert.Equal(0UL, network.Nodes[0].Height);

        network.Down.Remove(lagging);
        for (var i = 0; i < 6; i++)
        {
            network.Run(steps: 300);
            network.TimeoutAll();
        }

        Assert.True(network.Nodes[0].Height >= ahead, $"caught up only to {network.Nodes[0].Height} of {ahead}");
        AssertSameLedgers(network.Nodes);
        Assert.Contains(network.Nodes[0].SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.SyncRequest);
    }

    [Fact]
    public void Catch_up_answer_with_a_forged_qc_is_rejected()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var b1 = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2);
        var forged = _chain.Certify(b1, 0);
        var signature = forged.Signatures[0].ToByteArray();
        signature[5] ^= 0x10;
        forged.Signatures[0] = ByteString.CopyFrom(signature);
        var b2 = _chain.MakeBlock(b1, forged, 2, 3);
        var answer = new SyncResponse { Epoch = 1 };
        answer.Blocks.Add(ByteString.CopyFrom(b1.Encoded.Span));
        answer.Blocks.Add(ByteString.CopyFrom(b2.Encoded.Span));
        node.Receive(new NodeId(2), ConsensusMessages.Encode(answer));

        var rejected = node.JournalEntries().Last();
        Assert.Equal(JournalEntryKind.Rejected, rejected.Kind);
        Assert.StartsWith("SIGNATURE_INVALID", rejected.Reason);
        Assert.Equal(1UL, node.Engine.CurrentRound);
    }

    [Fact]
    public void Proposal_from_a_validator_that_does_not_lead_the_round_is_rejected()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var block = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 3);
        node.Receive(new NodeId(3), _chain.SignProposal(3, block));
        Assert.Equal(JournalEntryKind.Rejected, node.JournalEntries().Last().Kind);
        Assert.StartsWith("NOT_A_VALIDATOR", node.JournalEntries().Last().Reason);
        Assert.DoesNotContain(node.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Vote);
    }

    [Fact]
    public void Proposal_with_a_forged_signature_is_rejected_and_journalled()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var block = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2);
        var forged = _chain.SignProposal(0, block);
        node.Receive(new NodeId(2), forged);
        var entry = node.JournalEntries().Last();
        Assert.Equal(JournalEntryKind.Rejected, entry.Kind);
        Assert.StartsWith("SIGNATURE_INVALID", entry.Reason);
        Assert.Equal(forged, entry.Message.ToByteArray());
        Assert.DoesNotContain(node.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Vote);
    }

    [Fact]
    public void Proposal_timestamp_too_far_ahead_of_the_voters_clock_gets_no_vote()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var block = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2, timestampMs: (ulong)node.Now + (ulong)_chain.Config.BlockTimestampDriftMsMax + 1_000);
        node.Receive(new NodeId(2), _chain.SignProposal(2, block));
        Assert.DoesNotContain(node.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Vote);

        var fine = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2, timestampMs: (ulong)node.Now + 10);
        var other = new TestNode(_chain, 1);
        other.Start();
        other.Receive(new NodeId(2), _chain.SignProposal(2, fine));
        Assert.Contains(other.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Vote);
    }

    [Fact]
    public void Proposal_with_a_timestamp_beyond_the_signed_range_gets_no_vote()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var block = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2, timestampMs: ulong.MaxValue - 5);
        node.Receive(new NodeId(2), _chain.SignProposal(2, block));
        Assert.DoesNotContain(node.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Vote);
    }

    [Fact]
    public void Proposal_whose_timestamp_does_not_follow_its_parent_is_refused()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var block = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2, timestampMs: _chain.GenesisBlock.TimestampMs);
        node.Receive(new NodeId(2), _chain.SignProposal(2, block));
        Assert.Contains(node.JournalEntries(), e => e.Kind == JournalEntryKind.Rejected && e.Reason.Contains("timestamp", StringComparison.Ordinal));
        Assert.DoesNotContain(node.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Vote);
    }

    [Fact]
    public void Observer_follows_and_commits_but_never_signs()
    {
        var chain = new TestChain(validators: 4, spares: 1);
        var network = new TestNetwork(chain, 5);
        network.StartAll();
        network.Run(steps: 500);
        var observer = network.Nodes[4];
        Assert.False(observer.Engine.IsValidator);
        Assert.True(observer.Height >= 5);
        AssertSameLedgers(network.Nodes);
        Assert.DoesNotContain(observer.SentMessages(), m => m.BodyCase is ConsensusMessage.BodyOneofCase.Vote or ConsensusMessage.BodyOneofCase.Timeout or ConsensusMessage.BodyOneofCase.Proposal);
    }
}
