using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Consensus;

/// <summary>How an engine starts: the epoch it is in, the last committed block, and what it persisted before.</summary>
public sealed record EngineStart
{
    /// <summary>The validator set of the root block's epoch.</summary>
    public required ValidatorSet Validators { get; init; }

    /// <summary>The previous epoch's set, to verify the QC that roots the current epoch; null in the first epoch.</summary>
    public ValidatorSet? PreviousValidators { get; init; }

    /// <summary>The last block on the ledger, with the QC that certifies it.</summary>
    public required CommittedBlock Root { get; init; }

    /// <summary>The last persisted safety state; null for a validator that never signed anything.</summary>
    public SafetyState? Safety { get; init; }

    /// <summary>
    /// Execution's result for the root, when the host already knows it (it usually does: execution is deterministic
    /// and its results are durable). Otherwise the host reports <see cref="BlockExecuted"/> for the root after
    /// <see cref="ConsensusEngine.Start"/>; the engine delivers no commit before.
    /// </summary>
    public BlockExecuted? RootExecution { get; init; }
}

/// <summary>
/// The consensus protocol of docs/consensus.md as a pure state machine: <see cref="Handle"/> takes an event and the
/// node's current time and returns the actions the host must carry out, in order. It never reads a clock, draws
/// randomness or does I/O; signing goes through the injected key and verification through the chain's suite.
/// Single-threaded: the host calls it from one thread at a time.
/// </summary>
public sealed class ConsensusEngine
{
    private readonly ConsensusConfig _config;
    private readonly ICryptoSuite _suite;
    private readonly ISigningKey _key;
    private readonly NodeId _self;
    private readonly IPayloadSource _payloadSource;
    private readonly IBlockValidator _blockValidator;
    private readonly ICommittedChain _chain;
    private readonly SafetyRules _safety;
    private readonly Pacemaker _pacemaker;
    private readonly HashSet<Hash32> _verifiedCertificates = [];
    private readonly Queue<(BlockRecord Block, QuorumCertificate CommitQc)> _decided = new();
    private readonly Dictionary<ulong, (NodeId From, Proposal Proposal)> _pendingProposals = [];
    private readonly Dictionary<Hash32, QuorumCertificateView> _pendingQcs = [];
    private readonly List<PendingRelease> _pendingReleases = [];
    private readonly List<ConsensusAction> _actions = [];
    private readonly Dictionary<NodeId, long> _helpedAt = [];

    private ValidatorSet _validators;
    private ValidatorSet? _previousValidators;
    private uint? _index;
    private BlockTree _tree;
    private VoteCollector _votes;
    private TimeoutCollector _timeouts;
    private EquivocationDetector _detector;
    private QuorumCertificateView _highestQc;
    private TimeoutCertificateView? _highestTc;
    private CommittedBlock _ledgerTip;
    private BlockRecord _decidedTip;
    private ulong? _awaitingExecution;
    private EpochEndingProof? _receivedEpochEnding;
    private ulong _timedOutRound;
    private long _now;
    private bool _halted;
    private bool _started;
    private bool _epochChanged;
    private readonly BlockExecuted? _rootExecution;

    private bool _safetyDirty;
    private long _nextSequence = 1;
    private long _lastEmittedSequence;
    private long _ackedSequence;

    private long? _syncRequestedAtMs;
    private int _syncPeerCursor;

    public ConsensusEngine(ConsensusConfig config, ICryptoSuite suite, ISigningKey key, NodeId self, EngineStart start,
        IPayloadSource payloadSource, IBlockValidator blockValidator, ICommittedChain chain)
        : this(config, suite, key, self, start, payloadSource, blockValidator, chain, EngineMutation.None)
    {
    }

    internal ConsensusEngine(ConsensusConfig config, ICryptoSuite suite, ISigningKey key, NodeId self, EngineStart start,
        IPayloadSource payloadSource, IBlockValidator blockValidator, ICommittedChain chain, EngineMutation mutation)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(start);
        config.Validate();
        if (key.Suite != suite.Id) throw new CustosException(ErrorCode.SuiteMismatch, "the signing key is not of the chain's suite");
        _config = config;
        _suite = suite;
        _key = key;
        _self = self;
        _payloadSource = payloadSource;
        _blockValidator = blockValidator;
        _chain = chain;
        _pacemaker = new Pacemaker(config);
        _validators = start.Validators;
        _previousValidators = start.PreviousValidators;
        _index = IndexOfSelf(_validators);
        _rootExecution = start.RootExecution;

        var root = start.Root;
        if (root.Block.Epoch != _validators.Epoch && root.Block.Height != 0)
        {
            throw new CustosException(ErrorCode.EpochMismatch, $"root block is of epoch {root.Block.Epoch}, the validator set of epoch {_validators.Epoch}");
        }

        if (root.Qc is null || !CertificateVerifier.TryDecode(root.Qc, out var rootQc, out _) || rootQc.BlockHash != root.Hash)
        {
            throw new CustosException(ErrorCode.InvalidField, "the root block needs the QC that certifies it");
        }

        _tree = new BlockTree(root.Block, rootQc);
        _ledgerTip = root;
        _decidedTip = root.Block;
        _awaitingExecution = root.Height;
        _highestQc = rootQc;
        _votes = new VoteCollector(_validators.Quorum);
        _timeouts = new TimeoutCollector(_validators.Quorum);
        _detector = new EquivocationDetector(_validators.Epoch, config.EquivocationWindowRounds);

        _safety = new SafetyRules(start.Safety ?? new SafetyState(), mutation);
        if (_safety.StartEpoch(_validators.Epoch, root.Qc, root.Block.Round)) _safetyDirty = true;
        AdoptPersistedCertificates();
    }

    public NodeId Self => _self;

    public ulong Epoch => _validators.Epoch;

    public ulong CurrentRound => _pacemaker.CurrentRound;

    public ValidatorSet Validators => _validators;

    /// <summary>True when this node is a validator of the current epoch (otherwise it follows as an observer).</summary>
    public bool IsValidator => _index.HasValue;

    /// <summary>
    /// Applies round timer durations the consortium changed by governance, from the next timer on. Timers bound
    /// liveness only (safety never depends on them), so nodes applying the change a block apart is harmless.
    /// </summary>
    public void SetRoundTimeouts(long baseMs, long maxMs) => _pacemaker.Retime(baseMs, maxMs);

    public bool IsHalted => _halted;

    /// <summary>The last block handed to the host as committed.</summary>
    public CommittedBlock LedgerTip => _ledgerTip;

    public QuorumCertificateView HighestQc => _highestQc;

    /// <summary>A copy of the current safety state (for tests and diagnostics; the durable copy is the host's).</summary>
    public SafetyState SafetySnapshot => _safety.Snapshot();

    /// <summary>Enters the first round: arms the timer, proposes if this node leads it, and asks for blocks it lacks.</summary>
    public IReadOnlyList<ConsensusAction> Start(long nowMs)
    {
        BeginCall(nowMs);
        if (!_started)
        {
            _started = true;
            if (_rootExecution is not null) OnBlockExecuted(_rootExecution);
            AdvanceRound();
            if (!_tree.Contains(_highestQc.BlockHash)) RequestSync(null);
        }

        return EndCall();
    }

    public IReadOnlyList<ConsensusAction> Handle(ConsensusEvent @event, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(@event);
        BeginCall(nowMs);
        if (_halted || !_started) return EndCall();
        switch (@event)
        {
            case MessageReceived message:
                OnMessage(message.From, message.Bytes, message.Block);
                break;
            case TimerFired timer:
                OnTimer(timer);
                break;
            case SafetyStatePersisted persisted:
                OnSafetyStatePersisted(persisted.Sequence);
                break;
            case BlockExecuted executed:
                OnBlockExecuted(executed);
                break;
            case ProposalDue:
                TryPropose();
                break;
        }

        return EndCall();
    }

    private void BeginCall(long nowMs)
    {
        _now = nowMs;
        _actions.Clear();
    }

    private List<ConsensusAction> EndCall()
    {
        if (_safetyDirty && !_halted)
        {
            _actions.Add(new PersistSafetyState(_safety.Snapshot().ToByteArray(), _nextSequence));
            _lastEmittedSequence = _nextSequence++;
            _safetyDirty = false;
        }

        return [.. _actions];
    }

    // ---------------------------------------------------------------- messages

    private void OnMessage(NodeId from, ReadOnlyMemory<byte> bytes, BlockRecord? decoded = null)
    {
        if (!ConsensusMessages.TryDecode(bytes.Span, out var message, out var error))
        {
            Reject(from, bytes, error);
            return;
        }

        switch (message.BodyCase)
        {
            case ConsensusMessage.BodyOneofCase.Proposal:
                OnProposal(from, message.Proposal, bytes, replay: false, decoded: decoded);
                break;
            case ConsensusMessage.BodyOneofCase.Vote:
                OnVote(from, message.Vote, bytes);
                break;
            case ConsensusMessage.BodyOneofCase.Timeout:
                OnTimeout(from, message.Timeout, bytes);
                break;
            case ConsensusMessage.BodyOneofCase.SyncInfo:
                if (!ProcessSyncInfo(message.SyncInfo, from, out error)) Reject(from, bytes, error);
                else Journal(JournalEntryKind.Received, from, bytes);
                break;
            case ConsensusMessage.BodyOneofCase.SyncRequest:
                OnSyncRequest(from, message.SyncRequest);
                break;
            case ConsensusMessage.BodyOneofCase.SyncResponse:
                OnSyncResponse(from, message.SyncResponse, bytes);
                break;
        }
    }

    /// <param name="own">True only for the proposal this engine just built (its signature is its own, made a moment ago).</param>
    /// <param name="replay">True for a proposal kept while its parent was fetched: already verified and journalled.</param>
    /// <param name="decoded">The proposal's block already built by the caller; decoded again unless its bytes are the proposal's.</param>
    private void OnProposal(NodeId from, Proposal proposal, ReadOnlyMemory<byte> bytes, bool replay, bool own = false, BlockRecord? decoded = null)
    {
        CustosError error;
        BlockRecord block;
        var compact = false;
        if (decoded is not null && decoded.Encoded.Span.SequenceEqual(proposal.Block.Span))
        {
            block = decoded;
        }
        else if (decoded is not null && IsHeaderOnlyOf(proposal.Block, decoded))
        {
            // The compact form a validator that disseminates batches sends: the header the proposer signed, with the
            // block the caller assembled from batches it holds. The header commits to those transactions through its
            // transaction root, checked below like any block's; from here on the proposal is handled whole, and its
            // whole message is encoded only should it be refused, for the journal.
            block = decoded;
            proposal = proposal.Clone();
            proposal.Block = UnsafeByteOperations.UnsafeWrap(decoded.Encoded);
            compact = true;
        }
        else if (!BlockRecord.TryDecode(proposal.Block.Span, _suite, out block, out error))
        {
            Reject(from, bytes, error);
            return;
        }

        var header = block.Header;
        if (header.ChainId != _config.ChainId)
        {
            Reject(from, Whole(), new CustosError(ErrorCode.ChainIdMismatch, $"proposal for chain '{header.ChainId}'"));
            return;
        }

        if (header.Epoch != _validators.Epoch)
        {
            OnOtherEpoch(from, header.Epoch, Whole());
            return;
        }

        if (header.Proposer >= _validators.Count || header.Proposer != _validators.LeaderIndex(header.Round))
        {
            Reject(from, Whole(), new CustosError(ErrorCode.NotAValidator, $"validator {header.Proposer} does not lead round {header.Round}"));
            return;
        }

        if (!own && !replay && !_suite.VerifyObject(_validators.KeyOf(header.Proposer), ObjectType.Proposal, block.HeaderBytes.Span, proposal.Signature.Span))
        {
            Reject(from, Whole(), new CustosError(ErrorCode.SignatureInvalid, $"proposal signature of validator {header.Proposer} does not verify"));
            return;
        }

        if (!replay) ObserveStatement(header.Round, SignedKind.Proposal, header.Proposer, block.HeaderByteString, proposal.Signature);

        if (!ProcessSyncInfo(proposal.SyncInfo, from, out error)
            || !TryVerifyQc(header.ParentQc, out var parentQc, out error)
            || !TryVerifyTcIfPresent(header.TimeoutCertificate, out var tc, out error))
        {
            Reject(from, Whole(), error);
            return;
        }

        ProcessQc(parentQc, from);
        if (tc is not null) ProcessTc(tc);
        if (!own && !replay) Journal(JournalEntryKind.Received, from, JournalForm(proposal, block, bytes));

        var current = header.Round == _pacemaker.CurrentRound;
        if (header.Round > _pacemaker.CurrentRound) return;
        if (!_tree.TryGet(block.ParentHash, out var parent))
        {
            if (current && block.Height > _decidedTip.Height)
            {
                _pendingProposals[header.Round] = (from, proposal);
                RequestSync(from);
            }

            return;
        }

        error = ValidateBlock(block, parent)!;
        if (error is not null)
        {
            if (!own) Journal(JournalEntryKind.Rejected, from, Whole(), error.ToString());
            return;
        }

        // A proposal of a past round is still worth keeping (a QC may certify it: votes can overtake proposals),
        // but only the current round's proposal gets a vote.
        InsertBlock(block, parentQc);
        if (current) TryVote(block, parentQc, tc);
        else TryPropose();

        // A refused proposal is journalled whole, with its transactions.
        ReadOnlyMemory<byte> Whole() => compact ? ConsensusMessages.Encode(proposal) : bytes;
    }

    /// <summary>Whether <paramref name="blockBytes"/> is a block with <paramref name="block"/>'s header and no transactions.</summary>
    private static bool IsHeaderOnlyOf(ByteString blockBytes, BlockRecord block)
    {
        // Exactly the header field, nothing besides it.
        var header = block.HeaderBytes.Span;
        if (blockBytes.Length != 1 + CodedOutputStream.ComputeLengthSize(header.Length) + header.Length) return false;
        try
        {
            var stripped = Block.Parser.ParseFrom(blockBytes);
            return stripped.Transactions.Count == 0 && stripped.Header.Span.SequenceEqual(header);
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    private CustosError? ValidateBlock(BlockRecord block, BlockRecord parent)
    {
        if (block.Height != parent.Height + 1)
        {
            return new CustosError(ErrorCode.InvalidField, $"{block} does not sit directly above its parent at height {parent.Height}");
        }

        if (block.Decoded.ComputeTransactionRoot(_suite) != new Hash32(block.Header.TransactionRoot.Span))
        {
            return new CustosError(ErrorCode.InvalidField, $"{block}: transaction root does not match its transactions");
        }

        if (block.TimestampMs <= parent.TimestampMs)
        {
            return new CustosError(ErrorCode.InvalidField, $"{block}: timestamp {block.TimestampMs} is not after its parent's {parent.TimestampMs}");
        }

        return _blockValidator.Validate(block, parent);
    }

    /// <summary>Timestamp rule for voting: a proposal may not run ahead of this node's clock by more than the drift bound.</summary>
    private bool TimestampAcceptable(BlockRecord block) => block.TimestampMs <= (ulong)Math.Max(0, _now) + (ulong)_config.BlockTimestampDriftMsMax;

    private void InsertBlock(BlockRecord block, QuorumCertificateView parentQc)
    {
        if (!_tree.TryInsert(block)) return;
        if (_tree.SetCertified(parentQc)) TryCommitFrom(parentQc.BlockHash);
        if (_pendingQcs.Remove(block.Hash, out var qc) && _tree.SetCertified(qc)) TryCommitFrom(block.Hash);
        if (_highestQc.BlockHash == block.Hash && _tree.SetCertified(_highestQc)) TryCommitFrom(block.Hash);
    }

    private void TryVote(BlockRecord block, QuorumCertificateView parentQc, TimeoutCertificateView? tc)
    {
        if (_index is not { } index) return;
        var round = block.Round;
        if (!TimestampAcceptable(block)) return;
        var next = _validators.Leader(round + 1);
        if (_safety.TryGetVote(round, out var previous))
        {
            // A vote for this round is already signed (before a restart, or a re-delivered proposal): re-send that
            // one and nothing else.
            var previousData = VoteData.Parser.ParseFrom(previous.Data);
            if (new Hash32(previousData.BlockHash.Span) == block.Hash) ReleaseVote(previous, previousData, next);
            return;
        }

        if (!_safety.TryVote(block.Epoch, round, parentQc.Round, tc, out _)) return;
        var data = new VoteData
        {
            ChainId = _config.ChainId,
            Epoch = block.Epoch,
            Round = round,
            Height = block.Height,
            BlockHash = block.Hash.ToByteString(),
            ParentRound = parentQc.Round,
            ParentHash = block.ParentHash.ToByteString(),
        };
        var dataBytes = data.ToByteString();
        var vote = new Vote { Data = dataBytes, Voter = index, Signature = ByteString.CopyFrom(_key.SignObject(ObjectType.Vote, dataBytes.Span)) };
        _safety.RememberVote(vote.ToByteArray());
        _safetyDirty = true;
        ReleaseVote(vote, data, next);
    }

    private void ReleaseVote(Vote vote, VoteData data, NodeId nextLeader)
    {
        if (nextLeader == _self)
        {
            ReleaseAfterPersist(null, () => AddVote(data, vote, _self));
        }
        else
        {
            ReleaseAfterPersist(new SendMessage(nextLeader, ConsensusMessages.Encode(new VoteMessage { Vote = vote })), null);
        }
    }

    private void OnVote(NodeId from, VoteMessage message, ReadOnlyMemory<byte> bytes)
    {
        if (message.Vote is null)
        {
            Reject(from, bytes, new CustosError(ErrorCode.Malformed, "vote message without a vote"));
            return;
        }

        if (!Decoders.TryDecodeVote(message.Vote.ToByteArray(), out var vote, out var data, out var error))
        {
            Reject(from, bytes, error);
            return;
        }

        if (data.ChainId != _config.ChainId)
        {
            Reject(from, bytes, new CustosError(ErrorCode.ChainIdMismatch, $"vote for chain '{data.ChainId}'"));
            return;
        }

        if (data.Epoch != _validators.Epoch)
        {
            OnOtherEpoch(from, data.Epoch, bytes);
            return;
        }

        if (!CertificateVerifier.VerifyStatement(_validators, vote.Voter, SignedKind.Vote, vote.Data.Span, vote.Signature.Span, _suite))
        {
            Reject(from, bytes, new CustosError(ErrorCode.SignatureInvalid, $"vote of validator {vote.Voter} does not verify"));
            return;
        }

        ObserveStatement(data.Round, SignedKind.Vote, vote.Voter, vote.Data, vote.Signature);
        Journal(JournalEntryKind.Received, from, bytes);
        var current = _pacemaker.CurrentRound;
        if (_index is null || _validators.Leader(data.Round + 1) != _self || data.Round + 1 < current || data.Round > current + 1) return;
        AddVote(data, vote, from);
    }

    private void AddVote(VoteData data, Vote vote, NodeId from)
    {
        var qc = _votes.Add(data.Round, vote.Voter, vote.Data, vote.Signature);
        if (qc is null || !CertificateVerifier.TryDecode(qc, out var view, out _)) return;
        RememberVerified(view.Encoded);
        ProcessQc(view, from == _self ? null : from);
    }

    private void OnTimeout(NodeId from, TimeoutMessage message, ReadOnlyMemory<byte> bytes)
    {
        if (message.Timeout is null)
        {
            Reject(from, bytes, new CustosError(ErrorCode.Malformed, "timeout message without a timeout"));
            return;
        }

        if (!Decoders.TryDecodeTimeout(message.Timeout.ToByteArray(), out var timeout, out var data, out var error))
        {
            Reject(from, bytes, error);
            return;
        }

        if (data.ChainId != _config.ChainId)
        {
            Reject(from, bytes, new CustosError(ErrorCode.ChainIdMismatch, $"timeout for chain '{data.ChainId}'"));
            return;
        }

        if (data.Epoch != _validators.Epoch)
        {
            OnOtherEpoch(from, data.Epoch, bytes);
            return;
        }

        if (!CertificateVerifier.VerifyStatement(_validators, timeout.Author, SignedKind.Timeout, timeout.Data.Span, timeout.Signature.Span, _suite))
        {
            Reject(from, bytes, new CustosError(ErrorCode.SignatureInvalid, $"timeout of validator {timeout.Author} does not verify"));
            return;
        }

        ObserveStatement(data.Round, SignedKind.Timeout, timeout.Author, timeout.Data, timeout.Signature);
        QuorumCertificateView? highQc = null;
        if (timeout.HighQc is not null && !TryVerifyQc(timeout.HighQc, out highQc, out error) || !ProcessSyncInfo(message.SyncInfo, from, out error))
        {
            Reject(from, bytes, error);
            return;
        }

        if (highQc is not null) ProcessQc(highQc, from);
        Journal(JournalEntryKind.Received, from, bytes);
        if (data.Round != _pacemaker.CurrentRound) return;
        AddTimeout(data.Round, timeout.Author, timeout.Data, timeout.Signature);
        var current = _pacemaker.CurrentRound;
        if (data.Round == current && _index.HasValue && _timedOutRound != current && _timeouts.CountFor(current) > _validators.FaultsTolerated)
        {
            // f+1 validators gave up on this round, so at least one honest one did: join now instead of waiting.
            LocalTimeout();
        }
    }

    private void AddTimeout(ulong round, uint author, ByteString data, ByteString signature)
    {
        var tc = _timeouts.Add(_validators.Epoch, round, author, data, signature);
        if (tc is null || !CertificateVerifier.TryDecode(tc, out var view, out _)) return;
        RememberVerified(view.Encoded);
        ProcessTc(view);
    }

    private void OnOtherEpoch(NodeId from, ulong epoch, ReadOnlyMemory<byte> bytes)
    {
        if (epoch > _validators.Epoch)
        {
            Journal(JournalEntryKind.Rejected, from, bytes, $"{ErrorCodes.Name(ErrorCode.EpochMismatch)}: message of epoch {epoch}, this node is at epoch {_validators.Epoch}");
            RequestSync(from);
        }
        else if (epoch < _validators.Epoch)
        {
            HelpLaggingPeer(from, epoch);
        }
    }

    /// <summary>
    /// A peer still in an earlier epoch cannot learn of the new one from this epoch's messages (it cannot verify
    /// them) and the validators it waits for may all have moved on. So it is sent, unasked and at most once per round
    /// duration, the proof that ended its epoch with the last blocks of that epoch.
    /// </summary>
    private void HelpLaggingPeer(NodeId peer, ulong epoch)
    {
        if (_helpedAt.TryGetValue(peer, out var last) && _now - last < _config.RoundTimeoutMs) return;
        if (!_chain.TryGetEpochEnding(epoch, out var proof)) return;
        _helpedAt[peer] = _now;
        var from = proof.EndingHeight > (ulong)_config.SyncBlocksMax ? proof.EndingHeight - (ulong)_config.SyncBlocksMax : 0;
        OnSyncRequest(peer, new SyncRequest { Epoch = epoch, CommittedHeight = from });
    }

    private bool ProcessSyncInfo(SyncInfo? syncInfo, NodeId from, out CustosError error)
    {
        error = null!;
        if (syncInfo is null) return true;
        QuorumCertificateView? qc = null;
        TimeoutCertificateView? tc = null;
        if (syncInfo.HighestQc is not null && !TryVerifyQc(syncInfo.HighestQc, out qc, out error)) return false;
        if (syncInfo.HighestTc is not null && !TryVerifyTcIfPresent(syncInfo.HighestTc, out tc, out error)) return false;
        if (qc is not null) ProcessQc(qc, from);
        if (tc is not null) ProcessTc(tc);
        return true;
    }

    private SyncInfo CurrentSyncInfo() => new() { HighestQc = _highestQc.Wire, HighestTc = _highestTc?.Wire };

    // ---------------------------------------------------------------- certificates

    /// <summary>
    /// Verifies a QC of the current epoch, or of the previous epoch when it certifies this epoch's root (the first
    /// blocks of an epoch carry that one). A QC verified before is recognised by the hash of its bytes.
    /// </summary>
    private bool TryVerifyQc(QuorumCertificate? qc, out QuorumCertificateView view, out CustosError error)
    {
        view = null!;
        if (qc is null)
        {
            error = new CustosError(ErrorCode.InvalidField, "quorum certificate missing");
            return false;
        }

        if (!CertificateVerifier.TryDecode(qc, out view, out error)) return false;
        var set = view.Epoch == _validators.Epoch ? _validators : view.Epoch == _previousValidators?.Epoch ? _previousValidators : null;
        if (set is null)
        {
            error = new CustosError(ErrorCode.EpochMismatch, $"{view} is of neither this epoch nor the previous one");
            return false;
        }

        var key = _suite.Hash(view.Encoded);
        if (_verifiedCertificates.Contains(key)) return true;
        if (!CertificateVerifier.TryVerify(view, _config.ChainId, set, _suite, out error)) return false;
        RememberVerified(key);
        if (view.Epoch == _validators.Epoch)
        {
            for (var i = 0; i < view.Signers.Count; i++) ObserveStatement(view.Round, SignedKind.Vote, view.Signers[i], view.Wire.VoteData, view.Wire.Signatures[i]);
        }

        return true;
    }

    private bool TryVerifyTcIfPresent(TimeoutCertificate? tc, out TimeoutCertificateView? view, out CustosError error)
    {
        view = null;
        error = null!;
        if (tc is null) return true;
        if (!CertificateVerifier.TryDecode(tc, out var decoded, out error)) return false;
        var key = _suite.Hash(decoded.Encoded);
        if (!_verifiedCertificates.Contains(key))
        {
            if (!CertificateVerifier.TryVerify(decoded, _config.ChainId, _validators, _suite, out error)) return false;
            RememberVerified(key);
            foreach (var entry in decoded.Wire.Signatures) ObserveStatement(decoded.Round, SignedKind.Timeout, entry.Author, entry.Data, entry.Signature);
        }

        view = decoded;
        return true;
    }

    private void RememberVerified(byte[] encoded) => RememberVerified(_suite.Hash(encoded));

    private void RememberVerified(Hash32 key)
    {
        // Bounded: forgetting only costs a second verification.
        if (_verifiedCertificates.Count >= 4096) _verifiedCertificates.Clear();
        _verifiedCertificates.Add(key);
    }

    private void ProcessQc(QuorumCertificateView qc, NodeId? source)
    {
        if (qc.Epoch != _validators.Epoch) return;
        if (qc.Round > _highestQc.Round || _highestQc.Epoch != _validators.Epoch)
        {
            _highestQc = qc;
            _safety.ObserveQc(qc);
        }

        if (_tree.Contains(qc.BlockHash))
        {
            if (_tree.SetCertified(qc)) TryCommitFrom(qc.BlockHash);
        }
        else if (qc.Height > _decidedTip.Height)
        {
            if (_pendingQcs.Count >= 64) _pendingQcs.Clear();
            _pendingQcs[qc.BlockHash] = qc;
            RequestSync(source);
        }

        AdvanceRound();
    }

    private void ProcessTc(TimeoutCertificateView tc)
    {
        if (tc.Epoch != _validators.Epoch) return;
        if (_highestTc is null || tc.Round > _highestTc.Round)
        {
            _highestTc = tc;
            _safety.ObserveTc(tc);
        }

        AdvanceRound();
    }

    private void AdoptPersistedCertificates()
    {
        if (_safety.Epoch != _validators.Epoch) return;
        if (_safety.HighestQc is { } qc && CertificateVerifier.TryDecode(qc, out var qcView, out _) && qcView.Epoch == _validators.Epoch && qcView.Round > _highestQc.Round)
        {
            _highestQc = qcView;
            RememberVerified(qcView.Encoded);
        }

        if (_safety.HighestTc is { } tc && CertificateVerifier.TryDecode(tc, out var tcView, out _) && tcView.Epoch == _validators.Epoch)
        {
            _highestTc = tcView;
            RememberVerified(tcView.Encoded);
        }
    }

    // ---------------------------------------------------------------- committing

    /// <summary>The two-chain rule: a certified block in the tree commits its parent if their rounds are consecutive.</summary>
    private void TryCommitFrom(Hash32 certified)
    {
        if (!_tree.TryGet(certified, out var child) || !_tree.TryGetParent(certified, out var parent)) return;
        if (parent.Round + 1 != child.Round) return;
        var commitQc = _tree.QcOf(certified);
        if (commitQc is null) return;
        Decide(parent, commitQc.Wire);
    }

    private void Decide(BlockRecord block, QuorumCertificate commitQc)
    {
        if (block.Height <= _decidedTip.Height)
        {
            if (!_tree.Extends(_decidedTip.Hash, block.Hash) && block.Hash != _ledgerTip.Hash)
            {
                Stop($"{block} is committed by a QC but conflicts with the committed {_decidedTip}");
            }

            return;
        }

        if (!_tree.Extends(block.Hash, _decidedTip.Hash))
        {
            Stop($"{block} is committed by a QC but does not extend the committed {_decidedTip}");
            return;
        }

        foreach (var decided in _tree.PathBetween(_decidedTip.Hash, block.Hash)) _decided.Enqueue((decided, commitQc));
        _decidedTip = block;
        DeliverNext();
    }

    /// <summary>Hands the next committed block to the host, but only once execution has reported its parent (it may end the epoch).</summary>
    private void DeliverNext()
    {
        if (_awaitingExecution.HasValue || _decided.Count == 0 || _halted) return;
        var (block, commitQc) = _decided.Dequeue();
        var qc = _tree.QcOf(block.Hash);
        if (qc is null)
        {
            Stop($"{block} is committed without a known QC");
            return;
        }

        var committed = new CommittedBlock(block, qc.Wire, commitQc);
        _actions.Add(new CommitBlock(committed));
        Journal(new JournalEntry { Kind = JournalEntryKind.Commit, TimeMs = (ulong)Math.Max(0, _now), BlockHeader = block.HeaderByteString, CommitQc = commitQc });
        _ledgerTip = committed;
        _tree.PruneTo(block.Hash);
        foreach (var stale in _pendingQcs.Where(p => p.Value.Height <= block.Height).Select(p => p.Key).ToList()) _pendingQcs.Remove(stale);
        _awaitingExecution = block.Height;
    }

    private void OnBlockExecuted(BlockExecuted executed)
    {
        if (_awaitingExecution != executed.Height || executed.BlockHash != _ledgerTip.Hash) return;
        _awaitingExecution = null;
        if (executed.NextEpoch is null)
        {
            DeliverNext();
            return;
        }

        if (executed.NextEpoch.Epoch != _validators.Epoch + 1)
        {
            Stop($"execution of height {executed.Height} announced epoch {executed.NextEpoch.Epoch} after epoch {_validators.Epoch}");
            return;
        }

        EndEpoch(executed.NextEpoch);
    }

    // ---------------------------------------------------------------- epochs

    private void EndEpoch(ValidatorSet next)
    {
        var ending = _ledgerTip;
        if (ending.Qc is null)
        {
            Stop($"epoch {_validators.Epoch} ends at {ending.Block} but no QC certifies it");
            return;
        }

        EpochEndingProof proof;
        if (_receivedEpochEnding is { } received && received.Epoch == _validators.Epoch && new Hash32(received.EndingBlockHash.Span) == ending.Hash)
        {
            proof = received;
        }
        else
        {
            var commitQc = _decided.Count > 0 ? _decided.Last().CommitQc : ending.CommitQc;
            if (commitQc is null)
            {
                Stop($"epoch {_validators.Epoch} ends at {ending.Block} without a commit proof");
                return;
            }

            proof = new EpochEndingProof
            {
                Epoch = _validators.Epoch,
                EndingBlockHash = ending.Hash.ToByteString(),
                EndingHeight = ending.Height,
                EndingRound = ending.Block.Round,
                RootQc = ending.Qc,
                CommitQc = commitQc,
            };
            foreach (var (block, _) in _decided) proof.SuffixHeaders.Add(block.HeaderByteString);
            if (CertificateVerifier.TryDecode(commitQc, out var commitView, out _) && _tree.TryGet(commitView.BlockHash, out var certified))
            {
                proof.CommitBlockHeader = certified.HeaderByteString;
            }
        }

        _actions.Add(new PersistEpochEnding(proof, next));
        // Tell the others at once: the node that formed the certificate committing the ending block may be the only
        // one holding it, and once in the new epoch it proposes nothing more in the old one, so without this the
        // rest could wait in the old epoch for a quorum that no longer answers (seen with a validator suspended).
        _actions.Add(new BroadcastMessage(ConsensusMessages.Encode(new SyncResponse { Epoch = proof.Epoch, EpochEnding = proof })));
        Journal(new JournalEntry { Kind = JournalEntryKind.Epoch, TimeMs = (ulong)Math.Max(0, _now), Validators = next.ToRecord(), EpochEnding = proof });
        StartEpoch(next, ending);
    }

    private void StartEpoch(ValidatorSet next, CommittedBlock root)
    {
        if (!CertificateVerifier.TryDecode(root.Qc!, out var rootQc, out _))
        {
            Stop("the epoch's root QC does not decode");
            return;
        }

        _previousValidators = _validators;
        _validators = next;
        _index = IndexOfSelf(next);
        _tree = new BlockTree(root.Block, rootQc);
        _decided.Clear();
        _decidedTip = root.Block;
        _pendingProposals.Clear();
        _pendingQcs.Clear();
        _votes = new VoteCollector(next.Quorum);
        _timeouts = new TimeoutCollector(next.Quorum);
        _detector = new EquivocationDetector(next.Epoch, _config.EquivocationWindowRounds);
        _highestQc = rootQc;
        _highestTc = null;
        _receivedEpochEnding = null;
        _timedOutRound = 0;
        _epochChanged = true;
        if (_safety.StartEpoch(next.Epoch, root.Qc!, root.Block.Round)) _safetyDirty = true;
        AdoptPersistedCertificates();
        _pacemaker.Reset();
        AdvanceRound();
        if (!_tree.Contains(_highestQc.BlockHash)) RequestSync(null);
    }

    private uint? IndexOfSelf(ValidatorSet set) => set.TryIndexOf(_self, out var index) && set.KeyOf(index).Equals(_key.PublicKey) ? index : null;

    // ---------------------------------------------------------------- rounds

    private void AdvanceRound()
    {
        if (_halted || !_started || !_pacemaker.TryAdvance(_highestQc.Round, _highestTc?.Round)) return;
        var round = _pacemaker.CurrentRound;
        _votes.PruneBelow(round > 0 ? round - 1 : 0);
        _timeouts.PruneBelow(round);
        _detector.Advance(round);
        foreach (var stale in _pendingProposals.Keys.Where(r => r < round).ToList()) _pendingProposals.Remove(stale);
        ScheduleRoundTimer();
        TryPropose();
        RetryPendingProposal();
    }

    private void ScheduleRoundTimer()
    {
        var round = _pacemaker.CurrentRound;
        _actions.Add(new ScheduleTimer(_validators.Epoch, round, _now + _pacemaker.TimeoutMs(round, _highestQc.Round)));
    }

    private void OnTimer(TimerFired timer)
    {
        if (timer.Epoch != _validators.Epoch || timer.Round != _pacemaker.CurrentRound) return;
        LocalTimeout();
        if (!_tree.Contains(_highestQc.BlockHash) || _pendingProposals.Count > 0) RequestSync(null, force: true);
        ScheduleRoundTimer();
    }

    /// <summary>Gives up on the current round: signs (or re-sends) this validator's timeout and broadcasts it.</summary>
    private void LocalTimeout()
    {
        if (_index is not { } index) return;
        var round = _pacemaker.CurrentRound;
        if (!_safety.TryTimeout(_validators.Epoch, round, _highestQc.Round, out var timeout, out _)) return;
        if (timeout is null)
        {
            var data = new TimeoutData { ChainId = _config.ChainId, Epoch = _validators.Epoch, Round = round, HighQcRound = _highestQc.Round }.ToByteString();
            timeout = new RoundTimeout
            {
                Data = data,
                Author = index,
                Signature = ByteString.CopyFrom(_key.SignObject(ObjectType.Timeout, data.Span)),
                HighQc = _highestQc.Wire,
            };
            _safety.RememberTimeout(timeout.ToByteArray());
            _safetyDirty = true;
        }

        _timedOutRound = round;
        var message = ConsensusMessages.Encode(new TimeoutMessage { Timeout = timeout, SyncInfo = new SyncInfo { HighestTc = _highestTc?.Wire } });
        var own = timeout;
        ReleaseAfterPersist(new BroadcastMessage(message), () =>
        {
            if (Decoders.TryDecodeTimeoutData(own.Data.Span, out var ownData, out _) && ownData.Epoch == _validators.Epoch && ownData.Round == _pacemaker.CurrentRound)
            {
                AddTimeout(ownData.Round, own.Author, own.Data, own.Signature);
            }
        });
    }

    // ---------------------------------------------------------------- proposing

    private void TryPropose()
    {
        var round = _pacemaker.CurrentRound;
        if (_index is not { } index || _validators.LeaderIndex(round) != index || _safety.HighestProposedRound >= round || _halted) return;
        if (!_tree.TryGet(_highestQc.BlockHash, out var parent))
        {
            RequestSync(null);
            return;
        }

        TimeoutCertificateView? tc = null;
        if (_highestQc.Round + 1 != round)
        {
            if (_highestTc is null || _highestTc.Round + 1 != round) return;
            tc = _highestTc;
        }

        // Nothing to order and nothing waiting on a child to commit: hold the empty block back for a while.
        if (_config.EmptyBlockDelayMs > 0 && tc is null && parent.Decoded.Transactions.Count == 0
            && _now < (long)parent.TimestampMs + _config.EmptyBlockDelayMs && !_payloadSource.HasPayload(parent))
        {
            return;
        }

        if (!_safety.TryPropose(_validators.Epoch, round, out _)) return;
        _safetyDirty = true;
        var payload = _payloadSource.NextPayload(parent, parent.Height + 1, round, _now);
        var ids = payload.Transactions.Select(t => t.ComputeId(_suite)).ToArray();
        var header = new BlockHeader
        {
            ChainId = _config.ChainId,
            Epoch = _validators.Epoch,
            Height = parent.Height + 1,
            Round = round,
            ParentHash = parent.Hash.ToByteString(),
            TransactionRoot = MerkleRoot.Compute(_suite, ids).ToByteString(),
            StateRoot = payload.StateRoot.ToByteString(),
            TimestampMs = Math.Max((ulong)Math.Max(0, _now), parent.TimestampMs + 1),
            Proposer = index,
            ParentQc = _highestQc.Wire,
            TimeoutCertificate = tc?.Wire,
        };
        var headerBytes = header.ToByteString();

        // The block is assembled from the payload's transactions as they are (decoded once, ids remembered), so that
        // handling the proposal below neither decodes nor hashes them again. Should they not make a valid block, it is
        // encoded as given and refused below like anyone's.
        var block = BlockRecord.TryAssemble(headerBytes.Span, payload.Transactions, _suite, out var assembled, out _) ? assembled : null;
        ByteString blockBytes;
        if (block is not null)
        {
            blockBytes = UnsafeByteOperations.UnsafeWrap(block.Encoded);
        }
        else
        {
            var wire = new Block { Header = headerBytes };
            foreach (var transaction in payload.Transactions) wire.Transactions.Add(ByteString.CopyFrom(transaction.Envelope.Span));
            blockBytes = wire.ToByteString();
        }

        var proposal = new Proposal
        {
            Block = blockBytes,
            Signature = ByteString.CopyFrom(_key.SignObject(ObjectType.Proposal, headerBytes.Span)),
            SyncInfo = new SyncInfo { HighestTc = _highestTc?.Wire },
        };
        var message = ConsensusMessages.Encode(proposal);
        var headerOnly = block is null ? (ReadOnlyMemory<byte>?)null : JournalForm(proposal, block, message);
        var broadcast = new BroadcastMessage(message) { Proposal = block is null ? null : new ProposalForms(block, headerOnly!.Value) };
        ReleaseAfterPersist(broadcast, null, headerOnly);
        OnProposal(_self, proposal, message, replay: false, own: true, decoded: block);
    }

    private void RetryPendingProposal()
    {
        var round = _pacemaker.CurrentRound;
        if (!_pendingProposals.TryGetValue(round, out var pending)) return;
        if (!BlockRecord.TryDecode(pending.Proposal.Block.Span, _suite, out var block, out _) || !_tree.Contains(block.ParentHash)) return;
        _pendingProposals.Remove(round);
        OnProposal(pending.From, pending.Proposal, ConsensusMessages.Encode(pending.Proposal), replay: true);
    }

    // ---------------------------------------------------------------- catch-up

    private void RequestSync(NodeId? peer, bool force = false)
    {
        if (!force && _syncRequestedAtMs is { } requestedAt && _now - requestedAt < _config.RoundTimeoutMs / 2) return;
        var target = peer is { } p && p != _self ? p : NextSyncPeer();
        if (target is null) return;
        _syncRequestedAtMs = _now;
        var request = new SyncRequest { Epoch = _validators.Epoch, CommittedHeight = _decidedTip.Height };
        var wanted = !_tree.Contains(_highestQc.BlockHash) ? _highestQc.BlockHash : _pendingQcs.Keys.FirstOrDefault();
        if (!wanted.IsZero) request.TargetBlockHash = wanted.ToByteString();
        _actions.Add(new RequestBlocks(target.Value, request.CommittedHeight, ConsensusMessages.Encode(request)));
    }

    private NodeId? NextSyncPeer()
    {
        for (var i = 0; i < _validators.Count; i++)
        {
            var candidate = _validators.NodeOf((uint)(_syncPeerCursor++ % _validators.Count));
            if (candidate != _self) return candidate;
        }

        return null;
    }

    private void OnSyncRequest(NodeId from, SyncRequest request)
    {
        if (request.Epoch > _validators.Epoch)
        {
            RequestSync(from);
            return;
        }

        var response = new SyncResponse { Epoch = request.Epoch };
        var budget = ConsensusLimits.MessageSizeBytesMax - 64 * 1024;
        var last = request.CommittedHeight;
        bool Add(BlockRecord block)
        {
            if (response.Blocks.Count >= _config.SyncBlocksMax || block.Encoded.Length > budget) return false;
            budget -= block.Encoded.Length;
            response.Blocks.Add(ByteString.CopyFrom(block.Encoded.Span));
            last = block.Height;
            return true;
        }

        var ledgerTop = request.Epoch < _validators.Epoch ? ulong.MaxValue : _ledgerTip.Height;
        for (var height = request.CommittedHeight + 1; height <= ledgerTop; height++)
        {
            if (!_chain.TryGetBlock(height, out var committed) || committed.Block.Epoch != request.Epoch || !Add(committed.Block)) break;
        }

        if (request.Epoch < _validators.Epoch)
        {
            if (_chain.TryGetEpochEnding(request.Epoch, out var proof) && last == proof.EndingHeight) response.EpochEnding = proof;
        }
        else
        {
            var top = Hash32.TryCreate(request.TargetBlockHash.Span, out var wanted) && _tree.Contains(wanted) ? wanted
                : _tree.Contains(_highestQc.BlockHash) ? _highestQc.BlockHash : _decidedTip.Hash;
            foreach (var block in _tree.PathBetween(_tree.Root.Hash, top))
            {
                if (block.Height > last && !Add(block)) break;
            }

            response.SyncInfo = CurrentSyncInfo();
        }

        _actions.Add(new SendMessage(from, ConsensusMessages.Encode(response)));
    }

    private void OnSyncResponse(NodeId from, SyncResponse response, ReadOnlyMemory<byte> bytes)
    {
        if (response.Epoch != _validators.Epoch) return;
        var treeBefore = _tree.Count;
        var ledgerBefore = _ledgerTip.Height;
        var error = AcceptSyncResponse(from, response);
        if (error is not null)
        {
            Reject(from, bytes, error);
            return;
        }

        Journal(JournalEntryKind.Received, from, bytes);
        RetryPendingProposal();
        TryPropose();

        // Ask again at once only while answers make progress; otherwise the round timer retries, with another peer.
        var progressed = _tree.Count != treeBefore || _ledgerTip.Height != ledgerBefore || _epochChanged;
        _epochChanged = false;
        if (progressed && (response.Blocks.Count >= _config.SyncBlocksMax || !_tree.Contains(_highestQc.BlockHash) || _pendingQcs.Count > 0)) RequestSync(from, force: true);
    }

    /// <summary>
    /// Verifies every block of the answer that is of this epoch (parent QC, TC, structure) and inserts those that
    /// link to the tree, then applies the epoch-ending proof and the certificates. Stops at the first failure.
    /// </summary>
    private CustosError? AcceptSyncResponse(NodeId from, SyncResponse response)
    {
        CustosError error;
        foreach (var encoded in response.Blocks)
        {
            if (!BlockRecord.TryDecode(encoded.Span, _suite, out var block, out error)) return error;
            if (block.Epoch != _validators.Epoch) break;
            if (block.Header.ChainId != _config.ChainId) return new CustosError(ErrorCode.ChainIdMismatch, $"{block} is of chain '{block.Header.ChainId}'");
            if (!TryVerifyQc(block.Header.ParentQc, out var parentQc, out error) || !TryVerifyTcIfPresent(block.Header.TimeoutCertificate, out var tc, out error)) return error;
            if (_tree.Contains(block.Hash) || !_tree.TryGet(block.ParentHash, out var parent)) continue;
            var invalid = ValidateBlock(block, parent);
            if (invalid is not null) return invalid;
            InsertBlock(block, parentQc);
            ProcessQc(parentQc, from);
            if (tc is not null) ProcessTc(tc);
            if (_halted) return null;
        }

        if (response.EpochEnding is { } proof && proof.Epoch == _validators.Epoch)
        {
            if (!EpochEndingVerifier.TryVerify(proof, _config.ChainId, _validators, _suite, out error)) return error;
            var endingHash = new Hash32(proof.EndingBlockHash.Span);
            if (_tree.TryGet(endingHash, out var ending) && CertificateVerifier.TryDecode(proof.RootQc, out var rootQc, out _))
            {
                _receivedEpochEnding = proof;
                _tree.SetCertified(rootQc);
                Decide(ending, proof.CommitQc);
            }
            else if (proof.EndingHeight > _decidedTip.Height)
            {
                // The epoch ended above the blocks this node has: fetch them from its committed height.
                RequestSync(from, force: true);
            }
        }

        return ProcessSyncInfo(response.SyncInfo, from, out error) ? null : error;
    }

    // ---------------------------------------------------------------- vote once

    /// <summary>
    /// Holds a signed vote, timeout or proposal back until the safety state that records it is durable, then sends
    /// it (and runs its local effect, such as counting one's own vote). Releases at once when nothing is pending.
    /// </summary>
    private void ReleaseAfterPersist(ConsensusAction? action, Action? local, ReadOnlyMemory<byte>? journalled = null)
    {
        var sequence = _safetyDirty ? _nextSequence : _lastEmittedSequence;
        var release = new PendingRelease(sequence, action, local, journalled);
        if (sequence <= _ackedSequence) Release(release);
        else _pendingReleases.Add(release);
    }

    private void OnSafetyStatePersisted(long sequence)
    {
        if (sequence <= _ackedSequence || sequence > _lastEmittedSequence) return;
        _ackedSequence = sequence;
        var ready = _pendingReleases.Where(p => p.Sequence <= sequence).ToList();
        _pendingReleases.RemoveAll(p => p.Sequence <= sequence);
        foreach (var release in ready) Release(release);
    }

    private void Release(PendingRelease release)
    {
        switch (release.Action)
        {
            case SendMessage send:
                _actions.Add(send);
                Journal(JournalEntryKind.Sent, send.To, release.Journalled ?? send.Message);
                break;
            case BroadcastMessage broadcast:
                _actions.Add(broadcast);
                Journal(JournalEntryKind.Sent, null, release.Journalled ?? broadcast.Message);
                break;
        }

        release.Local?.Invoke();
    }

    /// <param name="Journalled">What the journal records of the message, when not the message itself.</param>
    private sealed record PendingRelease(long Sequence, ConsensusAction? Action, Action? Local, ReadOnlyMemory<byte>? Journalled);

    // ---------------------------------------------------------------- evidence and journal

    private void ObserveStatement(ulong round, SignedKind kind, uint author, ByteString data, ByteString signature)
    {
        var evidence = _detector.Observe(round, kind, author, data, signature);
        if (evidence is null) return;
        _actions.Add(new EmitEvidence(evidence));
        Journal(new JournalEntry { Kind = JournalEntryKind.Evidence, TimeMs = (ulong)Math.Max(0, _now), Evidence = evidence });
    }

    private void Reject(NodeId from, ReadOnlyMemory<byte> bytes, CustosError error) => Journal(JournalEntryKind.Rejected, from, bytes, error.ToString());

    /// <summary>
    /// How a valid proposal is journalled: its block's header without the transactions, with the proposer's signature
    /// and sync info. The signature covers the header only, and the header commits to the transactions through its
    /// transaction root, so the entry is the same evidence of what the proposer signed (docs/consensus.md). The block
    /// itself is stored with its transactions once committed; journalling them too wrote every block twice.
    /// </summary>
    private static ReadOnlyMemory<byte> JournalForm(Proposal proposal, BlockRecord block, ReadOnlyMemory<byte> message)
    {
        if (block.Decoded.Transactions.Count == 0) return message;
        return ConsensusMessages.Encode(new Proposal
        {
            Block = new Block { Header = block.HeaderByteString }.ToByteString(),
            Signature = proposal.Signature,
            SyncInfo = proposal.SyncInfo,
        });
    }

    private void Journal(JournalEntryKind kind, NodeId? peer, ReadOnlyMemory<byte> message, string? reason = null)
    {
        // Wrapped, not copied: the entry is encoded at once below and not kept.
        var entry = new JournalEntry { Kind = kind, TimeMs = (ulong)Math.Max(0, _now), Message = UnsafeByteOperations.UnsafeWrap(message) };
        if (peer is { } p) entry.Peer = (uint)p.Value;
        if (reason is not null) entry.Reason = reason;
        Journal(entry);
    }

    private void Journal(JournalEntry entry) => _actions.Add(new JournalAppend(entry.ToByteArray()) { Kind = entry.Kind });

    private void Stop(string reason)
    {
        if (_halted) return;
        _halted = true;
        _pendingReleases.Clear();
        _actions.Add(new Halt(reason));
    }
}
