namespace Custos.IntegrationTests;

/// <summary>
/// `custos devnet --scenario governance` as the consortium's acceptance check runs it: node registration, a new
/// organisation admitted with its node, that node made a validator at the next epoch and shown to vote, a supervision
/// suspension and resumption of a validator, a removal and a refused removal below the minimum, WASM contracts under
/// governance, a light client across the epoch changes, and every node agreeing. Every expectation must hold.
/// </summary>
public sealed class GovernanceScenarioTests
{
    private const int BasePort = 30700;

    [Fact(Timeout = 720_000)]
    public async Task Governance_scenario_holds_every_expectation_on_a_fresh_network()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var temporary = Directory.CreateTempSubdirectory("custos-integ-governance-").FullName;
        var root = Path.Combine(temporary, "net");
        try
        {
            var (exitCode, output) = await DevnetRun.RunAsync(["devnet", "--scenario", "governance", "--dir", root,
                "--base-port", BasePort.ToString(System.Globalization.CultureInfo.InvariantCulture)], root, TimeSpan.FromSeconds(660), cancellationToken);
            TestContext.Current.TestOutputHelper?.WriteLine(output);
            Assert.True(exitCode == 0, $"`custos devnet --scenario governance` exited with {exitCode}:\n{output}{DevnetRun.LogTails(root)}");
            Assert.Contains("scenario governance: all ", output, StringComparison.Ordinal);
            Assert.DoesNotContain("[FAILED]", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    }
}
