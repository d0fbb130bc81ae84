using Custos.Core.Wire;
using Custos.Execution.Wire;
using static Custos.DigitalCurrency.Tests.CurrencyWorld;

namespace Custos.DigitalCurrency.Tests;

/// <summary>DC-3: class caps at their boundaries, with day and year windows from block timestamps (UTC).</summary>
public sealed class LimitTests
{
    private static ulong Ms(int year, int month, int day, int hour = 0, int minute = 0, int second = 0, int millisecond = 0) =>
        (ulong)new DateTimeOffset(year, month, day, hour, minute, second, millisecond, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>A funded class 4 wallet and a class 1 payee (uncapped, so only the payer's caps bind).</summary>
    private static (CurrencyWorld World, TestWallet Payer, TestWallet Payee) ClassFourPayer(ulong funds = 1_000_000)
    {
        var world = Running();
        var payer = world.OpenWallet(Bank1Admin, 4);
        var payee = world.OpenWallet(Bank2Admin, 1);
        world.Fund(payer, funds);
        return (world, payer, payee);
    }

    private static Receipt PayAt(CurrencyWorld world, ulong timestampMs, TestWallet from, TestWallet to, ulong amount)
    {
        world.Ledger.NowMs = timestampMs;
        return world.Run(from, DigitalCurrencyCalls.Pay(to.Account, amount));
    }

    private static void Refused(Receipt receipt, string limit)
    {
        Expect(receipt, ErrorCode.LimitExceeded);
        Assert.Contains(limit, receipt.Message);
    }

    [Fact]
    public void Class_four_per_payment_cap_passes_exactly_and_refuses_one_fen_over()
    {
        var (world, payer, payee) = ClassFourPayer();

        Refused(world.Run(payer, DigitalCurrencyCalls.Pay(payee.Account, 200_001)), "per-payment limit ¥2,000.00");
        world.Ok(payer, DigitalCurrencyCalls.Pay(payee.Account, 200_000));

        Assert.Equal(800_000UL, world.Balance(payer));
        Assert.Equal(200_000UL, world.Balance(payee));
    }

    [Fact]
    public void Class_four_daily_cap_holds_until_the_last_millisecond_of_the_utc_day_and_resets_at_midnight()
    {
        var (world, payer, payee) = ClassFourPayer();
        var day = Ms(2026, 3, 10, 9);

        Expect(PayAt(world, day, payer, payee, 200_000), ErrorCode.Ok);
        Expect(PayAt(world, day + 1_000, payer, payee, 200_000), ErrorCode.Ok);
        Expect(PayAt(world, day + 2_000, payer, payee, 100_000), ErrorCode.Ok);
        Refused(PayAt(world, Ms(2026, 3, 10, 23, 59, 59, 999), payer, payee, 1), "daily limit ¥5,000.00");
        Expect(PayAt(world, Ms(2026, 3, 11), payer, payee, 1), ErrorCode.Ok);

        var usage = DigitalCurrencyContract.ReadUsage(world.Ledger, payer.Account);
        Assert.Equal(1UL, usage.DayTotal);
        Assert.Equal(500_001UL, usage.YearTotal);
        Assert.Equal(2026UL, usage.Year);
    }

    [Fact]
    public void Annual_cap_resets_on_january_first_and_not_on_a_leap_day()
    {
        var (world, payer, payee) = ClassFourPayer();
        world.Ledger.SetParameter(CurrencyParameters.AnnualMax(4), 700_000);

        // December 30 and 31, 2026: the year's 700,000 is reached exactly; one fen more is over the annual cap.
        foreach (var (at, amount) in new[] { (Ms(2026, 12, 30, 8), 200_000UL), (Ms(2026, 12, 30, 9), 200_000UL), (Ms(2026, 12, 30, 10), 100_000UL), (Ms(2026, 12, 31, 12), 200_000UL) })
        {
            Expect(PayAt(world, at, payer, payee, amount), ErrorCode.Ok);
        }

        Refused(PayAt(world, Ms(2026, 12, 31, 23, 59, 59, 999), payer, payee, 1), "annual limit ¥7,000.00");
        Expect(PayAt(world, Ms(2027, 1, 1), payer, payee, 200_000), ErrorCode.Ok);

        // 2028 is a leap year: February 29 is a new day but the same year.
        var leap = ClassFourPayer();
        leap.World.Ledger.SetParameter(CurrencyParameters.AnnualMax(4), 700_000);
        foreach (var at in new[] { Ms(2028, 2, 28, 10), Ms(2028, 2, 28, 11) })
        {
            Expect(PayAt(leap.World, at, leap.Payer, leap.Payee, 200_000), ErrorCode.Ok);
        }

        Expect(PayAt(leap.World, Ms(2028, 2, 28, 12), leap.Payer, leap.Payee, 100_000), ErrorCode.Ok);
        Refused(PayAt(leap.World, Ms(2028, 2, 28, 23, 59, 59, 999), leap.Payer, leap.Payee, 1), "daily");
        Expect(PayAt(leap.World, Ms(2028, 2, 29), leap.Payer, leap.Payee, 200_000), ErrorCode.Ok);
        Refused(PayAt(leap.World, Ms(2028, 2, 29, 1), leap.Payer, leap.Payee, 1), "paid in 2028 exceeds the annual limit");
        Refused(PayAt(leap.World, Ms(2028, 3, 1), leap.Payer, leap.Payee, 1), "annual");
        Assert.Equal(CivilCalendar.DayNumber(Ms(2028, 2, 29)), DigitalCurrencyContract.ReadUsage(leap.World.Ledger, leap.Payer.Account).Day);
    }

    [Fact]
    public void Recipient_balance_cap_passes_exactly_and_refuses_one_fen_over()
    {
        var world = Running();
        var payee = world.OpenWallet(Bank1Admin, 4);
        var payer = world.OpenWallet(Bank2Admin, 1);
        world.Fund(payer, 5_000_000);
        world.Fund(payee, 999_999);

        Refused(world.Run(payer, DigitalCurrencyCalls.Pay(payee.Account, 2)), "balance limit ¥10,000.00");
        Refused(world.Run(Bank1Settlement, DigitalCurrencyCalls.Pay(payee.Account, 2)), "recipient's balance");
        world.Ok(payer, DigitalCurrencyCalls.Pay(payee.Account, 1));

        Assert.Equal(1_000_000UL, world.Balance(payee));
    }

    [Fact]
    public void Caps_are_governance_parameters_read_at_each_payment()
    {
        var (world, payer, payee) = ClassFourPayer();
        world.Ledger.SetParameter(CurrencyParameters.PaymentMax(4), 1_000);

        Refused(world.Run(payer, DigitalCurrencyCalls.Pay(payee.Account, 1_001)), "per-payment limit ¥10.00");
        world.Ok(payer, DigitalCurrencyCalls.Pay(payee.Account, 1_000));

        // Class 3 exists only through its parameters' defaults until governance sets them.
        var classThree = world.OpenWallet(Bank1Admin, 3);
        world.Fund(classThree, 600_000);
        Refused(world.Run(classThree, DigitalCurrencyCalls.Pay(payee.Account, 500_001)), "per-payment limit ¥5,000.00");
        world.Ledger.SetParameter(CurrencyParameters.PaymentMax(3), 600_000);
        world.Ok(classThree, DigitalCurrencyCalls.Pay(payee.Account, 500_001));
    }

    [Fact]
    public void A_sub_wallets_payments_count_against_its_parents_daily_cap()
    {
        var world = Running();
        var parent = world.OpenWallet(Bank1Admin, 4);
        var child = world.OpenWallet(Bank1Admin, 4, parent);
        var payee = world.OpenWallet(Bank2Admin, 1);
        world.Fund(parent, 400_000);
        world.Fund(child, 400_000);

        world.Ok(parent, DigitalCurrencyCalls.Pay(payee.Account, 200_000));
        world.Ok(parent, DigitalCurrencyCalls.Pay(payee.Account, 200_000));
        world.Ok(child, DigitalCurrencyCalls.Pay(payee.Account, 100_000));
        Refused(world.Run(child, DigitalCurrencyCalls.Pay(payee.Account, 1)), "daily limit ¥5,000.00 of class 4 parent wallet");

        Assert.Equal(500_000UL, DigitalCurrencyContract.ReadUsage(world.Ledger, parent.Account).DayTotal);
        Assert.Equal(100_000UL, DigitalCurrencyContract.ReadUsage(world.Ledger, child.Account).DayTotal);
        Assert.Equal(300_000UL, world.Balance(child));
    }
}
