using Custos.Consensus;
using Custos.Core.Wire;
using Custos.Crypto;

namespace Custos.Simulation.Tests;

/// <summary>
/// The deterministic simulator as the main test of the protocol (docs/consensus.md section 11): many seeds with every
/// fault, reproducibility, and proof that its checkers fire on deliberately broken engines.
/// </summary>
public sealed class SimulatorTests
{
    private static string Failures(SimulationSummary summary) =>
        string.Join("\n", summary.Results.Where(r => r.SafetyViolations.Count > 0 || r.LivenessFailure is not null).Select(Simulation.Describe));

    [Fact]
    public void Two_hundred_seeds_with_every_fault_keep_safety_and_liveness_with_four_validators()
    {
        var summary = SimulationRunner.Run(firstSeed: 1, seeds: 200, new SimulationOptions { Validators = 4, Faults = FaultSet.All });
        Assert.True(summary.Passed, Failures(summary));
        Assert.True(summary.Commits > 2_000);
        Assert.True(summary.Evidence > 0, "no run produced evidence, so the equivocating adversaries did nothing");
    }

    [Fact]
    public void Two_hundred_seeds_with_every_fault_keep_safety_and_liveness_with_seven_validators()
    {
        var summary = SimulationRunner.Run(firstSeed: 1, seeds: 200, new SimulationOptions { Validators = 7, Faults = FaultSet.All });
        Assert.True(summary.Passed, Failures(summary));
        Assert.True(summary.Commits > 1_000);
    }

    [Fact]
    public void Skip_lock_mutation_is_caught_as_a_safety_violation()
    {
        var summary = SimulationRunner.Run(firstSeed: 1, seeds: 100, new SimulationOptions { Mutation = SimulationMutation.SkipLock });
        Assert.True(summary.SafetyViolations > 0, "an engine that ignores its lock went unnoticed");
        Assert.Contains(summary.Results, r => r.SafetyViolations.Any(v => v.StartsWith("agreement", StringComparison.Ordinal)));
    }

    [Fact]
    public void Double_vote_after_restart_mutation_is_caught_as_a_safety_violation()
    {
        var summary = SimulationRunner.Run(firstSeed: 1, seeds: 60, new SimulationOptions { Mutation = SimulationMutation.DoubleVoteAfterRestart });
        Assert.True(summary.SafetyViolations > 0, "an engine that forgets what it signed went unnoticed");
        Assert.Contains(summary.Results, r => r.SafetyViolations.Any(v => v.StartsWith("vote once", StringComparison.Ordinal)));
    }

    [Fact]
    public void Happy_path_commits_a_block_per_round_two_rounds_after_its_own()
    {
        var result = new Simulation(7, new SimulationOptions { Faults = FaultSet.None }).Run();
        Assert.Empty(result.SafetyViolations);
        Assert.Null(result.LivenessFailure);
        Assert.True(result.Commits + 3 >= result.Rounds, $"{result.Commits} blocks in {result.Rounds} rounds");
        Assert.InRange(result.RoundsToCommit, 2.0, 2.5);
    }

    [Fact]
    public void Seed_reproduces_its_trace_byte_for_byte()
    {
        var first = new StringWriter();
        var second = new StringWriter();
        var a = new Simulation(4, new SimulationOptions(), first).Run();
        var b = new Simulation(4, new SimulationOptions(), second).Run();
        Assert.Equal(Simulation.Describe(a), Simulation.Describe(b));
        Assert.True(first.ToString().Length > 10_000);
        Assert.Equal(first.ToString(), second.ToString());
    }

    [Fact]
    public void Different_seeds_draw_different_runs()
    {
        var a = new Simulation(11, new SimulationOptions()).Run();
        var b = new Simulation(12, new SimulationOptions()).Run();
        Assert.NotEqual(a.Scenario + a.Events, b.Scenario + b.Events);
    }

    /// <summary>Seeds that once failed, kept with what they taught.</summary>
    [Theory]
    [InlineData(1, "all", "a validator that moved to the next epoch must help those left in the old one, or the old epoch loses its quorum")]
    [InlineData(1, "none", "votes can overtake their proposal; the proposal must still enter the tree, and catch-up must not answer itself in a storm")]
    [InlineData(48, "all", "a forking leader that withholds a QC and proposes against the lock: refused by honest engines, the round times out")]
    [InlineData(79, "all", "forking leader with a partition: liveness returns once the partition heals")]
    public void Regression_seed_keeps_safety_and_liveness(int seed, string faults, string lesson)
    {
        var result = new Simulation(seed, new SimulationOptions { Faults = SimulationOptions.ParseFaults(faults) }).Run();
        Assert.True(result.SafetyViolations.Count == 0 && result.LivenessFailure is null, $"{lesson}: {Simulation.Describe(result)}");
    }

    [Fact]
    public void Every_honest_journal_passes_the_audit_after_a_faulty_run()
    {
        foreach (var seed in new[] { 4, 9, 48 })
        {
            var simulation = new Simulation(seed, new SimulationOptions());
            var result = simulation.Run();
            Assert.Empty(result.SafetyViolations);
            var sets = Enumerable.Range(1, 64).ToDictionary(e => (ulong)e, e => simulation.Plan.SetFor((ulong)e));
            foreach (var replica in simulation.Nodes.Where(n => !n.Byzantine).SelectMany(n => n.Replicas))
            {
                var report = ConsensusAudit.Verify(replica.Journal.Records, [.. replica.Ledger.Select(l => l.Block)], sets, Simulation.ChainIdentifier, simulation.Suite);
                Assert.True(report.Passed, $"seed {seed}, {replica.Name}:\n{string.Join("\n", report.Failures.Take(5))}");
                Assert.True(report.CommitsVerified > 0);
            }
        }
    }

    [Theory]
    [InlineData("intl")]
    [InlineData("gm")]
    public void Deterministic_keys_sign_what_the_suite_verifies_and_sign_alike_twice(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        var key = DeterministicSigningKey.ForLabel(suite, "test");
        byte[] message = [1, 2, 3, 4];
        var signature = key.SignObject(ObjectType.Vote, message);
        Assert.True(suite.VerifyObject(key.PublicKey, ObjectType.Vote, message, signature));
        Assert.Equal(signature, key.SignObject(ObjectType.Vote, message));
        Assert.False(suite.VerifyObject(key.PublicKey, ObjectType.Timeout, message, signature));
        Assert.NotEqual(signature, key.SignObject(ObjectType.Vote, [1, 2, 3, 5]));
    }

    [Fact]
    public void National_suite_runs_keep_safety_and_liveness()
    {
        var summary = SimulationRunner.Run(firstSeed: 300, seeds: 6, new SimulationOptions { Crypto = "gm" });
        Assert.True(summary.Passed, Failures(summary));
    }

    [Fact]
    public void Options_parse_faults_and_mutations_and_refuse_unknown_ones()
    {
        Assert.Equal(FaultSet.Network | FaultSet.Crash, SimulationOptions.ParseFaults("network, crash"));
        Assert.Equal(FaultSet.All, SimulationOptions.ParseFaults("all"));
        Assert.Equal(SimulationMutation.SkipLock, SimulationOptions.ParseMutation("skip-lock"));
        Assert.Equal(ErrorCode.InvalidField, Assert.Throws<Core.CustosException>(() => SimulationOptions.ParseFaults("lightning")).Code);
        Assert.Equal(ErrorCode.InvalidField, Assert.Throws<Core.CustosException>(() => SimulationOptions.ParseMutation("skip")).Code);
    }
}
