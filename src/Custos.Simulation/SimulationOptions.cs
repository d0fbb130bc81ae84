using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Simulation;

/// <summary>The kinds of fault a run may inject. Each run draws its concrete faults from its seed.</summary>
[Flags]
public enum FaultSet
{
    None = 0,

    /// <summary>Loss, duplication, delay and reordering, partitions that heal.</summary>
    Network = 1,

    /// <summary>Crashes and restarts from durable state; slow disks.</summary>
    Crash = 2,

    /// <summary>Up to f Byzantine validators, each with one behaviour (equivocation, Twins, withholding, replay, forgery, forking).</summary>
    Byzantine = 4,

    /// <summary>Validator-set changes at epoch boundaries decided by the simulated execution.</summary>
    Epochs = 8,

    /// <summary>Clock skew between nodes.</summary>
    Skew = 16,

    All = Network | Crash | Byzantine | Epochs | Skew,
}

/// <summary>Deliberately broken engines that the checkers must catch.</summary>
public enum SimulationMutation
{
    None,

    /// <summary>Honest engines ignore their lock: they vote for any block of a new round.</summary>
    SkipLock,

    /// <summary>Honest engines forget their safety state when they restart.</summary>
    DoubleVoteAfterRestart,

    /// <summary>
    /// With the currency workload: the currency contract credits every payee one fen more than was paid. Replicas
    /// agree on the wrong state; the conservation checker must catch it.
    /// </summary>
    Counterfeit,
}

/// <summary>What the blocks carry and how committed blocks are executed.</summary>
public enum SimulationWorkload
{
    /// <summary>One small signed note per block; the simulated executor chains block hashes into the state root.</summary>
    Notes,

    /// <summary>
    /// Signed transactions of the two-tier digital currency (apps/Custos.DigitalCurrency), executed by the real block
    /// executor and contracts on every replica, with the state root taken from the executed state and conservation
    /// of money checked after every commit.
    /// </summary>
    DigitalCurrency,
}

public sealed record SimulationOptions
{
    public int Validators { get; init; } = 4;

    public FaultSet Faults { get; init; } = FaultSet.All;

    public SimulationMutation Mutation { get; init; } = SimulationMutation.None;

    public SimulationWorkload Workload { get; init; } = SimulationWorkload.Notes;

    /// <summary>"intl" (default: fast verification) or "gm".</summary>
    public string Crypto { get; init; } = "intl";

    /// <summary>Longest virtual time during which faults are injected; each run draws its own length up to this.</summary>
    public long FaultPhaseMsMax { get; init; } = 12_000;

    /// <summary>After the last fault heals, every honest node must commit a new block within this virtual time.</summary>
    public long LivenessBoundMs { get; init; } = 45_000;

    /// <summary>New blocks every honest node commits after the heal before a run ends early.</summary>
    public int CommitsAfterHeal { get; init; } = 3;

    /// <summary>Processed events after which a run stops and counts as a liveness failure.</summary>
    public long EventsMax { get; init; } = 3_000_000;

    public static SimulationMutation ParseMutation(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "none" => SimulationMutation.None,
        "skip-lock" => SimulationMutation.SkipLock,
        "double-vote-after-restart" => SimulationMutation.DoubleVoteAfterRestart,
        "counterfeit" => SimulationMutation.Counterfeit,
        _ => throw new CustosException(ErrorCode.InvalidField, $"unknown mutation '{text}' (none, skip-lock, double-vote-after-restart, counterfeit)"),
    };

    public static SimulationWorkload ParseWorkload(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "notes" => SimulationWorkload.Notes,
        "dcep" => SimulationWorkload.DigitalCurrency,
        _ => throw new CustosException(ErrorCode.InvalidField, $"unknown workload '{text}' (notes, dcep)"),
    };

    public static FaultSet ParseFaults(string? text)
    {
        var result = FaultSet.None;
        foreach (var part in (text ?? "all").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result |= part.ToLowerInvariant() switch
            {
                "all" => FaultSet.All,
                "none" => FaultSet.None,
                "network" => FaultSet.Network,
                "crash" => FaultSet.Crash,
                "byzantine" => FaultSet.Byzantine,
                "epochs" => FaultSet.Epochs,
                "skew" => FaultSet.Skew,
                _ => throw new CustosException(ErrorCode.InvalidField, $"unknown fault '{part}' (all, none, network, crash, byzantine, epochs, skew)"),
            };
        }

        return result;
    }
}

/// <summary>What one seeded run found.</summary>
public sealed record SimulationResult
{
    public required int Seed { get; init; }

    /// <summary>Broken safety properties (agreement, no loss, vote once, evidence, halts); a run stops at the first.</summary>
    public required IReadOnlyList<string> SafetyViolations { get; init; }

    public string? LivenessFailure { get; init; }

    /// <summary>Height of the highest block any honest node committed.</summary>
    public required ulong Commits { get; init; }

    /// <summary>Distinct pieces of equivocation evidence honest nodes emitted (all verified).</summary>
    public required int Evidence { get; init; }

    public required ulong Rounds { get; init; }

    public required long VirtualMs { get; init; }

    public required long Events { get; init; }

    /// <summary>Average rounds from a block's own round to the round in which node 0 committed it.</summary>
    public double RoundsToCommit { get; init; }

    /// <summary>One line describing the faults the seed drew.</summary>
    public required string Scenario { get; init; }

    /// <summary>What the currency workload did (null with the notes workload).</summary>
    public CurrencyFigures? Currency { get; init; }
}
