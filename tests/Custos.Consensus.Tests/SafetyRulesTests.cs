using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;
using Custos.Core.Wire;
using CsCheck;
using Google.Protobuf;

namespace Custos.Consensus.Tests;

/// <summary>The rules of docs/consensus.md section 3, each on its own.</summary>
public sealed class SafetyRulesTests
{
    private static readonly TestChain Chain = new();

    private static SafetyRules Fresh(ulong highestQcRound = 0)
    {
        var rules = new SafetyRules(new SafetyState());
        rules.StartEpoch(1, Chain.GenesisQc, 0);
        if (highestQcRound > 0) rules.ObserveQc(QcOfRound(highestQcRound));
        return rules;
    }

    /// <summary>A QC whose only property that matters here is its round.</summary>
    private static QuorumCertificateView QcOfRound(ulong round)
    {
        var parent = Chain.GenesisBlock;
        var block = Chain.MakeBlock(parent, Chain.GenesisQc, round, proposer: 0);
        return Chain.View(Chain.Certify(block, 0));
    }

    private static TimeoutCertificateView TcOf(ulong round, params ulong[] highQcRounds) =>
        Chain.View(Chain.MakeTc(round, highQcRounds.Select((h, i) => (i, h))));

    [Fact]
    public void Vote_is_allowed_for_a_block_extending_the_previous_rounds_qc()
    {
        var rules = Fresh();
        Assert.True(rules.TryVote(1, round: 5, qcRound: 4, tc: null, out _));
        Assert.Equal(5UL, rules.HighestVotedRound);
        Assert.Equal(4UL, rules.HighestQcRound);
    }

    [Fact]
    public void Vote_is_refused_for_a_round_already_voted()
    {
        var rules = Fresh();
        Assert.True(rules.TryVote(1, 5, 4, null, out _));
        Assert.False(rules.TryVote(1, 5, 4, null, out var again));
        Assert.Equal(ErrorCode.RoundStale, again.Code);
        Assert.False(rules.TryVote(1, 4, 3, null, out var lower));
        Assert.Equal(ErrorCode.RoundStale, lower.Code);
    }

    [Fact]
    public void Vote_after_a_view_change_needs_a_tc_for_the_previous_round()
    {
        var rules = Fresh();
        Assert.False(rules.TryVote(1, round: 6, qcRound: 4, tc: null, out var error));
        Assert.Equal(ErrorCode.UnsafeVote, error.Code);
        Assert.False(rules.TryVote(1, round: 6, qcRound: 4, tc: TcOf(4, 3, 3, 3), out _));
        Assert.Equal(0UL, rules.HighestVotedRound);
    }

    [Fact]
    public void Vote_after_a_view_change_is_refused_when_the_qc_is_below_the_highest_lock_in_the_tc()
    {
        var rules = Fresh();
        Assert.False(rules.TryVote(1, round: 6, qcRound: 3, tc: TcOf(5, 3, 4, 2), out var error));
        Assert.Equal(ErrorCode.UnsafeVote, error.Code);
    }

    [Fact]
    public void Vote_after_a_view_change_is_allowed_when_the_qc_reaches_the_highest_lock_in_the_tc()
    {
        var rules = Fresh();
        Assert.True(rules.TryVote(1, round: 6, qcRound: 4, tc: TcOf(5, 3, 4, 2), out _));
        Assert.Equal(6UL, rules.HighestVotedRound);
    }

    [Fact]
    public void Skip_lock_mutation_votes_for_a_block_that_ignores_the_lock()
    {
        // The deliberately broken rules the simulator must catch: proof that the mutation changes exactly this rule.
        var rules = new SafetyRules(new SafetyState(), EngineMutation.SkipLock);
        rules.StartEpoch(1, Chain.GenesisQc, 0);
        Assert.True(rules.TryVote(1, round: 6, qcRound: 3, tc: TcOf(5, 3, 4, 2), out _));
        Assert.False(rules.TryVote(1, round: 6, qcRound: 5, tc: null, out _));
    }

    [Fact]
    public void Vote_of_another_epoch_is_refused()
    {
        var rules = Fresh();
        Assert.False(rules.TryVote(2, 5, 4, null, out var error));
        Assert.Equal(ErrorCode.EpochMismatch, error.Code);
    }

    [Fact]
    public void Timeout_may_follow_a_vote_in_the_same_round_but_no_vote_may_follow_a_timeout()
    {
        var rules = Fresh(highestQcRound: 4);
        Assert.True(rules.TryVote(1, 5, 4, null, out _));
        Assert.True(rules.TryTimeout(1, 5, 4, out var existing, out _));
        Assert.Null(existing);

        var other = Fresh(highestQcRound: 4);
        Assert.True(other.TryTimeout(1, 5, 4, out _, out _));
        Assert.False(other.TryVote(1, 5, 4, null, out var error));
        Assert.Equal(ErrorCode.RoundStale, error.Code);
    }

    [Fact]
    public void Timeout_is_refused_for_a_round_below_the_last_voted_round()
    {
        var rules = Fresh(highestQcRound: 6);
        Assert.True(rules.TryVote(1, 7, 6, null, out _));
        Assert.False(rules.TryTimeout(1, 6, 5, out _, out var error));
        Assert.Equal(ErrorCode.RoundStale, error.Code);
    }

    [Fact]
    public void Timeout_never_reports_a_qc_below_the_lock()
    {
        var rules = Fresh(highestQcRound: 4);
        Assert.False(rules.TryTimeout(1, 5, qcRound: 3, out _, out var error));
        Assert.Equal(ErrorCode.UnsafeVote, error.Code);
    }

    [Fact]
    public void Timeout_needs_a_certificate_for_the_round_before()
    {
        var rules = Fresh(highestQcRound: 4);
        Assert.False(rules.TryTimeout(1, 7, 4, out _, out var error));
        Assert.Equal(ErrorCode.UnsafeVote, error.Code);
        rules.ObserveTc(TcOf(6, 4, 4, 4));
        Assert.True(rules.TryTimeout(1, 7, 4, out _, out _));
    }

    [Fact]
    public void Second_timeout_in_a_round_returns_the_first_unchanged()
    {
        var rules = Fresh(highestQcRound: 4);
        Assert.True(rules.TryTimeout(1, 5, 4, out var existing, out _));
        Assert.Null(existing);
        var first = Chain.SignTimeout(0, 5, Chain.GenesisQc, 0);
        rules.RememberTimeout(first.ToByteArray());
        Assert.True(rules.TryTimeout(1, 5, 4, out existing, out _));
        Assert.Equal(first, existing);
    }

    [Fact]
    public void Unreadable_last_timeout_blocks_timeouts_in_the_rounds_it_might_cover()
    {
        var state = Fresh(highestQcRound: 4).Snapshot();
        state.HighestVotedRound = 5;
        state.LastTimeout = ByteString.CopyFrom([0xff, 0xff, 0xff]);
        var rules = new SafetyRules(state);
        Assert.False(rules.TryTimeout(1, 5, 4, out _, out var error));
        Assert.Equal(ErrorCode.StorageCorrupt, error.Code);
        rules.ObserveTc(TcOf(5, 4, 4, 4));
        Assert.True(rules.TryTimeout(1, 6, 4, out _, out _));
    }

    [Fact]
    public void Proposal_is_refused_for_a_round_already_proposed()
    {
        var rules = Fresh();
        Assert.True(rules.TryPropose(1, 3, out _));
        Assert.False(rules.TryPropose(1, 3, out var error));
        Assert.Equal(ErrorCode.RoundStale, error.Code);
        Assert.True(rules.TryPropose(1, 4, out _));
    }

    [Fact]
    public void New_epoch_resets_rounds_but_a_state_already_in_it_is_kept()
    {
        var rules = Fresh();
        Assert.True(rules.TryVote(1, 9, 8, null, out _));
        Assert.True(rules.StartEpoch(2, Chain.GenesisQc, rootRound: 7));
        Assert.Equal(7UL, rules.HighestVotedRound);
        Assert.True(rules.TryVote(2, 8, 7, null, out _));

        // A restarted node whose durable state is already in epoch 2 must not be rolled back by the epoch switch.
        Assert.False(rules.StartEpoch(2, Chain.GenesisQc, rootRound: 7));
        Assert.Equal(8UL, rules.HighestVotedRound);
        Assert.False(rules.TryVote(2, 8, 7, null, out _));
    }

    [Fact]
    public void Lock_only_rises()
    {
        var rules = Fresh(highestQcRound: 6);
        rules.ObserveQc(QcOfRound(3));
        Assert.Equal(6UL, rules.HighestQcRound);
    }

    /// <summary>Whatever is asked in whatever order, the rules never allow two signatures for one round.</summary>
    [Fact]
    public void No_sequence_of_requests_allows_two_votes_or_two_new_timeouts_for_one_round()
    {
        var request = Gen.Select(Gen.Int[0, 2], Gen.ULong[1, 12], Gen.ULong[0, 12], Gen.ULong[0, 12], Gen.ULong[0, 12]);
        request.Array[1, 40].Sample(requests =>
        {
            var rules = Fresh();
            var voted = new HashSet<ulong>();
            var timedOut = new HashSet<ulong>();
            foreach (var (kind, round, qcRound, tcRound, tcLock) in requests)
            {
                switch (kind)
                {
                    case 0:
                        var tc = tcRound >= 1 && tcLock < tcRound ? TcOf(tcRound, tcLock, tcLock, tcLock) : null;
                        if (qcRound >= round) break;
                        if (rules.TryVote(1, round, qcRound, tc, out _))
                        {
                            if (!voted.Add(round) || timedOut.Contains(round)) return false;
                            if (voted.Any(r => r > round) || timedOut.Any(r => r > round)) return false;
                        }

                        break;
                    case 1:
                        if (rules.TryTimeout(1, round, Math.Max(qcRound, rules.HighestQcRound), out var existing, out _) && existing is null)
                        {
                            if (!timedOut.Add(round) || voted.Any(r => r > round) || timedOut.Any(r => r > round)) return false;
                            rules.RememberTimeout(Chain.SignTimeout(0, round, Chain.GenesisQc, 0).ToByteArray());
                        }

                        break;
                    default:
                        rules.ObserveQc(QcOfRound(Math.Max(1, qcRound)));
                        break;
                }
            }

            return true;
        }, iter: 300);
    }
}
