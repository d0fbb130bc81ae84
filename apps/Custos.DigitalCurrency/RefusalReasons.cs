using Custos.Core;
using Custos.Core.Wire;

namespace Custos.DigitalCurrency;

/// <summary>
/// Short, stable labels for the currency's refusals, for summaries that count refused payments by reason. A limit
/// refusal is named by the limit its message names; any other refusal by its error code.
/// </summary>
public static class RefusalReasons
{
    public const string PerPaymentLimit = "per-payment limit";
    public const string DailyLimit = "daily limit";
    public const string AnnualLimit = "annual limit";
    public const string BalanceLimit = "balance limit";

    public static string Of(ErrorCode code, string message)
    {
        if (code != ErrorCode.LimitExceeded) return ErrorCodes.Name(code);
        foreach (var limit in (ReadOnlySpan<string>)[PerPaymentLimit, DailyLimit, AnnualLimit, BalanceLimit])
        {
            if (message.Contains(limit, StringComparison.Ordinal)) return limit;
        }

        return ErrorCodes.Name(code);
    }
}
