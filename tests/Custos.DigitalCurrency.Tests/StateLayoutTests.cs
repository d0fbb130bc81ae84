using System.Text;
using Custos.Core;

namespace Custos.DigitalCurrency.Tests;

/// <summary>The contract's name, state keys and parameter names are frozen: nodes and governance proposals depend on them.</summary>
public sealed class StateLayoutTests
{
    private static string Text(byte[] key) => Encoding.ASCII.GetString(key).Replace('\0', '|');

    [Fact]
    public void State_keys_are_frozen()
    {
        var account = new AccountId(0, 0x0102);
        Assert.Equal("dcep|config", Text(DigitalCurrencyContract.ConfigurationKey));
        Assert.Equal("dcep|totals", Text(DigitalCurrencyContract.TotalsKey));
        Assert.Equal("dcep|operators", Text(DigitalCurrencyContract.OperatorIndexKey));
        Assert.Equal("dcep|operator/bank1", Text(DigitalCurrencyContract.OperatorKey("bank1")));
        Assert.Equal("dcep|forced/CASE-1", Text(DigitalCurrencyContract.ForcedTransferKey("CASE-1")));
        Assert.Equal("6463657000" + Convert.ToHexString("balance/"u8) + "00000000000000000000000000000102", Convert.ToHexString(DigitalCurrencyContract.BalanceKey(account)));
        Assert.StartsWith("dcep|wallet/", Text(DigitalCurrencyContract.WalletKey(account)));
        Assert.StartsWith("dcep|usage/", Text(DigitalCurrencyContract.UsageKey(account)));
        Assert.StartsWith("dcep|settlement/", Text(DigitalCurrencyContract.SettlementKey(account)));
        Assert.StartsWith("dcep|conditional/", Text(DigitalCurrencyContract.ConditionalKey(default)));
    }

    [Fact]
    public void Parameter_names_and_defaults_are_frozen()
    {
        Assert.Equal("dcep.class4.balanceMax", CurrencyParameters.BalanceMax(4));
        Assert.Equal("dcep.class2.paymentMax", CurrencyParameters.PaymentMax(2));
        Assert.Equal("dcep.class3.dailyMax", CurrencyParameters.DailyMax(3));
        Assert.Equal("dcep.class1.annualMax", CurrencyParameters.AnnualMax(1));
        Assert.Equal("dcep.largeValueThreshold", CurrencyParameters.LargeValueThreshold);
        Assert.Equal(new WalletLimits(1_000_000, 200_000, 500_000, 5_000_000), CurrencyParameters.Defaults(4));
        Assert.Equal(new WalletLimits(50_000_000, 5_000_000, 10_000_000, 100_000_000), CurrencyParameters.Defaults(2));
        Assert.Equal(new WalletLimits(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue), CurrencyParameters.Defaults(1));
        Assert.Equal(5_000_000UL, CurrencyParameters.DefaultLargeValueThreshold);
        Assert.Equal(("dcep", 1u), (DigitalCurrencyContract.ContractName, new DigitalCurrencyContract().Version));
    }

    [Fact]
    public void Cap_arithmetic_never_overflows()
    {
        Assert.True(CurrencyParameters.Fits(0, ulong.MaxValue, ulong.MaxValue));
        Assert.False(CurrencyParameters.Fits(1, ulong.MaxValue, ulong.MaxValue));
        Assert.True(CurrencyParameters.Fits(300, 200, 500));
        Assert.False(CurrencyParameters.Fits(300, 201, 500));
        Assert.False(CurrencyParameters.Fits(600, 0, 500));
        Assert.Equal("¥1,234,567.89", CurrencyParameters.Yuan(123_456_789));
    }
}
