using Custos.Core.Wire;
using Custos.Execution.Wire;
using static Custos.Execution.Tests.AccountBook;

namespace Custos.Execution.Tests;

public sealed class AccountFreezeTests
{
    [Fact]
    public void Registrar_freezes_an_account_of_its_organisation_with_the_decision_recorded()
    {
        var book = new AccountBook();

        var receipt = book.Freeze(Org1Admin, Alice, "suspected fraud, case 17");

        Assert.Equal(ErrorCode.Ok, receipt.Code);
        var record = book.Record(Alice);
        Assert.Equal(AccountStatus.Frozen, record.Status);
        Assert.Equal("suspected fraud, case 17", record.Frozen.Reason);
        Assert.Equal(book.Ledger.Ids[Org1Admin].ToByteString(), record.Frozen.By);
        Assert.Equal(book.Ledger.Height, record.Frozen.Height);
        Assert.False(record.Frozen.ByRegulator);
        var @event = Assert.Single(receipt.Events);
        Assert.Equal("frozen", @event.Name);
        Assert.Equal(record, AccountEvent.Parser.ParseFrom(@event.Data).Record);
    }

    [Fact]
    public void Frozen_account_can_neither_pay_nor_be_paid_and_balances_stay()
    {
        var book = new AccountBook();
        book.Freeze(Org1Admin, Alice);

        book.AssertRefused(ErrorCode.AccountFrozen, () => book.Pay(Alice, Bob, 10));
        book.AssertRefused(ErrorCode.AccountFrozen, () => book.Pay(Bob, Alice, 10));

        Assert.Equal(OpeningBalance, book.Balance(Alice));
        Assert.Equal(OpeningBalance, book.Balance(Bob));
    }

    [Fact]
    public void Frozen_account_cannot_use_the_registry_either()
    {
        var book = new AccountBook();
        book.Freeze(Org1Admin, Alice);

        book.AssertRefused(ErrorCode.AccountFrozen, () => book.Cancel(Alice, Alice));
    }

    [Fact]
    public void Unfreeze_restores_payments_both_ways()
    {
        var book = new AccountBook();
        book.Freeze(Org1Admin, Alice);

        var unfreeze = book.Unfreeze(Org1Admin, Alice);

        Assert.Equal(ErrorCode.Ok, unfreeze.Code);
        Assert.Equal("unfrozen", Assert.Single(unfreeze.Events).Name);
        Assert.Equal(AccountStatus.Active, book.Record(Alice).Status);
        Assert.Null(book.Record(Alice).Frozen);
        Assert.Equal(ErrorCode.Ok, book.Pay(Alice, Bob, 10).Code);
        Assert.Equal(ErrorCode.Ok, book.Pay(Bob, Alice, 4).Code);
        Assert.Equal(994UL, book.Balance(Alice));
    }

    [Fact]
    public void Regulator_freezes_an_account_of_any_organisation()
    {
        var book = new AccountBook();

        var receipt = book.Freeze(Regulator, Carol, "legal order 2026-3");

        Assert.Equal(ErrorCode.Ok, receipt.Code);
        Assert.Equal(AccountStatus.Frozen, book.Record(Carol).Status);
        Assert.True(book.Record(Carol).Frozen.ByRegulator);
    }

    [Fact]
    public void Freeze_by_the_regulator_is_lifted_only_by_the_regulator()
    {
        var book = new AccountBook();
        book.Freeze(Regulator, Carol, "legal order 2026-3");

        book.AssertRefused(ErrorCode.PermissionDenied, () => book.Unfreeze(Org2Admin, Carol));
        var byRegulator = book.Unfreeze(Regulator, Carol, "order lifted");

        Assert.Equal(ErrorCode.Ok, byRegulator.Code);
        Assert.Equal(AccountStatus.Active, book.Record(Carol).Status);
    }

    [Fact]
    public void Regulator_may_lift_a_registrar_freeze()
    {
        var book = new AccountBook();
        book.Freeze(Org2Admin, Carol);

        Assert.Equal(ErrorCode.Ok, book.Unfreeze(Regulator, Carol).Code);
        Assert.Equal(AccountStatus.Active, book.Record(Carol).Status);
    }

    [Fact]
    public void Administrator_of_another_organisation_cannot_freeze_nor_unfreeze()
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.PermissionDenied, () => book.Freeze(Org2Admin, Alice));
        book.Freeze(Org1Admin, Alice);
        book.AssertRefused(ErrorCode.PermissionDenied, () => book.Unfreeze(Org2Admin, Alice));

        Assert.Equal(AccountStatus.Frozen, book.Record(Alice).Status);
    }

    [Theory]
    [InlineData(Bob)]
    [InlineData(RegulatorClerk)]
    public void Ordinary_account_cannot_freeze_even_in_the_regulator_organisation(int caller)
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.PermissionDenied, () => book.Freeze(caller, Alice));

        Assert.Equal(AccountStatus.Active, book.Record(Alice).Status);
    }

    [Fact]
    public void Administrator_cannot_freeze_its_organisation_special_privilege_account_but_the_regulator_can()
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.PermissionDenied, () => book.Freeze(Org1Admin, Issuer));
        Assert.Equal(ErrorCode.Ok, book.Freeze(Regulator, Issuer).Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Freeze_without_a_reason_is_refused(string reason)
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Freeze(Org1Admin, Alice, reason));
    }

    [Fact]
    public void Freeze_with_an_overlong_reason_is_refused()
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Freeze(Org1Admin, Alice, new string('x', AccountRegistry.ReasonBytesMax + 1)));
    }

    [Fact]
    public void Freezing_twice_unfreezing_an_active_account_and_freezing_oneself_are_refused()
    {
        var book = new AccountBook();
        book.Freeze(Org1Admin, Alice);

        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Freeze(Org1Admin, Alice));
        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Unfreeze(Org1Admin, Bob));
        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Freeze(Org1Admin, Org1Admin));
    }

    [Fact]
    public void Freezing_an_unknown_or_malformed_account_is_refused()
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.SenderUnknown, () => book.Call(Org1Admin, "freeze",
            new AccountDecisionArguments { AccountId = new Core.AccountId(9, 9).ToByteString(), Reason = "r" }));
        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Call(Org1Admin, "freeze",
            new AccountDecisionArguments { AccountId = Google.Protobuf.ByteString.CopyFrom(1, 2, 3), Reason = "r" }));
    }
}
