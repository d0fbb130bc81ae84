using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Cli.Audit;

/// <summary>What checking a report's content found: one line per failure, lines worth showing, and what verified.</summary>
internal sealed record ReportContentCheck(IReadOnlyList<string> Failures, IReadOnlyList<string> Notes, ulong Blocks, ulong Certificates);

/// <summary>
/// Re-checks the verifiable content of a report body with nothing but the chain's id, suite and validator sets: the
/// blocks of the range form a hash chain (each header names the previous one's hash as its parent), every QC and TC
/// verifies against its epoch's validators and certifies the block it belongs to, the commit proof commits the
/// range's last block by the two-chain rule, and every equivocation's evidence verifies. The auditor runs it to
/// compute the report's counts; the verifier runs it again with the validator set from genesis.
/// Failure lines read <c>failure SUBJECT: what is wrong</c>, one per fault found; a fault never stops the check.
/// </summary>
internal sealed class AuditReportContent
{
    private readonly string _chainId;
    private readonly ICryptoSuite _suite;
    private readonly IReadOnlyDictionary<ulong, ValidatorSet> _sets;
    private readonly Func<uint, string?> _validatorName;
    private readonly List<string> _failures = [];
    private readonly List<string> _notes = [];
    private readonly Dictionary<Hash32, CustosError?> _certificates = [];

    private AuditReportContent(string chainId, ICryptoSuite suite, IReadOnlyDictionary<ulong, ValidatorSet> sets, Func<uint, string?> validatorName)
    {
        _chainId = chainId;
        _suite = suite;
        _sets = sets;
        _validatorName = validatorName;
    }

    /// <param name="genesisBlock">The genesis block the genesis file defines; block 0 of the report must be it. Null: not checked.</param>
    /// <param name="validatorName">A validator's name by index (of the genesis epoch), to name culprits; null when unknown.</param>
    public static ReportContentCheck Check(AuditReportBody body, string chainId, ICryptoSuite suite, IReadOnlyDictionary<ulong, ValidatorSet> sets,
        BlockRecord? genesisBlock, Func<uint, string?>? validatorName = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var check = new AuditReportContent(chainId, suite, sets, validatorName ?? (_ => null));
        var blocks = check.CheckBlocks(body, genesisBlock);
        check.CheckEquivocations(body.Equivocations);
        var verified = (ulong)check._certificates.Values.Count(error => error is null);
        return new ReportContentCheck(check._failures, check._notes, blocks, verified);
    }

    /// <summary>The header of one block as the check walks the chain.</summary>
    private readonly record struct Link(ulong Height, Hash32 Hash, ulong Round);

    private ulong CheckBlocks(AuditReportBody body, BlockRecord? genesisBlock)
    {
        var (from, to) = (body.Range.From, body.Range.To);
        if (from > to) Fail("range", $"from {from} is above to {to}");
        if (body.Head.Height < to) Fail("head", $"the head (height {body.Head.Height}) is below the range's last block {to}");

        Link? previous = null;
        Link? last = null;
        ulong? previousHeight = null;
        ulong inRange = 0;
        foreach (var block in body.Blocks)
        {
            var subject = $"block {block.Height}";
            if (previousHeight is { } before)
            {
                if (block.Height <= before) Fail(subject, $"comes after block {before}: blocks are out of order or repeated");
                else if (block.Height > before + 1) Fail(subject, $"follows block {before}: {Heights(before + 1, block.Height - 1)} missing");
            }

            var inOrder = previousHeight is null || block.Height > previousHeight;
            previousHeight = Math.Max(previousHeight ?? 0, block.Height);
            if (block.Height < from || block.Height > to)
            {
                Fail(subject, $"is outside the audited range {from} to {to}");
                continue;
            }

            if (inOrder) inRange++;
            var link = CheckBlock(block, subject, previous is { } p && p.Height + 1 == block.Height ? p : null, genesisBlock);
            previous = link;
            if (link is { } l && l.Height == to) last = l;
        }

        if (body.Blocks.Count == 0 || body.Blocks[0].Height != from)
        {
            Fail("range", $"starts at block {from} but the report's first block is {(body.Blocks.Count == 0 ? "absent" : body.Blocks[0].Height.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        }

        if (body.Blocks.Count > 0 && body.Blocks[^1].Height != to)
        {
            Fail("range", $"ends at block {to} but the report's last block is {body.Blocks[^1].Height}");
        }

        if (body.Head.Height == to && last is { } head && head.Hash.ToString() != body.Head.Hash)
        {
            Fail("head", $"names block hash {body.Head.Hash} at height {to}, but that block's header hashes to {head.Hash}");
        }

        CheckCommitProof(body.CommitProof, to, last);
        return inRange;
    }

    private Link? CheckBlock(ReportBlock block, string subject, Link? parent, BlockRecord? genesisBlock)
    {
        if (!TryBytes(block.Header, subject, "header", out var headerBytes)) return null;
        if (!Decoders.TryDecodeBlockHeader(headerBytes, out var header, out var error))
        {
            Fail(subject, $"the header does not decode: {error}");
            return null;
        }

        var hash = BlockRecord.HashOfHeader(_suite, headerBytes);
        if (header.Height != block.Height) Fail(subject, $"the header is of height {header.Height}");
        if (header.ChainId != _chainId) Fail(subject, $"the header is for chain '{header.ChainId}'");
        if (block.Height == 0 && genesisBlock is not null && !headerBytes.AsSpan().SequenceEqual(genesisBlock.HeaderBytes.Span))
        {
            Fail(subject, "is not the genesis block the genesis file defines");
        }

        if (parent is { } p && new Hash32(header.ParentHash.Span) != p.Hash)
        {
            Fail(subject, $"the header's parent hash is not the hash of block {p.Height}: the hash chain is broken");
        }

        if (!_sets.ContainsKey(header.Epoch))
        {
            Fail(subject, $"is of epoch {header.Epoch}, whose validators the verifier does not know (genesis names epoch {string.Join(", ", _sets.Keys)})");
        }
        else
        {
            HeaderCertificates(header, subject);
            if (block.Qc is null)
            {
                Fail(subject, "no QC certifies it");
            }
            else if (TryBytes(block.Qc, subject, "QC", out var qcBytes) && VerifyQc(qcBytes, subject, "its QC") is { } qc
                && (qc.BlockHash != hash || qc.Height != header.Height || qc.Round != header.Round))
            {
                Fail(subject, $"its QC certifies another block ({qc})");
            }
        }

        return new Link(block.Height, hash, header.Round);
    }

    /// <summary>The header's parent QC must verify and certify the parent it names; a TC it carries must verify.</summary>
    private void HeaderCertificates(BlockHeader header, string subject)
    {
        if (header.Height > 0)
        {
            if (header.ParentQc is null)
            {
                Fail(subject, "the header carries no parent QC");
            }
            else if (VerifyQc(header.ParentQc.ToByteArray(), subject, "its parent QC") is { } parentQc
                && (parentQc.BlockHash != new Hash32(header.ParentHash.Span) || parentQc.Height + 1 != header.Height))
            {
                Fail(subject, $"its parent QC certifies another block ({parentQc}) than the parent it names");
            }
        }

        if (header.TimeoutCertificate is not null) VerifyTc(header.TimeoutCertificate, subject);
    }

    private void CheckCommitProof(ReportCommitProof? proof, ulong to, Link? last)
    {
        const string subject = "commit proof";
        if (proof is null)
        {
            // The genesis block is committed by the genesis file itself.
            if (to != 0) Fail(subject, $"the report holds none: block {to} is certified but not proven committed");
            return;
        }

        if (last is not { } tip)
        {
            Fail(subject, $"cannot be checked: block {to} is missing or damaged");
            return;
        }

        foreach (var encoded in proof.Headers)
        {
            var what = $"{subject} header above block {tip.Height}";
            if (!TryBytes(encoded, subject, "header", out var bytes)) return;
            if (!Decoders.TryDecodeBlockHeader(bytes, out var header, out var error))
            {
                Fail(subject, $"a header does not decode: {error}");
                return;
            }

            if (header.ChainId != _chainId || header.Height != tip.Height + 1 || new Hash32(header.ParentHash.Span) != tip.Hash)
            {
                Fail(subject, $"the header of height {header.Height} does not extend block {tip.Height}");
                return;
            }

            if (!_sets.ContainsKey(header.Epoch))
            {
                Fail(subject, $"the header of height {header.Height} is of epoch {header.Epoch}, whose validators the verifier does not know");
                return;
            }

            HeaderCertificates(header, what);
            tip = new Link(header.Height, BlockRecord.HashOfHeader(_suite, bytes), header.Round);
        }

        if (!TryBytes(proof.Qc, subject, "QC", out var qcBytes) || VerifyQc(qcBytes, subject, "its QC") is not { } qc) return;
        if (!qc.CommitsParent || qc.ParentHash != tip.Hash || qc.ParentRound != tip.Round)
        {
            Fail(subject, $"{qc} does not commit block {tip.Height}: it must certify a child of it in the directly following round");
        }
    }

    private void CheckEquivocations(IReadOnlyList<ReportEquivocation> equivocations)
    {
        for (var i = 0; i < equivocations.Count; i++)
        {
            var claimed = equivocations[i];
            var subject = $"equivocation {i}";
            if (!TryBytes(claimed.Evidence, subject, "evidence", out var bytes)) continue;
            EquivocationEvidence evidence;
            try
            {
                evidence = EquivocationEvidence.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException)
            {
                Fail(subject, "the evidence does not decode");
                continue;
            }

            var kind = evidence.First?.Kind.ToString().ToLowerInvariant() ?? "none";
            if (evidence.Epoch != claimed.Epoch || evidence.Round != claimed.Round || evidence.Culprit != claimed.Culprit || kind != claimed.Kind)
            {
                Fail(subject, $"the evidence is of validator {evidence.Culprit}'s {kind}s in epoch {evidence.Epoch} round {evidence.Round}, not what the report says");
                continue;
            }

            if (!_sets.TryGetValue(evidence.Epoch, out var set))
            {
                Fail(subject, $"is of epoch {evidence.Epoch}, whose validators the verifier does not know");
                continue;
            }

            if (!EquivocationEvidenceVerifier.TryVerify(evidence, set, _suite, out var error))
            {
                Fail(subject, $"the evidence does not verify: {error}");
                continue;
            }

            if (StatementChainId(evidence.First!) != _chainId)
            {
                Fail(subject, $"the statements are for chain '{StatementChainId(evidence.First!)}'");
                continue;
            }

            var name = _validatorName(evidence.Culprit) is { } known ? $" ({known})" : "";
            _notes.Add($"equivocation: validator {evidence.Culprit}{name} of epoch {evidence.Epoch} signed two different {kind}s for round {evidence.Round}; the evidence verifies");
        }
    }

    private static string? StatementChainId(SignedStatement statement) => statement.Kind switch
    {
        SignedKind.Proposal => Decoders.TryDecodeBlockHeader(statement.Data.Span, out var header, out _) ? header.ChainId : null,
        SignedKind.Vote => Decoders.TryDecodeVoteData(statement.Data.Span, out var vote, out _) ? vote.ChainId : null,
        SignedKind.Timeout => Decoders.TryDecodeTimeoutData(statement.Data.Span, out var timeout, out _) ? timeout.ChainId : null,
        _ => null,
    };

    /// <summary>Decodes and verifies a QC once per distinct certificate (by the hash of its canonical bytes).</summary>
    private QuorumCertificateView? VerifyQc(byte[] bytes, string subject, string what)
    {
        if (!Decoders.TryDecodeQuorumCertificate(bytes, out var wire, out _, out var error) || !CertificateVerifier.TryDecode(wire, out var view, out error))
        {
            Fail(subject, $"{what} does not decode: {error}");
            return null;
        }

        var key = _suite.Hash(view.Encoded);
        if (!_certificates.TryGetValue(key, out var known))
        {
            known = !_sets.TryGetValue(view.Epoch, out var set)
                ? new CustosError(ErrorCode.EpochMismatch, $"{view} is of epoch {view.Epoch}, whose validators the verifier does not know")
                : CertificateVerifier.TryVerify(view, _chainId, set, _suite, out var verifyError) ? null : verifyError;
            _certificates.Add(key, known);
        }

        if (known is not null)
        {
            Fail(subject, $"{what} does not verify: {known}");
            return null;
        }

        return view;
    }

    private void VerifyTc(TimeoutCertificate tc, string subject)
    {
        if (!CertificateVerifier.TryDecode(tc, out var view, out var error))
        {
            Fail(subject, $"its TC does not decode: {error}");
            return;
        }

        var key = _suite.Hash(view.Encoded);
        if (!_certificates.TryGetValue(key, out var known))
        {
            known = !_sets.TryGetValue(view.Epoch, out var set)
                ? new CustosError(ErrorCode.EpochMismatch, $"{view} is of epoch {view.Epoch}, whose validators the verifier does not know")
                : CertificateVerifier.TryVerify(view, _chainId, set, _suite, out var verifyError) ? null : verifyError;
            _certificates.Add(key, known);
        }

        if (known is not null) Fail(subject, $"its TC does not verify: {known}");
    }

    private bool TryBytes(string base64, string subject, string what, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromBase64String(base64);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            Fail(subject, $"the {what} is not base64");
            return false;
        }
    }

    private static string Heights(ulong first, ulong last) => first == last ? $"block {first} is" : $"blocks {first} to {last} are";

    private void Fail(string subject, string message) => _failures.Add($"failure {subject}: {message}");
}
