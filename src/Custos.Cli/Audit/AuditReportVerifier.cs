using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity;
using Custos.Node;

namespace Custos.Cli.Audit;

/// <summary>What verifying a report found: its body, its auditor, one line per failure, lines worth showing, and what verified.</summary>
internal sealed record AuditVerification(AuditReportBody Body, ValidatedIdentity? Auditor, IReadOnlyList<string> Failures, IReadOnlyList<string> Notes,
    ulong Blocks, ulong Certificates)
{
    public bool Passed => Failures.Count == 0;
}

/// <summary>
/// Verifies a signed audit report offline, with the genesis file alone (docs/consensus.md, section 10.1): the
/// signature over the body's bytes under the auditor's certificate key; that certificate chains to an organisation
/// CA of genesis and carries the regulator or admin role; the chain id, suite and genesis hash are genesis's; the
/// content (hash chain, every QC and TC against genesis's validators, the commit proof, the equivocation evidence);
/// and the counts against the content. Every check runs whatever the others found, so a tampered report shows
/// every fault, not just a bad signature. Unreadable input (not a report, not base64, not JSON) is a typed error.
/// </summary>
internal static class AuditReportVerifier
{
    /// <summary>Who may sign a consensus audit report: the regulator, or an organisation's administrator auditing its own node.</summary>
    public static IReadOnlyList<CertificateRole> AuditorRoles { get; } = [CertificateRole.Regulator, CertificateRole.Admin];

    /// <summary>How far a report's generated_at may run ahead of the verifier's clock (clocks differ; a report from the future does not exist).</summary>
    public static readonly TimeSpan GeneratedAtSkewMax = TimeSpan.FromMinutes(5);

    /// <param name="now">The verifier's clock, against which generated_at must not lie in the future.</param>
    /// <param name="at">When to judge the auditor's certificate; by default the report's generated_at (a report outlives its signer's certificate).</param>
    public static AuditVerification Verify(ReadOnlySpan<byte> file, ChainSetup chain, DateTimeOffset now, DateTimeOffset? at = null, IReadOnlyList<RevocationList>? revocations = null)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var (bodyBytes, signature) = AuditReportFormat.DecodeEnvelope(file);
        var body = AuditReportFormat.DecodeBody(bodyBytes);
        var suite = chain.Suite;
        var failures = new List<string>();
        var notes = new List<string>();

        if (body.ChainId != chain.ChainId) failures.Add($"failure chain: the report is of chain '{body.ChainId}', the genesis file's is '{chain.ChainId}'");
        if (body.Suite != suite.Name) failures.Add($"failure chain: the report is of suite '{body.Suite}', the genesis file's is '{suite.Name}'");
        if (body.GenesisHash != chain.GenesisHash.ToString()) failures.Add($"failure chain: the report's genesis hash {body.GenesisHash} is not the genesis file's {chain.GenesisHash}");

        if (body.GeneratedAt > now + GeneratedAtSkewMax)
        {
            failures.Add($"failure generated at: {body.GeneratedAt:u} is later than the verifier's clock ({now:u})");
        }

        var auditor = CheckAuditor(body, bodyBytes, signature, chain, at ?? body.GeneratedAt, revocations, failures);

        var sets = new Dictionary<ulong, ValidatorSet> { [chain.Validators.Epoch] = chain.Validators };
        var content = AuditReportContent.Check(body, chain.ChainId, suite, sets, chain.GenesisBlock, index => index < chain.Validators.Count ? Describe(chain, index) : null);
        failures.AddRange(content.Failures);
        notes.AddRange(content.Notes);
        CheckCounts(body, content, failures);

        var auditorFailures = body.Findings.Where(f => f.Severity == "failure").ToList();
        foreach (var finding in auditorFailures)
        {
            notes.Add($"auditor finding: failure {finding.Kind}{(finding.JournalEntry is { } entry ? $" (entry {entry})" : "")}: {finding.Message}");
        }

        notes.Add($"auditor's audit: {auditorFailures.Count} failures, {body.Findings.Count - auditorFailures.Count} notices; journal entries [{body.Journal.From}, {body.Journal.To}) of {body.Journal.Length}, "
            + $"last hash {body.Journal.LastHash}, {body.Journal.TimeoutCertificates} timeout certificates");
        return new AuditVerification(body, auditor, failures, notes, content.Blocks, content.Certificates);
    }

    private static ValidatedIdentity? CheckAuditor(AuditReportBody body, byte[] bodyBytes, byte[] signature, ChainSetup chain, DateTimeOffset at,
        IReadOnlyList<RevocationList>? revocations, List<string> failures)
    {
        var suite = chain.Suite;
        ConsortiumCertificate certificate;
        try
        {
            certificate = ConsortiumCertificate.FromPem(body.AuditorCertificate, suite);
        }
        catch (CustosException e)
        {
            failures.Add($"failure auditor certificate: does not decode: {e.Error}");
            failures.Add("failure signature: cannot be checked without the auditor's certificate");
            return null;
        }

        if (!suite.VerifyObject(certificate.PublicKey, ObjectType.AuditReport, bodyBytes, signature))
        {
            failures.Add($"failure signature: does not verify under the key of the auditor's certificate ({certificate.Subject}): the report was altered or signed by another key");
        }

        var authorities = chain.Genesis.Organisations.Select(o => ConsortiumCertificate.FromPem(o.CaCertificate, suite));
        var validator = new CertificateValidator(suite, authorities, revocations);
        if (!validator.TryValidate(certificate, at, [.. AuditorRoles], out var identity, out var error))
        {
            failures.Add($"failure auditor certificate: {error} (judged at {at:u})");
            return null;
        }

        return identity;
    }

    private static void CheckCounts(AuditReportBody body, ReportContentCheck content, List<string> failures)
    {
        var counts = body.Counts;
        if (counts.Blocks != content.Blocks) failures.Add($"failure counts: the report claims {counts.Blocks} blocks, it holds {content.Blocks} of its range");
        if (counts.Certificates != content.Certificates)
        {
            failures.Add($"failure counts: the report claims {counts.Certificates} certificates, {content.Certificates} distinct ones in it verify");
        }

        if (counts.Equivocations != (ulong)body.Equivocations.Count)
        {
            failures.Add($"failure counts: the report claims {counts.Equivocations} equivocations, it lists {body.Equivocations.Count}");
        }

        var journal = body.Journal;
        if (journal.From > journal.To || journal.To > journal.Length)
        {
            failures.Add($"failure journal: the window [{journal.From}, {journal.To}) does not fit a journal of {journal.Length} entries");
        }
        else if (counts.JournalEntries != journal.To - journal.From)
        {
            failures.Add($"failure counts: the report claims {counts.JournalEntries} journal entries, its window [{journal.From}, {journal.To}) holds {journal.To - journal.From}");
        }

        var findingFailures = (ulong)body.Findings.Count(f => f.Severity == "failure");
        if (counts.Failures != findingFailures) failures.Add($"failure counts: the report claims {counts.Failures} audit failures, it lists {findingFailures}");
    }

    private static string Describe(ChainSetup chain, uint index)
    {
        var node = chain.Genesis.Validators[(int)index];
        return $"{node.Name} of {node.Organisation}";
    }
}
