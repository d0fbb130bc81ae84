using System.Text.Json;
using System.Text.Json.Serialization;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Cli.Audit;

/// <summary>
/// A signed consensus audit report as written to disk (docs/consensus.md, section 10.1): a JSON envelope
/// <c>{"format", "body", "signature"}</c> whose <c>body</c> is the base64 of the report body's exact UTF-8 JSON bytes
/// and whose <c>signature</c> is the auditor's suite signature over those bytes under the <c>audit_report</c>
/// signing domain. The body is serialised once, by the auditor, and never re-encoded: the verifier checks the
/// signature over the bytes it decodes from base64 and only then reads them as JSON, so no canonical JSON form is
/// needed and none can be disputed.
/// </summary>
internal sealed record AuditReportEnvelope
{
    public required string Format { get; init; }

    /// <summary>Base64 (RFC 4648, with padding) of the body's UTF-8 JSON bytes.</summary>
    public required string Body { get; init; }

    /// <summary>Base64 of the suite signature (64 bytes r‖s) over SigningDomain(AUDIT_REPORT) ‖ body bytes.</summary>
    public required string Signature { get; init; }
}

/// <summary>
/// What the auditor signs. Everything here is a fact read from the node's store and re-checkable with the genesis
/// file, except <see cref="GeneratedAt"/> (the auditor's own clock, asserted), <see cref="Journal"/> and
/// <see cref="Findings"/> (what the auditor's full audit of the journal found; the journal itself is not in the report).
/// </summary>
internal sealed record AuditReportBody
{
    public required string Format { get; init; }

    public required string ChainId { get; init; }

    /// <summary>"gm" or "intl".</summary>
    public required string Suite { get; init; }

    /// <summary>Hex of the genesis hash the store is bound to (the suite hash of the genesis file's bytes).</summary>
    public required string GenesisHash { get; init; }

    /// <summary>When the auditor says it produced the report (its clock; nothing else in the report depends on time).</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    public required ReportRange Range { get; init; }

    /// <summary>The store's head when it was opened for the audit.</summary>
    public required ReportHead Head { get; init; }

    /// <summary>Every block of <see cref="Range"/>, in increasing height.</summary>
    public required IReadOnlyList<ReportBlock> Blocks { get; init; }

    /// <summary>What proves the range's last block committed; null only when the range ends at the genesis block or no proof was found.</summary>
    public ReportCommitProof? CommitProof { get; init; }

    public required ReportJournal Journal { get; init; }

    public required IReadOnlyList<ReportEquivocation> Equivocations { get; init; }

    public required IReadOnlyList<ReportFinding> Findings { get; init; }

    public required ReportCounts Counts { get; init; }

    /// <summary>PEM of the auditor's certificate; its key made <see cref="AuditReportEnvelope.Signature"/>.</summary>
    public required string AuditorCertificate { get; init; }
}

/// <summary>Audited block heights, inclusive.</summary>
internal sealed record ReportRange(ulong From, ulong To);

internal sealed record ReportHead(ulong Height, string Hash);

/// <summary>One block: its header bytes and the QC certifying it (the next block's parent QC, or the head's QC), both base64.</summary>
internal sealed record ReportBlock(ulong Height, string Header, string? Qc);

/// <summary>
/// The two-chain proof that the range's last block is committed: <see cref="Headers"/> are the committed blocks above it
/// (base64 headers, possibly none), and <see cref="Qc"/> certifies a block whose parent is the last of them (or the
/// range's last block) in the directly following round, which commits that parent and every ancestor.
/// </summary>
internal sealed record ReportCommitProof(IReadOnlyList<string> Headers, string Qc);

/// <summary>
/// The audited window of the consensus journal, entries [<see cref="From"/>, <see cref="To"/>) of <see cref="Length"/>,
/// the hash of its last entry (hex, zeros when empty) and the distinct timeout certificates it holds.
/// </summary>
internal sealed record ReportJournal(ulong From, ulong To, ulong Length, string LastHash, ulong TimeoutCertificates);

/// <summary>
/// A validator caught signing two different statements of one kind for one (epoch, round). <see cref="Evidence"/> is
/// the base64 of the <c>EquivocationEvidence</c> message holding both statements; <see cref="Node"/> and
/// <see cref="KeyFingerprint"/> say who it is, as the store names it.
/// </summary>
internal sealed record ReportEquivocation(ulong Epoch, ulong Round, uint Culprit, string Kind, string? Node, string? KeyFingerprint, string Evidence);

/// <summary>One finding of the auditor's audit: severity ("failure" or "notice"), kind, journal entry (if any) and message.</summary>
internal sealed record ReportFinding(string Severity, string Kind, ulong? JournalEntry, string Message);

/// <summary>
/// Counts a verifier recomputes from the content: blocks of the range, distinct certificates (QCs and TCs) that verify,
/// equivocations, journal entries of the window, and the failures among <see cref="AuditReportBody.Findings"/>.
/// </summary>
internal sealed record ReportCounts(ulong Blocks, ulong Certificates, ulong Equivocations, ulong JournalEntries, ulong Failures);

/// <summary>Encoding and decoding of reports, with the size bounds that keep a hostile file from exhausting memory.</summary>
internal static class AuditReportFormat
{
    public const string FormatTag = "custos-audit-report/1";

    /// <summary>The largest report file read; a larger range is audited in parts (--from/--to).</summary>
    public const long ReportSizeBytesMax = 512L * 1024 * 1024;

    /// <summary>The most blocks one report holds (about 1.7 KB each on disk with four validators).</summary>
    public const ulong ReportBlocksMax = 200_000;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        MaxDepth = 16,
    };

    private static readonly JsonSerializerOptions EnvelopeOptions = new(Options) { WriteIndented = true };

    /// <summary>The body's bytes: serialised once, then signed and embedded exactly as they are.</summary>
    public static byte[] EncodeBody(AuditReportBody body) => JsonSerializer.SerializeToUtf8Bytes(body, Options);

    public static byte[] EncodeEnvelope(ReadOnlySpan<byte> body, ReadOnlySpan<byte> signature) =>
        JsonSerializer.SerializeToUtf8Bytes(new AuditReportEnvelope
        {
            Format = FormatTag,
            Body = Convert.ToBase64String(body),
            Signature = Convert.ToBase64String(signature),
        }, EnvelopeOptions);

    /// <summary>Reads a report file into its envelope, body bytes and signature; anything unreadable is a typed error.</summary>
    public static (byte[] Body, byte[] Signature) DecodeEnvelope(ReadOnlySpan<byte> file)
    {
        if (file.Length > ReportSizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"the report is {file.Length} bytes; at most {ReportSizeBytesMax} are read");
        var envelope = Deserialize<AuditReportEnvelope>(file, "the report");
        if (envelope.Format != FormatTag) throw new CustosException(ErrorCode.UnsupportedVersion, $"the report's format '{envelope.Format}' is not {FormatTag}");
        return (Base64(envelope.Body, "the report's body"), Base64(envelope.Signature, "the report's signature"));
    }

    public static AuditReportBody DecodeBody(ReadOnlySpan<byte> body)
    {
        var decoded = Deserialize<AuditReportBody>(body, "the report's body");
        if (decoded.Format != FormatTag) throw new CustosException(ErrorCode.UnsupportedVersion, $"the report body's format '{decoded.Format}' is not {FormatTag}");
        if ((ulong)decoded.Blocks.Count > ReportBlocksMax) throw new CustosException(ErrorCode.TooLarge, $"the report holds {decoded.Blocks.Count} blocks; at most {ReportBlocksMax}");

        // The serializer enforces non-null members but not non-null list elements.
        if (decoded.Blocks.Any(b => b is null) || decoded.Equivocations.Any(e => e is null) || decoded.Findings.Any(f => f is null)
            || decoded.CommitProof?.Headers.Any(h => h is null) == true)
        {
            throw new CustosException(ErrorCode.Malformed, "the report's body has a null where a block, header, equivocation or finding is required");
        }

        return decoded;
    }

    /// <summary>Strict base64 of a field, as a typed error naming the field when it is not.</summary>
    public static byte[] Base64(string text, string what)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new CustosException(ErrorCode.Malformed, $"{what} is not base64");
        }
    }

    private static T Deserialize<T>(ReadOnlySpan<byte> json, string what)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw new CustosException(ErrorCode.Malformed, $"{what} is JSON null");
        }
        catch (JsonException e)
        {
            throw new CustosException(ErrorCode.Malformed, $"{what} is not a valid report: {e.Message}");
        }
    }
}
