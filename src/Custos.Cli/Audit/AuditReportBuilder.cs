using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Cli.Audit;

/// <summary>A report as written: the file's bytes, the body it signs, and what checking its content found.</summary>
internal sealed record SignedAuditReport(byte[] File, AuditReportBody Body, ReportContentCheck Content);

/// <summary>
/// Turns the result of auditing a store into a signed report (docs/consensus.md, section 10.1). The report holds the
/// range's block headers with their QCs and the proof that its last block is committed, the journal's summary, the
/// equivocations with their evidence, the audit's findings and the counts a verifier recomputes; the auditor's key
/// signs the body's bytes. The counts come from running the verifier's own content check over the body.
/// </summary>
internal static class AuditReportBuilder
{
    public static SignedAuditReport Build(LedgerAuditResult result, ChainIdentity identity, StoreHead head, ISigningKey key, ConsortiumCertificate auditor,
        DateTimeOffset generatedAt, BlockRecord? genesisBlock)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(auditor);
        if (!key.PublicKey.Equals(auditor.PublicKey))
        {
            throw new CustosException(ErrorCode.InvalidField, $"the key is not the key of the auditor's certificate ({auditor.Subject})");
        }

        var input = result.Input;
        var (from, to) = input.Heights ?? throw new CustosException(ErrorCode.InvalidField, "the store holds no committed block: there is nothing to report");
        if (to - from >= AuditReportFormat.ReportBlocksMax)
        {
            throw new CustosException(ErrorCode.TooLarge, $"a report holds at most {AuditReportFormat.ReportBlocksMax} blocks; audit blocks {from} to {to} in parts with --from and --to");
        }

        var blocks = input.Ledger
            .Where(b => b.Height >= from && b.Height <= to)
            .Select(b => new ReportBlock(b.Height, Convert.ToBase64String(b.Block.HeaderBytes.Span), b.Qc is null ? null : Convert.ToBase64String(b.Qc.ToByteArray())))
            .ToList();
        var journal = new ReportJournal(input.JournalFrom, input.JournalTo, input.JournalLength,
            (input.Journal.Count == 0 ? Hash32.Zero : input.Journal[^1].Hash).ToString(), TimeoutCertificateCensus.Count(input.Journal, input.Suite));

        var body = new AuditReportBody
        {
            Format = AuditReportFormat.FormatTag,
            ChainId = identity.ChainId,
            Suite = input.Suite.Name,
            GenesisHash = identity.GenesisHash.ToString(),
            GeneratedAt = generatedAt,
            Range = new ReportRange(from, to),
            Head = new ReportHead(head.Height, head.BlockHash.ToString()),
            Blocks = blocks,
            CommitProof = CommitProof(input.Ledger, to),
            Journal = journal,
            Equivocations = Equivocations(result),
            Findings = [.. result.Findings.Select(f => new ReportFinding(f.Severity.ToString().ToLowerInvariant(), f.Kind.ToString(), f.JournalIndex, f.Message))],
            Counts = new ReportCounts(0, 0, 0, 0, 0),
            AuditorCertificate = auditor.ToPem(),
        };

        var content = AuditReportContent.Check(body, identity.ChainId, input.Suite, input.ValidatorSets, genesisBlock);
        body = body with
        {
            Counts = new ReportCounts(content.Blocks, content.Certificates, (ulong)body.Equivocations.Count, journal.To - journal.From, (ulong)result.FailureCount),
        };

        var bodyBytes = AuditReportFormat.EncodeBody(body);
        var signature = key.SignObject(ObjectType.AuditReport, bodyBytes);
        return new SignedAuditReport(AuditReportFormat.EncodeEnvelope(bodyBytes, signature), body, content);
    }

    /// <summary>
    /// The committed blocks above <paramref name="to"/> up to the parent of the QC that commits it, and that QC; null
    /// when the store proves no commit of <paramref name="to"/> (the audit reports why).
    /// </summary>
    private static ReportCommitProof? CommitProof(IReadOnlyList<CommittedBlock> ledger, ulong to)
    {
        var index = -1;
        for (var i = 0; i < ledger.Count; i++)
        {
            if (ledger[i].Height == to) index = i;
        }

        if (index < 0 || ledger[index].CommitQc is not { } commitQc || !CertificateVerifier.TryDecode(commitQc, out var view, out _)) return null;
        var headers = new List<string>();
        for (var i = index; i < ledger.Count; i++)
        {
            if (i > index)
            {
                if (ledger[i].Height != ledger[i - 1].Height + 1) return null;
                headers.Add(Convert.ToBase64String(ledger[i].Block.HeaderBytes.Span));
            }

            if (ledger[i].Hash == view.ParentHash) return new ReportCommitProof(headers, Convert.ToBase64String(commitQc.ToByteArray()));
        }

        return null;
    }

    private static List<ReportEquivocation> Equivocations(LedgerAuditResult result)
    {
        var equivocations = new List<ReportEquivocation>();
        foreach (var finding in result.Findings.Where(f => f.Kind == AuditFindingKind.Equivocation && f.Evidence is not null)
                     .OrderBy(f => f.Epoch).ThenBy(f => f.Round).ThenBy(f => f.Culprit))
        {
            var evidence = finding.Evidence!;
            var culprit = result.Culprits.FirstOrDefault(c => c.Epoch == evidence.Epoch && c.Index == evidence.Culprit);
            var node = culprit?.Name ?? culprit?.Node?.ToString();
            equivocations.Add(new ReportEquivocation(evidence.Epoch, evidence.Round, evidence.Culprit, evidence.First.Kind.ToString().ToLowerInvariant(),
                node, culprit?.KeyFingerprint, Convert.ToBase64String(evidence.ToByteArray())));
        }

        return equivocations;
    }
}
