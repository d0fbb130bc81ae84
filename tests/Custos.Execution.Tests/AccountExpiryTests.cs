using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using static Custos.Execution.Tests.AccountBook;

namespace Custos.Execution.Tests;

public sealed class AccountExpiryTests
{
    private static readonly AccountId Dave = new(3, 1);

    [Fact]
    public void Account_registered_with_an_expiry_works_until_it_and_is_refused_from_it()
    {
        var book = new AccountBook();
        var daveKey = book.NewKey();
        var expiry = book.Ledger.Height + 4;
        Assert.Equal(ErrorCode.Ok, Register(book, daveKey, expiry).Code);
        Assert.Equal(expiry, AccountRegistry.Load(book.Ledger, Dave)!.ExpiresAtHeight);
        Assert.Equal(ErrorCode.Ok, PayDave(book, 100).Code);

        book.AdvanceTo(expiry - 2);
        Assert.Equal(ErrorCode.Ok, DavePays(book, daveKey, 10).Code);

        book.AssertRefused(ErrorCode.AccountExpired, () => DavePays(book, daveKey, 10));
        book.AssertRefused(ErrorCode.AccountExpired, () => PayDave(book, 10));
        Assert.Equal(90UL, TokenContract.ReadBalance(book.Ledger, Dave));
    }

    [Fact]
    public void Expiry_at_or_below_the_current_height_is_refused_at_registration()
    {
        var book = new AccountBook();
        book.AdvanceTo(5);

        book.AssertRefused(ErrorCode.InvalidArguments, () => Register(book, book.NewKey(), 6));
        Assert.Null(AccountRegistry.Load(book.Ledger, Dave));
    }

    [Fact]
    public void Registrar_renews_an_expired_account()
    {
        var book = new AccountBook();
        Assert.Equal(ErrorCode.Ok, book.SetExpiry(Org1Admin, Alice, book.Ledger.Height + 2).Code);
        book.AdvanceTo(book.Ledger.Height + 2);
        book.AssertRefused(ErrorCode.AccountExpired, () => book.Pay(Alice, Bob, 1));

        var renew = book.SetExpiry(Org1Admin, Alice, book.Ledger.Height + 100);

        Assert.Equal(ErrorCode.Ok, renew.Code);
        Assert.Equal("expiry-set", Assert.Single(renew.Events).Name);
        Assert.Equal(ErrorCode.Ok, book.Pay(Alice, Bob, 1).Code);
    }

    [Fact]
    public void Expiry_zero_means_the_account_never_expires()
    {
        var book = new AccountBook();
        book.SetExpiry(Org1Admin, Alice, book.Ledger.Height + 2);

        Assert.Equal(ErrorCode.Ok, book.SetExpiry(Org1Admin, Alice, 0).Code);
        book.AdvanceTo(book.Ledger.Height + 10);

        Assert.Equal(0UL, book.Record(Alice).ExpiresAtHeight);
        Assert.Equal(ErrorCode.Ok, book.Pay(Alice, Bob, 1).Code);
    }

    [Theory]
    [InlineData(Org2Admin)]
    [InlineData(Alice)]
    [InlineData(Regulator)]
    public void Only_the_registrar_sets_an_expiry(int caller)
    {
        var book = new AccountBook();

        book.AssertRefused(ErrorCode.PermissionDenied, () => book.SetExpiry(caller, Alice, book.Ledger.Height + 10));
    }

    [Fact]
    public void Expiry_in_the_past_is_refused()
    {
        var book = new AccountBook();
        book.AdvanceTo(5);

        book.AssertRefused(ErrorCode.InvalidArguments, () => book.SetExpiry(Org1Admin, Alice, 6));
    }

    [Fact]
    public void Expired_account_is_cancelled_by_its_registrar_into_the_list()
    {
        var book = new AccountBook();
        book.SetExpiry(Org1Admin, Alice, book.Ledger.Height + 2);
        book.AdvanceTo(book.Ledger.Height + 2);

        book.AssertRefused(ErrorCode.AccountExpired, () => book.Cancel(Alice, Alice));
        Assert.Equal(ErrorCode.Ok, book.Cancel(Org1Admin, Alice, "term ended").Code);

        Assert.Equal("term ended", Assert.Single(AccountRegistry.ReadCancellationList(book.Ledger, 0, 10)).Decision.Reason);
        Assert.Equal(AccountStatus.Cancelled, book.Record(Alice).Status);
    }

    [Fact]
    public void Expired_account_gets_no_key_reset()
    {
        var book = new AccountBook();
        book.SetExpiry(Org1Admin, Alice, book.Ledger.Height + 2);
        book.AdvanceTo(book.Ledger.Height + 2);

        book.AssertRefused(ErrorCode.AccountExpired, () => book.RequestKeyReset(Org1Admin, Alice, book.NewKey()));
    }

    private static Receipt Register(AccountBook book, Crypto.SoftwareKey key, ulong expiresAtHeight) =>
        book.Call(Org1Admin, "register", new RegisterAccountArguments
        {
            AccountId = Dave.ToByteString(), PublicKey = Encoded(key), Type = AccountType.Ordinary, ExpiresAtHeight = expiresAtHeight,
        });

    private static Receipt PayDave(AccountBook book, ulong amount) =>
        book.Run(book.Ledger.Sign(Bob, TokenContract.ContractName, "transfer", new TransferArguments { To = Dave.ToByteString(), Amount = amount },
            nonce: 1_000 + book.Ledger.Height));

    private static Receipt DavePays(AccountBook book, Crypto.SoftwareKey key, ulong amount) =>
        book.Run(book.Ledger.Sign(0, TokenContract.ContractName, "transfer", new TransferArguments { To = book.Ledger.Ids[Bob].ToByteString(), Amount = amount },
            nonce: 2_000 + book.Ledger.Height, key: key, sender: Dave));
}
