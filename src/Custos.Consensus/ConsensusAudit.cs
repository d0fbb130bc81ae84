using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Consensus;

public enum AuditSeverity
{
    /// <summary>Something failed to verify: the journal or the ledger cannot be trusted as it is.</summary>
    Failure,

    /// <summary>Worth reporting, and verified: an equivocation someone committed, a commit whose proof is still to come.</summary>
    Notice,
}

public enum AuditFindingKind
{
    BrokenJournalChain,
    UndecodableEntry,
    InvalidCertificate,
    InvalidSignature,
    UnknownEpoch,
    BrokenLedgerChain,
    LedgerMismatch,
    UnprovenCommit,
    PendingCommitProof,
    InvalidEvidence,
    InvalidEpochEnding,
    ValidatorSetMismatch,
    Equivocation,
}

/// <summary>
/// One thing the audit found. <see cref="Culprit"/> is a validator index in <see cref="Epoch"/>'s set. An
/// <see cref="AuditFindingKind.Equivocation"/> carries <see cref="Evidence"/>: the two signed statements, so that
/// anyone holding the epoch's validator set can check it without the journal.
/// </summary>
public sealed record AuditFinding(AuditSeverity Severity, AuditFindingKind Kind, string Message, ulong? JournalIndex = null, ulong? Epoch = null, ulong? Round = null, uint? Culprit = null,
    EquivocationEvidence? Evidence = null)
{
    public override string ToString() =>
        $"{Severity.ToString().ToLowerInvariant()} {Kind}{(JournalIndex is { } i ? $" (entry {i})" : "")}: {Message}";
}

public sealed class AuditReport
{
    internal AuditReport(List<AuditFinding> findings, int entries, int certificates, int commits)
    {
        Findings = findings;
        EntriesRead = entries;
        CertificatesVerified = certificates;
        CommitsVerified = commits;
    }

    public IReadOnlyList<AuditFinding> Findings { get; }

    public IEnumerable<AuditFinding> Failures => Findings.Where(f => f.Severity == AuditSeverity.Failure);

    public bool Passed => !Failures.Any();

    /// <summary>Every (epoch, validator index) the journal shows equivocating, in order.</summary>
    public IReadOnlyList<(ulong Epoch, uint Culprit)> Culprits =>
        [.. Findings.Where(f => f.Kind == AuditFindingKind.Equivocation).Select(f => (f.Epoch ?? 0, f.Culprit ?? 0)).Distinct().Order()];

    public int EntriesRead { get; }

    public int CertificatesVerified { get; }

    public int CommitsVerified { get; }
}

/// <summary>
/// Re-verifies a node's consensus history from its journal and its committed blocks alone (docs/consensus.md,
/// section 10): the journal's hash chain, every QC and TC and signed statement in every message it received or
/// sent, that committed blocks form one hash-linked chain each proven by a commit QC, the epoch changes, the
/// evidence it recorded, and every equivocation the journal shows. Pure: the audit command is a thin shell over it.
/// </summary>
public static class ConsensusAudit
{
    /// <param name="journal">The journal records, in order.</param>
    /// <param name="ledger">The committed blocks (block store), in increasing height, starting anywhere; may be empty.</param>
    /// <param name="validatorSets">Trusted validator sets by epoch (from genesis and governance). Sets announced in the journal fill the gaps.</param>
    public static AuditReport Verify(IReadOnlyList<JournalRecord> journal, IReadOnlyList<CommittedBlock> ledger,
        IReadOnlyDictionary<ulong, ValidatorSet> validatorSets, string chainId, ICryptoSuite suite)
    {
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(validatorSets);
        var audit = new Auditor(chainId, suite, validatorSets);
        audit.Run(journal, ledger);
        return audit.Report(journal.Count);
    }

    private sealed class Auditor(string chainId, ICryptoSuite suite, IReadOnlyDictionary<ulong, ValidatorSet> trusted)
    {
        private readonly List<AuditFinding> _findings = [];
        private readonly Dictionary<ulong, ValidatorSet> _sets = new(trusted);
        private readonly HashSet<Hash32> _verified = [];
        private readonly Dictionary<(ulong Epoch, ulong Round, SignedKind Kind, uint Author), SignedStatement> _statements = [];
        private readonly HashSet<(ulong, ulong, SignedKind, uint)> _equivocations = [];
        private readonly SortedDictionary<ulong, (Hash32 Hash, Hash32 Parent, ulong Round, QuorumCertificateView? CommitQc, ulong? Entry)> _committed = [];
        private readonly HashSet<Hash32> _provenByEpochEnding = [];
        private int _commits;
        private ulong? _entry;

        public void Run(IReadOnlyList<JournalRecord> journal, IReadOnlyList<CommittedBlock> ledger)
        {
            var broken = JournalChain.FirstBrokenLink(suite, journal);
            if (broken >= 0) Fail(AuditFindingKind.BrokenJournalChain, $"entry {broken} does not follow the hash chain", (ulong)broken);

            // Epoch records first, so that messages of an epoch the trusted sets do not cover can still be checked.
            foreach (var record in journal)
            {
                if (TryParseEntry(record, out var entry) && entry.Kind == JournalEntryKind.Epoch) LearnEpoch(entry, record.Index);
            }

            foreach (var record in journal)
            {
                _entry = record.Index;
                if (!TryParseEntry(record, out var entry))
                {
                    Fail(AuditFindingKind.UndecodableEntry, "payload is not a journal entry");
                    continue;
                }

                switch (entry.Kind)
                {
                    case JournalEntryKind.Received or JournalEntryKind.Sent:
                        AuditMessage(entry.Message, mustVerify: true);
                        break;
                    case JournalEntryKind.Rejected:
                        AuditMessage(entry.Message, mustVerify: false);
                        break;
                    case JournalEntryKind.Commit:
                        AuditCommit(entry);
                        break;
                    case JournalEntryKind.Evidence:
                        AuditEvidence(entry.Evidence);
                        break;
                    case JournalEntryKind.Epoch:
                        break;
                    default:
                        Fail(AuditFindingKind.UndecodableEntry, $"unknown entry kind {(int)entry.Kind}");
                        break;
                }
            }

            _entry = null;
            foreach (var block in ledger) AuditLedgerBlock(block);
            CheckCommitChain();
        }

        public AuditReport Report(int entries) => new(_findings, entries, _verified.Count, _commits);

        private static bool TryParseEntry(JournalRecord record, out JournalEntry entry)
        {
            entry = null!;
            try
            {
                entry = JournalEntry.Parser.ParseFrom(record.Payload);
                return true;
            }
            catch (InvalidProtocolBufferException)
            {
                return false;
            }
        }

        private void LearnEpoch(JournalEntry entry, ulong index)
        {
            if (entry.Validators is null || !ValidatorSet.TryFromRecord(entry.Validators, suite, out var announced, out var error))
            {
                Fail(AuditFindingKind.UndecodableEntry, "epoch entry without a valid validator set", index);
                return;
            }

            if (_sets.TryGetValue(announced.Epoch, out var known))
            {
                if (!known.Members.Select(m => m.Key).SequenceEqual(announced.Members.Select(m => m.Key)))
                {
                    Fail(AuditFindingKind.ValidatorSetMismatch, $"journal announces a validator set for epoch {announced.Epoch} that differs from the trusted one", index);
                }
            }
            else
            {
                _sets[announced.Epoch] = announced;
            }

            if (entry.EpochEnding is { } proof)
            {
                if (!_sets.TryGetValue(proof.Epoch, out var ending))
                {
                    Fail(AuditFindingKind.UnknownEpoch, $"no validator set for epoch {proof.Epoch} to check its ending proof", index);
                }
                else if (!EpochEndingVerifier.TryVerify(proof, chainId, ending, suite, out error))
                {
                    Fail(AuditFindingKind.InvalidEpochEnding, error.ToString(), index);
                }
                else
                {
                    _provenByEpochEnding.Add(new Hash32(proof.EndingBlockHash.Span));
                }
            }
        }

        private void AuditMessage(ByteString bytes, bool mustVerify)
        {
            if (!ConsensusMessages.TryDecode(bytes.Span, out var message, out var error))
            {
                if (mustVerify) Fail(AuditFindingKind.UndecodableEntry, error.ToString());
                return;
            }

            switch (message.BodyCase)
            {
                case ConsensusMessage.BodyOneofCase.Proposal:
                    AuditProposal(message.Proposal, mustVerify);
                    break;
                case ConsensusMessage.BodyOneofCase.Vote:
                    if (message.Vote.Vote is { } vote && Decoders.TryDecodeVoteData(vote.Data.Span, out var data, out _))
                    {
                        Statement(data.Epoch, data.Round, SignedKind.Vote, vote.Voter, vote.Data, vote.Signature, mustVerify);
                    }
                    else if (mustVerify)
                    {
                        Fail(AuditFindingKind.UndecodableEntry, "vote does not decode");
                    }

                    break;
                case ConsensusMessage.BodyOneofCase.Timeout:
                    if (message.Timeout.Timeout is { } timeout && Decoders.TryDecodeTimeoutData(timeout.Data.Span, out var timeoutData, out _))
                    {
                        Statement(timeoutData.Epoch, timeoutData.Round, SignedKind.Timeout, timeout.Author, timeout.Data, timeout.Signature, mustVerify);
                        if (timeout.HighQc is not null) Qc(timeout.HighQc, mustVerify);
                        SyncInfo(message.Timeout.SyncInfo, mustVerify);
                    }
                    else if (mustVerify)
                    {
                        Fail(AuditFindingKind.UndecodableEntry, "timeout does not decode");
                    }

                    break;
                case ConsensusMessage.BodyOneofCase.SyncInfo:
                    SyncInfo(message.SyncInfo, mustVerify);
                    break;
                case ConsensusMessage.BodyOneofCase.SyncResponse:
                    // The node checks the blocks of the answer's epoch up to the first block of another epoch; so does the audit.
                    foreach (var block in message.SyncResponse.Blocks)
                    {
                        if (!BlockRecord.TryDecode(block.Span, suite, out var record, out _))
                        {
                            if (mustVerify) Fail(AuditFindingKind.UndecodableEntry, "a block in a sync response does not decode");
                            break;
                        }

                        if (record.Epoch != message.SyncResponse.Epoch) break;
                        HeaderCertificates(record.Header, mustVerify);
                    }

                    if (message.SyncResponse.EpochEnding is { } proof && proof.Epoch == message.SyncResponse.Epoch && _sets.TryGetValue(proof.Epoch, out var endingSet)
                        && !EpochEndingVerifier.TryVerify(proof, chainId, endingSet, suite, out var proofError) && mustVerify)
                    {
                        Fail(AuditFindingKind.InvalidEpochEnding, proofError.ToString());
                    }

                    SyncInfo(message.SyncResponse.SyncInfo, mustVerify);
                    break;
            }
        }

        private void AuditProposal(Proposal proposal, bool mustVerify)
        {
            if (!BlockRecord.TryDecode(proposal.Block.Span, suite, out var block, out var error))
            {
                if (mustVerify) Fail(AuditFindingKind.UndecodableEntry, error.ToString());
                return;
            }

            Statement(block.Epoch, block.Round, SignedKind.Proposal, block.Header.Proposer, block.HeaderByteString, proposal.Signature, mustVerify);
            HeaderCertificates(block.Header, mustVerify);
            SyncInfo(proposal.SyncInfo, mustVerify);
        }

        private void HeaderCertificates(BlockHeader header, bool mustVerify)
        {
            if (header.ParentQc is not null) Qc(header.ParentQc, mustVerify);
            if (header.TimeoutCertificate is not null) Tc(header.TimeoutCertificate, mustVerify);
        }

        private void SyncInfo(SyncInfo? syncInfo, bool mustVerify)
        {
            if (syncInfo is null) return;
            if (syncInfo.HighestQc is not null) Qc(syncInfo.HighestQc, mustVerify);
            if (syncInfo.HighestTc is not null) Tc(syncInfo.HighestTc, mustVerify);
        }

        private QuorumCertificateView? Qc(QuorumCertificate qc, bool mustVerify)
        {
            if (!CertificateVerifier.TryDecode(qc, out var view, out var error))
            {
                if (mustVerify) Fail(AuditFindingKind.InvalidCertificate, error.ToString());
                return null;
            }

            var key = suite.Hash(view.Encoded);
            if (_verified.Contains(key)) return view;
            if (!_sets.TryGetValue(view.Epoch, out var set))
            {
                if (mustVerify) Fail(AuditFindingKind.UnknownEpoch, $"no validator set for epoch {view.Epoch} to check {view}");
                return null;
            }

            if (!CertificateVerifier.TryVerify(view, chainId, set, suite, out error))
            {
                if (mustVerify) Fail(AuditFindingKind.InvalidCertificate, error.ToString());
                return null;
            }

            _verified.Add(key);
            for (var i = 0; i < view.Signers.Count; i++) Record(view.Epoch, view.Round, SignedKind.Vote, view.Signers[i], view.Wire.VoteData, view.Wire.Signatures[i]);
            return view;
        }

        private void Tc(TimeoutCertificate tc, bool mustVerify)
        {
            if (!CertificateVerifier.TryDecode(tc, out var view, out var error))
            {
                if (mustVerify) Fail(AuditFindingKind.InvalidCertificate, error.ToString());
                return;
            }

            var key = suite.Hash(view.Encoded);
            if (_verified.Contains(key)) return;
            if (!_sets.TryGetValue(view.Epoch, out var set))
            {
                if (mustVerify) Fail(AuditFindingKind.UnknownEpoch, $"no validator set for epoch {view.Epoch} to check {view}");
                return;
            }

            if (!CertificateVerifier.TryVerify(view, chainId, set, suite, out error))
            {
                if (mustVerify) Fail(AuditFindingKind.InvalidCertificate, error.ToString());
                return;
            }

            _verified.Add(key);
            foreach (var entry in view.Wire.Signatures) Record(view.Epoch, view.Round, SignedKind.Timeout, entry.Author, entry.Data, entry.Signature);
        }

        private void Statement(ulong epoch, ulong round, SignedKind kind, uint author, ByteString data, ByteString signature, bool mustVerify)
        {
            if (!_sets.TryGetValue(epoch, out var set))
            {
                if (mustVerify) Fail(AuditFindingKind.UnknownEpoch, $"no validator set for epoch {epoch}");
                return;
            }

            if (!CertificateVerifier.VerifyStatement(set, author, kind, data.Span, signature.Span, suite))
            {
                if (mustVerify) Fail(AuditFindingKind.InvalidSignature, $"{kind} of validator {author} for epoch {epoch} round {round} does not verify");
                return;
            }

            Record(epoch, round, kind, author, data, signature);
        }

        /// <summary>Keeps the first verified statement per (epoch, round, kind, author) and reports a different second one.</summary>
        private void Record(ulong epoch, ulong round, SignedKind kind, uint author, ByteString data, ByteString signature)
        {
            var key = (epoch, round, kind, author);
            if (!_statements.TryGetValue(key, out var first))
            {
                _statements.Add(key, new SignedStatement { Kind = kind, Data = data, Signature = signature });
                return;
            }

            if (!first.Data.Equals(data) && _equivocations.Add(key))
            {
                var evidence = new EquivocationEvidence
                {
                    Epoch = epoch,
                    Round = round,
                    Culprit = author,
                    First = first,
                    Second = new SignedStatement { Kind = kind, Data = data, Signature = signature },
                };
                _findings.Add(new AuditFinding(AuditSeverity.Notice, AuditFindingKind.Equivocation,
                    $"validator {author} signed two different {kind.ToString().ToLowerInvariant()}s for epoch {epoch} round {round}", _entry, epoch, round, author, evidence));
            }
        }

        private void AuditCommit(JournalEntry entry)
        {
            if (!Decoders.TryDecodeBlockHeader(entry.BlockHeader.Span, out var header, out var error))
            {
                Fail(AuditFindingKind.UndecodableEntry, error.ToString());
                return;
            }

            var hash = BlockRecord.HashOfHeader(suite, entry.BlockHeader.Span);
            if (header.Height > 0 && header.ParentQc is not null) Qc(header.ParentQc, mustVerify: true);
            QuorumCertificateView? commitQc = null;
            if (entry.CommitQc is not null)
            {
                commitQc = Qc(entry.CommitQc, mustVerify: true);
            }
            else if (header.Height > 0)
            {
                Fail(AuditFindingKind.UnprovenCommit, $"commit of height {header.Height} carries no commit QC");
            }

            Commit(header.Height, hash, new Hash32(header.ParentHash.Span), header.Round, commitQc);
        }

        private void AuditLedgerBlock(CommittedBlock block)
        {
            var header = block.Block.Header;
            if (header.Height > 0 && header.ParentQc is not null) Qc(header.ParentQc, mustVerify: true);
            if (header.TimeoutCertificate is not null) Tc(header.TimeoutCertificate, mustVerify: true);
            QuorumCertificateView? commitQc = block.CommitQc is null ? null : Qc(block.CommitQc, mustVerify: true);
            if (block.Qc is not null && Qc(block.Qc, mustVerify: true) is { } own && own.BlockHash != block.Hash)
            {
                Fail(AuditFindingKind.InvalidCertificate, $"the QC stored with height {block.Height} certifies another block");
            }

            Commit(block.Height, block.Hash, block.Block.ParentHash, block.Block.Round, commitQc);
        }

        private void Commit(ulong height, Hash32 hash, Hash32 parent, ulong round, QuorumCertificateView? commitQc)
        {
            if (_committed.TryGetValue(height, out var known))
            {
                if (known.Hash != hash) Fail(AuditFindingKind.LedgerMismatch, $"two different blocks committed at height {height}");
                if (known.CommitQc is null && commitQc is not null) _committed[height] = known with { CommitQc = commitQc };
                return;
            }

            _committed.Add(height, (hash, parent, round, commitQc, _entry));
            _commits++;
        }

        private void CheckCommitChain()
        {
            KeyValuePair<ulong, (Hash32 Hash, Hash32 Parent, ulong Round, QuorumCertificateView? CommitQc, ulong? Entry)>? previous = null;
            foreach (var current in _committed)
            {
                if (previous is { } p && p.Key + 1 == current.Key && current.Value.Parent != p.Value.Hash)
                {
                    Fail(AuditFindingKind.BrokenLedgerChain, $"committed block at height {current.Key} does not extend the one at height {p.Key}", current.Value.Entry);
                }

                previous = current;
            }

            foreach (var (height, block) in _committed)
            {
                if (height == 0 || block.CommitQc is null) continue;
                var qc = block.CommitQc;
                if (!qc.CommitsParent)
                {
                    Fail(AuditFindingKind.UnprovenCommit, $"commit QC of height {height} ({qc}) does not follow its parent's round", block.Entry);
                    continue;
                }

                // The commit QC's parent must be this block or a committed descendant reached through the hash chain.
                var proven = false;
                var reachedEnd = true;
                for (var h = height; _committed.TryGetValue(h, out var step); h++)
                {
                    if (step.Hash == qc.ParentHash && step.Round == qc.ParentRound)
                    {
                        proven = true;
                        break;
                    }

                    if (_provenByEpochEnding.Contains(step.Hash))
                    {
                        proven = true;
                        break;
                    }

                    if (!_committed.TryGetValue(h + 1, out var next) || next.Parent != step.Hash)
                    {
                        reachedEnd = !_committed.ContainsKey(h + 1);
                        break;
                    }
                }

                if (proven) continue;
                if (reachedEnd)
                {
                    _findings.Add(new AuditFinding(AuditSeverity.Notice, AuditFindingKind.PendingCommitProof,
                        $"height {height} is committed by {qc}, whose parent is not on the audited ledger yet", block.Entry));
                }
                else
                {
                    Fail(AuditFindingKind.UnprovenCommit, $"commit QC of height {height} certifies a block off the committed chain", block.Entry);
                }
            }
        }

        private void AuditEvidence(EquivocationEvidence? evidence)
        {
            if (evidence is null)
            {
                Fail(AuditFindingKind.InvalidEvidence, "evidence entry without evidence");
                return;
            }

            if (!_sets.TryGetValue(evidence.Epoch, out var set))
            {
                Fail(AuditFindingKind.UnknownEpoch, $"no validator set for epoch {evidence.Epoch} to check evidence");
                return;
            }

            if (!EquivocationEvidenceVerifier.TryVerify(evidence, set, suite, out var error))
            {
                Fail(AuditFindingKind.InvalidEvidence, error.ToString());
                return;
            }

            Record(evidence.Epoch, evidence.Round, evidence.First.Kind, evidence.Culprit, evidence.First.Data, evidence.First.Signature);
            Record(evidence.Epoch, evidence.Round, evidence.Second.Kind, evidence.Culprit, evidence.Second.Data, evidence.Second.Signature);
        }

        private void Fail(AuditFindingKind kind, string message, ulong? index = null) =>
            _findings.Add(new AuditFinding(AuditSeverity.Failure, kind, message, index ?? _entry));
    }
}
