using Custos.Core;
using Custos.Core.Wire;
using Custos.DigitalCurrency.Wire;
using static Custos.DigitalCurrency.Tests.CurrencyWorld;

namespace Custos.DigitalCurrency.Tests;

/// <summary>DC-5: conditional payments held in escrow by the contract; released by co-signature or height, refunded after expiry.</summary>
public sealed class ConditionalPaymentTests
{
    private sealed record Setup(CurrencyWorld World, TestWallet Payer, TestWallet Payee, TestWallet Arbiter);

    private static Setup Funded()
    {
        var world = Running();
        var payer = world.OpenWallet(Bank1Admin, 2);
        var payee = world.OpenWallet(Bank2Admin, 2);
        var arbiter = world.OpenWallet(Bank2Admin, 1);
        world.Fund(payer, 1_000_000);
        return new Setup(world, payer, payee, arbiter);
    }

    private static Hash32 Create(Setup s, CurrencyCall call)
    {
        var transaction = s.World.Call(s.Payer, call);
        Expect(s.World.Ledger.Run(transaction), ErrorCode.Ok);
        return s.World.Ledger.IdOf(transaction);
    }

    private static void AssertConserved(CurrencyWorld world)
    {
        var totals = world.Totals;
        Assert.Equal(totals.Issued - totals.Redeemed, totals.Supply);
        Assert.Equal(world.SumOfEscrows(), totals.Escrowed);
        Assert.Equal(totals.Supply, world.SumOfBalances() + totals.Escrowed);
    }

    [Fact]
    public void The_named_co_signer_releases_and_nobody_else_does()
    {
        var s = Funded();
        var id = Create(s, DigitalCurrencyCalls.PayConditional(s.Payee.Account, 300_000, s.World.Ledger.Height + 50, s.Arbiter.Account));
        Assert.Equal((700_000UL, 300_000UL), (s.World.Balance(s.Payer), s.World.Totals.Escrowed));
        AssertConserved(s.World);

        Expect(s.World.Run(s.Payee, DigitalCurrencyCalls.Release(id)), ErrorCode.NotAuthorised);
        Expect(s.World.Run(s.Payer, DigitalCurrencyCalls.Release(id)), ErrorCode.NotAuthorised);
        Expect(s.World.Run(Bank2Admin, DigitalCurrencyCalls.Release(id)), ErrorCode.NotAuthorised);
        Expect(s.World.Run(s.Arbiter, DigitalCurrencyCalls.Refund(id)), ErrorCode.PaymentNotReleasable);
        var released = s.World.Ok(s.Arbiter, DigitalCurrencyCalls.Release(id));
        Expect(s.World.Run(s.Arbiter, DigitalCurrencyCalls.Release(id)), ErrorCode.PaymentSettled);
        Expect(s.World.Run(s.Payer, DigitalCurrencyCalls.Refund(id)), ErrorCode.PaymentSettled);

        Assert.Equal(300_000UL, s.World.Balance(s.Payee));
        var record = DigitalCurrencyContract.ReadConditionalPayment(s.World.Ledger, id)!;
        Assert.Equal(ConditionalPaymentStatus.Released, record.Status);
        Assert.Equal(s.Arbiter.Account.ToByteString(), record.SettledBy);
        Assert.Equal("conditional_released", Assert.Single(released.Events).Name);
        AssertConserved(s.World);
    }

    [Fact]
    public void A_height_condition_releases_from_its_height_at_a_partys_request_until_expiry()
    {
        var s = Funded();
        var start = s.World.Ledger.Height;
        var id = Create(s, DigitalCurrencyCalls.PayConditional(s.Payee.Account, 50_000, expiryHeight: start + 6, releaseHeight: start + 4));

        Expect(s.World.Run(s.Payee, DigitalCurrencyCalls.Release(id)), ErrorCode.PaymentNotReleasable);   // start + 2
        Expect(s.World.Run(s.Arbiter, DigitalCurrencyCalls.Release(id)), ErrorCode.NotAuthorised);        // start + 3
        s.World.Ok(s.Payee, DigitalCurrencyCalls.Release(id));                                              // start + 4

        Assert.Equal(50_000UL, s.World.Balance(s.Payee));
        AssertConserved(s.World);
    }

    [Fact]
    public void After_expiry_release_is_refused_and_the_payer_gets_the_refund()
    {
        var s = Funded();
        var start = s.World.Ledger.Height;
        var id = Create(s, DigitalCurrencyCalls.PayConditional(s.Payee.Account, 80_000, expiryHeight: start + 3, coSigner: s.Arbiter.Account));

        Expect(s.World.Run(s.Payer, DigitalCurrencyCalls.Refund(id)), ErrorCode.PaymentNotReleasable);   // start + 2
        Expect(s.World.Run(s.Arbiter, DigitalCurrencyCalls.Release(id)), ErrorCode.PaymentExpired);     // start + 3
        Expect(s.World.Run(Bank1Customer, DigitalCurrencyCalls.Refund(id)), ErrorCode.NotAuthorised);
        var refunded = s.World.Ok(s.Payer, DigitalCurrencyCalls.Refund(id));
        Expect(s.World.Run(s.Arbiter, DigitalCurrencyCalls.Release(id)), ErrorCode.PaymentSettled);

        Assert.Equal((1_000_000UL, 0UL), (s.World.Balance(s.Payer), s.World.Balance(s.Payee)));
        Assert.Equal("conditional_refunded", Assert.Single(refunded.Events).Name);
        Assert.Equal(ConditionalPaymentStatus.Refunded, DigitalCurrencyContract.ReadConditionalPayment(s.World.Ledger, id)!.Status);
        AssertConserved(s.World);
    }

    [Fact]
    public void A_conditional_payment_obeys_the_payers_caps_when_made_and_the_payees_balance_cap_when_released()
    {
        var world = Running();
        var payer = world.OpenWallet(Bank1Admin, 4);
        var payee = world.OpenWallet(Bank2Admin, 4);
        var arbiter = world.OpenWallet(Bank2Admin, 1);
        world.Fund(payer, 1_000_000);
        world.Fund(payee, 900_000);
        var expiry = world.Ledger.Height + 20;

        Expect(world.Run(payer, DigitalCurrencyCalls.PayConditional(payee.Account, 200_001, expiry, arbiter.Account)), ErrorCode.LimitExceeded);
        var transaction = world.Call(payer, DigitalCurrencyCalls.PayConditional(payee.Account, 200_000, expiry, arbiter.Account));
        Expect(world.Ledger.Run(transaction), ErrorCode.Ok);
        var refused = Expect(world.Run(arbiter, DigitalCurrencyCalls.Release(world.Ledger.IdOf(transaction))), ErrorCode.LimitExceeded);

        Assert.Contains("balance limit", refused.Message);
        Assert.Equal(200_000UL, DigitalCurrencyContract.ReadUsage(world.Ledger, payer.Account).DayTotal);
        Assert.Equal(200_000UL, world.Totals.Escrowed);
    }

    [Fact]
    public void A_conditional_payment_needs_a_condition_and_an_expiry_after_it()
    {
        var s = Funded();
        var height = s.World.Ledger.Height;

        Expect(s.World.Run(s.Payer, DigitalCurrencyCalls.PayConditional(s.Payee.Account, 1, height + 10)), ErrorCode.InvalidArguments);
        Expect(s.World.Run(s.Payer, DigitalCurrencyCalls.PayConditional(s.Payee.Account, 1, height + 10, releaseHeight: height + 10)), ErrorCode.InvalidArguments);
        Expect(s.World.Run(s.Payer, DigitalCurrencyCalls.PayConditional(s.Payee.Account, 1, 1, s.Arbiter.Account)), ErrorCode.InvalidArguments);
        Expect(s.World.Run(s.Payer, DigitalCurrencyCalls.PayConditional(s.Payee.Account, 1, height + 10, s.Payee.Account)), ErrorCode.InvalidArguments);
        Expect(s.World.Run(s.Payer, DigitalCurrencyCalls.Release(new Hash32(new byte[32]))), ErrorCode.NotFound);
        Assert.Equal(0UL, s.World.Totals.ConditionalPayments);
    }
}
