using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;
using Custos.Core.Wire;

namespace Custos.Consensus.Tests;

/// <summary>Invariant 3: the safety state is durable before any vote or timeout leaves, and a restart cannot sign twice.</summary>
public sealed class VoteOnceTests
{
    private readonly TestChain _chain = new();

    private BlockRecord Block1(ulong timestampOffset = 1) => _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2, timestampMs: _chain.GenesisBlock.TimestampMs + timestampOffset);

    private static List<Vote> VotesSent(TestNode node) =>
        [.. node.SentMessages().Where(m => m.BodyCase == ConsensusMessage.BodyOneofCase.Vote).Select(m => m.Vote.Vote)];

    [Fact]
    public void Vote_is_released_only_after_the_safety_state_is_persisted()
    {
        var node = new TestNode(_chain, 1) { AutoPersist = false };
        node.Start();
        node.Receive(new NodeId(2), _chain.SignProposal(2, Block1()));
        Assert.Empty(VotesSent(node));
        var persist = node.Actions.OfType<PersistSafetyState>().Last();
        Assert.True(ConsensusMessages.TryDecodeSafetyState(persist.State, out var state, out _));
        Assert.Equal(1UL, state.HighestVotedRound);

        node.Handle(new SafetyStatePersisted(persist.Sequence));
        var vote = Assert.Single(VotesSent(node));
        Assert.Equal(new NodeId(3), node.Sent.Single(s => TestNode.Decode(s.Message).BodyCase == ConsensusMessage.BodyOneofCase.Vote).To);
        Assert.Equal(1u, vote.Voter);
    }

    [Fact]
    public void Acknowledging_an_older_persist_does_not_release_a_newer_vote()
    {
        var node = new TestNode(_chain, 1) { AutoPersist = false };
        node.Start();
        var first = node.Actions.OfType<PersistSafetyState>().Last().Sequence;
        node.Receive(new NodeId(2), _chain.SignProposal(2, Block1()));
        node.Handle(new SafetyStatePersisted(first));
        Assert.Empty(VotesSent(node));
    }

    [Fact]
    public void Restarted_validator_never_signs_a_second_vote_for_a_round()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        node.Receive(new NodeId(2), _chain.SignProposal(2, Block1()));
        var first = Assert.Single(VotesSent(node));

        node.Restart();
        node.Receive(new NodeId(2), _chain.SignProposal(2, Block1(timestampOffset: 5)));
        node.Receive(new NodeId(2), _chain.SignProposal(2, Block1()));
        var votes = VotesSent(node);
        Assert.All(votes, v => Assert.Equal(first.Data, v.Data));
        Assert.Equal(2, votes.Count);
    }

    [Fact]
    public void Validator_that_crashed_before_its_vote_was_durable_still_cannot_vote_twice()
    {
        // The host wrote the record but crashed before acknowledging: the vote never left, and after the restart
        // the record still forbids a different vote in that round.
        var node = new TestNode(_chain, 1) { AutoPersist = false };
        node.Start();
        node.Receive(new NodeId(2), _chain.SignProposal(2, Block1()));
        node.AutoPersist = true;
        node.Restart();
        node.Receive(new NodeId(2), _chain.SignProposal(2, Block1(timestampOffset: 9)));
        Assert.Empty(VotesSent(node));
    }

    [Fact]
    public void Restarted_validator_resends_the_same_timeout_for_its_round()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        node.FireTimer();
        var timeouts = node.SentMessages().Where(m => m.BodyCase == ConsensusMessage.BodyOneofCase.Timeout).Select(m => m.Timeout.Timeout).ToList();
        var first = Assert.Single(timeouts);
        Assert.Equal(1u, first.Author);

        node.Restart();
        node.FireTimer();
        timeouts = [.. node.SentMessages().Where(m => m.BodyCase == ConsensusMessage.BodyOneofCase.Timeout).Select(m => m.Timeout.Timeout)];
        Assert.Equal(2, timeouts.Count);
        Assert.Equal(first, timeouts[1]);
    }

    [Fact]
    public void Leader_proposes_at_most_once_per_round_even_across_a_restart()
    {
        var node = new TestNode(_chain, 2);
        node.Start();
        Assert.Single(node.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Proposal);
        node.Restart();
        Assert.Single(node.SentMessages(), m => m.BodyCase == ConsensusMessage.BodyOneofCase.Proposal);
    }

    [Fact]
    public void Safety_state_decoder_refuses_non_canonical_bytes_with_a_typed_error()
    {
        var state = new SafetyState { Epoch = 1, HighestVotedRound = 3 };
        byte[] bytes = [.. Google.Protobuf.MessageExtensions.ToByteArray(state), 0x08, 0x01];
        Assert.False(ConsensusMessages.TryDecodeSafetyState(bytes, out _, out var error));
        Assert.Equal(ErrorCode.Malformed, error.Code);
    }
}
