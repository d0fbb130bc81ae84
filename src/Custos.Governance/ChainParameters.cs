using Custos.Core;
using Custos.Execution;

namespace Custos.Governance;

/// <summary>A chain parameter governance may set, with the values it accepts.</summary>
public sealed record ChainParameter(string Name, ulong Minimum, ulong Maximum, ulong Default, string Meaning);

/// <summary>
/// The chain parameters governance knows (docs/governance.md). A name is listed only once something reads it: a
/// parameter nobody reads would let a proposal pass and change nothing.
/// </summary>
public static class ChainParameters
{
    public const string ProposalLifetimeBlocks = "proposalLifetimeBlocks";

    public const ulong DefaultProposalLifetimeBlocks = 1_000;

    public const ulong ProposalLifetimeBlocksMax = 1_000_000;

    public static IReadOnlyDictionary<string, ChainParameter> Known { get; } = new[]
    {
        new ChainParameter(ConsortiumRegistry.MinimumValidatorsParameter, 1, (ulong)WireLimits.ValidatorsMax, ConsortiumRegistry.DefaultMinimumValidators,
            "the fewest validators a change may leave (GOV-1); never above the current validator count"),
        new ChainParameter(ConsortiumRegistry.ValidatorAlertThresholdParameter, 0, (ulong)WireLimits.ValidatorsMax, ConsortiumRegistry.DefaultMinimumValidators,
            "at or below this many validators the network warns (GOV-1); defaults to minimumValidators"),
        new ChainParameter(ProposalLifetimeBlocks, 1, ProposalLifetimeBlocksMax, DefaultProposalLifetimeBlocks,
            "blocks a governance proposal stays open; a proposal may ask for fewer"),
        new ChainParameter(ConsortiumRegistry.BlockTransactionsMaxParameter, 1, 100_000, 0,
            "the most transactions a proposer puts in a block (the node's proposer reads it; genesis's blockTransactionsMax until set)"),
        new ChainParameter(ConsortiumRegistry.RoundTimeoutMsParameter, 100, 600_000, 0,
            "the consensus round timer's base in milliseconds (each node applies it once committed; genesis's value until set)"),
        new ChainParameter(ConsortiumRegistry.RoundTimeoutMsMaxParameter, 100, 3_600_000, 0,
            "the round timer's ceiling after back-off, in milliseconds"),
    }.Concat(DigitalCurrencyLimits()).ToDictionary(p => p.Name, StringComparer.Ordinal);

    /// <summary>
    /// The digital currency's wallet limits (apps/Custos.DigitalCurrency, `CurrencyParameters`; the names are
    /// checked against it by a test there): per class 1..4 the balance, per-payment, daily and annual caps in fen
    /// (ulong.MaxValue for no cap), and the large-value report threshold.
    /// </summary>
    private static IEnumerable<ChainParameter> DigitalCurrencyLimits()
    {
        for (var walletClass = 1; walletClass <= 4; walletClass++)
        {
            foreach (var limit in new[] { "balanceMax", "paymentMax", "dailyMax", "annualMax" })
            {
                yield return new ChainParameter($"dcep.class{walletClass}.{limit}", 0, ulong.MaxValue, 0, $"digital currency: class {walletClass} wallets' {limit} in fen");
            }
        }

        yield return new ChainParameter("dcep.largeValueThreshold", 1, ulong.MaxValue, 5_000_000, "digital currency: payments at or above it are reported to the supervisor (fen)");
    }

    public static ulong ProposalLifetime(IStateReader state) =>
        ConsortiumRegistry.Parameter(state, ProposalLifetimeBlocks, DefaultProposalLifetimeBlocks);
}
