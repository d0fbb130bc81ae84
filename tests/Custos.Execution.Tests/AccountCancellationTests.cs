using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;
using static Custos.Execution.Tests.AccountBook;

namespace Custos.Execution.Tests;

public sealed class AccountCancellationTests
{
    [Fact]
    public void Account_cancels_itself_and_appears_in_the_public_list()
    {
        var book = new AccountBook();

        var receipt = book.Call(Alice, "cancel", new AccountDecisionArguments { Reason = "closing my wallet" });

        Assert.Equal(ErrorCode.Ok, receipt.Code);
        Assert.Equal("cancelled", Assert.Single(receipt.Events).Name);
        var record = book.Record(Alice);
        Assert.Equal(AccountStatus.Cancelled, record.Status);
        Assert.Equal("closing my wallet", record.Cancelled.Reason);
        Assert.Equal(book.Ledger.Height, record.Cancelled.Height);
        var entry = Assert.Single(AccountRegistry.ReadCancellationList(book.Ledger, 0, 10));
        Assert.Equal(0UL, entry.Sequence);
        Assert.Equal(book.Ledger.Ids[Alice].ToByteString(), entry.AccountId);
        Assert.Equal("org1", entry.Organisation);
        Assert.Equal(book.Ledger.Ids[Alice].ToByteString(), entry.Decision.By);
        Assert.Equal("closing my wallet", entry.Decision.Reason);
        Assert.Equal(book.Ledger.Height, entry.Decision.Height);
    }

    [Fact]
    public void Cancelled_account_never_transacts_nor_is_paid_again()
    {
        var book = new AccountBook();
        book.Cancel(Org1Admin, Alice);

        book.AssertRefused(ErrorCode.AccountCancelled, () => book.Pay(Alice, Bob, 1));
        book.AssertRefused(ErrorCode.AccountCancelled, () => book.Pay(Bob, Alice, 1));
        book.AssertRefused(ErrorCode.AccountCancelled, () => book.Cancel(Alice, Alice));
        book.AdvanceTo(book.Ledger.Height + 50);
        book.AssertRefused(ErrorCode.AccountCancelled, () => book.Pay(Alice, Bob, 1));
        Assert.Equal(OpeningBalance, book.Balance(Alice));
    }

    [Fact]
    public void Cancelled_account_is_never_reactivated()
    {
        var book = new AccountBook();
        book.Cancel(Org1Admin, Alice);

        book.AssertRefused(ErrorCode.AccountCancelled, () => book.Unfreeze(Org1Admin, Alice));
        book.AssertRefused(ErrorCode.AccountCancelled, () => book.Freeze(Regulator, Alice));
        book.AssertRefused(ErrorCode.AccountCancelled, () => book.Cancel(Regulator, Alice));
        book.AssertRefused(ErrorCode.AccountCancelled, () => book.RequestKeyReset(Org1Admin, Alice, book.NewKey()));
        book.AssertRefused(ErrorCode.AccountCancelled, () => book.SetExpiry(Org1Admin, Alice, 0));
        Assert.Equal(AccountStatus.Cancelled, book.Record(Alice).Status);
    }

    [Fact]
    public void Cancelled_account_id_is_never_registered_again()
    {
        var book = new AccountBook();
        book.Cancel(Org1Admin, Alice);
        var register = new RegisterAccountArguments
        {
            AccountId = book.Ledger.Ids[Alice].ToByteString(), PublicKey = Encoded(book.NewKey()), Type = AccountType.Ordinary,
        };

        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Call(Org1Admin, "register", register));
    }

    [Fact]
    public void Regulator_cancels_by_legal_order_and_the_list_records_who()
    {
        var book = new AccountBook();

        Assert.Equal(ErrorCode.Ok, book.Cancel(Regulator, Carol, "court order 88").Code);

        var entry = Assert.Single(AccountRegistry.ReadCancellationList(book.Ledger, 0, 10));
        Assert.Equal(book.Ledger.Ids[Regulator].ToByteString(), entry.Decision.By);
        Assert.True(entry.Decision.ByRegulator);
        Assert.Equal("org2", entry.Organisation);
    }

    [Fact]
    public void Cancellation_clears_a_pending_key_reset()
    {
        var book = new AccountBook();
        var newKey = book.NewKey();
        book.RequestKeyReset(Org1Admin, Alice, newKey);

        book.Cancel(Org1Admin, Alice);
        book.AdvanceTo(book.Ledger.Height + LockBlocks);

        Assert.Null(book.Record(Alice).PendingKeyReset);
        book.AssertRefused(ErrorCode.SignatureInvalid, () => book.Pay(Alice, Bob, 1, key: newKey));
    }

    [Fact]
    public void Locked_account_cannot_cancel_itself_but_its_registrar_can()
    {
        var book = new AccountBook();
        book.RequestKeyReset(Org1Admin, Alice, book.NewKey());

        book.AssertRefused(ErrorCode.AccountLocked, () => book.Cancel(Alice, Alice));
        Assert.Equal(ErrorCode.Ok, book.Cancel(Org1Admin, Alice).Code);
    }

    [Theory]
    [InlineData(Org2Admin)]
    [InlineData(Bob)]
    [InlineData(RegulatorClerk)]
    public void Others_cannot_cancel_an_account(int caller)
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.PermissionDenied, () => book.Cancel(caller, Alice));
        Assert.Equal(AccountStatus.Active, book.Record(Alice).Status);
        Assert.Equal(0UL, AccountRegistry.ReadCancellationCount(book.Ledger));
    }

    [Fact]
    public void Cancellation_without_a_reason_is_refused()
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Cancel(Alice, Alice, ""));
    }

    [Fact]
    public void Cancellation_list_pages_in_order()
    {
        var book = new AccountBook();
        book.Cancel(Org1Admin, Alice, "first");
        book.Cancel(Org1Admin, Bob, "second");
        book.Cancel(Regulator, Carol, "third");

        var all = AccountRegistry.ReadCancellationList(book.Ledger, 0, 10);
        var page = AccountRegistry.ReadCancellationList(book.Ledger, 1, 1);

        Assert.Equal(3UL, AccountRegistry.ReadCancellationCount(book.Ledger));
        Assert.Equal(["first", "second", "third"], all.Select(e => e.Decision.Reason));
        Assert.Equal([0UL, 1UL, 2UL], all.Select(e => e.Sequence));
        Assert.Equal("second", Assert.Single(page).Decision.Reason);
        Assert.Empty(AccountRegistry.ReadCancellationList(book.Ledger, 3, 10));
        Assert.Empty(AccountRegistry.ReadCancellationList(book.Ledger, ulong.MaxValue, 10));
        Assert.Empty(AccountRegistry.ReadCancellationList(book.Ledger, 0, -1));
    }

    [Fact]
    public void Cancellation_list_is_laid_out_under_frozen_keys()
    {
        var book = new AccountBook();
        book.Cancel(Org1Admin, Alice, "first");

        Assert.Equal("system.accounts\0cancelled-count"u8.ToArray(), AccountRegistry.CancellationCountKey);
        Assert.Equal([.. "system.accounts\0cancelled/"u8, 0, 0, 0, 0, 0, 0, 0, 1], AccountRegistry.CancellationEntryKey(1));
        Assert.True(book.Ledger.TryGet(AccountRegistry.CancellationCountKey, out var count));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 1 }, count);
        Assert.True(book.Ledger.TryGet(AccountRegistry.CancellationEntryKey(0), out var entry));
        Assert.Equal(book.Ledger.Ids[Alice].ToByteString(), CancellationEntry.Parser.ParseFrom(entry).AccountId);
    }

    [Fact]
    public void Signing_key_is_checked_before_the_account_status()
    {
        var book = new AccountBook();
        book.Cancel(Org1Admin, Alice);

        book.AssertRefused(ErrorCode.SignatureInvalid, () => book.Pay(Alice, Bob, 1, key: book.Ledger.Keys[Bob]));
    }

    [Fact]
    public void Cancelling_an_unknown_account_is_refused()
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.SenderUnknown, () => book.Call(Regulator, "cancel",
            new AccountDecisionArguments { AccountId = new AccountId(9, 9).ToByteString(), Reason = "order" }));
    }

    [Fact]
    public void Arguments_that_do_not_decode_are_refused()
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.InvalidArguments, () => book.Run(book.Ledger.SignRaw(Org1Admin, AccountRegistry.ContractName, "cancel",
            ByteString.CopyFrom(0xff, 0xff, 0xff), nonce: 77)));
    }
}
