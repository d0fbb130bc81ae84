using Custos.Core;
using Custos.DigitalCurrency.Wire;
using Custos.Execution;

namespace Custos.DigitalCurrency;

/// <summary>The supply check at one height: the totals against the balances of every holder the caller names.</summary>
public sealed record SupplyAuditResult(ulong Issued, ulong Redeemed, ulong Supply, ulong Escrowed, ulong SumOfBalances)
{
    /// <summary>supply == issued − redeemed == Σ balances + escrowed.</summary>
    public bool Holds => Redeemed <= Issued && Supply == Issued - Redeemed && SumOfBalances <= Supply && Supply - SumOfBalances == Escrowed;

    public override string ToString() =>
        $"issued {CurrencyParameters.Yuan(Issued)} − redeemed {CurrencyParameters.Yuan(Redeemed)} = supply {CurrencyParameters.Yuan(Supply)}; "
        + $"balances {CurrencyParameters.Yuan(SumOfBalances)} + escrowed {CurrencyParameters.Yuan(Escrowed)}: {(Holds ? "holds" : "BROKEN")}";
}

/// <summary>
/// Checks conservation of money from state reads alone, as a client or the scenario does: state has no range scans,
/// so the caller names every account that may hold money (the operators' settlement accounts and every wallet).
/// </summary>
public static class SupplyAudit
{
    public static SupplyAuditResult Run(IStateReader state, IEnumerable<AccountId> holders)
    {
        var totals = DigitalCurrencyContract.ReadTotals(state);
        var sum = 0UL;
        foreach (var holder in holders.Distinct()) sum = checked(sum + DigitalCurrencyContract.ReadBalance(state, holder));
        return new SupplyAuditResult(totals.Issued, totals.Redeemed, totals.Supply, totals.Escrowed, sum);
    }

    /// <summary>The settlement accounts of every registered operator, for <see cref="Run"/>.</summary>
    public static IEnumerable<AccountId> SettlementAccounts(IStateReader state) =>
        DigitalCurrencyContract.ReadOperators(state).Select(o => new AccountId(o.SettlementAccount.Span));
}
