using System.Globalization;
using System.Text.RegularExpressions;
using Custos.Cli.Audit;
using Custos.Consensus.Wire;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Cli.Tests;

/// <summary>A consortium whose node recorded <see cref="Height"/> blocks, and the regulator's signed report of its whole chain, made once.</summary>
public sealed class AuditReportFixture : IAsyncLifetime
{
    public const ulong Height = 12;

    private readonly string _directory = Directory.CreateTempSubdirectory("custos-audit-report-").FullName;

    internal AuditConsortium Consortium { get; private set; } = null!;

    internal string ReportPath => Path.Combine(_directory, "report.json");

    internal byte[] Report { get; private set; } = [];

    internal string Scratch => _directory;

    public async ValueTask InitializeAsync()
    {
        Consortium = AuditConsortium.Create(Path.Combine(_directory, "consortium"), CryptoSuites.Intl, Height);
        var (exit, output, error) = await AuditCli.Run("audit", "consensus", "--data", Consortium.Data, "--report", ReportPath,
            "--key", Consortium.Regulator.KeyPath, "--passphrase-file", Consortium.PassphrasePath);
        Assert.True(exit == 0, output + error);
        Report = await File.ReadAllBytesAsync(ReportPath);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// `custos audit consensus --report` signs a report of a real data directory and `custos audit verify` checks it with
/// the genesis file alone; every kind of tampering is caught with its own failure line, also when the tamperer
/// signs again (a dishonest auditor), because the content is re-checked against genesis's validators.
/// </summary>
public sealed partial class AuditReportTests(AuditReportFixture fixture) : IClassFixture<AuditReportFixture>
{
    private const ulong Height = AuditReportFixture.Height;

    private AuditConsortium Consortium => fixture.Consortium;

    [Fact]
    public async Task Report_of_a_real_data_directory_verifies_offline_with_the_genesis_file_alone()
    {
        var (exit, output, error) = await AuditCli.Run("audit", "verify", fixture.ReportPath, "--genesis", Consortium.GenesisPath);

        Assert.True(exit == 0, output + error);
        var body = Body(fixture.Report);
        Assert.Equal($"audit verify: OK ({Height + 1} blocks, {body.Counts.Certificates} certificates)", LastLine(output));
        Assert.True(body.Counts.Certificates > Height, output);
        Assert.Empty(Failures(output));
        Assert.Contains("by regulator@regulator of regulator (regulator)", output);
        Assert.Equal(new ReportRange(0, Height), body.Range);
        Assert.Equal(Height + 1, (ulong)body.Blocks.Count);
        Assert.Equal((ulong)Consortium.Network.Recorder.Journal.Count, body.Counts.JournalEntries);
        Assert.Equal(Consortium.Chain.GenesisHash.ToString(), body.GenesisHash);
    }

    [Fact]
    public async Task Report_of_a_block_range_holds_and_verifies_only_that_range()
    {
        var path = Path.Combine(fixture.Scratch, "range.json");
        var (exit, output, error) = await AuditCli.Run("audit", "consensus", "--data", Consortium.Data, "--from", "3", "--to", "8", "--report", path,
            "--key", Consortium.Regulator.KeyPath, "--passphrase-file", Consortium.PassphrasePath);
        Assert.True(exit == 0, output + error);

        (exit, output, _) = await AuditCli.Run("audit", "verify", path, "--genesis", Consortium.GenesisPath);

        Assert.Equal(0, exit);
        Assert.StartsWith("audit verify: OK (6 blocks, ", LastLine(output), StringComparison.Ordinal);
        var body = Body(await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken));
        Assert.Equal(new ulong[] { 3, 4, 5, 6, 7, 8 }, body.Blocks.Select(b => b.Height));
        Assert.NotNull(body.CommitProof);
    }

    [Fact]
    public async Task Altered_header_byte_breaks_the_qc_binding_and_the_hash_chain()
    {
        var output = await VerifyTampered(body => body with
        {
            Blocks = [.. body.Blocks.Select(b => b.Height == 5 ? b with { Header = FlipStateRootByte(b.Header) } : b)],
        });

        Assert.Contains("failure block 5: its QC certifies another block", output);
        Assert.Contains("failure block 6: the header's parent hash is not the hash of block 5: the hash chain is broken", output);
        Assert.StartsWith("audit verify: FAILED (", LastLine(output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Altered_qc_byte_fails_that_certificate()
    {
        var output = await VerifyTampered(body => body with
        {
            Blocks = [.. body.Blocks.Select(b => b.Height == 7 ? b with { Qc = FlipLastByte(b.Qc!) } : b)],
        });

        Assert.Matches(@"failure block 7: its QC does not verify: SIGNATURE_INVALID: QC\(epoch 0, round \d+, height 7, ", output);
    }

    [Fact]
    public async Task Altered_range_is_detected()
    {
        var output = await VerifyTampered(body => body with { Range = new ReportRange(0, Height + 5) });

        Assert.Contains($"failure range: ends at block {Height + 5} but the report's last block is {Height}", output);
        Assert.Contains($"failure head: the head (height {Height}) is below the range's last block {Height + 5}", output);
    }

    [Fact]
    public async Task Report_dated_after_the_verifiers_clock_is_refused()
    {
        var output = await VerifyTampered(body => body with { GeneratedAt = DateTimeOffset.UtcNow.AddDays(2) });

        Assert.Matches(@"failure generated at: .* is later than the verifier's clock", output);
    }

    [Fact]
    public async Task Dropped_block_in_the_middle_is_detected()
    {
        var output = await VerifyTampered(body => body with { Blocks = [.. body.Blocks.Where(b => b.Height != 6)] });

        Assert.Contains("failure block 7: follows block 5: block 6 is missing", output);
        Assert.Contains($"failure counts: the report claims {Height + 1} blocks, it holds {Height} of its range", output);
    }

    [Fact]
    public async Task Auditor_certificate_from_a_ca_outside_genesis_is_refused()
    {
        var impostor = Consortium.Impostor;
        var output = await VerifyTampered(body => body with { AuditorCertificate = impostor.Certificate.ToPem() }, impostor.Key);

        Assert.Contains("failure auditor certificate: CERTIFICATE_UNTRUSTED: ", output);
        Assert.DoesNotContain("failure signature", output);
    }

    [Fact]
    public async Task Auditor_without_the_regulator_or_admin_role_is_refused()
    {
        var client = Consortium.Client;
        var output = await VerifyTampered(body => body with { AuditorCertificate = client.Certificate.ToPem() }, client.Key);

        Assert.Contains("failure auditor certificate: CERTIFICATE_WRONG_ROLE: certificate C=CN,O=org1,OU=client,CN=client@org1 has role Client, expected Regulator or Admin", output);
    }

    [Fact]
    public async Task Altered_signature_is_detected()
    {
        var envelope = System.Text.Json.Nodes.JsonNode.Parse(fixture.Report)!;
        envelope["signature"] = FlipLastByte(envelope["signature"]!.GetValue<string>());

        var output = await VerifyFile(System.Text.Encoding.UTF8.GetBytes(envelope.ToJsonString()));

        Assert.Contains("failure signature: does not verify under the key of the auditor's certificate", output);
        Assert.Single(Failures(output));
    }

    [Fact]
    public async Task Body_altered_without_signing_again_fails_the_signature_and_the_content()
    {
        var (bodyBytes, signature) = AuditReportFormat.DecodeEnvelope(fixture.Report);
        var body = AuditReportFormat.DecodeBody(bodyBytes);
        var altered = AuditReportFormat.EncodeBody(body with { Blocks = [.. body.Blocks.Where(b => b.Height != 4)] });

        var output = await VerifyFile(AuditReportFormat.EncodeEnvelope(altered, signature));

        Assert.Contains("failure signature: does not verify", output);
        Assert.Contains("failure block 5: follows block 3: block 4 is missing", output);
    }

    [Fact]
    public async Task Counts_that_do_not_match_the_content_are_detected()
    {
        var output = await VerifyTampered(body => body with { Counts = body.Counts with { Certificates = body.Counts.Certificates + 1, Equivocations = 2 } });

        Assert.Matches(@"failure counts: the report claims \d+ certificates, \d+ distinct ones in it verify", output);
        Assert.Contains("failure counts: the report claims 2 equivocations, it lists 0", output);
    }

    [Fact]
    public async Task Report_checked_against_another_consortiums_genesis_fails()
    {
        var other = AuditConsortium.Create(Path.Combine(fixture.Scratch, $"other-{Guid.NewGuid():n}"), CryptoSuites.Intl, height: 1);

        var (exit, output, _) = await AuditCli.Run("audit", "verify", fixture.ReportPath, "--genesis", other.GenesisPath);

        Assert.Equal(AuditCommands.ExitFailures, exit);
        Assert.Contains($"failure chain: the report's genesis hash {Consortium.Chain.GenesisHash} is not the genesis file's {other.Chain.GenesisHash}", output);
        Assert.Contains("failure auditor certificate: CERTIFICATE_UNTRUSTED: ", output);
        Assert.Matches(@"failure block 0: its QC does not verify: SIGNATURE_INVALID", output);
        Assert.Matches(@"failure block 1: its QC does not verify: SIGNATURE_INVALID", output);
        Assert.StartsWith("audit verify: FAILED (", LastLine(output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Administrator_may_sign_a_report_and_it_verifies()
    {
        var path = Path.Combine(fixture.Scratch, "admin.json");
        var (exit, output, error) = await AuditCli.Run("audit", "consensus", "--data", Consortium.Data, "--to", "4", "--report", path,
            "--key", Consortium.Admin.KeyPath, "--passphrase-file", Consortium.PassphrasePath);
        Assert.True(exit == 0, output + error);

        (exit, output, _) = await AuditCli.Run("audit", "verify", path, "--genesis", Consortium.GenesisPath);

        Assert.Equal(0, exit);
        Assert.Contains("by admin@org1 of org1 (admin)", output);
    }

    [Fact]
    public async Task Signing_with_a_client_certificate_is_refused_before_anything_is_written()
    {
        var path = Path.Combine(fixture.Scratch, "client.json");

        var (exit, _, error) = await AuditCli.Run("audit", "consensus", "--data", Consortium.Data, "--report", path,
            "--key", Consortium.Client.KeyPath, "--passphrase-file", Consortium.PassphrasePath);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains("CERTIFICATE_WRONG_ROLE", error);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Wrong_passphrase_is_refused_without_echoing_any_passphrase()
    {
        var wrong = Path.Combine(fixture.Scratch, "wrong-passphrase");
        await File.WriteAllTextAsync(wrong, "not the passphrase", TestContext.Current.CancellationToken);
        var path = Path.Combine(fixture.Scratch, "wrong.json");

        var (exit, output, error) = await AuditCli.Run("audit", "consensus", "--data", Consortium.Data, "--report", path,
            "--key", Consortium.Regulator.KeyPath, "--passphrase-file", wrong);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains("KEY_PASSPHRASE_WRONG", error);
        Assert.DoesNotContain("not the passphrase", output + error);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Passphrase_from_an_environment_variable_and_an_explicit_certificate_sign_a_report()
    {
        const string variable = "CUSTOS_AUDIT_REPORT_TEST_PASSPHRASE";
        Environment.SetEnvironmentVariable(variable, AuditConsortium.Passphrase);
        var path = Path.Combine(fixture.Scratch, "env.json");

        var (exit, output, error) = await AuditCli.Run("audit", "consensus", "--data", Consortium.Data, "--to", "2", "--report", path,
            "--key", "file:" + Consortium.Regulator.KeyPath, "--certificate", Consortium.Regulator.CertificatePath, "--passphrase-env", variable);

        Assert.True(exit == 0, output + error);
        Assert.Contains($"report: {path} (3 blocks, ", output);
        Assert.Equal(0, (await AuditCli.Run("audit", "verify", path, "--genesis", Consortium.GenesisPath)).Exit);
    }

    [Fact]
    public async Task Signing_options_without_report_are_refused()
    {
        var (exit, _, error) = await AuditCli.Run("audit", "consensus", "--data", Consortium.Data, "--key", Consortium.Regulator.KeyPath);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains("give --report OUT.json too", error);
    }

    [Theory]
    [InlineData("not json at all", "MALFORMED")]
    [InlineData("{\"format\":\"custos-audit-report/9\",\"body\":\"\",\"signature\":\"\"}", "UNSUPPORTED_VERSION")]
    [InlineData("{\"format\":\"custos-audit-report/1\",\"body\":\"***\",\"signature\":\"\"}", "MALFORMED")]
    [InlineData("{\"format\":\"custos-audit-report/1\",\"body\":\"e30=\",\"signature\":\"\"}", "MALFORMED")]
    [InlineData("{\"format\":\"custos-audit-report/1\",\"body\":\"\",\"signature\":\"\",\"extra\":1}", "MALFORMED")]
    public async Task Unreadable_report_is_a_typed_error(string content, string code)
    {
        var path = Path.Combine(fixture.Scratch, $"unreadable-{Guid.NewGuid():n}.json");
        await File.WriteAllTextAsync(path, content, TestContext.Current.CancellationToken);

        var (exit, output, error) = await AuditCli.Run("audit", "verify", path, "--genesis", Consortium.GenesisPath);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains(code, error);
        Assert.DoesNotContain("audit verify:", output);
    }

    [Theory]
    [InlineData("blocks")]
    [InlineData("equivocations")]
    [InlineData("findings")]
    public async Task Null_in_a_list_of_the_body_is_a_typed_error(string list)
    {
        var (bodyBytes, _) = AuditReportFormat.DecodeEnvelope(fixture.Report);
        var body = System.Text.Json.Nodes.JsonNode.Parse(bodyBytes)!;
        body[list] = new System.Text.Json.Nodes.JsonArray((System.Text.Json.Nodes.JsonNode?)null);
        var altered = System.Text.Encoding.UTF8.GetBytes(body.ToJsonString());
        var path = Path.Combine(fixture.Scratch, $"null-{list}.json");
        await File.WriteAllBytesAsync(path, AuditReportFormat.EncodeEnvelope(altered, Consortium.Regulator.Key.SignObject(ObjectType.AuditReport, altered)),
            TestContext.Current.CancellationToken);

        var (exit, _, error) = await AuditCli.Run("audit", "verify", path, "--genesis", Consortium.GenesisPath);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains("MALFORMED", error);
    }

    [Fact]
    public async Task Missing_report_is_a_typed_error_naming_it()
    {
        var path = Path.Combine(fixture.Scratch, "nowhere.json");

        var (exit, _, error) = await AuditCli.Run("audit", "verify", path, "--genesis", Consortium.GenesisPath);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains($"NOT_FOUND: no report at {path}", error);
    }

    private async Task<string> VerifyTampered(Func<AuditReportBody, AuditReportBody> change, ISigningKey? signer = null)
    {
        var (bodyBytes, _) = AuditReportFormat.DecodeEnvelope(fixture.Report);
        var altered = AuditReportFormat.EncodeBody(change(AuditReportFormat.DecodeBody(bodyBytes)));
        var signature = (signer ?? Consortium.Regulator.Key).SignObject(ObjectType.AuditReport, altered);
        var output = await VerifyFile(AuditReportFormat.EncodeEnvelope(altered, signature));
        Assert.DoesNotContain("failure signature", output);
        return output;
    }

    private async Task<string> VerifyFile(byte[] report)
    {
        var path = Path.Combine(fixture.Scratch, $"tampered-{Guid.NewGuid():n}.json");
        await File.WriteAllBytesAsync(path, report, TestContext.Current.CancellationToken);
        var (exit, output, error) = await AuditCli.Run("audit", "verify", path, "--genesis", Consortium.GenesisPath);
        Assert.True(exit == AuditCommands.ExitFailures, $"exit {exit}\n{output}{error}");
        Assert.StartsWith("audit verify: FAILED (", LastLine(output), StringComparison.Ordinal);
        return output;
    }

    internal static AuditReportBody Body(byte[] report) => AuditReportFormat.DecodeBody(AuditReportFormat.DecodeEnvelope(report).Body);

    internal static string LastLine(string output) => output.TrimEnd('\n').Split('\n')[^1];

    private static List<string> Failures(string output) => [.. output.Split('\n').Where(line => line.StartsWith("failure ", StringComparison.Ordinal))];

    /// <summary>Flips one bit of the state root inside a header: it still decodes, but its hash changes.</summary>
    private static string FlipStateRootByte(string header)
    {
        var bytes = Convert.FromBase64String(header);
        var at = bytes.AsSpan().IndexOf(BlockHeader.Parser.ParseFrom(bytes).StateRoot.Span);
        bytes[at] ^= 0x01;
        return Convert.ToBase64String(bytes);
    }

    /// <summary>Flips one bit of the last byte: inside the last signature of a QC, or of the report's signature.</summary>
    private static string FlipLastByte(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        bytes[^1] ^= 0x01;
        return Convert.ToBase64String(bytes);
    }
}

/// <summary>Runs the `custos` command line in-process.</summary>
internal static class AuditCli
{
    public static async Task<(int Exit, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CustosCommand.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
