using Custos.Core.Wire;
using Custos.DigitalCurrency.Wire;
using static Custos.DigitalCurrency.Tests.CurrencyWorld;

namespace Custos.DigitalCurrency.Tests;

/// <summary>DC-1: the central bank issues to and redeems from operators, within their reserves; nobody else creates money.</summary>
public sealed class TwoTierTests
{
    [Fact]
    public void The_first_special_privilege_initialise_designates_the_central_bank_and_later_ones_are_refused()
    {
        var world = Bare();

        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.Initialise()), ErrorCode.NotAuthorised);
        Expect(world.Run(Regulator, DigitalCurrencyCalls.Initialise()), ErrorCode.NotAuthorised);
        var receipt = world.Ok(CentralBank, DigitalCurrencyCalls.Initialise());
        Expect(world.Run(CentralBank, DigitalCurrencyCalls.Initialise()), ErrorCode.NotAuthorised);

        Assert.Equal("pboc", DigitalCurrencyContract.ReadConfiguration(world.Ledger)!.CentralBank);
        Assert.Equal("initialised", Assert.Single(receipt.Events).Name);
    }

    [Fact]
    public void Nothing_is_issued_or_registered_before_the_central_bank_is_designated()
    {
        var world = Bare();

        Expect(world.Run(CentralBank, DigitalCurrencyCalls.RegisterOperator("bank1", world.Id(Bank1Settlement), 1_000)), ErrorCode.NotAuthorised);
        Expect(world.Run(CentralBank, DigitalCurrencyCalls.Issue("bank1", 1)), ErrorCode.NotAuthorised);
        Assert.Equal(0UL, world.Totals.Supply);
    }

    [Fact]
    public void Nobody_but_the_central_bank_issues()
    {
        var world = Running(issued: 0);

        foreach (var account in new[] { Bank1Admin, Bank1Settlement, Bank2Admin, Regulator, Bank3Admin, Bank1Customer })
        {
            Expect(world.Run(account, DigitalCurrencyCalls.Issue("bank1", 100)), ErrorCode.NotAuthorised);
        }

        var wallet = world.OpenWallet(Bank1Admin, 1);
        Expect(world.Run(wallet, DigitalCurrencyCalls.Issue("bank1", 100)), ErrorCode.NotAuthorised);
        Assert.Equal(0UL, world.Totals.Supply);

        // Any administrator of the central bank holds its powers, not only the account that designated it.
        world.Ok(CentralBankAdmin, DigitalCurrencyCalls.Issue("bank1", 100));
        Assert.Equal(100UL, world.Totals.Supply);
    }

    [Fact]
    public void Issuance_is_capped_by_the_reserve_less_what_is_outstanding()
    {
        var world = Bare();
        world.Ok(CentralBank, DigitalCurrencyCalls.Initialise());
        world.Ok(CentralBank, DigitalCurrencyCalls.RegisterOperator("bank1", world.Id(Bank1Settlement), 1_000_000));

        world.Ok(CentralBank, DigitalCurrencyCalls.Issue("bank1", 600_000));
        var over = Expect(world.Run(CentralBank, DigitalCurrencyCalls.Issue("bank1", 400_001)), ErrorCode.ReserveExceeded);
        Assert.Contains("reserve", over.Message);
        world.Ok(CentralBank, DigitalCurrencyCalls.Issue("bank1", 400_000));
        Expect(world.Run(CentralBank, DigitalCurrencyCalls.Issue("bank1", 1)), ErrorCode.ReserveExceeded);

        // Redemption makes room again; a larger reserve makes more.
        world.Ok(Bank1Admin, DigitalCurrencyCalls.Redeem("bank1", 250_000));
        world.Ok(CentralBank, DigitalCurrencyCalls.Issue("bank1", 250_000));
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.SetReserve("bank1", 5_000_000)), ErrorCode.NotAuthorised);
        world.Ok(CentralBank, DigitalCurrencyCalls.SetReserve("bank1", 1_000_001));
        world.Ok(CentralBank, DigitalCurrencyCalls.Issue("bank1", 1));

        var totals = world.Totals;
        Assert.Equal(1_250_001UL, totals.Issued);
        Assert.Equal(250_000UL, totals.Redeemed);
        Assert.Equal(1_000_001UL, totals.Supply);
        Assert.Equal(1_000_001UL, world.Balance(Bank1Settlement));
        var record = DigitalCurrencyContract.ReadOperator(world.Ledger, "bank1")!;
        Assert.Equal(1_000_001UL, record.Issued - record.Redeemed);
    }

    [Fact]
    public void Redemption_destroys_only_what_the_operator_holds_and_has_outstanding()
    {
        var world = Running(issued: 1_000);
        var wallet = world.OpenWallet(Bank2Admin, 1);
        world.Fund(wallet, 300);
        world.Ok(wallet, DigitalCurrencyCalls.Pay(world.Id(Bank1Settlement), 300));

        // bank1 holds 1,300 but has only 1,000 outstanding: money of bank2's issue does not redeem through bank1.
        Expect(world.Run(CentralBank, DigitalCurrencyCalls.Redeem("bank1", 1_001)), ErrorCode.LimitExceeded);
        Expect(world.Run(CentralBank, DigitalCurrencyCalls.Redeem("bank2", 701)), ErrorCode.InsufficientFunds);
        Expect(world.Run(Bank2Admin, DigitalCurrencyCalls.Redeem("bank1", 10)), ErrorCode.NotAuthorised);
        var receipt = world.Ok(CentralBank, DigitalCurrencyCalls.Redeem("bank1", 1_000));

        var redeemed = SupplyEvent.Parser.ParseFrom(Assert.Single(receipt.Events).Data);
        Assert.Equal(1_000UL, redeemed.Supply);
        Assert.Equal(0UL, redeemed.Outstanding);
        Assert.Equal(300UL, world.Balance(Bank1Settlement));
        Assert.Equal(world.Totals.Supply, world.SumOfBalances());
    }

    [Fact]
    public void Operators_are_consortium_members_with_a_settlement_account_of_their_own()
    {
        var world = Bare();
        world.Ok(CentralBank, DigitalCurrencyCalls.Initialise());

        Expect(world.Run(CentralBank, DigitalCurrencyCalls.RegisterOperator("bank9", world.Id(Bank1Settlement), 1)), ErrorCode.NotFound);
        Expect(world.Run(CentralBank, DigitalCurrencyCalls.RegisterOperator("bank2", world.Id(Bank1Settlement), 1)), ErrorCode.InvalidArguments);
        Expect(world.Run(CentralBank, DigitalCurrencyCalls.RegisterOperator("pboc", world.Id(CentralBank), 1)), ErrorCode.InvalidArguments);
        world.Ok(CentralBank, DigitalCurrencyCalls.RegisterOperator("bank1", world.Id(Bank1Settlement), 1));
        Expect(world.Run(CentralBank, DigitalCurrencyCalls.RegisterOperator("bank1", world.Id(Bank1Customer), 1)), ErrorCode.InvalidArguments);

        Assert.Equal(["bank1"], DigitalCurrencyContract.ReadOperators(world.Ledger).Select(o => o.Organisation));
        Assert.Equal("bank1", DigitalCurrencyContract.ReadSettlementOperator(world.Ledger, world.Id(Bank1Settlement)));
    }
}
