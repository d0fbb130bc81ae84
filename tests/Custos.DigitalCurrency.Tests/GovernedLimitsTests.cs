using Custos.Governance;

namespace Custos.DigitalCurrency.Tests;

/// <summary>Wallet limits are governance parameters: every name the currency reads is one governance may set.</summary>
public sealed class GovernedLimitsTests
{
    [Fact]
    public void Every_limit_the_currency_reads_can_be_set_by_governance()
    {
        var names = Enumerable.Range((int)CurrencyParameters.StrongestClass, (int)(CurrencyParameters.WeakestClass - CurrencyParameters.StrongestClass + 1))
            .SelectMany(c => new[] { CurrencyParameters.BalanceMax((uint)c), CurrencyParameters.PaymentMax((uint)c), CurrencyParameters.DailyMax((uint)c), CurrencyParameters.AnnualMax((uint)c) })
            .Append(CurrencyParameters.LargeValueThreshold)
            .ToList();

        Assert.Equal(17, names.Count);
        Assert.All(names, name => Assert.True(ChainParameters.Known.ContainsKey(name), $"{name} is not a parameter governance knows"));
    }
}
