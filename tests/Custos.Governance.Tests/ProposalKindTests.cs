using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Governance.Wire;

namespace Custos.Governance.Tests;

public sealed class ProposalKindTests
{
    [Fact]
    public void Set_parameter_accepts_only_known_parameters_within_their_range()
    {
        var consortium = new Consortium();

        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.SetParameter("bigger blocks", "blockSizeBytes", 1 << 20)).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.SetParameter("zero", ChainParameters.ProposalLifetimeBlocks, 0)).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid,
            consortium.Propose(1, GovernanceTransactions.SetParameter("too long", ChainParameters.ProposalLifetimeBlocks, ChainParameters.ProposalLifetimeBlocksMax + 1)).Receipt.Code);
    }

    [Fact]
    public void A_passed_proposal_lifetime_applies_to_later_proposals()
    {
        var consortium = new Consortium();
        var id = consortium.Proposed(1, GovernanceTransactions.SetParameter("shorter proposals", ChainParameters.ProposalLifetimeBlocks, 50));
        consortium.ApproveByAll(id);

        Assert.Equal(50ul, ChainParameters.ProposalLifetime(consortium.Ledger));
        var later = consortium.Proposed(1, GovernanceTransactions.SetParameter("raise", ConsortiumRegistry.ValidatorAlertThresholdParameter, 5));
        Assert.Equal(consortium.Height + 50, consortium.Proposal(later).ExpiryHeight);
    }

    [Fact]
    public void A_revoked_certificate_is_recorded_with_its_proposal_and_its_key_signs_nothing_more()
    {
        var consortium = new Consortium();
        var key = consortium.Ledger.Keys[consortium.Ordinary].PublicKey.ToArray();
        var id = consortium.Proposed(1, GovernanceTransactions.RevokeCertificate("revoke a leaked key", "0A1B2C", key, "private key leaked"));
        Assert.True(consortium.Proposal(id).RegulatorRequired);
        consortium.ApproveByAll(id);

        Assert.Equal(ProposalStatus.Executed, consortium.Proposal(id).Status);
        var revocation = ConsortiumRegistry.LoadRevocation(consortium.Ledger, key)!;
        Assert.Equal(("0A1B2C", "private key leaked", id, consortium.Height), (revocation.Serial, revocation.Reason, revocation.Proposal, revocation.Height));
        Assert.Equal(ErrorCode.CertificateRevoked, consortium.Run(consortium.Ledger.Transfer(consortium.Ordinary, 1, 0)).Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.RevokeCertificate("again", "0A1B2C", key, "twice")).Receipt.Code);
    }

    [Fact]
    public void A_revocation_needs_a_reason()
    {
        var consortium = new Consortium();

        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.RevokeCertificate("revoke", "01", [1, 2, 3], "")).Receipt.Code);
    }

    [Fact]
    public void Contract_proposals_change_the_contract_registry_when_they_pass()
    {
        var consortium = new Consortium(contracts: ContractRegistryLifecycle.Instance);
        var hash = Enumerable.Range(0, Hash32.SizeBytes).Select(i => (byte)i).ToArray();
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.FreezeContract("freeze", "bond", "defect")).Receipt.Code); // no such contract

        var deploy = consortium.Proposed(1, GovernanceTransactions.DeployContract("deploy the bond contract", "bond", 1, hash));
        Assert.Null(ContractRegistry.ReadApproval(consortium.Ledger, "bond", 1));
        consortium.ApproveByAll(deploy);
        var approval = ContractRegistry.ReadApproval(consortium.Ledger, "bond", 1)!;
        Assert.Equal(deploy, approval.Decision.Proposal);
        Assert.Equal(hash, approval.CodeHash.ToByteArray());

        var upgrade = consortium.Proposed(1, GovernanceTransactions.UpgradeContract("upgrade the bond contract", "bond", 2, hash, "migrate_v2"));
        consortium.ApproveByAll(upgrade);
        Assert.Equal("migrate_v2", ContractRegistry.ReadApproval(consortium.Ledger, "bond", 2)!.MigrateMethod);

        var freeze = consortium.Proposed(1, GovernanceTransactions.FreezeContract("freeze", "bond", "defect found"));
        Assert.True(consortium.Proposal(freeze).RegulatorRequired);
        consortium.ApproveByAll(freeze);
        Assert.Equal(ContractStatus.Frozen, ContractRegistry.ReadRecord(consortium.Ledger, "bond")!.Status);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.FreezeContract("again", "bond", "still")).Receipt.Code);

        var unfreeze = consortium.Proposed(1, GovernanceTransactions.UnfreezeContract("unfreeze", "bond", "defect fixed"));
        Assert.False(consortium.Proposal(unfreeze).RegulatorRequired);
        consortium.ApproveByAll(unfreeze);
        Assert.NotEqual(ContractStatus.Frozen, ContractRegistry.ReadRecord(consortium.Ledger, "bond")!.Status);

        var abolish = consortium.Proposed(1, GovernanceTransactions.AbolishContract("abolish", "bond", "replaced"));
        consortium.ApproveByAll(abolish);
        var record = ContractRegistry.ReadRecord(consortium.Ledger, "bond")!;
        Assert.Equal(ContractStatus.Abolished, record.Status);
        Assert.Equal(abolish, record.History[^1].Decision.Proposal);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.UpgradeContract("revive", "bond", 3, hash)).Receipt.Code);
        Assert.All([deploy, upgrade, freeze, unfreeze, abolish], id => Assert.Equal(ProposalStatus.Executed, consortium.Proposal(id).Status));
    }

    [Fact]
    public void Passed_contract_proposals_go_through_the_lifecycle_interface()
    {
        var lifecycle = new RecordingLifecycle();
        var consortium = new Consortium(contracts: lifecycle);
        var hash = new byte[Hash32.SizeBytes];

        var deploy = consortium.Proposed(1, GovernanceTransactions.DeployContract("deploy", "bond", 1, hash, "init"));
        Assert.Empty(lifecycle.Calls);
        consortium.ApproveByAll(deploy);

        Assert.Equal([$"approve bond v1 {Convert.ToHexStringLower(hash)} migrate=init by {deploy}"], lifecycle.Calls);
    }

    [Fact]
    public void System_contracts_cannot_be_proposed_for_deployment_freezing_or_abolition()
    {
        var consortium = new Consortium();
        var hash = new byte[Hash32.SizeBytes];

        foreach (var name in new[] { "system.accounts", "system.governance", "token" })
        {
            Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.DeployContract("deploy", name, 1, hash)).Receipt.Code);
            Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.AbolishContract("abolish", name, "no")).Receipt.Code);
        }

        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.DeployContract("short hash", "bond", 1, new byte[5])).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.UpgradeContract("upgrade to 1", "bond", 1, hash)).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.DeployContract("upper case", "Bond", 1, hash)).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.DeployContract("bad migrate", "bond", 1, hash, "__init")).Receipt.Code);
    }

    [Fact]
    public void A_refusal_by_the_contract_registry_fails_the_proposal_and_undoes_what_the_registry_wrote()
    {
        var lifecycle = new RecordingLifecycle { Refusal = ErrorCode.ContractVersionExists };
        var consortium = new Consortium(contracts: lifecycle);
        var id = consortium.Proposed(1, GovernanceTransactions.DeployContract("deploy", "bond", 1, new byte[Hash32.SizeBytes]));

        var passing = consortium.ApproveByAll(id);

        Assert.Equal(ErrorCode.Ok, passing.Code);
        Assert.Equal((ProposalStatus.Failed, ErrorCode.ContractVersionExists), (consortium.Proposal(id).Status, consortium.Proposal(id).Code));
        Assert.False(consortium.Ledger.TryGet(RecordingLifecycle.MarkerKey, out _));
        Assert.Equal(ProposalStatus.Failed, GovernanceTransactions.OutcomeOf(passing)!.Status);
    }

    [Fact]
    public void A_proposal_without_an_action_or_a_title_is_refused()
    {
        var consortium = new Consortium();

        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, new ProposeArguments { Title = "nothing" }).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, GovernanceTransactions.SetParameter("", ConsortiumRegistry.ValidatorAlertThresholdParameter, 5)).Receipt.Code);
        Assert.Equal(ErrorCode.InvalidArguments, consortium.Run(consortium.Ledger.SignRaw(1, GovernanceContract.ContractName, GovernanceContract.ProposeMethod,
            Google.Protobuf.ByteString.CopyFrom(0xFF, 0xFF, 0xFF))).Code);
    }
}
