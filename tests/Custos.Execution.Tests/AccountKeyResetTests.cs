using Custos.Core.Wire;
using Custos.Execution.Wire;
using static Custos.Execution.Tests.AccountBook;

namespace Custos.Execution.Tests;

public sealed class AccountKeyResetTests
{
    [Fact]
    public void Registrar_requests_a_reset_that_unlocks_after_the_window()
    {
        var book = new AccountBook();
        var newKey = book.NewKey();

        var receipt = book.RequestKeyReset(Org1Admin, Alice, newKey, "phone lost");

        Assert.Equal(ErrorCode.Ok, receipt.Code);
        Assert.Equal("key-reset-requested", Assert.Single(receipt.Events).Name);
        var reset = book.Record(Alice).PendingKeyReset;
        Assert.Equal(Encoded(newKey), reset.PublicKey);
        Assert.Equal(book.Ledger.Height, reset.RequestedHeight);
        Assert.Equal(book.Ledger.Height + LockBlocks, reset.UnlockHeight);
        Assert.Equal("phone lost", reset.Reason);
        Assert.Equal(Encoded(book.Ledger.Keys[Alice]), book.Record(Alice).PublicKey);
    }

    [Fact]
    public void During_the_window_the_account_can_neither_pay_nor_be_paid()
    {
        var book = new AccountBook();
        book.RequestKeyReset(Org1Admin, Alice, book.NewKey());

        book.AssertRefused(ErrorCode.AccountLocked, () => book.Pay(Alice, Bob, 10));
        book.AssertRefused(ErrorCode.AccountLocked, () => book.Pay(Bob, Alice, 10));

        Assert.Equal(OpeningBalance, book.Balance(Alice));
        Assert.Equal(OpeningBalance, book.Balance(Bob));
    }

    [Fact]
    public void New_key_used_during_the_window_is_refused_as_locked()
    {
        var book = new AccountBook();
        var newKey = book.NewKey();
        book.RequestKeyReset(Org1Admin, Alice, newKey);

        book.AssertRefused(ErrorCode.AccountLocked, () => book.CancelKeyReset(Alice, key: newKey));
        book.AdvanceTo(book.Record(Alice).PendingKeyReset.UnlockHeight - 2);
        book.AssertRefused(ErrorCode.AccountLocked, () => book.Pay(Alice, Bob, 10, key: newKey));
    }

    [Fact]
    public void Old_key_cancels_the_reset_during_the_window_and_keeps_the_account()
    {
        var book = new AccountBook();
        var newKey = book.NewKey();
        book.RequestKeyReset(Org1Admin, Alice, newKey);

        var cancel = book.CancelKeyReset(Alice);

        Assert.Equal(ErrorCode.Ok, cancel.Code);
        Assert.Equal("key-reset-cancelled", Assert.Single(cancel.Events).Name);
        Assert.Null(book.Record(Alice).PendingKeyReset);
        Assert.Equal(ErrorCode.Ok, book.Pay(Alice, Bob, 10).Code);
        book.AdvanceTo(book.Ledger.Height + LockBlocks + 1);
        book.AssertRefused(ErrorCode.SignatureInvalid, () => book.Pay(Alice, Bob, 10, key: newKey));
        Assert.Equal(Encoded(book.Ledger.Keys[Alice]), book.Record(Alice).PublicKey);
    }

    [Fact]
    public void After_the_window_the_new_key_works_and_the_old_key_is_refused()
    {
        var book = new AccountBook();
        var newKey = book.NewKey();
        book.RequestKeyReset(Org1Admin, Alice, newKey);
        book.AdvanceTo(book.Record(Alice).PendingKeyReset.UnlockHeight - 1);

        book.AssertRefused(ErrorCode.SignatureInvalid, () => book.Pay(Alice, Bob, 10));
        var withNewKey = book.Pay(Alice, Bob, 10, key: newKey);

        Assert.Equal(ErrorCode.Ok, withNewKey.Code);
        Assert.Equal(990UL, book.Balance(Alice));
        Assert.Equal(Encoded(newKey), book.Record(Alice).PublicKey);
        Assert.Null(book.Record(Alice).PendingKeyReset);
        Assert.Equal(ErrorCode.SignatureInvalid, book.Pay(Alice, Bob, 10).Code);
    }

    [Fact]
    public void Old_key_cannot_cancel_once_the_window_has_passed()
    {
        var book = new AccountBook();
        var newKey = book.NewKey();
        book.RequestKeyReset(Org1Admin, Alice, newKey);
        book.AdvanceTo(book.Ledger.Height + LockBlocks);

        book.AssertRefused(ErrorCode.SignatureInvalid, () => book.CancelKeyReset(Alice));
        Assert.Equal(ErrorCode.InvalidArguments, book.CancelKeyReset(Alice, key: newKey).Code);
    }

    [Fact]
    public void After_the_window_the_account_is_paid_and_reads_with_the_new_key_before_it_is_stored()
    {
        var book = new AccountBook();
        var newKey = book.NewKey();
        book.RequestKeyReset(Org1Admin, Alice, newKey);
        book.AdvanceTo(book.Ledger.Height + LockBlocks);

        Assert.Equal(ErrorCode.Ok, book.Pay(Bob, Alice, 10).Code);

        Assert.Equal(1_010UL, book.Balance(Alice));
        Assert.NotNull(book.Record(Alice).PendingKeyReset);
        var current = AccountRegistry.LoadCurrent(book.Ledger, book.Ledger.Ids[Alice], book.Ledger.Height)!;
        Assert.Equal(Encoded(newKey), current.PublicKey);
        Assert.Null(current.PendingKeyReset);
    }

    [Fact]
    public void First_transaction_with_the_new_key_stores_it_even_when_the_call_fails()
    {
        var book = new AccountBook();
        var newKey = book.NewKey();
        book.RequestKeyReset(Org1Admin, Alice, newKey);
        book.AdvanceTo(book.Ledger.Height + LockBlocks);

        var tooMuch = book.Pay(Alice, Bob, 5_000, key: newKey);

        Assert.Equal(ErrorCode.InsufficientFunds, tooMuch.Code);
        Assert.Equal(Encoded(newKey), book.Record(Alice).PublicKey);
        Assert.Equal(OpeningBalance, book.Balance(Alice));
    }

    [Fact]
    public void Frozen_account_may_still_cancel_a_pending_reset_but_not_pay()
    {
        var book = new AccountBook();
        book.RequestKeyReset(Org1Admin, Alice, book.NewKey());
        book.Freeze(Regulator, Alice, "legal order");

        Assert.Equal(ErrorCode.Ok, book.CancelKeyReset(Alice).Code);
        Assert.Null(book.Record(Alice).PendingKeyReset);
        book.AssertRefused(ErrorCode.AccountFrozen, () => book.Pay(Alice, Bob, 1));
    }

    [Fact]
    public void Administrator_of_another_organisation_cannot_request_a_reset()
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.PermissionDenied, () => book.RequestKeyReset(Org2Admin, Alice, book.NewKey()));
        Assert.Null(book.Record(Alice).PendingKeyReset);
    }

    [Theory]
    [InlineData(Bob)]
    [InlineData(Alice)]
    [InlineData(Regulator)]
    public void Only_the_registrar_requests_a_reset(int caller)
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.PermissionDenied, () => book.RequestKeyReset(caller, Alice, book.NewKey()));
    }

    [Fact]
    public void Second_request_during_the_window_is_refused()
    {
        var book = new AccountBook();
        book.RequestKeyReset(Org1Admin, Alice, book.NewKey());

        book.AssertRefused(ErrorCode.AccountLocked, () => book.RequestKeyReset(Org1Admin, Alice, book.NewKey()));
    }

    [Fact]
    public void Request_for_a_frozen_account_is_refused()
    {
        var book = new AccountBook();
        book.Freeze(Org1Admin, Alice);

        book.AssertRefused(ErrorCode.AccountFrozen, () => book.RequestKeyReset(Org1Admin, Alice, book.NewKey()));
    }

    [Fact]
    public void Request_with_a_malformed_or_unchanged_key_or_no_reason_is_refused()
    {
        var book = new AccountBook();
        var args = (byte[] key, string reason) => new KeyResetArguments
        {
            AccountId = book.Ledger.Ids[Alice].ToByteString(), NewPublicKey = Google.Protobuf.ByteString.CopyFrom(key), Reason = reason,
        };
        var sameKey = book.Ledger.Keys[Alice].PublicKey.Encoded.ToArray();

        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Call(Org1Admin, "request_key_reset", args(new byte[65], "lost")));
        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Call(Org1Admin, "request_key_reset", args(sameKey, "lost")));
        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Call(Org1Admin, "request_key_reset", args(book.NewKey().PublicKey.Encoded.ToArray(), "")));
    }

    [Fact]
    public void Cancel_without_a_pending_reset_is_refused()
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.InvalidArguments, () => book.CancelKeyReset(Alice));
    }

    [Fact]
    public void Nobody_else_cancels_an_account_key_reset()
    {
        var book = new AccountBook();
        book.RequestKeyReset(Org1Admin, Alice, book.NewKey());

        book.AssertRefused(ErrorCode.PermissionDenied, () => book.Call(Org1Admin, AccountRegistry.CancelKeyResetMethod, book.Decision(Alice, "")));
        Assert.NotNull(book.Record(Alice).PendingKeyReset);
    }

    [Fact]
    public void A_new_reset_may_follow_one_that_came_into_force()
    {
        var book = new AccountBook();
        var first = book.NewKey();
        var second = book.NewKey();
        book.RequestKeyReset(Org1Admin, Alice, first);
        book.AdvanceTo(book.Ledger.Height + LockBlocks);

        Assert.Equal(ErrorCode.Ok, book.RequestKeyReset(Org1Admin, Alice, second).Code);

        Assert.Equal(Encoded(first), book.Record(Alice).PublicKey);
        Assert.Equal(Encoded(second), book.Record(Alice).PendingKeyReset.PublicKey);
    }
}
