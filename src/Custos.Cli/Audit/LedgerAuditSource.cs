using System.Globalization;
using System.Text.Json;
using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Cli.Audit;

/// <summary>The configuration entries in which a node keeps its consensus records beside its blocks.</summary>
internal static class ConsensusConfigurationEntries
{
    /// <summary>The QC certifying the latest committed block (<c>QuorumCertificate</c> bytes).</summary>
    public const string HeadQc = "consensus/head-qc";

    /// <summary>The QC committing the latest committed block (<c>QuorumCertificate</c> bytes).</summary>
    public const string HeadCommitQc = "consensus/head-commit-qc";

    /// <summary>The genesis file's bytes, exactly as the node read them.</summary>
    public const string Genesis = "genesis";

    /// <summary>A JSON array of strings: the name of each node, indexed by its NodeId.</summary>
    public const string NodeNames = "node-names";

    /// <summary>The <c>ValidatorSetRecord</c> of one epoch, written with the epoch's first block.</summary>
    public static string ValidatorSet(ulong epoch) => "consensus/validator-set/" + epoch.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Everything an audit of one store reads: the audited window of the journal and of the ledger, and what reading found.</summary>
internal sealed record LedgerAuditInput
{
    public required string ChainId { get; init; }

    public required ICryptoSuite Suite { get; init; }

    /// <summary>The audited block heights (inclusive), or null when the store holds no block.</summary>
    public required (ulong From, ulong To)? Heights { get; init; }

    /// <summary>The store's head height, or null when it holds no block.</summary>
    public required ulong? HeadHeight { get; init; }

    /// <summary>Blocks of <see cref="Heights"/>, then those above it whose certificates prove its last commits.</summary>
    public required IReadOnlyList<CommittedBlock> Ledger { get; init; }

    /// <summary>The audited journal entries: indices [<see cref="JournalFrom"/>, <see cref="JournalTo"/>).</summary>
    public required IReadOnlyList<JournalRecord> Journal { get; init; }

    public required ulong JournalFrom { get; init; }

    public required ulong JournalTo { get; init; }

    public required ulong JournalLength { get; init; }

    /// <summary>The validator sets the store holds, by epoch: the audit's trusted sets.</summary>
    public required IReadOnlyDictionary<ulong, ValidatorSet> ValidatorSets { get; init; }

    /// <summary>Node names by NodeId, if the store holds them.</summary>
    public IReadOnlyList<string>? NodeNames { get; init; }

    /// <summary>Failures and notices found while reading (the journal's whole hash chain, damaged blocks, bad entries).</summary>
    public required IReadOnlyList<AuditFinding> Findings { get; init; }
}

/// <summary>A validator the audit caught equivocating, with what identifies it to people.</summary>
internal sealed record AuditCulprit(ulong Epoch, uint Index, NodeId? Node, string? Name, string? KeyFingerprint, IReadOnlyList<ulong> Rounds);

/// <summary>The outcome of auditing one store: the pure audit's report and the findings of reading the store, merged.</summary>
internal sealed record LedgerAuditResult(LedgerAuditInput Input, AuditReport Report, IReadOnlyList<AuditFinding> Findings, IReadOnlyList<AuditCulprit> Culprits)
{
    public int FailureCount => Findings.Count(f => f.Severity == AuditSeverity.Failure);

    public int EquivocationCount => Findings.Count(f => f.Kind == AuditFindingKind.Equivocation);

    public bool Passed => FailureCount == 0;

    /// <summary>Blocks of the requested range (those read above it only to prove its commits are not counted).</summary>
    public ulong BlocksAudited => Input.Heights is { } h ? h.To - h.From + 1 : 0;
}

/// <summary>
/// Reads a node's <see cref="LedgerStore"/> into the inputs of <see cref="ConsensusAudit"/> and runs it. The store holds
/// every committed block from the genesis block on (block h's QC is the parent QC in block h+1's header; the latest
/// block's QCs are in <see cref="ConsensusConfigurationEntries.HeadQc"/> and
/// <see cref="ConsensusConfigurationEntries.HeadCommitQc"/>), the validator set of every epoch, and the consensus
/// journal. Reading never stops at damage it can describe: a damaged block or journal entry becomes a failure finding.
/// Holds the audited window in memory (block headers without transactions, and the journal entries).
/// </summary>
internal static class LedgerAuditSource
{
    /// <summary>How far above the audited range blocks are read to find the QCs that commit its last blocks.</summary>
    public const ulong CommitProofLookahead = 64;

    private const int JournalChunk = 4096;

    /// <summary>Epochs probed at most; a store with more would be one of many years of daily changes.</summary>
    private const int EpochsMax = 1_000_000;

    public static LedgerAuditResult Audit(LedgerStore store, ulong? from, ulong? to)
    {
        ArgumentNullException.ThrowIfNull(store);
        var input = Read(store, from, to);
        var report = ConsensusAudit.Verify(input.Journal, input.Ledger, input.ValidatorSets, input.ChainId, input.Suite);

        // The store's pass checked the whole journal's chain, also outside the window and against the head records.
        // The pure audit sees only the window, so its chain finding repeats that pass or, for a window that does
        // not start at entry 0, is false (it chains the window's first entry onto the zero hash). A certificate that
        // serves two purposes (the head's QC also commits its parent) fails twice alike; it is one failure.
        var findings = input.Findings.Concat(report.Findings.Where(f => f.Kind != AuditFindingKind.BrokenJournalChain)).Distinct().ToList();
        return new LedgerAuditResult(input, report, findings, Culprits(input, report));
    }

    public static LedgerAuditInput Read(LedgerStore store, ulong? from, ulong? to)
    {
        ArgumentNullException.ThrowIfNull(store);
        var findings = new List<AuditFinding>();
        var head = store.Head;
        var heights = ResolveRange(head, from, to);
        var sets = ReadValidatorSets(store, findings);
        var names = ReadNodeNames(store, findings);
        var ledger = heights is { } range ? ReadLedger(store, range, head!.Height, findings) : [];
        // A range that reaches the head audits the journal to its end, as no --to does: entries written after the
        // head's commit (votes and timeouts of the rounds above it) belong to no lower height. Likewise from 0.
        var journalFromHeight = from is null || heights?.From == 0 ? null : heights?.From;
        var journalToHeight = to is null || heights?.To == head?.Height ? null : heights?.To;
        var (journalFrom, journalTo, journalLength) = ScanJournal(store, journalFromHeight, journalToHeight, findings);
        var journal = ReadJournal(store, journalFrom, journalTo, findings);
        return new LedgerAuditInput
        {
            ChainId = store.Identity.ChainId,
            Suite = store.Suite,
            Heights = heights,
            HeadHeight = head?.Height,
            Ledger = ledger,
            Journal = journal,
            JournalFrom = journalFrom,
            JournalTo = journalFrom + (ulong)journal.Count,
            JournalLength = journalLength,
            ValidatorSets = sets,
            NodeNames = names,
            Findings = findings,
        };
    }

    private static (ulong From, ulong To)? ResolveRange(StoreHead? head, ulong? from, ulong? to)
    {
        if (head is null)
        {
            if (from is not null || to is not null)
            {
                throw new CustosException(ErrorCode.InvalidField, "the store holds no committed block, so --from and --to select nothing");
            }

            return null;
        }

        var first = from ?? 0;
        var last = to ?? head.Height;
        if (last > head.Height)
        {
            throw new CustosException(ErrorCode.InvalidField, $"--to {last} is above the store's head (height {head.Height})");
        }

        if (first > last)
        {
            throw new CustosException(ErrorCode.InvalidField, $"--from {first} is above --to {last}; the range is empty");
        }

        return (first, last);
    }

    private static Dictionary<ulong, ValidatorSet> ReadValidatorSets(LedgerStore store, List<AuditFinding> findings)
    {
        // Epochs are consecutive from the genesis block's; each set is stored with its epoch's first block.
        var sets = new Dictionary<ulong, ValidatorSet>();
        var genesis = TryReadBlock(store, 0, findings);
        var epoch = genesis?.Block.Header.Epoch ?? 0;
        for (var probed = 0; probed < EpochsMax; probed++, epoch++)
        {
            var name = ConsensusConfigurationEntries.ValidatorSet(epoch);
            var bytes = store.ReadConfiguration(name);
            if (bytes is null) break;
            ValidatorSetRecord record;
            try
            {
                record = ValidatorSetRecord.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException)
            {
                findings.Add(Failure(AuditFindingKind.ValidatorSetMismatch, $"configuration entry {name} is not a validator set record"));
                continue;
            }

            if (record.Epoch != epoch)
            {
                findings.Add(Failure(AuditFindingKind.ValidatorSetMismatch, $"configuration entry {name} holds the validator set of epoch {record.Epoch}"));
                continue;
            }

            if (!ValidatorSet.TryFromRecord(record, store.Suite, out var set, out var error))
            {
                findings.Add(Failure(AuditFindingKind.ValidatorSetMismatch, $"configuration entry {name} is not a valid validator set: {error}"));
                continue;
            }

            sets.Add(epoch, set);
        }

        if (genesis is not null && !sets.ContainsKey(genesis.Block.Header.Epoch))
        {
            findings.Add(Failure(AuditFindingKind.UnknownEpoch,
                $"the store holds no validator set for the genesis epoch {genesis.Block.Header.Epoch} (configuration entry {ConsensusConfigurationEntries.ValidatorSet(genesis.Block.Header.Epoch)})"));
        }

        return sets;
    }

    private static string[]? ReadNodeNames(LedgerStore store, List<AuditFinding> findings)
    {
        var bytes = store.ReadConfiguration(ConsensusConfigurationEntries.NodeNames);
        if (bytes is null) return null;
        try
        {
            var names = JsonSerializer.Deserialize<string[]>(bytes);
            if (names is not null && names.All(n => n is not null)) return names;
        }
        catch (JsonException)
        {
            // Reported below, like a null array: names only help people read the output.
        }

        findings.Add(new AuditFinding(AuditSeverity.Notice, AuditFindingKind.UndecodableEntry,
            $"configuration entry {ConsensusConfigurationEntries.NodeNames} is not a JSON array of strings; culprits are shown without names"));
        return null;
    }

    private static List<CommittedBlock> ReadLedger(LedgerStore store, (ulong From, ulong To) range, ulong headHeight, List<AuditFinding> findings)
    {
        var last = headHeight - range.To > CommitProofLookahead ? range.To + CommitProofLookahead : headHeight;
        var blocks = new Dictionary<ulong, BlockRecord>();
        for (var height = range.From; height <= last; height++)
        {
            if (TryReadBlock(store, height, findings) is not { } stored) continue;

            // The audit needs headers only (hash, rounds, certificates); reading the block already checked its
            // transactions against the header's transaction root, so they are left behind to bound memory.
            var headerOnly = new Block { Header = ByteString.CopyFrom(stored.Block.HeaderBytes.Span) }.ToByteArray();
            if (!BlockRecord.TryDecode(headerOnly, store.Suite, out var record, out var error))
            {
                findings.Add(Failure(AuditFindingKind.BrokenLedgerChain, $"block {height} does not decode: {error}"));
                continue;
            }

            blocks.Add(height, record);
        }

        var headQc = ReadCertificate(store, ConsensusConfigurationEntries.HeadQc, findings);
        var headCommitQc = ReadCertificate(store, ConsensusConfigurationEntries.HeadCommitQc, findings);

        QuorumCertificate? QcOf(ulong height) =>
            blocks.TryGetValue(height + 1, out var child) ? child.Header.ParentQc : height == headHeight ? headQc : null;

        // Block h is committed by a QC of a block k+1 (k ≥ h) whose round directly follows its parent k's: the
        // nearest such QC proves h and every block between, and the audit walks the hash chain up to k.
        var proofs = new Dictionary<ulong, (QuorumCertificate Qc, ulong Height)>();
        for (var offset = 0UL; offset <= last - range.From; offset++)
        {
            var height = last - offset;
            if (!blocks.TryGetValue(height, out var block)) continue;
            if (blocks.TryGetValue(height + 1, out var child) && child.Round == block.Round + 1 && QcOf(height + 1) is { } direct)
            {
                proofs[height] = (direct, height + 1);
            }
            else if (proofs.TryGetValue(height + 1, out var inherited))
            {
                proofs[height] = inherited;
            }
            else if (height == headHeight && headCommitQc is not null)
            {
                proofs[height] = (headCommitQc, headHeight);
            }
        }

        var through = proofs.TryGetValue(range.To, out var proofOfLast) ? Math.Max(range.To, proofOfLast.Height) : range.To;
        var ledger = new List<CommittedBlock>();
        for (var height = range.From; height <= through; height++)
        {
            if (!blocks.TryGetValue(height, out var block)) continue;
            ledger.Add(new CommittedBlock(block, QcOf(height), proofs.TryGetValue(height, out var proof) ? proof.Qc : null));
        }

        return ledger;
    }

    private static StoredBlock? TryReadBlock(LedgerStore store, ulong height, List<AuditFinding> findings)
    {
        try
        {
            var stored = store.ReadBlock(height);
            if (stored is null && store.Head is { } head && height <= head.Height)
            {
                findings.Add(Failure(AuditFindingKind.BrokenLedgerChain, $"block {height} is missing from the store"));
            }

            return stored;
        }
        catch (CustosException e)
        {
            findings.Add(Failure(AuditFindingKind.BrokenLedgerChain, $"block {height}: {e.Error.Message}"));
            return null;
        }
    }

    private static QuorumCertificate? ReadCertificate(LedgerStore store, string name, List<AuditFinding> findings)
    {
        var bytes = store.ReadConfiguration(name);
        if (bytes is null) return null;
        if (Decoders.TryDecodeQuorumCertificate(bytes, out var qc, out _, out var error)) return qc;
        findings.Add(Failure(AuditFindingKind.InvalidCertificate, $"configuration entry {name} does not decode: {error}"));
        return null;
    }

    /// <summary>
    /// One pass over the whole journal: re-walks its hash chain (reporting every broken link, each against the stored
    /// hash before it), checks its end against the journal head and the head block's record, and finds the audited
    /// window. The commit entries tell heights: the window runs from the entry after the last commit of a height below
    /// <paramref name="fromHeight"/> (or from the start) to the last commit of a height up to <paramref name="toHeight"/>
    /// (or to the end when no <paramref name="toHeight"/> is given). A journal without commit entries tells no height
    /// and is audited whole.
    /// </summary>
    private static (ulong From, ulong To, ulong Length) ScanJournal(LedgerStore store, ulong? fromHeight, ulong? toHeight, List<AuditFinding> findings)
    {
        var journalHead = store.Journal.Head;
        var recordedAtHead = store.Head?.Journal;
        var length = journalHead.Length;
        ulong? afterCommitsBelowFrom = null;
        ulong? afterCommitsUpToTo = null;
        var commitsSeen = false;
        var readable = length;
        var previous = Hash32.Zero;
        for (ulong index = 0; index < length;)
        {
            IReadOnlyList<Storage.Journal.JournalEntry> entries;
            try
            {
                entries = store.Journal.Read(index, Math.Min(length, index + JournalChunk));
            }
            catch (CustosException e)
            {
                findings.Add(Failure(AuditFindingKind.BrokenJournalChain, e.Error.Message));
                readable = index;
                break;
            }

            foreach (var entry in entries)
            {
                if (JournalChain.EntryHash(store.Suite, previous, entry.Index, entry.Payload) != entry.Hash)
                {
                    findings.Add(Failure(AuditFindingKind.BrokenJournalChain,
                        $"entry {entry.Index} does not hash to its stored value with its predecessor (altered, dropped or reordered)", entry.Index));
                }

                if (recordedAtHead is { } recorded && recorded.Length == entry.Index + 1 && recorded.LastHash != entry.Hash)
                {
                    findings.Add(Failure(AuditFindingKind.BrokenJournalChain, $"entry {entry.Index} is not the entry the head block's record names as the journal's last", entry.Index));
                }

                if (CommitHeight(entry.Payload) is { } height)
                {
                    commitsSeen = true;
                    if (height < fromHeight) afterCommitsBelowFrom = entry.Index + 1;
                    if (height <= toHeight) afterCommitsUpToTo = entry.Index + 1;
                }

                previous = entry.Hash;
            }

            index += (ulong)entries.Count;
        }

        if (readable == length && length > 0 && previous != journalHead.LastHash)
        {
            findings.Add(Failure(AuditFindingKind.BrokenJournalChain, $"the journal's last entry ({length - 1}) is not the one its head records: entries were dropped from its end or altered", length - 1));
        }

        if (!commitsSeen) return (0, readable, length);
        var first = Math.Min(afterCommitsBelowFrom ?? 0, readable);
        var last = toHeight is null ? readable : Math.Min(afterCommitsUpToTo ?? first, readable);
        return (first, Math.Max(first, last), length);
    }

    private static ulong? CommitHeight(byte[] payload)
    {
        try
        {
            var entry = Consensus.Wire.JournalEntry.Parser.ParseFrom(payload);
            if (entry.Kind != JournalEntryKind.Commit) return null;
            return Decoders.TryDecodeBlockHeader(entry.BlockHeader.Span, out var header, out _) ? header.Height : null;
        }
        catch (InvalidProtocolBufferException)
        {
            // The audit reports undecodable entries of its window; outside it, the hash chain speaks for them.
            return null;
        }
    }

    private static List<JournalRecord> ReadJournal(LedgerStore store, ulong from, ulong to, List<AuditFinding> findings)
    {
        var records = new List<JournalRecord>();
        for (var index = from; index < to;)
        {
            try
            {
                var entries = store.Journal.Read(index, Math.Min(to, index + JournalChunk));
                records.AddRange(entries.Select(e => new JournalRecord(e.Index, e.Payload, e.Hash)));
                index += (ulong)entries.Count;
            }
            catch (CustosException e)
            {
                findings.Add(Failure(AuditFindingKind.BrokenJournalChain, e.Error.Message));
                break;
            }
        }

        return records;
    }

    private static List<AuditCulprit> Culprits(LedgerAuditInput input, AuditReport report)
    {
        var culprits = new List<AuditCulprit>();
        foreach (var (epoch, index) in report.Culprits)
        {
            var rounds = report.Findings
                .Where(f => f.Kind == AuditFindingKind.Equivocation && f.Epoch == epoch && f.Culprit == index && f.Round is not null)
                .Select(f => f.Round!.Value).Distinct().Order().ToList();
            NodeId? node = null;
            string? name = null;
            string? fingerprint = null;
            if (input.ValidatorSets.TryGetValue(epoch, out var set) && index < set.Count)
            {
                node = set.NodeOf(index);
                fingerprint = input.Suite.Hash(set.KeyOf(index).Encoded).ToShortString();
                if (input.NodeNames is { } names && node.Value.Value >= 0 && node.Value.Value < names.Count) name = names[node.Value.Value];
            }

            culprits.Add(new AuditCulprit(epoch, index, node, name, fingerprint, rounds));
        }

        return culprits;
    }

    private static AuditFinding Failure(AuditFindingKind kind, string message, ulong? journalIndex = null) =>
        new(AuditSeverity.Failure, kind, message, journalIndex);
}
