using Custos.Core;
using Custos.Core.Wire;
using Custos.DigitalCurrency.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;
using static Custos.DigitalCurrency.Tests.CurrencyWorld;

namespace Custos.DigitalCurrency.Tests;

/// <summary>DC-3, DC-4, DC-6: payments across operators, managed anonymity, supervision's freezes and forced transfers.</summary>
public sealed class PaymentTests
{
    [Fact]
    public void Wallets_of_different_operators_pay_each_other_and_the_event_names_only_pseudonyms()
    {
        var world = Running();
        var alice = world.OpenWallet(Bank1Admin, 2);
        var bob = world.OpenWallet(Bank2Admin, 4);
        world.Fund(alice, 1_000_000);

        var receipt = world.Ok(alice, DigitalCurrencyCalls.Pay(bob.Account, 150_000));

        Assert.Equal(850_000UL, world.Balance(alice));
        Assert.Equal(150_000UL, world.Balance(bob));
        var @event = Assert.Single(receipt.Events);
        Assert.Equal(("dcep", "payment"), (@event.Contract, @event.Name));
        var payment = PaymentEvent.Parser.ParseFrom(@event.Data);
        Assert.Equal((alice.Account.ToByteString(), bob.Account.ToByteString(), 150_000UL), (payment.From, payment.To, payment.Amount));
        // Laid out as a token transfer, so that readers of transfers (the supervisor's rules) decode it unchanged.
        var asTransfer = TransferEvent.Parser.ParseFrom(@event.Data);
        Assert.Equal((payment.From, payment.To, payment.Amount), (asTransfer.From, asTransfer.To, asTransfer.Amount));
    }

    [Fact]
    public void Payments_need_a_wallet_or_settlement_account_on_both_sides_and_enough_money()
    {
        var world = Running();
        var alice = world.OpenWallet(Bank1Admin, 1);
        world.Fund(alice, 100);

        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(world.Id(Bank1Customer), 10)), ErrorCode.WalletNotFound);
        Expect(world.Run(Bank1Customer, DigitalCurrencyCalls.Pay(alice.Account, 10)), ErrorCode.WalletNotFound);
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(world.Id(Bank2Settlement), 101)), ErrorCode.InsufficientFunds);
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(alice.Account, 1)), ErrorCode.InvalidArguments);
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(world.Id(Bank2Settlement), 0)), ErrorCode.InvalidArguments);
        world.Ok(alice, DigitalCurrencyCalls.Pay(world.Id(Bank2Settlement), 100));
        Assert.Equal(0UL, world.Balance(alice));
    }

    [Fact]
    public void A_payment_at_the_large_value_threshold_reports_both_pseudonym_credentials_and_operators()
    {
        var world = Running();
        var alice = world.OpenWallet(Bank1Admin, 1);
        var bob = world.OpenWallet(Bank2Admin, 1);
        world.Fund(alice, 20_000_000);

        var reportsBefore = world.Totals.LargeValueReports;
        var below = world.Ok(alice, DigitalCurrencyCalls.Pay(bob.Account, 4_999_999));
        Assert.DoesNotContain(below.Events, e => e.Name == "large_value_report");
        var at = world.Ok(alice, DigitalCurrencyCalls.Pay(bob.Account, 5_000_000));

        var report = LargeValueReport.Parser.ParseFrom(Assert.Single(at.Events, e => e.Name == "large_value_report").Data);
        Assert.Equal(alice.CredentialId.ToByteString(), report.FromCredentialId);
        Assert.Equal(bob.CredentialId.ToByteString(), report.ToCredentialId);
        Assert.Equal(("bank1", "bank2"), (report.FromOperator, report.ToOperator));
        Assert.Equal((5_000_000UL, 5_000_000UL, "payment"), (report.Amount, report.Threshold, report.Kind));
        Assert.Equal(at.TransactionId, report.TransactionId);
        // The credential id is the escrow reference: supervision holds the credential that opens the identity.
        Assert.NotNull(SupervisionContract.ReadCredential(world.Ledger, new Hash32(report.FromCredentialId.Span)));
        Assert.Equal(reportsBefore + 1, world.Totals.LargeValueReports);

        world.Ledger.SetParameter(CurrencyParameters.LargeValueThreshold, 1_000);
        Assert.Contains(world.Ok(alice, DigitalCurrencyCalls.Pay(bob.Account, 1_000)).Events, e => e.Name == "large_value_report");
    }

    [Fact]
    public void A_wallet_frozen_by_supervision_can_neither_pay_nor_be_paid()
    {
        var world = Running();
        var alice = world.OpenWallet(Bank1Admin, 2);
        var bob = world.OpenWallet(Bank2Admin, 2);
        world.Fund(alice, 10_000);
        world.Fund(bob, 10_000);

        // The whole account, frozen by the regulator in the registry: the executor refuses it as a sender.
        Expect(world.Ledger.Run(world.Ledger.Sign(Regulator, AccountRegistry.ContractName, "freeze",
            new AccountDecisionArguments { AccountId = alice.Account.ToByteString(), Reason = "case 2026-9" })), ErrorCode.Ok);
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 1)), ErrorCode.AccountFrozen);
        Expect(world.Run(bob, DigitalCurrencyCalls.Pay(alice.Account, 1)), ErrorCode.AccountFrozen);
        Expect(world.Run(bob, DigitalCurrencyCalls.PayConditional(alice.Account, 1, world.Ledger.Height + 10, world.Id(Regulator))), ErrorCode.AccountFrozen);

        // Only the currency frozen (supervision's asset freeze of "dcep"), as the regulator's freeze_asset records it.
        world.Ledger.Put(SupervisionContract.AssetFrozenKey(DigitalCurrencyContract.AssetName, bob.Account),
            new SupervisionDecision { Reason = "case 2026-10" }.ToByteArray());
        world.Ledger.Put(SupervisionContract.MeasuresKey, new SupervisionMeasures { FrozenAssets = 1 }.ToByteArray());
        var carol = world.OpenWallet(Bank1Admin, 2);
        world.Fund(carol, 10_000);
        var refused = Expect(world.Run(bob, DigitalCurrencyCalls.Pay(carol.Account, 1)), ErrorCode.AssetFrozen);
        Assert.Contains("case 2026-10", refused.Message);
        Expect(world.Run(carol, DigitalCurrencyCalls.Pay(bob.Account, 1)), ErrorCode.AssetFrozen);

        Assert.Equal((10_000UL, 10_000UL, 10_000UL), (world.Balance(alice), world.Balance(bob), world.Balance(carol)));
    }

    [Fact]
    public void A_contract_freeze_or_system_halt_stops_every_payment()
    {
        var world = Running();
        var alice = world.OpenWallet(Bank1Admin, 2);
        var bob = world.OpenWallet(Bank2Admin, 2);
        world.Fund(alice, 10_000);

        Expect(world.Ledger.Run(world.Ledger.Sign(Regulator, SupervisionContract.ContractName, "freeze_contract",
            new ContractFreezeArguments { Contract = DigitalCurrencyContract.ContractName, Reason = "incident 7" })), ErrorCode.Ok);
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 1)), ErrorCode.ContractFrozen);

        world.Ledger.Put(SupervisionContract.MeasuresKey, new SupervisionMeasures { Halted = true }.ToByteArray());
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 1)), ErrorCode.Suspended);
        Assert.Equal(10_000UL, world.Balance(alice));
    }

    [Fact]
    public void Only_the_regulator_forces_a_transfer_which_moves_frozen_funds_under_a_case_reference_used_once()
    {
        var world = Running();
        var alice = world.OpenWallet(Bank1Admin, 4);
        world.Fund(alice, 900_000);
        var custody = world.Id(Bank1Settlement);
        Expect(world.Ledger.Run(world.Ledger.Sign(Regulator, AccountRegistry.ContractName, "freeze",
            new AccountDecisionArguments { AccountId = alice.Account.ToByteString(), Reason = "case 2026-11" })), ErrorCode.Ok);
        var order = DigitalCurrencyCalls.ForcedTransfer(alice.Account, custody, 900_000, "CASE-2026-11", "Anti-Money Laundering Law art. 35", "proceeds of fraud");

        foreach (var account in new[] { CentralBank, Bank1Admin, Bank2Admin, Bank3Admin })
        {
            Expect(world.Run(account, order), ErrorCode.NotAuthorised);
        }

        Expect(world.Run(Regulator, DigitalCurrencyCalls.ForcedTransfer(alice.Account, custody, 1, "CASE-2026-11", "")), ErrorCode.InvalidArguments);
        var receipt = world.Ok(Regulator, order);
        Expect(world.Run(Regulator, order), ErrorCode.CaseReferenceReused);

        Assert.Equal(0UL, world.Balance(alice));
        var record = DigitalCurrencyContract.ReadForcedTransfer(world.Ledger, "CASE-2026-11")!;
        Assert.Equal(world.Id(Regulator).ToByteString(), record.By);
        Assert.Equal("Anti-Money Laundering Law art. 35", record.Order.LegalBasis);
        Assert.Equal(receipt.TransactionId, record.TransactionId);
        Assert.Equal("forced_transfer", Assert.Single(receipt.Events).Name);
        Assert.Equal(world.Totals.Supply, world.SumOfBalances());
    }
}
