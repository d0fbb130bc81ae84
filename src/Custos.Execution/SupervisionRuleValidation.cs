using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;

namespace Custos.Execution;

/// <summary>
/// Well-formedness of supervision rules (SUP-4): what system.supervision checks before it stores a rule, and what
/// the supervisor's rule engine checks again before it applies one. A rule carries only the fields its kind uses,
/// so that a regulator never believes a field it set (a window on a large-value rule, say) is in force when it is
/// not. The limits bound the engine's memory: its windows keep the payments of at most the longest window.
/// </summary>
public static class SupervisionRuleValidation
{
    public const int RuleIdLengthMax = 64;
    public const int AssetLengthMax = 64;
    public const int DescriptionLengthMax = 256;
    public const int RulesMax = 256;
    public const int WatchedAccountsMax = 1_000;
    public const uint CountMax = 100_000;
    public const ulong WindowBlocksMax = 1_000_000;

    /// <summary>Seven days of block time.</summary>
    public const ulong WindowMsMax = 7UL * 24 * 60 * 60 * 1000;

    public const uint BasisPoints = 10_000;

    /// <summary>The asset a rule with an empty <c>asset</c> looks at.</summary>
    public const string DefaultAsset = TokenContract.ContractName;

    public static string AssetOf(SupervisionRule rule) => rule.Asset.Length == 0 ? DefaultAsset : rule.Asset;

    /// <summary>The lowest amount of a structuring rule's band [lower, threshold).</summary>
    public static ulong StructuringLowerBound(SupervisionRule rule) =>
        rule.Threshold - (ulong)((UInt128)rule.Threshold * rule.FractionBps / BasisPoints);

    public static CustosError? Validate(SupervisionRule rule)
    {
        if (!IsName(rule.Id, RuleIdLengthMax)) return Refuse($"rule id '{Clip(rule.Id)}' is 1 to {RuleIdLengthMax} of a-z, 0-9, '.', '-', '_'");
        if (rule.Asset.Length > 0 && !IsName(rule.Asset, AssetLengthMax)) return Refuse($"rule {rule.Id}: asset is up to {AssetLengthMax} of a-z, 0-9, '.', '-', '_'");
        if (rule.Description.Length > DescriptionLengthMax) return Refuse($"rule {rule.Id}: the description is at most {DescriptionLengthMax} characters");
        if (rule.Severity is not (AlertSeverity.Low or AlertSeverity.Medium or AlertSeverity.High or AlertSeverity.Critical))
        {
            return Refuse($"rule {rule.Id}: severity must be low, medium, high or critical");
        }

        if (rule.WindowBlocks > WindowBlocksMax) return Refuse($"rule {rule.Id}: window_blocks is at most {WindowBlocksMax}");
        if (rule.WindowMs > WindowMsMax) return Refuse($"rule {rule.Id}: window_ms is at most {WindowMsMax} (seven days)");
        if (rule.Count > CountMax) return Refuse($"rule {rule.Id}: count is at most {CountMax}");

        return rule.Kind switch
        {
            SupervisionRuleKind.LargeValue => ValidateLargeValue(rule),
            SupervisionRuleKind.Velocity => ValidateVelocity(rule),
            SupervisionRuleKind.Structuring => ValidateStructuring(rule),
            SupervisionRuleKind.WatchedAccount => ValidateWatchedAccount(rule),
            _ => Refuse($"rule {rule.Id}: kind must be large value, velocity, structuring or watched account"),
        };
    }

    /// <summary>A whole rule set: every rule well formed, ids unique, at most <see cref="RulesMax"/> rules.</summary>
    public static CustosError? ValidateSet(IReadOnlyCollection<SupervisionRule> rules)
    {
        if (rules.Count > RulesMax) return new CustosError(ErrorCode.LimitExceeded, $"at most {RulesMax} supervision rules");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            if (Validate(rule) is { } error) return error;
            if (!ids.Add(rule.Id)) return Refuse($"rule id {rule.Id} appears twice");
        }

        return null;
    }

    private static CustosError? ValidateLargeValue(SupervisionRule rule)
    {
        if (rule.Threshold == 0) return Refuse($"rule {rule.Id}: a large-value rule needs a threshold");
        return NoWindow(rule) ?? NoCount(rule) ?? NoFraction(rule) ?? NoWatched(rule);
    }

    private static CustosError? ValidateVelocity(SupervisionRule rule)
    {
        if (rule.Count == 0 && rule.Threshold == 0) return Refuse($"rule {rule.Id}: a velocity rule needs a count, a threshold (total) or both");
        if (rule.Count == 1) return Refuse($"rule {rule.Id}: a velocity count of 1 alerts on every payment; use at least 2");
        return NeedsWindow(rule) ?? NoFraction(rule) ?? NoWatched(rule);
    }

    private static CustosError? ValidateStructuring(SupervisionRule rule)
    {
        if (rule.Threshold == 0) return Refuse($"rule {rule.Id}: a structuring rule needs the threshold payments stay under");
        if (rule.Count < 2) return Refuse($"rule {rule.Id}: a structuring rule needs a count of at least 2");
        if (rule.FractionBps is 0 or >= BasisPoints) return Refuse($"rule {rule.Id}: fraction_bps is 1 to {BasisPoints - 1}");
        if (StructuringLowerBound(rule) == rule.Threshold) return Refuse($"rule {rule.Id}: the band under the threshold is empty (threshold too small for fraction_bps)");
        return NeedsWindow(rule) ?? NoWatched(rule);
    }

    private static CustosError? ValidateWatchedAccount(SupervisionRule rule)
    {
        if (rule.WatchedAccounts.Count == 0) return Refuse($"rule {rule.Id}: a watched-account rule names at least one account");
        if (rule.WatchedAccounts.Count > WatchedAccountsMax) return Refuse($"rule {rule.Id}: at most {WatchedAccountsMax} watched accounts");
        var seen = new HashSet<AccountId>();
        foreach (var account in rule.WatchedAccounts)
        {
            if (!AccountId.TryCreate(account.Span, out var id)) return Refuse($"rule {rule.Id}: a watched account id is {AccountId.SizeBytes} bytes");
            if (!seen.Add(id)) return Refuse($"rule {rule.Id}: account {id} is watched twice");
        }

        return NoWindow(rule) ?? NoCount(rule) ?? NoFraction(rule);
    }

    private static CustosError? NeedsWindow(SupervisionRule rule) =>
        rule.WindowBlocks == 0 && rule.WindowMs == 0 ? Refuse($"rule {rule.Id}: set window_blocks, window_ms or both") : null;

    private static CustosError? NoWindow(SupervisionRule rule) =>
        rule.WindowBlocks != 0 || rule.WindowMs != 0 ? Refuse($"rule {rule.Id}: a {rule.Kind} rule has no window") : null;

    private static CustosError? NoCount(SupervisionRule rule) => rule.Count != 0 ? Refuse($"rule {rule.Id}: a {rule.Kind} rule has no count") : null;

    private static CustosError? NoFraction(SupervisionRule rule) => rule.FractionBps != 0 ? Refuse($"rule {rule.Id}: only a structuring rule has fraction_bps") : null;

    private static CustosError? NoWatched(SupervisionRule rule) =>
        rule.WatchedAccounts.Count != 0 ? Refuse($"rule {rule.Id}: only a watched-account rule names accounts") : null;

    private static bool IsName(string text, int lengthMax)
    {
        if (text.Length is 0 || text.Length > lengthMax) return false;
        foreach (var c in text)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '-' or '_')) return false;
        }

        return true;
    }

    private static string Clip(string text) => text.Length <= RuleIdLengthMax ? text : text[..RuleIdLengthMax] + "...";

    private static CustosError Refuse(string message) => new(ErrorCode.InvalidArguments, message);
}
