using System.Diagnostics;

namespace Custos.Simulation;

/// <summary>What a batch of seeds found.</summary>
public sealed record SimulationSummary(int Seeds, int SafetyViolations, int LivenessFailures, ulong Commits, long Evidence, TimeSpan Elapsed, IReadOnlyList<SimulationResult> Results)
{
    public bool Passed => SafetyViolations == 0 && LivenessFailures == 0;

    public double SeedsPerSecond => Elapsed.TotalSeconds > 0 ? Seeds / Elapsed.TotalSeconds : 0;

    /// <summary>The line `custos sim` prints: <c>sim: S seeds, V safety violations, L liveness failures, C commits, E evidence</c>.</summary>
    public string SummaryLine => $"sim: {Seeds} seeds, {SafetyViolations} safety violations, {LivenessFailures} liveness failures, {Commits} commits, {Evidence} evidence";
}

/// <summary>Runs many seeds, spread over the cores; each run is independent and deterministic.</summary>
public static class SimulationRunner
{
    /// <param name="onResult">Called (from worker threads) as each seed finishes.</param>
    public static SimulationSummary Run(int firstSeed, int seeds, SimulationOptions options, int parallelism = 0, Action<SimulationResult>? onResult = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var results = new SimulationResult[seeds];
        var stopwatch = Stopwatch.StartNew();
        Parallel.For(0, seeds, new ParallelOptions { MaxDegreeOfParallelism = parallelism > 0 ? parallelism : Environment.ProcessorCount }, i =>
        {
            results[i] = new Simulation(firstSeed + i, options).Run();
            onResult?.Invoke(results[i]);
        });
        stopwatch.Stop();
        return new SimulationSummary(
            seeds,
            results.Count(r => r.SafetyViolations.Count > 0),
            results.Count(r => r.SafetyViolations.Count == 0 && r.LivenessFailure is not null),
            results.Aggregate(0UL, (sum, r) => sum + r.Commits),
            results.Sum(r => (long)r.Evidence),
            stopwatch.Elapsed,
            results);
    }
}
