using System.CommandLine;
using System.Globalization;
using System.Text;
using Custos.Simulation;

namespace Custos.Cli;

/// <summary>
/// `custos sim`: runs the deterministic whole-network simulator (docs/consensus.md, section 11). Prints one line
/// per failing seed, then (with `--workload dcep`) the currency's totals, then
/// `sim: S seeds, V safety violations, L liveness failures, C commits, E evidence`; exits 1 if any seed broke safety
/// or liveness. `--seed X --trace FILE` replays one seed and writes its full trace.
/// </summary>
internal static class SimulationCommands
{
    public const int ExitViolations = 1;

    public static Command Create(TextWriter output)
    {
        var seeds = new Option<int>("--seeds") { Description = "Number of seeds to run", DefaultValueFactory = _ => 100 };
        var seed = new Option<int?>("--seed") { Description = "Run this one seed (with --trace to record it)" };
        var firstSeed = new Option<int>("--first-seed") { Description = "First seed of a --seeds batch", DefaultValueFactory = _ => 1 };
        var validators = new Option<int>("--validators") { Description = "Validators (n = 3f + 1 tolerates f Byzantine)", DefaultValueFactory = _ => 4 };
        var faults = new Option<string>("--faults") { Description = "all, none, or a comma list of network,crash,byzantine,epochs,skew", DefaultValueFactory = _ => "all" };
        var mutation = new Option<string>("--mutation") { Description = "A deliberately broken engine: none, skip-lock, double-vote-after-restart; counterfeit (a broken currency contract, with --workload dcep)", DefaultValueFactory = _ => "none" };
        var workload = new Option<string>("--workload") { Description = "What blocks carry: notes (one note per block) or dcep (digital-currency payments executed by the real contracts, conservation checked)", DefaultValueFactory = _ => "notes" };
        workload.AcceptOnlyFromAmong("notes", "dcep");
        var trace = new Option<string?>("--trace") { Description = "Write the run's trace to this file (needs --seed)" };
        var crypto = new Option<string>("--crypto") { Description = "Suite the simulated chain uses: intl (fast) or gm", DefaultValueFactory = _ => "intl" };
        crypto.AcceptOnlyFromAmong("gm", "intl");
        var parallel = new Option<int>("--parallel") { Description = "Seeds run at once (default: one per core)", DefaultValueFactory = _ => 0 };
        var verbose = new Option<bool>("--verbose") { Description = "Print one line per seed" };
        var command = new Command("sim", "Run the deterministic consensus simulator over many seeds")
        {
            seeds, seed, firstSeed, validators, faults, mutation, workload, trace, crypto, parallel, verbose,
        };
        command.SetAction(parse =>
        {
            var options = new SimulationOptions
            {
                Validators = parse.GetValue(validators),
                Faults = SimulationOptions.ParseFaults(parse.GetValue(faults)),
                Mutation = SimulationOptions.ParseMutation(parse.GetValue(mutation)),
                Crypto = parse.GetValue(crypto)!,
                Workload = SimulationOptions.ParseWorkload(parse.GetValue(workload)),
            };
            var tracePath = parse.GetValue(trace);
            if (parse.GetValue(seed) is { } single)
            {
                return RunOne(single, options, tracePath, output);
            }

            if (tracePath is not null) throw new Core.CustosException(Core.Wire.ErrorCode.InvalidField, "--trace records one run: give --seed");
            if (parse.GetValue(seeds) < 1) throw new Core.CustosException(Core.Wire.ErrorCode.InvalidField, "--seeds must be at least 1");
            var printAll = parse.GetValue(verbose);
            var gate = new object();
            var summary = SimulationRunner.Run(parse.GetValue(firstSeed), parse.GetValue(seeds), options, parse.GetValue(parallel), result =>
            {
                if (!printAll && result.SafetyViolations.Count == 0 && result.LivenessFailure is null) return;
                lock (gate) output.WriteLine(Custos.Simulation.Simulation.Describe(result));
            });
            var measured = summary.Results.Where(r => r.RoundsToCommit > 0).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"elapsed {summary.Elapsed.TotalSeconds:F1} s, {summary.SeedsPerSecond:F1} seeds/s, {summary.Results.Average(r => (double)r.Rounds):F0} rounds and {summary.Results.Average(r => (double)r.Events):F0} events per seed, {(measured.Count == 0 ? 0 : measured.Average(r => r.RoundsToCommit)):F2} rounds from a block's round to its commit"));
            if (summary.Results.Any(r => r.Currency is not null)) output.WriteLine(CurrencyLine(summary.Results));
            output.WriteLine(summary.SummaryLine);
            return summary.Passed ? 0 : ExitViolations;
        });
        return command;
    }

    /// <summary>The currency workload's totals over the seeds, printed before the summary line (which stays the last).</summary>
    private static string CurrencyLine(IReadOnlyList<SimulationResult> results)
    {
        var figures = results.Select(r => r.Currency).OfType<CurrencyFigures>().ToList();
        var reasons = figures.SelectMany(f => f.RefusalsByReason).GroupBy(r => r.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Sum(r => r.Value)}");
        return string.Create(CultureInfo.InvariantCulture,
            $"dcep: {figures.Sum(f => f.Transactions)} transactions, {figures.Sum(f => f.Payments)} payments, {figures.Sum(f => f.Refusals)} refused ({string.Join(", ", reasons)}), {figures.Sum(f => f.AuditsPassed)} conservation audits held");
    }

    private static int RunOne(int seed, SimulationOptions options, string? tracePath, TextWriter output)
    {
        SimulationResult result;
        if (tracePath is null)
        {
            result = new Custos.Simulation.Simulation(seed, options).Run();
        }
        else
        {
            using var writer = new StreamWriter(tracePath, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            result = new Custos.Simulation.Simulation(seed, options, writer).Run();
        }

        output.WriteLine(Custos.Simulation.Simulation.Describe(result));
        var violations = result.SafetyViolations.Count > 0 ? 1 : 0;
        var liveness = violations == 0 && result.LivenessFailure is not null ? 1 : 0;
        output.WriteLine($"sim: 1 seeds, {violations} safety violations, {liveness} liveness failures, {result.Commits} commits, {result.Evidence} evidence");
        return violations + liveness == 0 ? 0 : ExitViolations;
    }
}
