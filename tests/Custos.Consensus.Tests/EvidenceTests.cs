using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Consensus.Tests;

/// <summary>Equivocation (docs/consensus.md section 6): found by any node, verifiable with the validator set alone.</summary>
public sealed class EvidenceTests
{
    private readonly TestChain _chain = new();

    private (BlockRecord A, BlockRecord B) TwoBlocksForRound1() =>
        (_chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2), _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2, timestampMs: _chain.GenesisBlock.TimestampMs + 2));

    private static byte[] VoteMessage(Vote vote) => ConsensusMessages.Encode(new VoteMessage { Vote = vote });

    [Fact]
    public void Conflicting_votes_of_one_validator_become_evidence_that_verifies_with_the_set_alone()
    {
        var (a, b) = TwoBlocksForRound1();
        var node = new TestNode(_chain, 1);
        node.Start();
        node.Receive(new NodeId(0), VoteMessage(_chain.SignVote(0, _chain.VoteDataFor(a, 0))));
        node.Receive(new NodeId(0), VoteMessage(_chain.SignVote(0, _chain.VoteDataFor(b, 0))));

        var evidence = Assert.Single(node.Evidence);
        Assert.Equal(0u, evidence.Culprit);
        Assert.Equal(1UL, evidence.Round);
        Assert.Equal(SignedKind.Vote, evidence.First.Kind);
        Assert.True(EquivocationEvidenceVerifier.TryVerify(evidence, _chain.Set, _chain.Suite, out _));
        Assert.Contains(node.JournalEntries(), e => e.Kind == JournalEntryKind.Evidence && e.Evidence.Equals(evidence));
    }

    [Fact]
    public void Conflicting_proposals_of_a_leader_become_evidence()
    {
        var (a, b) = TwoBlocksForRound1();
        var node = new TestNode(_chain, 1);
        node.Start();
        node.Receive(new NodeId(2), _chain.SignProposal(2, a));
        node.Receive(new NodeId(2), _chain.SignProposal(2, b));
        var evidence = Assert.Single(node.Evidence);
        Assert.Equal(SignedKind.Proposal, evidence.First.Kind);
        Assert.Equal(2u, evidence.Culprit);
        Assert.True(EquivocationEvidenceVerifier.TryVerify(evidence, _chain.Set, _chain.Suite, out _));
    }

    [Fact]
    public void Conflicting_timeouts_become_evidence_but_a_vote_and_a_timeout_do_not()
    {
        var (a, _) = TwoBlocksForRound1();
        var node = new TestNode(_chain, 1);
        node.Start();
        node.Receive(new NodeId(3), VoteMessage(_chain.SignVote(3, _chain.VoteDataFor(a, 0))));
        node.Receive(new NodeId(3), ConsensusMessages.Encode(new TimeoutMessage { Timeout = _chain.SignTimeout(3, 1, _chain.GenesisQc, 0) }));
        Assert.Empty(node.Evidence);

        var otherQc = _chain.GenesisQc.Clone();
        node.Receive(new NodeId(3), ConsensusMessages.Encode(new TimeoutMessage { Timeout = _chain.SignTimeout(3, 1, otherQc, 0, epoch: 1) }));
        Assert.Empty(node.Evidence);
    }

    [Fact]
    public void The_same_vote_signed_twice_is_not_evidence()
    {
        var (a, _) = TwoBlocksForRound1();
        var node = new TestNode(_chain, 1);
        node.Start();
        node.Receive(new NodeId(0), VoteMessage(_chain.SignVote(0, _chain.VoteDataFor(a, 0))));
        node.Receive(new NodeId(0), VoteMessage(_chain.SignVote(0, _chain.VoteDataFor(a, 0))));
        Assert.Empty(node.Evidence);
    }

    [Fact]
    public void Evidence_does_not_verify_against_another_epoch_or_with_an_altered_signature()
    {
        var (a, b) = TwoBlocksForRound1();
        var evidence = new EquivocationEvidence
        {
            Epoch = 1,
            Round = 1,
            Culprit = 0,
            First = Statement(_chain.SignVote(0, _chain.VoteDataFor(a, 0))),
            Second = Statement(_chain.SignVote(0, _chain.VoteDataFor(b, 0))),
        };
        Assert.True(EquivocationEvidenceVerifier.TryVerify(evidence, _chain.Set, _chain.Suite, out _));

        Assert.False(EquivocationEvidenceVerifier.TryVerify(evidence, _chain.Set.WithEpoch(2), _chain.Suite, out var error));
        Assert.Equal(ErrorCode.EpochMismatch, error.Code);

        var framed = evidence.Clone();
        framed.Culprit = 1;
        Assert.False(EquivocationEvidenceVerifier.TryVerify(framed, _chain.Set, _chain.Suite, out error));
        Assert.Equal(ErrorCode.SignatureInvalid, error.Code);

        var same = evidence.Clone();
        same.Second = same.First;
        Assert.False(EquivocationEvidenceVerifier.TryVerify(same, _chain.Set, _chain.Suite, out error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);

        var otherRound = evidence.Clone();
        otherRound.Round = 2;
        Assert.False(EquivocationEvidenceVerifier.TryVerify(otherRound, _chain.Set, _chain.Suite, out error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    private static SignedStatement Statement(Vote vote) => new() { Kind = SignedKind.Vote, Data = vote.Data, Signature = vote.Signature };
}
