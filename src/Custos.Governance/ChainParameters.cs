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
    }.ToDictionary(p => p.Name, StringComparer.Ordinal);

    public static ulong ProposalLifetime(IStateReader state) =>
        ConsortiumRegistry.Parameter(state, ProposalLifetimeBlocks, DefaultProposalLifetimeBlocks);
}
