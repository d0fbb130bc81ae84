using Custos.Core.Wire;
using Custos.DigitalCurrency;

namespace Custos.Simulation.Tests;

/// <summary>
/// The simulator with the digital currency as its workload (issue 8: conservation of money under random payments):
/// real engines agree on blocks of signed dcep transactions, every replica executes them with the real executor and
/// contracts, and after every commit the state roots agree and supply == issued − redeemed == Σ balances.
/// </summary>
public sealed class CurrencyWorkloadTests
{
    private static SimulationOptions Currency(FaultSet faults, SimulationMutation mutation = SimulationMutation.None) =>
        new() { Workload = SimulationWorkload.DigitalCurrency, Faults = faults, Mutation = mutation, FaultPhaseMsMax = 8_000 };

    private static string Failures(SimulationSummary summary) =>
        string.Join("\n", summary.Results.Where(r => r.SafetyViolations.Count > 0 || r.LivenessFailure is not null).Select(Simulation.Describe));

    [Fact]
    public void Random_payments_under_network_faults_and_crashes_keep_safety_liveness_and_conservation()
    {
        var summary = SimulationRunner.Run(firstSeed: 1, seeds: 12, Currency(FaultSet.Network | FaultSet.Crash | FaultSet.Skew));
        Assert.True(summary.Passed, Failures(summary));
        var figures = summary.Results.Select(r => r.Currency!).ToList();
        Assert.True(figures.Sum(f => f.Payments) > 100, $"{figures.Sum(f => f.Payments)} payments committed");
        Assert.All(figures, f => Assert.True(f.Payments > 0 && f.AuditsPassed > 0, f.ToString()));
        Assert.True(figures.Sum(f => f.Refusals) > 0, "no transaction was refused, so the limits were never tried");
        var reasons = figures.SelectMany(f => f.RefusalsByReason.Keys).ToHashSet();
        Assert.Contains(RefusalReasons.PerPaymentLimit, reasons);
        Assert.Contains(Core.ErrorCodes.Name(ErrorCode.InsufficientFunds), reasons);
        Assert.Contains(summary.Results, r => r.Scenario.Contains(" partitions", StringComparison.Ordinal) && !r.Scenario.Contains("0 crashes", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_payments_with_every_fault_including_byzantine_validators_and_epochs_keep_conservation()
    {
        var summary = SimulationRunner.Run(firstSeed: 100, seeds: 10, Currency(FaultSet.All));
        Assert.True(summary.Passed, Failures(summary));
        Assert.True(summary.Results.Sum(r => r.Currency!.Payments) > 0);
        Assert.Contains(summary.Results, r => r.Currency!.Issued > 2 * 200_000_000UL);
    }

    [Fact]
    public void Crashed_replicas_re_execute_their_ledger_to_the_state_they_kept()
    {
        // Seeds whose crash faults restart nodes: each restart re-executes the durable ledger from genesis and
        // compares every height's root (a mismatch is a "restart" safety violation); here we also check afterwards.
        foreach (var seed in new[] { 3, 5, 8 })
        {
            var simulation = new Simulation(seed, Currency(FaultSet.Crash));
            var result = simulation.Run();
            Assert.True(result.SafetyViolations.Count == 0 && result.LivenessFailure is null, Simulation.Describe(result));
            Assert.DoesNotContain("0 crashes", result.Scenario, StringComparison.Ordinal);
            var workload = simulation.Currency!;
            foreach (var replica in simulation.Nodes.SelectMany(n => n.Replicas))
            {
                Assert.Null(workload.CheckReExecution(replica.Currency!, [.. replica.Ledger.Select(l => l.Block.Block)]));
                Assert.Equal(replica.Ledger[^1].Execution.StateRoot, replica.Currency!.Root);
                Assert.Null(workload.CheckConservation(replica.Currency!));
            }
        }
    }

    [Fact]
    public void Counterfeiting_contract_is_caught_by_the_conservation_checker()
    {
        var result = new Simulation(2, Currency(FaultSet.Network, SimulationMutation.Counterfeit)).Run();
        Assert.Contains(result.SafetyViolations, v => v.StartsWith("conservation", StringComparison.Ordinal));
        Assert.Contains("BROKEN", result.SafetyViolations[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Currency_run_reproduces_its_trace_byte_for_byte()
    {
        var first = new StringWriter();
        var second = new StringWriter();
        var a = new Simulation(6, Currency(FaultSet.All), first).Run();
        var b = new Simulation(6, Currency(FaultSet.All), second).Run();
        Assert.Equal(Simulation.Describe(a), Simulation.Describe(b));
        Assert.Contains("executed", first.ToString(), StringComparison.Ordinal);
        Assert.Equal(first.ToString(), second.ToString());
    }

    [Fact]
    public void Notes_workload_stays_the_default_and_workloads_parse()
    {
        Assert.Equal(SimulationWorkload.Notes, new SimulationOptions().Workload);
        Assert.Equal(SimulationWorkload.DigitalCurrency, SimulationOptions.ParseWorkload("dcep"));
        Assert.Equal(SimulationWorkload.Notes, SimulationOptions.ParseWorkload(null));
        Assert.Equal(SimulationMutation.Counterfeit, SimulationOptions.ParseMutation("counterfeit"));
        Assert.Equal(ErrorCode.InvalidField, Assert.Throws<Core.CustosException>(() => SimulationOptions.ParseWorkload("tokens")).Code);
        Assert.Equal(ErrorCode.InvalidField, Assert.Throws<Core.CustosException>(() => new Simulation(1, new SimulationOptions { Mutation = SimulationMutation.Counterfeit })).Code);
        Assert.Null(new Simulation(1, new SimulationOptions { Faults = FaultSet.Network }).Run().Currency);
    }
}
