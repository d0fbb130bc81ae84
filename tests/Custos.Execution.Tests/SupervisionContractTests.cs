using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution.Tests;

public sealed class SupervisionContractTests
{
    // 0: central bank administrator (special privilege), 1: org1 customer, 2: org2 customer, 3 and 4: the regulator's
    // administrators, 5: org2's administrator (registrar).
    private const int CentralBank = 0, Alice = 1, Bob = 2, Regulator = 3, SecondRegulator = 4, Org2Registrar = 5;

    internal static Ledger NewLedger(IReadOnlyList<ISystemContract>? contracts = null, int validators = 0) => new(CryptoSuites.Intl, 6, 1_000,
        contracts: contracts,
        validators: Enumerable.Range(1, validators).Select(v => new GenesisValidator($"validator{v}", "org1", CryptoSuites.Intl.GenerateKey().PublicKey.ToArray())),
        accountOf: i => i switch
        {
            CentralBank => ("org1", AccountType.SpecialPrivilege),
            Alice => ("org1", AccountType.Ordinary),
            Bob => ("org2", AccountType.Ordinary),
            Regulator or SecondRegulator => ("regulator", AccountType.Administrator),
            _ => ("org2", AccountType.Administrator),
        },
        organisations: [new("org1", OrganisationRole.Member), new("org2", OrganisationRole.Member), new("regulator", OrganisationRole.Regulator)]);

    private static Transaction Supervise(Ledger ledger, int from, string method, IMessage arguments, ulong nonce = 1) =>
        ledger.Sign(from, SupervisionContract.ContractName, method, arguments, nonce);

    private static ErrorCode Run(Ledger ledger, Transaction transaction) => Assert.Single(ledger.Execute(transaction).Receipts).Code;

    [Fact]
    public void Asset_freeze_by_a_non_regulator_is_refused_and_changes_nothing()
    {
        var ledger = NewLedger();
        var before = ledger.Count;

        var code = Run(ledger, Supervise(ledger, Org2Registrar, "freeze_asset", new AssetFreezeArguments { Account = ledger.Ids[Alice].ToByteString(), Reason = "suspicious" }));

        Assert.Equal(ErrorCode.NotAuthorised, code);
        Assert.Equal(0u, SupervisionContract.ReadMeasures(ledger).FrozenAssets);
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Transfer(Alice, Bob, 10)));
        Assert.True(ledger.Count >= before);
    }

    [Fact]
    public void Frozen_asset_can_neither_pay_nor_be_paid_until_unfrozen()
    {
        var ledger = NewLedger();
        var freeze = new AssetFreezeArguments { Account = ledger.Ids[Alice].ToByteString(), Reason = "case 2026-17" };

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "freeze_asset", freeze)));
        Assert.Equal(ErrorCode.AssetFrozen, Run(ledger, ledger.Transfer(Alice, Bob, 10)));
        Assert.Equal(ErrorCode.AssetFrozen, Run(ledger, ledger.Transfer(Bob, Alice, 10)));
        Assert.Equal(1_000UL, ledger.Balance(Alice));
        Assert.Equal(1_000UL, ledger.Balance(Bob));

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "unfreeze_asset", freeze, nonce: 2)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Transfer(Alice, Bob, 10, nonce: 3)));
        Assert.Equal(990UL, ledger.Balance(Alice));
    }

    [Fact]
    public void A_freeze_records_who_decided_when_and_why()
    {
        var ledger = NewLedger();
        var freeze = Supervise(ledger, Regulator, "freeze_asset", new AssetFreezeArguments { Account = ledger.Ids[Alice].ToByteString(), Reason = "court order 7" });

        Assert.Equal(ErrorCode.Ok, Run(ledger, freeze));

        Assert.True(ledger.TryGet(SupervisionContract.AssetFrozenKey(TokenContract.ContractName, ledger.Ids[Alice]), out var bytes));
        var decision = SupervisionDecision.Parser.ParseFrom(bytes);
        Assert.Equal(ledger.Ids[Regulator].ToByteString(), decision.By);
        Assert.Equal("court order 7", decision.Reason);
        Assert.Equal(ledger.Height, decision.Height);
        Assert.Equal(freeze.ComputeId(ledger.Suite).ToByteString(), decision.TransactionId);
    }

    [Fact]
    public void A_power_without_a_reason_is_refused()
    {
        var ledger = NewLedger();

        var code = Run(ledger, Supervise(ledger, Regulator, "freeze_asset", new AssetFreezeArguments { Account = ledger.Ids[Alice].ToByteString() }));

        Assert.Equal(ErrorCode.InvalidArguments, code);
        Assert.Equal(0u, SupervisionContract.ReadMeasures(ledger).FrozenAssets);
    }

    [Fact]
    public void System_contracts_cannot_be_frozen()
    {
        var ledger = NewLedger();

        var code = Run(ledger, Supervise(ledger, Regulator, "freeze_contract", new ContractFreezeArguments { Contract = SupervisionContract.ContractName, Reason = "x" }));

        Assert.Equal(ErrorCode.InvalidArguments, code);
        Assert.Empty(SupervisionContract.ReadMeasures(ledger).FrozenContracts);
    }

    [Fact]
    public void Forced_transfer_takes_effect_only_with_approvals_from_two_organisations()
    {
        var ledger = NewLedger();
        var proposal = new InterventionProposal
        {
            Reference = "FT-1", Kind = InterventionKind.ForcedTransfer, From = ledger.Ids[Alice].ToByteString(), To = ledger.Ids[Bob].ToByteString(),
            Amount = 400, Reason = "restitution", LegalBasis = "judgment 2026/88",
        };

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "propose_intervention", proposal)));
        Assert.Equal(1_000UL, ledger.Balance(Alice));

        // A second account of the same organisation is not a second holder.
        Assert.Equal(ErrorCode.ApprovalInvalid, Run(ledger, Supervise(ledger, SecondRegulator, "approve_intervention", new ApproveInterventionArguments { Reference = "FT-1" })));
        // An ordinary account holds no such power.
        Assert.Equal(ErrorCode.NotAuthorised, Run(ledger, Supervise(ledger, Bob, "approve_intervention", new ApproveInterventionArguments { Reference = "FT-1" })));
        Assert.Equal(1_000UL, ledger.Balance(Alice));
        Assert.Equal(InterventionStatus.Pending, SupervisionContract.ReadIntervention(ledger, "FT-1")!.Status);

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, CentralBank, "approve_intervention", new ApproveInterventionArguments { Reference = "FT-1" })));
        Assert.Equal(600UL, ledger.Balance(Alice));
        Assert.Equal(1_400UL, ledger.Balance(Bob));
        Assert.Equal(6_000UL, ledger.Supply);
        var record = SupervisionContract.ReadIntervention(ledger, "FT-1")!;
        Assert.Equal(InterventionStatus.Executed, record.Status);
        Assert.Equal(2, record.Approvals.Count);

        // Executed once: a further approval changes nothing.
        Assert.Equal(ErrorCode.InvalidArguments, Run(ledger, Supervise(ledger, CentralBank, "approve_intervention", new ApproveInterventionArguments { Reference = "FT-1" }, nonce: 2)));
        Assert.Equal(600UL, ledger.Balance(Alice));
    }

    [Fact]
    public void Forced_transfer_moves_frozen_funds()
    {
        var ledger = NewLedger();
        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "freeze_asset", new AssetFreezeArguments { Account = ledger.Ids[Alice].ToByteString(), Reason = "case" })));
        var proposal = new InterventionProposal
        {
            Reference = "FT-2", Kind = InterventionKind.ForcedTransfer, From = ledger.Ids[Alice].ToByteString(), To = ledger.Ids[Bob].ToByteString(),
            Amount = 1_000, Reason = "confiscation", LegalBasis = "order 5",
        };

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "propose_intervention", proposal, nonce: 2)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, CentralBank, "approve_intervention", new ApproveInterventionArguments { Reference = "FT-2" })));

        Assert.Equal(0UL, ledger.Balance(Alice));
        Assert.Equal(2_000UL, ledger.Balance(Bob));
    }

    [Fact]
    public void Intervention_reference_cannot_be_reused()
    {
        var ledger = NewLedger();
        var proposal = new InterventionProposal { Reference = "H-1", Kind = InterventionKind.SuspendNode, Node = "validator3", Reason = "compromised", LegalBasis = "rule 9" };

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "propose_intervention", proposal)));
        Assert.Equal(ErrorCode.CaseReferenceReused, Run(ledger, Supervise(ledger, SecondRegulator, "propose_intervention", proposal)));
    }

    [Fact]
    public void Only_the_regulator_proposes_interventions()
    {
        var ledger = NewLedger();
        var proposal = new InterventionProposal { Reference = "H-2", Kind = InterventionKind.SystemHalt, Reason = "incident", LegalBasis = "rule 1" };

        Assert.Equal(ErrorCode.NotAuthorised, Run(ledger, Supervise(ledger, CentralBank, "propose_intervention", proposal)));
        Assert.Null(SupervisionContract.ReadIntervention(ledger, "H-2"));
    }

    [Fact]
    public void Frozen_contract_refuses_its_callers_until_unfrozen()
    {
        var ledger = NewLedger();
        var freeze = new ContractFreezeArguments { Contract = TokenContract.ContractName, Reason = "defect under investigation" };

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "freeze_contract", freeze)));
        Assert.Equal(ErrorCode.ContractFrozen, Run(ledger, ledger.Transfer(Alice, Bob, 10)));
        Assert.Equal(1_000UL, ledger.Balance(Alice));

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "unfreeze_contract", freeze, nonce: 2)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Transfer(Alice, Bob, 10, nonce: 2)));
    }

    [Fact]
    public void A_freeze_takes_effect_for_the_rest_of_its_own_block()
    {
        var ledger = NewLedger();
        var freeze = Supervise(ledger, Regulator, "freeze_contract", new ContractFreezeArguments { Contract = TokenContract.ContractName, Reason = "halt payments" });

        var result = ledger.Execute(ledger.Transfer(Alice, Bob, 1), freeze, ledger.Transfer(Bob, Alice, 1));

        Assert.Equal([ErrorCode.Ok, ErrorCode.Ok, ErrorCode.ContractFrozen], result.Receipts.Select(r => r.Code));
    }

    [Fact]
    public void Restricted_account_may_not_call_denied_contracts()
    {
        var ledger = NewLedger();
        var restrict = new RestrictionArguments { Account = ledger.Ids[Alice].ToByteString(), Reason = "velocity breach", DeniedContracts = { TokenContract.ContractName } };

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "restrict", restrict)));
        Assert.Equal(ErrorCode.RightsRestricted, Run(ledger, ledger.Transfer(Alice, Bob, 10)));
        // Others are untouched, and the restricted account can still be paid.
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Transfer(Bob, Alice, 10)));

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "lift_restriction", new LiftRestrictionArguments { Account = restrict.Account, Reason = "cleared" }, nonce: 2)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Transfer(Alice, Bob, 10, nonce: 2)));
        Assert.Equal(0u, SupervisionContract.ReadMeasures(ledger).RestrictedAccounts);
    }

    [Fact]
    public void System_halt_refuses_everything_but_supervision_until_resumed()
    {
        var ledger = NewLedger();
        var halt = new InterventionProposal { Reference = "HALT-1", Kind = InterventionKind.SystemHalt, Reason = "incident", LegalBasis = "emergency rule 3" };

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "propose_intervention", halt)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Transfer(Alice, Bob, 10)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, CentralBank, "approve_intervention", new ApproveInterventionArguments { Reference = "HALT-1" })));
        Assert.True(SupervisionContract.ReadMeasures(ledger).Halted);
        Assert.Equal(ErrorCode.Suspended, Run(ledger, ledger.Transfer(Alice, Bob, 10, nonce: 2)));

        var resume = new InterventionProposal { Reference = "RESUME-1", Kind = InterventionKind.SystemResume, Reason = "resolved", LegalBasis = "emergency rule 3" };
        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "propose_intervention", resume, nonce: 2)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, CentralBank, "approve_intervention", new ApproveInterventionArguments { Reference = "RESUME-1" }, nonce: 2)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, ledger.Transfer(Alice, Bob, 10, nonce: 3)));
        Assert.Equal(980UL, ledger.Balance(Alice));
    }

    [Fact]
    public void Regulator_sets_replaces_and_removes_rules_and_a_malformed_rule_changes_nothing()
    {
        var ledger = NewLedger();
        var rule = new SupervisionRule { Id = "large-value", Kind = SupervisionRuleKind.LargeValue, Threshold = 500, Severity = AlertSeverity.High, Enabled = true };

        Assert.Equal(ErrorCode.NotAuthorised, Run(ledger, Supervise(ledger, Org2Registrar, "set_rule", rule)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "set_rule", rule)));
        var stored = Assert.Single(SupervisionContract.ReadRules(ledger).Rules);
        Assert.Equal(ledger.Height, stored.EffectiveHeight);

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "set_rule", new SupervisionRule(rule) { Threshold = 800 }, nonce: 2)));
        Assert.Equal(800UL, Assert.Single(SupervisionContract.ReadRules(ledger).Rules).Threshold);

        Assert.NotEqual(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "set_rule", new SupervisionRule(rule) { Id = "Bad Id!" }, nonce: 3)));
        Assert.Single(SupervisionContract.ReadRules(ledger).Rules);

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "remove_rule", new RemoveRuleArguments { Id = "large-value", Reason = "superseded" }, nonce: 4)));
        Assert.Empty(SupervisionContract.ReadRules(ledger).Rules);
    }

    [Fact]
    public void Suspending_a_validator_removes_it_from_the_next_validator_set_until_resumed()
    {
        var ledger = NewLedger(validators: 5);
        var suspend = new InterventionProposal { Reference = "NS-1", Kind = InterventionKind.SuspendNode, Node = "validator3", Reason = "compromised host", LegalBasis = "rule 9" };

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "propose_intervention", suspend)));
        Assert.Equal(5, ConsortiumRegistry.LoadValidators(ledger).Validators.Count);
        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, CentralBank, "approve_intervention", new ApproveInterventionArguments { Reference = "NS-1" })));

        var after = ConsortiumRegistry.LoadValidators(ledger);
        Assert.Equal(["validator1", "validator2", "validator4", "validator5"], after.Validators.Select(v => v.Node));
        Assert.Equal("supervision:NS-1", after.Proposal);
        Assert.Contains("validator3", SupervisionContract.ReadMeasures(ledger).SuspendedNodes);

        var resume = new InterventionProposal { Reference = "NS-2", Kind = InterventionKind.ResumeNode, Node = "validator3", Reason = "host rebuilt", LegalBasis = "rule 9" };
        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "propose_intervention", resume, nonce: 2)));
        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, CentralBank, "approve_intervention", new ApproveInterventionArguments { Reference = "NS-2" }, nonce: 2)));

        Assert.Equal(["validator1", "validator2", "validator4", "validator5", "validator3"], ConsortiumRegistry.LoadValidators(ledger).Validators.Select(v => v.Node));
        Assert.DoesNotContain("validator3", SupervisionContract.ReadMeasures(ledger).SuspendedNodes);
    }

    [Fact]
    public void Suspension_that_would_leave_fewer_than_the_minimum_validators_is_refused_and_changes_nothing()
    {
        var ledger = NewLedger(validators: 4);
        var suspend = new InterventionProposal { Reference = "NS-3", Kind = InterventionKind.SuspendNode, Node = "validator2", Reason = "compromised host", LegalBasis = "rule 9" };

        Assert.Equal(ErrorCode.Ok, Run(ledger, Supervise(ledger, Regulator, "propose_intervention", suspend)));
        Assert.Equal(ErrorCode.ValidatorsBelowMinimum, Run(ledger, Supervise(ledger, CentralBank, "approve_intervention", new ApproveInterventionArguments { Reference = "NS-3" })));

        Assert.Equal(4, ConsortiumRegistry.LoadValidators(ledger).Validators.Count);
        Assert.Empty(SupervisionContract.ReadMeasures(ledger).SuspendedNodes);
        Assert.Equal(InterventionStatus.Pending, SupervisionContract.ReadIntervention(ledger, "NS-3")!.Status);
    }
}
