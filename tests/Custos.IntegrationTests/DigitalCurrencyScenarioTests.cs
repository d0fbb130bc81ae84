namespace Custos.IntegrationTests;

/// <summary>
/// `custos devnet --scenario dcep --exit`, the README's main command, as its acceptance check runs it: the central
/// bank and two operators, 1,000 wallets, thousands of payments with the refusals beyond the limits, the supervisor's
/// alerts and trace, conditional payments, a freeze, and the supply check. It must exit 0 with every check held, end
/// with the summary line, and leave the supply identity holding.
/// </summary>
public sealed class DigitalCurrencyScenarioTests
{
    private const int BasePort = 30800;

    [Fact(Timeout = 900_000)]
    public async Task Digital_currency_scenario_holds_every_check_and_conserves_money_on_a_fresh_network()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var temporary = Directory.CreateTempSubdirectory("custos-integ-dcep-").FullName;
        var root = Path.Combine(temporary, "net");
        try
        {
            var (exitCode, output) = await DevnetRun.RunAsync(["devnet", "--scenario", "dcep", "--exit", "--dir", root,
                "--base-port", BasePort.ToString(System.Globalization.CultureInfo.InvariantCulture)], root, TimeSpan.FromSeconds(840), cancellationToken);
            TestContext.Current.TestOutputHelper?.WriteLine(output);
            Assert.True(exitCode == 0, $"`custos devnet --scenario dcep --exit` exited with {exitCode}:\n{output}{DevnetRun.LogTails(root)}");
            Assert.DoesNotContain("[FAILED]", output, StringComparison.Ordinal);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.StartsWith("scenario dcep: all ", lines[^1], StringComparison.Ordinal);
            Assert.Contains(lines, l => l.StartsWith("supply ", StringComparison.Ordinal) && l.Contains(": holds", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("wallets ", StringComparison.Ordinal) && l.Contains("1,000", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    }
}
