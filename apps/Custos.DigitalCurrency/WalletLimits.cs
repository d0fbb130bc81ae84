using Custos.Execution;

namespace Custos.DigitalCurrency;

/// <summary>
/// The caps of one wallet class, in fen. <see cref="CurrencyParameters.Unlimited"/> means no cap. Balance is what
/// the wallet may hold; payment, daily and annual cap what it pays out (per payment, per civil day, per civil year).
/// </summary>
public sealed record WalletLimits(ulong BalanceMax, ulong PaymentMax, ulong DailyMax, ulong AnnualMax)
{
    /// <summary>True when no payment is capped per day or year, so that usage need not be tracked.</summary>
    public bool TracksNoUsage => DailyMax == CurrencyParameters.Unlimited && AnnualMax == CurrencyParameters.Unlimited;
}

/// <summary>
/// The currency's governance chain parameters (read with <see cref="ConsortiumRegistry.Parameter"/>), their names and
/// defaults. Names are frozen: governance proposals set them by name (docs/digital-currency.md lists them).
/// </summary>
public static class CurrencyParameters
{
    /// <summary>A cap set to this value does not cap.</summary>
    public const ulong Unlimited = ulong.MaxValue;

    public const uint StrongestClass = 1;
    public const uint WeakestClass = 4;

    /// <summary>Payments at or above this amount are reported to the supervisor (default ¥50,000).</summary>
    public const string LargeValueThreshold = "dcep.largeValueThreshold";

    public const ulong DefaultLargeValueThreshold = 5_000_000;

    public static string BalanceMax(uint walletClass) => $"dcep.class{walletClass}.balanceMax";

    public static string PaymentMax(uint walletClass) => $"dcep.class{walletClass}.paymentMax";

    public static string DailyMax(uint walletClass) => $"dcep.class{walletClass}.dailyMax";

    public static string AnnualMax(uint walletClass) => $"dcep.class{walletClass}.annualMax";

    public static bool IsClass(uint walletClass) => walletClass is >= StrongestClass and <= WeakestClass;

    /// <summary>
    /// The defaults, in fen. Class 4 (anonymous) and class 2 follow DC-3; class 2's annual cap is ten times its daily
    /// cap, as class 4's is; class 3 sits between them; class 1 is uncapped.
    /// </summary>
    public static WalletLimits Defaults(uint walletClass) => walletClass switch
    {
        1 => new WalletLimits(Unlimited, Unlimited, Unlimited, Unlimited),
        2 => new WalletLimits(BalanceMax: 50_000_000, PaymentMax: 5_000_000, DailyMax: 10_000_000, AnnualMax: 100_000_000),
        3 => new WalletLimits(BalanceMax: 2_000_000, PaymentMax: 500_000, DailyMax: 1_000_000, AnnualMax: 10_000_000),
        4 => new WalletLimits(BalanceMax: 1_000_000, PaymentMax: 200_000, DailyMax: 500_000, AnnualMax: 5_000_000),
        _ => throw new ArgumentOutOfRangeException(nameof(walletClass), walletClass, "wallet classes are 1 to 4"),
    };

    /// <summary>The caps of <paramref name="walletClass"/> in force: each parameter when governance set it, else its default.</summary>
    public static WalletLimits Read(IStateReader state, uint walletClass)
    {
        var defaults = Defaults(walletClass);
        return new WalletLimits(
            ConsortiumRegistry.Parameter(state, BalanceMax(walletClass), defaults.BalanceMax),
            ConsortiumRegistry.Parameter(state, PaymentMax(walletClass), defaults.PaymentMax),
            ConsortiumRegistry.Parameter(state, DailyMax(walletClass), defaults.DailyMax),
            ConsortiumRegistry.Parameter(state, AnnualMax(walletClass), defaults.AnnualMax));
    }

    public static ulong ReadLargeValueThreshold(IStateReader state) =>
        ConsortiumRegistry.Parameter(state, LargeValueThreshold, DefaultLargeValueThreshold);

    /// <summary>True when <paramref name="used"/> plus <paramref name="amount"/> stays within <paramref name="max"/>, without overflow.</summary>
    public static bool Fits(ulong used, ulong amount, ulong max) => used <= max && amount <= max - used;

    /// <summary>Fen as yuan for messages, for example 500000 → "¥5,000.00".</summary>
    public static string Yuan(ulong fen) => fen == Unlimited ? "no cap" : $"¥{fen / 100:N0}.{fen % 100:D2}";
}
