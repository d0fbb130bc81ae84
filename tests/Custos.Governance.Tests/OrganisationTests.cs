using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Governance.Wire;

namespace Custos.Governance.Tests;

public sealed class OrganisationTests
{
    internal const string CaPem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ3VzdG9z\n-----END CERTIFICATE-----\n";

    internal static ProposeArguments AddOrg9(AccountId administrator, SoftwareKey key, OrganisationRole role = OrganisationRole.Member) =>
        GovernanceTransactions.AddOrganisation("admit org9", "org9", role, CaPem, administrator, key.PublicKey.Encoded, "a new bank joins");

    [Fact]
    public void Admitting_an_organisation_registers_its_first_administrator_who_can_then_vote_and_register_accounts()
    {
        var consortium = new Consortium(members: 3);
        var administrator = new AccountId(0, 900);
        var key = Consortium.Suite.GenerateKey();
        var admit = consortium.Proposed(Consortium.Admin(1), AddOrg9(administrator, key));
        var passing = consortium.ApproveByAll(admit);

        Assert.Equal(ProposalStatus.Executed, consortium.Proposal(admit).Status);
        var organisation = ConsortiumRegistry.Load(consortium.Ledger, "org9")!;
        Assert.Equal(OrganisationRole.Member, organisation.Role);
        Assert.Equal(CaPem, organisation.CaCertificatePem);
        Assert.Equal(admit, organisation.Proposal);
        Assert.Equal(consortium.Height, organisation.ChangedHeight);
        var account = AccountRegistry.Load(consortium.Ledger, administrator)!;
        Assert.Equal(("org9", AccountType.Administrator, AccountStatus.Active), (account.Organisation, account.Type, account.Status));
        Assert.Contains(passing.Events, e => e.Name == "administrator_registered");
        Assert.Equal(5, ConsortiumRegistry.CurrentOrganisations(consortium.Ledger).Count);

        // Five members now: a proposal needs four approvals, and org9's administrator gives one.
        var id = consortium.Proposed(Consortium.Admin(1), GovernanceTransactions.SetParameter("raise", ConsortiumRegistry.ValidatorAlertThresholdParameter, 5));
        foreach (var member in new[] { 1, 2, 3 }) consortium.Vote(Consortium.Admin(member), id);
        Assert.Equal(ProposalStatus.Open, consortium.Proposal(id).Status);
        Assert.Equal(ErrorCode.Ok, consortium.Call(0, GovernanceContract.VoteMethod, GovernanceTransactions.Approve(id), key, administrator).Code);
        Assert.Equal(ProposalStatus.Executed, consortium.Proposal(id).Status);

        var teller = new RegisterAccountArguments
        {
            AccountId = new AccountId(0, 901).ToByteString(), PublicKey = Google.Protobuf.ByteString.CopyFrom(Consortium.Suite.GenerateKey().PublicKey.Encoded),
            Type = AccountType.Ordinary,
        };
        var register = consortium.Run(consortium.Ledger.Sign(0, AccountRegistry.ContractName, "register", teller, nonce: 77, key: key, sender: administrator));
        Assert.Equal(ErrorCode.Ok, register.Code);
        Assert.Equal("org9", AccountRegistry.Load(consortium.Ledger, new AccountId(0, 901))!.Organisation);
    }

    [Fact]
    public void Admitting_is_refused_for_a_member_a_used_account_id_a_bad_certificate_or_a_bad_key()
    {
        var consortium = new Consortium();
        var key = Consortium.Suite.GenerateKey();
        ProposeArguments Admit(string id, AccountId administrator, string pem, byte[] publicKey) =>
            GovernanceTransactions.AddOrganisation("admit", id, OrganisationRole.Member, pem, administrator, publicKey);

        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, Admit("org2", new AccountId(0, 900), CaPem, key.PublicKey.Encoded.ToArray())).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, Admit("org9", consortium.Ledger.Ids[1], CaPem, key.PublicKey.Encoded.ToArray())).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, Admit("org9", new AccountId(0, 0), CaPem, key.PublicKey.Encoded.ToArray())).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, Admit("org9", new AccountId(0, 900), "not a certificate", key.PublicKey.Encoded.ToArray())).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, Admit("org9", new AccountId(0, 900), CaPem, [1, 2, 3])).Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, consortium.Propose(1, Admit("org 9", new AccountId(0, 900), CaPem, key.PublicKey.Encoded.ToArray())).Receipt.Code);
        Assert.Equal(0ul, GovernanceContract.LoadProposalCount(consortium.Ledger));
    }

    [Fact]
    public void A_removed_organisation_loses_its_vote_and_its_votes_stop_counting()
    {
        var consortium = new Consortium(members: 3);
        var pending = consortium.Proposed(Consortium.Admin(3), GovernanceTransactions.SetParameter("raise", ConsortiumRegistry.ValidatorAlertThresholdParameter, 5));
        consortium.Vote(Consortium.Admin(3), pending);
        var remove = consortium.Proposed(Consortium.Admin(1), GovernanceTransactions.RemoveOrganisation("remove org3", "org3", "left the consortium"));
        consortium.ApproveByAll(remove);

        Assert.Equal(ProposalStatus.Executed, consortium.Proposal(remove).Status);
        var record = ConsortiumRegistry.Load(consortium.Ledger, "org3")!;
        Assert.True(record.Removed);
        Assert.Equal(remove, record.Proposal);
        Assert.Equal(3, ConsortiumRegistry.CurrentOrganisations(consortium.Ledger).Count);
        Assert.Equal(ErrorCode.PermissionDenied, consortium.Vote(Consortium.Admin(3), pending).Code);

        // Three members left, all three must approve; org3's earlier approval no longer counts.
        consortium.Vote(Consortium.Admin(1), pending);
        consortium.Vote(Consortium.Admin(2), pending);
        Assert.Equal(ProposalStatus.Open, consortium.Proposal(pending).Status);
        consortium.Vote(Consortium.Regulator, pending);
        Assert.Equal(ProposalStatus.Executed, consortium.Proposal(pending).Status);
    }

    [Fact]
    public void The_last_regulator_and_an_organisation_running_validators_cannot_be_removed()
    {
        var consortium = new Consortium();

        var lastRegulator = consortium.Propose(1, GovernanceTransactions.RemoveOrganisation("remove the regulator", "regulator"));
        var runsValidators = consortium.Propose(1, GovernanceTransactions.RemoveOrganisation("remove org1", "org1"));
        var unknown = consortium.Propose(1, GovernanceTransactions.RemoveOrganisation("remove org7", "org7"));

        Assert.Equal(ErrorCode.ProposalInvalid, lastRegulator.Receipt.Code);
        Assert.Contains("last regulator", lastRegulator.Receipt.Message);
        Assert.Equal(ErrorCode.ProposalInvalid, runsValidators.Receipt.Code);
        Assert.Equal(ErrorCode.ProposalInvalid, unknown.Receipt.Code);
    }

    [Fact]
    public void A_second_regulator_can_be_admitted_and_then_the_first_removed()
    {
        var consortium = new Consortium();
        var admit = consortium.Proposed(1, AddOrg9(new AccountId(0, 900), Consortium.Suite.GenerateKey(), OrganisationRole.Regulator));
        consortium.ApproveByAll(admit);

        var remove = consortium.Propose(1, GovernanceTransactions.RemoveOrganisation("hand over supervision", "regulator"));

        Assert.Equal(ErrorCode.Ok, remove.Receipt.Code);
        Assert.True(consortium.Proposal(remove.Id).RegulatorRequired);
    }
}
