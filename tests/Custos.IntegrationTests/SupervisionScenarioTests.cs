namespace Custos.IntegrationTests;

/// <summary>
/// `custos devnet --scenario supervision` as the regulator's acceptance check runs it: pseudonymous wallets, a
/// large-value alert, freezes, an identity opened with t approvals (and not with t-1), a signed consensus audit report
/// verified offline, and the PostgreSQL index agreeing with the chain. Every expectation must hold.
/// </summary>
public sealed class SupervisionScenarioTests
{
    private const int BasePort = 30600;

    [Fact(Timeout = 600_000)]
    public async Task Supervision_scenario_holds_every_expectation_on_a_fresh_network()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var temporary = Directory.CreateTempSubdirectory("custos-integ-supervision-").FullName;
        var root = Path.Combine(temporary, "net");
        try
        {
            var (exitCode, output) = await DevnetRun.RunAsync(["devnet", "--scenario", "supervision", "--dir", root,
                "--base-port", BasePort.ToString(System.Globalization.CultureInfo.InvariantCulture)], root, TimeSpan.FromSeconds(540), cancellationToken);
            TestContext.Current.TestOutputHelper?.WriteLine(output);
            Assert.True(exitCode == 0, $"`custos devnet --scenario supervision` exited with {exitCode}:\n{output}{DevnetRun.LogTails(root)}");
            Assert.Contains("scenario supervision: all ", output, StringComparison.Ordinal);
            Assert.DoesNotContain("[FAILED]", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    }
}
