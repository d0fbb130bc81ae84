using Custos.Cli.Audit;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Cli.Tests;

/// <summary>
/// Reports of chains on both suites, and of a chain whose leader equivocated: the evidence travels in the report
/// with the culprit, and the verifier re-checks both signed statements against the validators of genesis.
/// </summary>
public sealed class AuditReportEvidenceTests : IDisposable
{
    private const int Equivocator = 3;

    private readonly string _directory = Directory.CreateTempSubdirectory("custos-audit-evidence-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("gm")]
    [InlineData("intl")]
    public async Task Report_verifies_on_either_suite(string crypto)
    {
        var consortium = AuditConsortium.Create(Path.Combine(_directory, crypto), CryptoSuites.Parse(crypto), height: 6);

        var (exit, output) = await SignAndVerify(consortium);

        Assert.True(exit == 0, output);
        Assert.StartsWith("audit verify: OK (7 blocks, ", AuditReportTests.LastLine(output), StringComparison.Ordinal);
        Assert.Contains($"audit report of chain '{EngineNetwork.ChainId}' ({crypto})", output);
    }

    [Fact]
    public async Task Equivocation_is_reported_with_its_culprit_and_its_evidence_reverifies()
    {
        var consortium = AuditConsortium.Create(Path.Combine(_directory, "equivocation"), CryptoSuites.Intl, height: 12, equivocator: Equivocator);
        Assert.NotEmpty(consortium.Network.Recorder.Evidence);

        var (exit, output) = await SignAndVerify(consortium);

        Assert.True(exit == 0, output);
        var body = AuditReportTests.Body(await File.ReadAllBytesAsync(ReportPath, TestContext.Current.CancellationToken));
        Assert.NotEmpty(body.Equivocations);
        Assert.All(body.Equivocations, e =>
        {
            Assert.Equal((uint)Equivocator, e.Culprit);
            Assert.Equal("proposal", e.Kind);
            Assert.Equal("node4", e.Node);
            Assert.Equal(CryptoSuites.Intl.Hash(consortium.Chain.Validators.KeyOf(Equivocator).Encoded).ToShortString(), e.KeyFingerprint);
        });
        Assert.Equal((ulong)body.Equivocations.Count, body.Counts.Equivocations);
        Assert.Contains($"equivocation: validator {Equivocator} (node4 of org2) of epoch 0 signed two different proposals for round {body.Equivocations[0].Round}; the evidence verifies", output);
    }

    [Fact]
    public async Task Forged_equivocation_evidence_is_detected()
    {
        var consortium = AuditConsortium.Create(Path.Combine(_directory, "forged"), CryptoSuites.Intl, height: 12, equivocator: Equivocator);
        var (exit, output) = await SignAndVerify(consortium);
        Assert.True(exit == 0, output);
        var (bodyBytes, _) = AuditReportFormat.DecodeEnvelope(await File.ReadAllBytesAsync(ReportPath, TestContext.Current.CancellationToken));
        var body = AuditReportFormat.DecodeBody(bodyBytes);

        // A dishonest auditor blames another validator for the same statements and signs the report again.
        var framed = body with { Equivocations = [.. body.Equivocations.Select((e, i) => i == 0 ? Frame(e, culprit: 1) : e)] };
        var altered = AuditReportFormat.EncodeBody(framed);
        var forged = Path.Combine(_directory, "forged.json");
        await File.WriteAllBytesAsync(forged, AuditReportFormat.EncodeEnvelope(altered, consortium.Regulator.Key.SignObject(ObjectType.AuditReport, altered)),
            TestContext.Current.CancellationToken);

        (exit, output, _) = await AuditCli.Run("audit", "verify", forged, "--genesis", consortium.GenesisPath);

        Assert.Equal(AuditCommands.ExitFailures, exit);
        Assert.Contains("failure equivocation 0: the evidence does not verify: ", output);
    }

    private string ReportPath => Path.Combine(_directory, "report.json");

    private async Task<(int Exit, string Output)> SignAndVerify(AuditConsortium consortium)
    {
        var (exit, output, error) = await AuditCli.Run("audit", "consensus", "--data", consortium.Data, "--report", ReportPath,
            "--key", consortium.Regulator.KeyPath, "--passphrase-file", consortium.PassphrasePath);
        Assert.True(exit == 0, output + error);
        (exit, output, error) = await AuditCli.Run("audit", "verify", ReportPath, "--genesis", consortium.GenesisPath);
        return (exit, output + error);
    }

    /// <summary>The same two statements, said to be another validator's: the claim and the evidence agree, the signatures do not.</summary>
    private static ReportEquivocation Frame(ReportEquivocation equivocation, uint culprit)
    {
        var evidence = EquivocationEvidence.Parser.ParseFrom(Convert.FromBase64String(equivocation.Evidence));
        evidence.Culprit = culprit;
        foreach (var statement in new[] { evidence.First, evidence.Second })
        {
            var header = BlockHeader.Parser.ParseFrom(statement.Data);
            header.Proposer = culprit;
            statement.Data = header.ToByteString();
        }

        return equivocation with { Culprit = culprit, Node = null, KeyFingerprint = null, Evidence = Convert.ToBase64String(evidence.ToByteArray()) };
    }
}
