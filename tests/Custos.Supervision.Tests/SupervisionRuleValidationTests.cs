using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;
using static Custos.Supervision.Tests.Chain;

namespace Custos.Supervision.Tests;

public sealed class SupervisionRuleValidationTests
{
    public static TheoryData<string, SupervisionRule> WellFormed => new()
    {
        { "large value", LargeValue("large", 50_000) },
        { "velocity by count", Velocity("fast", count: 10, windowBlocks: 100) },
        { "velocity by total", Velocity("much", total: 1_000_000, windowMs: 3_600_000) },
        { "velocity by both windows", Velocity("both", count: 5, total: 10, windowBlocks: 10, windowMs: 10_000) },
        { "structuring", Structuring("smurf", 50_000, 1_000, 3, windowMs: 86_400_000) },
        { "watched", Watched("watch", 1, 2, 3) },
        { "longest windows", Velocity("long", count: 2, windowBlocks: SupervisionRuleValidation.WindowBlocksMax, windowMs: SupervisionRuleValidation.WindowMsMax) },
    };

    [Theory]
    [MemberData(nameof(WellFormed))]
    public void Well_formed_rules_are_accepted(string what, SupervisionRule rule)
    {
        Assert.True(SupervisionRuleValidation.Validate(rule) is null, what);
    }

    public static TheoryData<string, SupervisionRule> Refused => new()
    {
        { "empty id", LargeValue("", 1) },
        { "upper-case id", LargeValue("Large", 1) },
        { "id with a space", LargeValue("large value", 1) },
        { "id too long", LargeValue(new string('a', 65), 1) },
        { "no kind", new SupervisionRule { Id = "x", Threshold = 1, Severity = AlertSeverity.Low, Enabled = true } },
        { "unknown kind", With(LargeValue("x", 1), r => r.Kind = (SupervisionRuleKind)99) },
        { "no severity", With(LargeValue("x", 1), r => r.Severity = AlertSeverity.Unspecified) },
        { "bad asset", With(LargeValue("x", 1), r => r.Asset = "Token!") },
        { "long description", With(LargeValue("x", 1), r => r.Description = new string('d', 257)) },
        { "large value without threshold", LargeValue("x", 0) },
        { "large value with a window", With(LargeValue("x", 1), r => r.WindowBlocks = 5) },
        { "large value with a count", With(LargeValue("x", 1), r => r.Count = 5) },
        { "large value with accounts", With(LargeValue("x", 1), r => r.WatchedAccounts.Add(Account(1).ToByteString())) },
        { "velocity without count or total", Velocity("x", windowBlocks: 5) },
        { "velocity count of one", Velocity("x", count: 1, windowBlocks: 5) },
        { "velocity without window", Velocity("x", count: 5) },
        { "velocity with a fraction", With(Velocity("x", count: 5, windowBlocks: 5), r => r.FractionBps = 100) },
        { "window blocks over the maximum", Velocity("x", count: 5, windowBlocks: SupervisionRuleValidation.WindowBlocksMax + 1) },
        { "window ms over the maximum", Velocity("x", count: 5, windowMs: SupervisionRuleValidation.WindowMsMax + 1) },
        { "count over the maximum", Velocity("x", count: SupervisionRuleValidation.CountMax + 1, windowBlocks: 5) },
        { "structuring without threshold", Structuring("x", 0, 100, 3, windowBlocks: 5) },
        { "structuring count of one", Structuring("x", 1_000, 100, 1, windowBlocks: 5) },
        { "structuring without fraction", Structuring("x", 1_000, 0, 3, windowBlocks: 5) },
        { "structuring fraction of the whole threshold", Structuring("x", 1_000, 10_000, 3, windowBlocks: 5) },
        { "structuring band rounds to nothing", Structuring("x", 99, 100, 3, windowBlocks: 5) },
        { "structuring without window", Structuring("x", 1_000, 100, 3) },
        { "watched without accounts", Watched("x") },
        { "watched account of the wrong length", With(Watched("x", 1), r => r.WatchedAccounts.Add(ByteString.CopyFrom(1, 2, 3))) },
        { "account watched twice", Watched("x", 1, 1) },
        { "watched with a window", With(Watched("x", 1), r => r.WindowMs = 1_000) },
        { "too many watched accounts", Watched("x", Enumerable.Range(1, SupervisionRuleValidation.WatchedAccountsMax + 1).Select(i => (ulong)i).ToArray()) },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Malformed_rules_are_refused_with_invalid_arguments(string what, SupervisionRule rule)
    {
        var error = SupervisionRuleValidation.Validate(rule);

        Assert.True(error is not null, what);
        Assert.Equal(ErrorCode.InvalidArguments, error.Code);
    }

    [Fact]
    public void Structuring_band_width_is_rounded_down_so_the_band_is_never_wider_than_asked()
    {
        // 10,001 x 1% = 100.01: the band is [9,901, 10,001), a width of 100.
        Assert.Equal(9_901UL, SupervisionRuleValidation.StructuringLowerBound(Structuring("x", 10_001, 100, 2, windowBlocks: 1)));
        Assert.Equal(ulong.MaxValue - (ulong.MaxValue / 10_000), SupervisionRuleValidation.StructuringLowerBound(Structuring("x", ulong.MaxValue, 1, 2, windowBlocks: 1)));
    }

    [Fact]
    public void Rule_set_with_a_repeated_id_is_refused()
    {
        var error = SupervisionRuleValidation.ValidateSet([LargeValue("same", 1), Watched("same", 1)]);

        Assert.Equal(ErrorCode.InvalidArguments, error?.Code);
    }

    [Fact]
    public void Rule_set_above_the_maximum_is_refused_as_a_limit()
    {
        var rules = Enumerable.Range(0, SupervisionRuleValidation.RulesMax + 1).Select(i => LargeValue($"r{i}", 1)).ToList();

        Assert.Equal(ErrorCode.LimitExceeded, SupervisionRuleValidation.ValidateSet(rules)?.Code);
        Assert.Null(SupervisionRuleValidation.ValidateSet(rules.Take(SupervisionRuleValidation.RulesMax).ToList()));
    }

    [Fact]
    public void Rule_set_reports_the_first_malformed_rule()
    {
        var error = SupervisionRuleValidation.ValidateSet([LargeValue("fine", 1), LargeValue("broken", 0)]);

        Assert.Contains("broken", error?.Message);
    }

    private static SupervisionRule With(SupervisionRule rule, Action<SupervisionRule> change)
    {
        change(rule);
        return rule;
    }
}
