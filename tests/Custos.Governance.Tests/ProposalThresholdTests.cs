using Custos.Core.Wire;
using Custos.Execution;
using Custos.Governance.Wire;

namespace Custos.Governance.Tests;

public sealed class ProposalThresholdTests
{
    private static Wire.ProposeArguments RaiseAlertThreshold(ulong value = 5) =>
        GovernanceTransactions.SetParameter("raise the alert threshold", ConsortiumRegistry.ValidatorAlertThresholdParameter, value);

    [Theory]
    [InlineData(3, 3)]
    [InlineData(4, 3)]
    [InlineData(6, 5)]
    [InlineData(7, 5)]
    [InlineData(9, 7)]
    public void Approvals_required_are_strictly_more_than_two_thirds(int members, int required) =>
        Assert.Equal(required, ProposalTally.ApprovalsRequired(members));

    [Fact]
    public void Exactly_two_thirds_of_organisations_does_not_pass_and_one_more_does()
    {
        var consortium = new Consortium(members: 5); // six organisations with the regulator
        var id = consortium.Proposed(Consortium.Admin(1), RaiseAlertThreshold());

        for (var member = 1; member <= 4; member++) Assert.Equal(ErrorCode.Ok, consortium.Vote(Consortium.Admin(member), id).Code);
        Assert.Equal(ProposalStatus.Open, consortium.Proposal(id).Status); // 4 of 6 is exactly two thirds
        Assert.Equal(ConsortiumRegistry.DefaultMinimumValidators, ConsortiumRegistry.ValidatorAlertThreshold(consortium.Ledger));

        var passing = consortium.Vote(Consortium.Admin(5), id);

        Assert.Equal(ErrorCode.Ok, passing.Code);
        var proposal = consortium.Proposal(id);
        Assert.Equal(ProposalStatus.Executed, proposal.Status);
        Assert.Equal(consortium.Height, proposal.ClosedHeight);
        Assert.Equal(5, proposal.Votes.Count);
        Assert.Equal(5ul, ConsortiumRegistry.ValidatorAlertThreshold(consortium.Ledger));
        Assert.Equal(ProposalStatus.Executed, GovernanceTransactions.OutcomeOf(passing)!.Status);
        Assert.Equal(ErrorCode.ProposalClosed, consortium.Vote(Consortium.Regulator, id).Code);
        Assert.Equal(5, consortium.Proposal(id).Votes.Count);
    }

    [Fact]
    public void A_set_parameter_proposal_does_not_need_the_regulator()
    {
        var consortium = new Consortium(members: 3);
        var id = consortium.Proposed(Consortium.Admin(1), RaiseAlertThreshold());

        foreach (var member in new[] { 1, 2, 3 }) consortium.Vote(Consortium.Admin(member), id);

        Assert.Equal(ProposalStatus.Executed, consortium.Proposal(id).Status);
        Assert.False(consortium.Proposal(id).RegulatorRequired);
    }

    [Fact]
    public void Membership_changes_need_the_regulator_even_with_more_than_two_thirds()
    {
        var consortium = new Consortium(members: 3);
        var id = consortium.Proposed(Consortium.Admin(1), OrganisationTests.AddOrg9(new Custos.Core.AccountId(0, 900), Consortium.Suite.GenerateKey()));

        foreach (var member in new[] { 1, 2, 3 }) Assert.Equal(ErrorCode.Ok, consortium.Vote(Consortium.Admin(member), id).Code);
        Assert.Equal(ProposalStatus.Open, consortium.Proposal(id).Status); // 3 of 4, but not the regulator
        Assert.Null(ConsortiumRegistry.Load(consortium.Ledger, "org9"));

        consortium.Vote(Consortium.Regulator, id);

        Assert.Equal(ProposalStatus.Executed, consortium.Proposal(id).Status);
        Assert.NotNull(ConsortiumRegistry.Load(consortium.Ledger, "org9"));
    }

    [Theory]
    [InlineData(ProposalKind.AddOrganisation, true)]
    [InlineData(ProposalKind.RemoveOrganisation, true)]
    [InlineData(ProposalKind.RevokeCertificate, true)]
    [InlineData(ProposalKind.ContractFreeze, true)]
    [InlineData(ProposalKind.ContractAbolish, true)]
    [InlineData(ProposalKind.AddValidator, false)]
    [InlineData(ProposalKind.RemoveValidator, false)]
    [InlineData(ProposalKind.SetParameter, false)]
    [InlineData(ProposalKind.ContractDeploy, false)]
    [InlineData(ProposalKind.ContractUpgrade, false)]
    [InlineData(ProposalKind.ContractUnfreeze, false)]
    public void Kinds_that_need_the_regulator_are_the_documented_ones(ProposalKind kind, bool needed) =>
        Assert.Equal(needed, ProposalTally.NeedsRegulator(kind));

    [Fact]
    public void The_regulator_rejecting_a_proposal_that_needs_it_rejects_it_at_once()
    {
        var consortium = new Consortium(members: 3);
        var id = consortium.Proposed(Consortium.Admin(1), OrganisationTests.AddOrg9(new Custos.Core.AccountId(0, 900), Consortium.Suite.GenerateKey()));

        var receipt = consortium.Vote(Consortium.Regulator, id, approve: false);

        Assert.Equal(ErrorCode.Ok, receipt.Code);
        Assert.Equal(ProposalStatus.Rejected, consortium.Proposal(id).Status);
        Assert.Equal(ProposalStatus.Rejected, GovernanceTransactions.OutcomeOf(receipt)!.Status);
        Assert.Equal(ErrorCode.ProposalClosed, consortium.Vote(Consortium.Admin(1), id).Code);
    }

    [Fact]
    public void Enough_rejections_to_make_the_threshold_unreachable_reject_the_proposal()
    {
        var consortium = new Consortium(members: 3); // four organisations: three approvals needed
        var id = consortium.Proposed(Consortium.Admin(1), RaiseAlertThreshold());

        consortium.Vote(Consortium.Admin(1), id, approve: false);
        Assert.Equal(ProposalStatus.Open, consortium.Proposal(id).Status);
        consortium.Vote(Consortium.Admin(2), id, approve: false);

        var proposal = consortium.Proposal(id);
        Assert.Equal(ProposalStatus.Rejected, proposal.Status);
        Assert.Equal(ErrorCode.ProposalClosed, consortium.Vote(Consortium.Admin(3), id).Code);
        Assert.Equal(ConsortiumRegistry.DefaultMinimumValidators, ConsortiumRegistry.ValidatorAlertThreshold(consortium.Ledger));
    }

    [Fact]
    public void An_organisation_votes_once_whichever_administrator_signs()
    {
        var consortium = new Consortium();
        var id = consortium.Proposed(Consortium.Admin(1), RaiseAlertThreshold());

        Assert.Equal(ErrorCode.Ok, consortium.Vote(Consortium.Admin(1), id).Code);
        Assert.Equal(ErrorCode.AlreadyVoted, consortium.Vote(consortium.SecondAdminOfOrg1, id).Code);
        Assert.Equal(ErrorCode.AlreadyVoted, consortium.Vote(Consortium.Admin(1), id, approve: false).Code);
        Assert.Single(consortium.Proposal(id).Votes);
    }

    [Fact]
    public void Accounts_that_are_not_member_administrators_can_neither_propose_nor_vote()
    {
        var consortium = new Consortium();
        var id = consortium.Proposed(Consortium.Admin(1), RaiseAlertThreshold());

        Assert.Equal(ErrorCode.PermissionDenied, consortium.Propose(consortium.Ordinary, RaiseAlertThreshold(6)).Receipt.Code);
        Assert.Equal(ErrorCode.PermissionDenied, consortium.Vote(consortium.Ordinary, id).Code);
        Assert.Empty(consortium.Proposal(id).Votes);
        Assert.Equal(1ul, GovernanceContract.LoadProposalCount(consortium.Ledger));
    }

    [Fact]
    public void A_vote_after_the_expiry_height_is_refused_and_expire_records_the_outcome()
    {
        var consortium = new Consortium();
        var id = consortium.Proposed(Consortium.Admin(1), GovernanceTransactions.Propose("short-lived", RaiseAlertThreshold().Action, lifetimeBlocks: 2));
        var proposal = consortium.Proposal(id);
        Assert.Equal(proposal.CreatedHeight + 2, proposal.ExpiryHeight);

        Assert.Equal(ErrorCode.Ok, consortium.Vote(Consortium.Admin(1), id).Code); // at expiry - 1
        Assert.Equal(ErrorCode.Ok, consortium.Vote(Consortium.Admin(2), id).Code); // at the expiry height: still counts
        Assert.Equal(ErrorCode.ProposalClosed, consortium.Vote(Consortium.Admin(3), id).Code);

        Assert.Equal(ProposalStatus.Open, consortium.Proposal(id).Status);
        Assert.Equal(ProposalStatus.Expired, GovernanceContract.StatusAt(consortium.Proposal(id), consortium.Height));
        Assert.Equal(2, consortium.Proposal(id).Votes.Count);

        var expire = consortium.Call(Consortium.Admin(3), GovernanceContract.ExpireMethod, GovernanceTransactions.Expire(id));
        Assert.Equal(ErrorCode.Ok, expire.Code);
        Assert.Equal(ProposalStatus.Expired, consortium.Proposal(id).Status);
        Assert.Equal(ProposalStatus.Expired, GovernanceTransactions.OutcomeOf(expire)!.Status);
        Assert.Equal(ConsortiumRegistry.DefaultMinimumValidators, ConsortiumRegistry.ValidatorAlertThreshold(consortium.Ledger));
    }

    [Fact]
    public void Expire_is_refused_while_the_proposal_is_open()
    {
        var consortium = new Consortium();
        var id = consortium.Proposed(Consortium.Admin(1), RaiseAlertThreshold());

        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Call(Consortium.Admin(1), GovernanceContract.ExpireMethod, GovernanceTransactions.Expire(id)).Code);
        Assert.Equal(ProposalStatus.Open, consortium.Proposal(id).Status);
    }

    [Fact]
    public void A_proposal_may_ask_for_a_shorter_life_but_not_a_longer_one()
    {
        var consortium = new Consortium();
        var longer = GovernanceTransactions.Propose("too long", RaiseAlertThreshold().Action, lifetimeBlocks: ChainParameters.DefaultProposalLifetimeBlocks + 1);

        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(Consortium.Admin(1), longer).Receipt.Code);
        var id = consortium.Proposed(Consortium.Admin(1), RaiseAlertThreshold());
        Assert.Equal(consortium.Height + ChainParameters.DefaultProposalLifetimeBlocks, consortium.Proposal(id).ExpiryHeight);
    }

    [Fact]
    public void Votes_on_an_unknown_proposal_are_refused()
    {
        var consortium = new Consortium();

        Assert.Equal(ErrorCode.ProposalNotFound, consortium.Vote(Consortium.Admin(1), new string('0', 32)).Code);
        Assert.Equal(ErrorCode.ProposalNotFound, consortium.Vote(Consortium.Admin(1), "nonsense").Code);
    }
}
