using Custos.Core.Wire;
using Custos.Execution.Wire;
using static Custos.DigitalCurrency.Tests.CurrencyWorld;

namespace Custos.DigitalCurrency.Tests;

public sealed class SupplyAuditTests
{
    [Fact]
    public void The_audit_holds_over_all_holders_and_breaks_when_one_is_left_out()
    {
        var world = Running(issued: 5_000_000);
        var alice = world.OpenWallet(Bank1Admin, 2);
        var bob = world.OpenWallet(Bank2Admin, 2);
        world.Fund(alice, 300_000);
        world.Ok(alice, DigitalCurrencyCalls.Pay(bob.Account, 100_000));
        world.Ok(alice, DigitalCurrencyCalls.PayConditional(bob.Account, 50_000, world.Ledger.Height + 5, world.Id(Regulator)));
        var holders = SupplyAudit.SettlementAccounts(world.Ledger).Concat([alice.Account, bob.Account]).ToList();

        var audit = SupplyAudit.Run(world.Ledger, holders);

        Assert.True(audit.Holds, audit.ToString());
        Assert.Equal((10_000_000UL, 50_000UL), (audit.Supply, audit.Escrowed));
        Assert.False(SupplyAudit.Run(world.Ledger, holders.Take(3)).Holds);
    }

    [Fact]
    public void Refusals_are_labelled_by_the_limit_they_name_or_their_code()
    {
        var world = Running();
        var payer = world.OpenWallet(Bank1Admin, 4);
        var payee = world.OpenWallet(Bank2Admin, 4);
        world.Fund(payer, 1_000_000);
        world.Fund(payee, 1_000_000);

        string Label(Receipt receipt) => RefusalReasons.Of(receipt.Code, receipt.Message);
        Assert.Equal(RefusalReasons.PerPaymentLimit, Label(world.Run(payer, DigitalCurrencyCalls.Pay(payee.Account, 200_001))));
        Assert.Equal(RefusalReasons.BalanceLimit, Label(world.Run(payer, DigitalCurrencyCalls.Pay(payee.Account, 1))));
        Assert.Equal("WALLET_NOT_FOUND", Label(world.Run(payer, DigitalCurrencyCalls.Pay(world.Id(Bank1Customer), 1))));
        Assert.Equal("OK", RefusalReasons.Of(ErrorCode.Ok, ""));
    }
}
