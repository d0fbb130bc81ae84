using System.CommandLine;
using Custos.Cli.Audit;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity;
using Custos.Node;
using Custos.Storage;

namespace Custos.Cli;

/// <summary>
/// `custos audit consensus --data DIR [--from H --to H] [--report OUT.json --key KEY ...]`: re-verifies a node's
/// consensus history from its data directory alone (docs/consensus.md, section 10): every QC and TC of the blocks and
/// journal entries in the range, the journal's whole hash chain, and the equivocations the journal shows, with the
/// culprits' identities. The directory is opened read-only, so a running node's directory can be audited as it stood
/// when opened. Prints one line per finding and per culprit, then
/// `audit: B blocks, Q certificates verified, J journal entries, E equivocations, F failures`; exits 1 if anything
/// failed to verify, and with a typed error (exit 2) if the directory is missing or damaged. With --report it also
/// writes a report signed by the auditor's key (section 10.1).
/// <para>
/// `custos audit verify REPORT --genesis GENESIS.json` checks such a report offline with the genesis file alone:
/// one line per failure, then `audit verify: OK (N blocks, Q certificates)` (exit 0) or `audit verify: FAILED (...)`
/// (exit 1); unreadable input is a typed error (exit 2).
/// </para>
/// </summary>
internal static class AuditCommands
{
    public const int ExitFailures = 1;

    public static Command Create(TextWriter output) => Create(output, TimeProvider.System);

    /// <param name="clock">The auditor's clock: the only source of a report's generated_at.</param>
    public static Command Create(TextWriter output, TimeProvider clock)
    {
        var command = new Command("audit", "Re-verify what a node recorded, and sign or verify audit reports");
        command.Subcommands.Add(Consensus(output, clock));
        command.Subcommands.Add(Verify(output, clock));
        return command;
    }

    private static Command Consensus(TextWriter output, TimeProvider clock)
    {
        var data = new Option<string>("--data") { Description = "The node's data directory; opened read-only, so the node may be running", Required = true };
        var from = new Option<ulong?>("--from") { Description = "First block height to audit (default: 0); the journal is audited from the entry after the last commit below it" };
        var to = new Option<ulong?>("--to") { Description = "Last block height to audit (default: the head); the journal is audited up to the last commit at or below it" };
        var report = new Option<string?>("--report") { Description = "Also write a signed audit report (JSON) to this file; `custos audit verify` checks it with the genesis file alone" };
        var key = new Option<string?>("--key") { Description = "The auditor's signing key: an encrypted key file (path or file:PATH) or a pkcs11: URI" };
        var certificate = new Option<string?>("--certificate") { Description = "The auditor's PEM certificate (regulator or admin role); default: the key file's path with .pem" };
        var passphraseEnv = new Option<string?>("--passphrase-env") { Description = "Environment variable holding the key file's passphrase" };
        var passphraseFile = new Option<string?>("--passphrase-file") { Description = "File holding the key file's passphrase (one line)" };
        var command = new Command("consensus", "Re-verify every QC and TC, the journal's hash chain, and list equivocations with their culprits")
        {
            data, from, to, report, key, certificate, passphraseEnv, passphraseFile,
        };
        command.SetAction(parse =>
        {
            var directory = parse.GetValue(data)!;
            var reportPath = parse.GetValue(report);
            if (reportPath is null && (parse.GetValue(key) ?? parse.GetValue(certificate) ?? parse.GetValue(passphraseEnv) ?? parse.GetValue(passphraseFile)) is not null)
            {
                throw new CustosException(ErrorCode.InvalidField, "--key, --certificate and the passphrase options sign a report: give --report OUT.json too");
            }

            if (reportPath is not null && parse.GetValue(key) is null) throw new CustosException(ErrorCode.InvalidField, "--report needs the auditor's signing key (--key)");

            using var store = LedgerStore.OpenReadOnly(directory);
            var chain = StoredGenesis(store);
            using var auditor = reportPath is null
                ? null
                : AuditorCredentials.Open(parse.GetValue(key)!, parse.GetValue(certificate), parse.GetValue(passphraseEnv), parse.GetValue(passphraseFile), store.Suite);
            if (auditor is not null && chain is not null)
            {
                // Refuse now rather than sign a report no verifier will accept.
                chain.Genesis.CreateValidator().Validate(auditor.Certificate, clock.GetUtcNow(), [.. AuditReportVerifier.AuditorRoles]);
            }

            if (auditor is not null && store.Head is { } head)
            {
                // Checked before the audit reads anything: a report's size is bounded, a long chain is reported in parts.
                var (first, last) = (parse.GetValue(from) ?? 0, parse.GetValue(to) ?? head.Height);
                if (last >= first && last - first >= AuditReportFormat.ReportBlocksMax)
                {
                    throw new CustosException(ErrorCode.TooLarge, $"a report holds at most {AuditReportFormat.ReportBlocksMax} blocks; report blocks {first} to {last} in parts with --from and --to");
                }
            }

            var result = LedgerAuditSource.Audit(store, parse.GetValue(from), parse.GetValue(to));
            Print(output, directory, result);
            if (auditor is not null) WriteReport(output, reportPath!, result, store, auditor, chain, clock);
            return result.Passed ? 0 : ExitFailures;
        });
        return command;
    }

    private static Command Verify(TextWriter output, TimeProvider clock)
    {
        var report = new Argument<string>("report") { Description = "The audit report (JSON) written by `custos audit consensus --report`" };
        var genesis = new Option<string>("--genesis") { Description = "The chain's genesis file: the only trusted input", Required = true };
        var at = new Option<DateTimeOffset?>("--at") { Description = "Judge the auditor's certificate at this time (default: the report's generated_at)" };
        var crls = new Option<string[]>("--crl") { Description = "Revocation list(s) (PEM) issued by a consortium CA" };
        var command = new Command("verify", "Verify a signed audit report offline: signature, auditor, hash chain, every QC, evidence, counts") { report, genesis, at, crls };
        command.SetAction(parse =>
        {
            var chain = ChainSetup.Load(parse.GetValue(genesis)!);
            var revocations = (parse.GetValue(crls) ?? []).Select(path => ReadRevocationList(path, chain)).ToList();
            var verification = AuditReportVerifier.Verify(ReadReport(parse.GetValue(report)!), chain, clock.GetUtcNow(), parse.GetValue(at), revocations);
            var body = verification.Body;
            var signer = verification.Auditor is { } auditor ? $"{auditor.CommonName} of {auditor.Organisation} ({auditor.Role.ToString().ToLowerInvariant()})" : "an unaccepted auditor";
            output.WriteLine($"audit report of chain '{body.ChainId}' ({body.Suite}): blocks {body.Range.From} to {body.Range.To} (head {body.Head.Height}), generated at {body.GeneratedAt:u} by {signer}");
            foreach (var note in verification.Notes) output.WriteLine(note);
            foreach (var failure in verification.Failures) output.WriteLine(failure);
            output.WriteLine(verification.Passed
                ? $"audit verify: OK ({verification.Blocks} blocks, {verification.Certificates} certificates)"
                : $"audit verify: FAILED ({verification.Failures.Count} failures; {verification.Blocks} blocks, {verification.Certificates} certificates verified)");
            return verification.Passed ? 0 : ExitFailures;
        });
        return command;
    }

    /// <summary>The chain setup from the genesis file a node keeps in its store, or null if the store holds none that matches it.</summary>
    private static ChainSetup? StoredGenesis(LedgerStore store)
    {
        if (store.ReadConfiguration(ConsensusConfigurationEntries.Genesis) is not { } bytes) return null;
        try
        {
            var chain = ChainSetup.FromBytes(bytes);
            return chain.GenesisHash == store.Identity.GenesisHash ? chain : null;
        }
        catch (CustosException)
        {
            // The audit speaks for the store; the genesis entry only lets the auditor's certificate be checked early.
            return null;
        }
    }

    private static void WriteReport(TextWriter output, string path, LedgerAuditResult result, LedgerStore store, AuditorCredentials auditor, ChainSetup? chain, TimeProvider clock)
    {
        var generatedAt = DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().ToUnixTimeSeconds());
        var head = store.Head ?? throw new CustosException(ErrorCode.InvalidField, "the store holds no committed block: there is nothing to report");
        var signed = AuditReportBuilder.Build(result, store.Identity, head, auditor.Key, auditor.Certificate, generatedAt, chain?.GenesisBlock);

        // Written beside the target and renamed over it, so that a reader never sees half a report.
        var full = Path.GetFullPath(path);
        var temporary = $"{full}.{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temporary, signed.File);
        File.Move(temporary, full, overwrite: true);

        var counts = signed.Body.Counts;
        output.WriteLine($"report: {path} ({counts.Blocks} blocks, {counts.Certificates} certificates, {counts.Equivocations} equivocations, {counts.Failures} failures), "
            + $"signed by {auditor.Certificate.CommonName} of {auditor.Certificate.Organisation}");
        foreach (var failure in signed.Content.Failures) output.WriteLine($"report content: {failure}");
    }

    private static byte[] ReadReport(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new CustosException(ErrorCode.NotFound, $"no report at {path}");
        if (info.Length > AuditReportFormat.ReportSizeBytesMax)
        {
            throw new CustosException(ErrorCode.TooLarge, $"{path} is {info.Length} bytes; a report is at most {AuditReportFormat.ReportSizeBytesMax}");
        }

        return File.ReadAllBytes(path);
    }

    private static RevocationList ReadRevocationList(string path, ChainSetup chain)
    {
        if (!File.Exists(path)) throw new CustosException(ErrorCode.NotFound, $"no revocation list at {path}");
        var der = Pem.Decode("X509 CRL", File.ReadAllText(path));
        foreach (var organisation in chain.Genesis.Organisations)
        {
            var authority = ConsortiumCertificate.FromPem(organisation.CaCertificate, chain.Suite);
            if (RevocationList.TryDecode(der, authority, chain.Suite, out var list, out _)) return list;
        }

        throw new CustosException(ErrorCode.RevocationListInvalid, $"{path} is not a revocation list of any consortium CA");
    }

    private static void Print(TextWriter output, string directory, LedgerAuditResult result)
    {
        var input = result.Input;
        var blocks = input.Heights is { } heights
            ? $"blocks {heights.From} to {heights.To} (head {input.HeadHeight})"
            : "no committed block";
        output.WriteLine($"audit consensus of chain '{input.ChainId}' ({input.Suite.Name}) in {directory}: {blocks}, journal entries [{input.JournalFrom}, {input.JournalTo}) of {input.JournalLength}");
        foreach (var finding in result.Findings) output.WriteLine(finding);
        foreach (var culprit in result.Culprits) output.WriteLine(Describe(culprit));
        output.WriteLine($"audit: {result.BlocksAudited} blocks, {result.Report.CertificatesVerified} certificates verified, {input.Journal.Count} journal entries, {result.EquivocationCount} equivocations, {result.FailureCount} failures");
    }

    private static string Describe(AuditCulprit culprit)
    {
        var node = culprit.Node is { } id ? $"node {id}{(culprit.Name is null ? "" : $" ({culprit.Name})")}" : "node unknown";
        var key = culprit.KeyFingerprint is null ? $"key unknown (no stored validator set for epoch {culprit.Epoch})" : $"key fingerprint {culprit.KeyFingerprint}";
        return $"culprit: validator {culprit.Index} of epoch {culprit.Epoch}, {node}, {key}, equivocated in round{(culprit.Rounds.Count == 1 ? "" : "s")} {string.Join(", ", culprit.Rounds)}";
    }
}
