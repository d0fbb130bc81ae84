using Custos.Core.Wire;
using Custos.Execution;
using Custos.Governance.Wire;

namespace Custos.Governance.Tests;

public sealed class ValidatorTests
{
    [Fact]
    public void Adding_a_registered_node_writes_the_validator_set_exactly_when_the_proposal_passes()
    {
        var consortium = new Consortium(members: 3, validators: 4);
        var key = Consortium.Suite.GenerateKey();
        Assert.Equal(ErrorCode.Ok, consortium.RegisterNode(Consortium.Admin(2), "node5", key.PublicKey.Encoded).Code);
        var before = ConsortiumRegistry.LoadValidators(consortium.Ledger);

        var propose = consortium.Ledger.Execute(consortium.Ledger.Sign(Consortium.Admin(2), GovernanceContract.ContractName, GovernanceContract.ProposeMethod,
            GovernanceTransactions.AddValidator("a fifth validator", "node5"), nonce: 500));
        var id = GovernanceContract.ProposalIdOf(new Custos.Core.Hash32(propose.Receipts[0].TransactionId.Span));
        Assert.False(propose.Writes.TryGetChange(ConsortiumRegistry.ValidatorsKey, out _));
        foreach (var voter in new[] { 1, 2 })
        {
            var vote = consortium.Ledger.Execute(consortium.Ledger.Sign(voter, GovernanceContract.ContractName, GovernanceContract.VoteMethod, GovernanceTransactions.Approve(id), nonce: 600));
            Assert.Equal(ErrorCode.Ok, vote.Receipts[0].Code);
            Assert.False(vote.Writes.TryGetChange(ConsortiumRegistry.ValidatorsKey, out _));
        }

        var passing = consortium.Ledger.Execute(consortium.Ledger.Sign(3, GovernanceContract.ContractName, GovernanceContract.VoteMethod, GovernanceTransactions.Approve(id), nonce: 600));

        Assert.Equal(ErrorCode.Ok, passing.Receipts[0].Code);
        Assert.True(passing.Writes.TryGetChange(ConsortiumRegistry.ValidatorsKey, out _));
        var after = ConsortiumRegistry.LoadValidators(consortium.Ledger);
        Assert.Equal([.. before.Validators.Select(v => v.Node), "node5"], after.Validators.Select(v => v.Node));
        Assert.Equal(key.PublicKey.ToArray(), after.Validators[^1].PublicKey.ToByteArray());
        Assert.Equal("org2", after.Validators[^1].Organisation);
        Assert.Equal(id, after.Proposal);
        Assert.Equal(consortium.Height, after.ChangedHeight);
        Assert.Equal(ProposalStatus.Executed, consortium.Proposal(id).Status);
    }

    [Fact]
    public void Adding_an_unregistered_node_or_a_current_validator_is_refused_when_proposed()
    {
        var consortium = new Consortium();

        Assert.Equal(ErrorCode.NodeNotRegistered, consortium.Propose(1, GovernanceTransactions.AddValidator("add", "node9")).Receipt.Code);
        consortium.RegisterNode(Consortium.Admin(1), "node1", consortium.ValidatorKeys[0].PublicKey.Encoded);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.AddValidator("add", "node1")).Receipt.Code);
        // A node registered under another name with a validator's key would be a second seat for one key.
        consortium.RegisterNode(Consortium.Admin(1), "node1-again", consortium.ValidatorKeys[0].PublicKey.Encoded);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.AddValidator("add", "node1-again")).Receipt.Code);
        Assert.Equal(0ul, GovernanceContract.LoadProposalCount(consortium.Ledger));
    }

    [Fact]
    public void Removing_a_validator_below_the_minimum_is_refused_when_proposed()
    {
        var consortium = new Consortium(validators: 4);

        var (receipt, _) = consortium.Propose(1, GovernanceTransactions.RemoveValidator("remove", "node4"));

        Assert.Equal(ErrorCode.ValidatorsBelowMinimum, receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.RemoveValidator("remove", "node9")).Receipt.Code);
        Assert.Equal(4, ConsortiumRegistry.LoadValidators(consortium.Ledger).Validators.Count);
    }

    [Fact]
    public void A_removal_that_falls_below_the_minimum_at_execution_fails_the_proposal_and_keeps_the_vote()
    {
        var consortium = new Consortium(validators: 5);
        var first = consortium.Proposed(1, GovernanceTransactions.RemoveValidator("remove node4", "node4"));
        var second = consortium.Proposed(1, GovernanceTransactions.RemoveValidator("remove node5", "node5")); // valid while five remain
        consortium.ApproveByAll(first);
        Assert.Equal(ProposalStatus.Executed, consortium.Proposal(first).Status);
        Assert.Equal(4, ConsortiumRegistry.LoadValidators(consortium.Ledger).Validators.Count);

        consortium.Vote(Consortium.Regulator, second);
        consortium.Vote(Consortium.Admin(1), second);
        var passing = consortium.Ledger.Execute(consortium.Ledger.Sign(Consortium.Admin(2), GovernanceContract.ContractName, GovernanceContract.VoteMethod,
            GovernanceTransactions.Approve(second), nonce: 900));

        Assert.Equal(ErrorCode.Ok, passing.Receipts[0].Code); // the vote counts although the change was refused
        Assert.False(passing.Writes.TryGetChange(ConsortiumRegistry.ValidatorsKey, out _));
        var proposal = consortium.Proposal(second);
        Assert.Equal(ProposalStatus.Failed, proposal.Status);
        Assert.Equal(ErrorCode.ValidatorsBelowMinimum, proposal.Code);
        Assert.Contains("minimum", proposal.Message);
        Assert.Equal(3, proposal.Votes.Count);
        Assert.Equal(["node1", "node2", "node3", "node5"], ConsortiumRegistry.LoadValidators(consortium.Ledger).Validators.Select(v => v.Node));
        Assert.Contains(passing.Receipts[0].Events, e => e.Name == "failed");
    }

    [Fact]
    public void Raising_the_minimum_above_the_validator_count_is_refused()
    {
        var consortium = new Consortium(validators: 4);

        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.SetParameter("raise", ConsortiumRegistry.MinimumValidatorsParameter, 5)).Receipt.Code);
        var id = consortium.Proposed(1, GovernanceTransactions.SetParameter("lower", ConsortiumRegistry.MinimumValidatorsParameter, 3));
        consortium.ApproveByAll(id);
        Assert.Equal(3ul, ConsortiumRegistry.Parameter(consortium.Ledger, ConsortiumRegistry.MinimumValidatorsParameter, 0));
        Assert.Equal(ErrorCode.Ok, consortium.Propose(1, GovernanceTransactions.RemoveValidator("now allowed", "node4")).Receipt.Code);
    }
}
