using Custos.Consensus.Tests.Support;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Consensus.Tests;

/// <summary>Certificates (docs/consensus.md section 2) and the collectors and timer that produce and use them.</summary>
public sealed class CertificateTests
{
    private static readonly TestChain Chain = new();

    private static BlockRecord Block1 => Chain.MakeBlock(Chain.GenesisBlock, Chain.GenesisQc, round: 1, proposer: 2);

    [Fact]
    public void Qc_signed_by_a_quorum_verifies()
    {
        var qc = Chain.Certify(Block1, 0);
        Assert.True(CertificateVerifier.TryVerify(qc, TestChain.Id, Chain.Set, Chain.Suite, out var view, out _));
        Assert.Equal(Block1.Hash, view.BlockHash);
        Assert.Equal([0u, 1u, 2u], view.Signers);
    }

    [Fact]
    public void Qc_with_fewer_than_a_quorum_of_signers_is_refused()
    {
        var qc = Chain.Certify(Block1, 0, signers: [0, 3]);
        Assert.False(CertificateVerifier.TryVerify(qc, TestChain.Id, Chain.Set, Chain.Suite, out _, out var error));
        Assert.Equal(ErrorCode.QuorumInvalid, error.Code);
    }

    [Fact]
    public void Qc_with_a_corrupted_signature_is_refused()
    {
        var qc = Chain.Certify(Block1, 0);
        var signature = qc.Signatures[1].ToByteArray();
        signature[10] ^= 1;
        qc.Signatures[1] = ByteString.CopyFrom(signature);
        Assert.False(CertificateVerifier.TryVerify(qc, TestChain.Id, Chain.Set, Chain.Suite, out _, out var error));
        Assert.Equal(ErrorCode.SignatureInvalid, error.Code);
    }

    [Fact]
    public void Qc_naming_a_signer_outside_the_set_is_refused()
    {
        var qc = Chain.Certify(Block1, 0);
        qc.Signers = ByteString.CopyFrom([0b0011_0011]);
        Assert.False(CertificateVerifier.TryVerify(qc, TestChain.Id, Chain.Set, Chain.Suite, out _, out var error));
        Assert.NotEqual(ErrorCode.Ok, error.Code);
    }

    [Fact]
    public void Qc_checked_against_another_epochs_set_is_refused()
    {
        var qc = Chain.Certify(Block1, 0);
        Assert.False(CertificateVerifier.TryVerify(qc, TestChain.Id, Chain.Set.WithEpoch(2), Chain.Suite, out _, out var error));
        Assert.Equal(ErrorCode.EpochMismatch, error.Code);
    }

    [Fact]
    public void Qc_of_another_chain_is_refused()
    {
        var qc = Chain.Certify(Block1, 0);
        Assert.False(CertificateVerifier.TryVerify(qc, "another-chain", Chain.Set, Chain.Suite, out _, out var error));
        Assert.Equal(ErrorCode.ChainIdMismatch, error.Code);
    }

    [Fact]
    public void Qc_signed_under_the_other_suite_is_refused()
    {
        var gm = new TestChain(suite: CryptoSuites.Gm);
        var qc = gm.Certify(gm.MakeBlock(gm.GenesisBlock, gm.GenesisQc, 1, 2), 0);
        Assert.False(CertificateVerifier.TryVerify(qc, TestChain.Id, Chain.Set, Chain.Suite, out _, out var error));
        Assert.Equal(ErrorCode.SignatureInvalid, error.Code);
    }

    [Fact]
    public void Tc_reports_the_highest_lock_of_its_signers()
    {
        var tc = Chain.MakeTc(7, [(0, 3), (1, 6), (3, 5)]);
        Assert.True(CertificateVerifier.TryVerify(tc, TestChain.Id, Chain.Set, Chain.Suite, out var view, out _));
        Assert.Equal(6UL, view.MaxHighQcRound);
    }

    [Fact]
    public void Tc_with_fewer_than_a_quorum_is_refused()
    {
        var tc = Chain.MakeTc(7, [(0, 3), (1, 6)]);
        Assert.False(CertificateVerifier.TryVerify(tc, TestChain.Id, Chain.Set, Chain.Suite, out _, out var error));
        Assert.Equal(ErrorCode.QuorumInvalid, error.Code);
    }

    [Fact]
    public void Tc_whose_timeout_names_another_round_does_not_decode()
    {
        var tc = Chain.MakeTc(7, [(0, 3), (1, 6), (2, 5)]);
        tc.Signatures[2] = Chain.MakeTc(8, [(2, 5)]).Signatures[0];
        Assert.False(CertificateVerifier.TryVerify(tc, TestChain.Id, Chain.Set, Chain.Suite, out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Votes_from_a_quorum_for_the_same_data_form_a_qc_that_verifies()
    {
        var collector = new VoteCollector(Chain.Set.Quorum);
        var data = Chain.VoteDataFor(Block1, 0);
        QuorumCertificate? qc = null;
        foreach (var voter in new[] { 3, 0, 2 })
        {
            Assert.Null(qc);
            var vote = Chain.SignVote(voter, data);
            qc = collector.Add(1, vote.Voter, vote.Data, vote.Signature);
        }

        Assert.NotNull(qc);
        Assert.True(CertificateVerifier.TryVerify(qc, TestChain.Id, Chain.Set, Chain.Suite, out var view, out _));
        Assert.Equal([0u, 2u, 3u], view.Signers);
        Assert.Null(collector.Add(1, 1, Chain.SignVote(1, data).Data, Chain.SignVote(1, data).Signature));
    }

    [Fact]
    public void A_validators_second_vote_in_a_round_is_not_counted()
    {
        var collector = new VoteCollector(Chain.Set.Quorum);
        var a = Chain.VoteDataFor(Block1, 0);
        var other = Chain.MakeBlock(Chain.GenesisBlock, Chain.GenesisQc, 1, 2, timestampMs: Chain.GenesisBlock.TimestampMs + 7);
        var b = Chain.VoteDataFor(other, 0);
        Add(0, a);
        Add(1, a);
        Assert.Null(Add(1, b));
        Assert.Null(Add(0, b));
        Assert.NotNull(Add(2, a));

        QuorumCertificate? Add(int voter, VoteData data)
        {
            var vote = Chain.SignVote(voter, data);
            return collector.Add(1, vote.Voter, vote.Data, vote.Signature);
        }
    }

    [Fact]
    public void Timeouts_from_a_quorum_form_a_tc_reporting_the_highest_lock()
    {
        var collector = new TimeoutCollector(Chain.Set.Quorum);
        TimeoutCertificate? tc = null;
        foreach (var (author, high) in new[] { (2, 4UL), (0, 5UL), (2, 5UL), (3, 3UL) })
        {
            var timeout = Chain.SignTimeout(author, 6, Chain.GenesisQc, high);
            tc ??= collector.Add(1, 6, timeout.Author, timeout.Data, timeout.Signature);
        }

        Assert.NotNull(tc);
        Assert.True(CertificateVerifier.TryVerify(tc, TestChain.Id, Chain.Set, Chain.Suite, out var view, out _));
        Assert.Equal([0u, 2u, 3u], tc.Signatures.Select(s => s.Author));
        Assert.Equal(5UL, view.MaxHighQcRound);
    }

    [Fact]
    public void Round_is_one_above_the_highest_certificate()
    {
        var pacemaker = new Pacemaker(Chain.Config);
        Assert.True(pacemaker.TryAdvance(highestQcRound: 4, highestTcRound: null));
        Assert.Equal(5UL, pacemaker.CurrentRound);
        Assert.True(pacemaker.TryAdvance(4, 6));
        Assert.Equal(7UL, pacemaker.CurrentRound);
        Assert.False(pacemaker.TryAdvance(5, 3));
        Assert.Equal(7UL, pacemaker.CurrentRound);
    }

    [Fact]
    public void Round_timeout_grows_by_the_backoff_per_round_without_qc_and_stops_at_the_maximum()
    {
        var pacemaker = new Pacemaker(Chain.Config with { RoundTimeoutMs = 1_000, RoundTimeoutBackoff = 1.5, RoundTimeoutMsMax = 4_000 });
        Assert.Equal(1_000, pacemaker.TimeoutMs(round: 5, highestQcRound: 4));
        Assert.Equal(1_500, pacemaker.TimeoutMs(6, 4));
        Assert.Equal(2_250, pacemaker.TimeoutMs(7, 4));
        Assert.Equal(3_375, pacemaker.TimeoutMs(8, 4));
        Assert.Equal(4_000, pacemaker.TimeoutMs(9, 4));
        Assert.Equal(4_000, pacemaker.TimeoutMs(90, 4));
    }

    [Fact]
    public void Round_timeouts_changed_by_governance_apply_to_the_next_timer_and_bad_ones_are_refused()
    {
        var pacemaker = new Pacemaker(Chain.Config with { RoundTimeoutMs = 1_000, RoundTimeoutBackoff = 1.5, RoundTimeoutMsMax = 4_000 });
        pacemaker.Retime(baseMs: 2_000, maxMs: 5_000);

        Assert.Equal(2_000, pacemaker.TimeoutMs(round: 5, highestQcRound: 4));
        Assert.Equal(4_500, pacemaker.TimeoutMs(7, 4));
        Assert.Equal(5_000, pacemaker.TimeoutMs(90, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => pacemaker.Retime(0, 5_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => pacemaker.Retime(3_000, 2_000));
        Assert.Equal(2_000, pacemaker.TimeoutMs(5, 4));
    }
}
