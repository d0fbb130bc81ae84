using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Governance.Wire;

namespace Custos.Governance.Tests;

public sealed class ProposalRecordTests
{
    [Fact]
    public void A_proposal_is_recorded_with_an_id_derived_from_its_transaction()
    {
        var consortium = new Consortium();
        var arguments = GovernanceTransactions.SetParameter("raise the alert", ConsortiumRegistry.ValidatorAlertThresholdParameter, 5, "more headroom");

        var (receipt, id) = consortium.Propose(Consortium.Admin(2), arguments);

        Assert.Equal(ErrorCode.Ok, receipt.Code);
        Assert.Equal(id, GovernanceTransactions.ProposalIdOf(receipt));
        Assert.Equal(Convert.ToHexStringLower(receipt.TransactionId.Span[..GovernanceContract.ProposalIdBytes]), id);
        var proposal = consortium.Proposal(id);
        Assert.Equal((ProposalKind.SetParameter, "raise the alert", "more headroom", "org2", consortium.Height, ProposalStatus.Open),
            (proposal.Kind, proposal.Title, proposal.Reason, proposal.ProposerOrganisation, proposal.CreatedHeight, proposal.Status));
        Assert.Equal(consortium.Ledger.Ids[Consortium.Admin(2)].ToByteString(), proposal.Proposer);
        Assert.Equal(receipt.TransactionId, proposal.TransactionId);
        Assert.Equal(arguments.Action, proposal.Action);
        var proposed = Assert.Single(receipt.Events, e => e.Name == "proposed");
        Assert.Equal(proposal, ProposalRecord.Parser.ParseFrom(proposed.Data));
    }

    [Fact]
    public void Proposal_ids_are_listed_in_the_order_they_were_made()
    {
        var consortium = new Consortium();
        var ids = Enumerable.Range(5, 4)
            .Select(v => consortium.Proposed(1, GovernanceTransactions.SetParameter($"alert at {v}", ConsortiumRegistry.ValidatorAlertThresholdParameter, (ulong)v)))
            .ToList();

        Assert.Equal(4ul, GovernanceContract.LoadProposalCount(consortium.Ledger));
        Assert.Equal(ids, GovernanceContract.LoadProposalIds(consortium.Ledger));
        Assert.Equal(ids[1..3], GovernanceContract.LoadProposalIds(consortium.Ledger, from: 1, count: 2));
        Assert.Empty(GovernanceContract.LoadProposalIds(consortium.Ledger, from: 4));
        Assert.Equal([0ul, 1, 2, 3], ids.Select(id => consortium.Proposal(id).Sequence));
    }

    [Fact]
    public void Each_vote_is_recorded_and_announced_with_the_tally()
    {
        var consortium = new Consortium();
        var id = consortium.Proposed(1, GovernanceTransactions.SetParameter("raise", ConsortiumRegistry.ValidatorAlertThresholdParameter, 5));

        var receipt = consortium.Vote(Consortium.Admin(2), id, approve: false);

        var vote = Assert.Single(consortium.Proposal(id).Votes);
        Assert.Equal(("org2", false, "disagreed", consortium.Height, receipt.TransactionId), (vote.Organisation, vote.Approve, vote.Reason, vote.Height, vote.TransactionId));
        var announced = VoteEvent.Parser.ParseFrom(Assert.Single(receipt.Events, e => e.Name == "voted").Data);
        Assert.Equal((0u, 1u, 4u), (announced.Approvals, announced.Rejections, announced.Members));
        Assert.Null(GovernanceTransactions.OutcomeOf(receipt));
    }

    [Fact]
    public void Governance_state_keys_are_frozen()
    {
        Assert.Equal("system.governance\0proposal/abc"u8.ToArray(), GovernanceContract.ProposalKey("abc"));
        Assert.Equal("system.governance\0proposal-count"u8.ToArray(), GovernanceContract.ProposalCountKey);
        Assert.Equal([.. "system.governance\0proposal-seq/"u8, 0, 0, 0, 0, 0, 0, 1, 2], GovernanceContract.ProposalSequenceKey(258));
        Assert.Equal("00112233445566778899aabbccddeeff", GovernanceContract.ProposalIdOf(new Hash32(Convert.FromHexString("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"))));
    }
}

public sealed class GovernanceFormatTests
{
    [Fact]
    public void Proposal_kind_and_status_numbers_are_frozen()
    {
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], Enum.GetValues<ProposalKind>().Select(k => (int)k));
        Assert.Equal(
            [ProposalKind.AddOrganisation, ProposalKind.RemoveOrganisation, ProposalKind.AddValidator, ProposalKind.RemoveValidator, ProposalKind.SetParameter,
             ProposalKind.RevokeCertificate, ProposalKind.ContractDeploy, ProposalKind.ContractUpgrade, ProposalKind.ContractFreeze, ProposalKind.ContractUnfreeze,
             ProposalKind.ContractAbolish],
            Enumerable.Range(1, 11).Select(i => (ProposalKind)i));
        Assert.Equal(
            [ProposalStatus.Unspecified, ProposalStatus.Open, ProposalStatus.Executed, ProposalStatus.Failed, ProposalStatus.Rejected, ProposalStatus.Expired],
            Enumerable.Range(0, 6).Select(i => (ProposalStatus)i));
    }

    [Fact]
    public void Each_action_gives_its_kind()
    {
        var key = new byte[33];
        var hash = new byte[Hash32.SizeBytes];
        ProposeArguments[] proposals =
        [
            GovernanceTransactions.AddOrganisation("t", "org9", Custos.Execution.Wire.OrganisationRole.Member, "", new AccountId(0, 9), key),
            GovernanceTransactions.RemoveOrganisation("t", "org9"), GovernanceTransactions.AddValidator("t", "n"), GovernanceTransactions.RemoveValidator("t", "n"),
            GovernanceTransactions.SetParameter("t", "p", 1), GovernanceTransactions.RevokeCertificate("t", "s", key, "r"),
            GovernanceTransactions.DeployContract("t", "c", 1, hash), GovernanceTransactions.UpgradeContract("t", "c", 2, hash),
            GovernanceTransactions.FreezeContract("t", "c", "r"), GovernanceTransactions.UnfreezeContract("t", "c", "r"), GovernanceTransactions.AbolishContract("t", "c", "r"),
        ];

        Assert.Equal(Enumerable.Range(1, 11).Select(i => (ProposalKind)i), proposals.Select(p => ProposalActions.KindOf(p.Action)));
        Assert.Equal(ProposalKind.Unspecified, ProposalActions.KindOf(new ProposalAction()));
    }
}
