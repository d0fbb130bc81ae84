using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Mempool;
using Custos.Network;
using Custos.Network.Wire;
using Custos.Node.Api;
using Custos.Node.Wire;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Node;

/// <summary>Something for the consensus thread: an engine event, or a note about the batches behind a block.</summary>
internal abstract record HostInput;

internal sealed record EngineInput(ConsensusEvent Event) : HostInput;

internal sealed record BlockBatchesInput(Hash32 Block, IReadOnlyList<Hash32> Digests, ConsensusEvent Then) : HostInput;

/// <summary>
/// Runs the consensus engine on one thread and carries out its actions: messages go out through the peer network
/// (proposals compacted to batch digests), the safety state is synced before anything it covers leaves, committed
/// blocks are persisted with their speculative execution result, certificates and journal entries in one batch,
/// and timers are real timers. Everything the engine sees comes through <see cref="Post"/>.
/// </summary>
internal sealed class ConsensusHost : IDisposable
{
    private readonly ChainSetup _chain;
    private readonly NodeId _self;
    private readonly LedgerStore _store;
    private readonly StoredChain _storedChain;
    private readonly SpeculativeExecution _execution;
    private readonly IPeerNetwork _network;
    private readonly TransactionPool _pool;
    private readonly BatchStore _batches;
    private readonly CommitFeed _feed;
    private readonly NodeMetrics _metrics;
    private readonly NodeLog _log;
    private readonly TimeProvider _clock;
    private readonly ConsensusEngine _engine;
    private readonly EpochTransitions _epochs;
    private (long BaseMs, long MaxMs) _roundTimeouts;
    // A plain queue and an event that never spins: waiting on a channel from this dedicated thread spun before
    // blocking on every wake-up, which with several nodes on two cores took CPU from the work itself.
    private const int InboxMax = 100_000;
    private readonly System.Collections.Concurrent.ConcurrentQueue<HostInput> _inbox = new();
    private readonly ManualResetEventSlim _inboxSignal = new(false, spinCount: 0);
    private int _inboxCount;
    private volatile bool _stopping;
    private readonly List<ReadOnlyMemory<byte>> _journal = [];
    private readonly ITimer _roundTimer;
    private readonly ITimer _proposalTimer;
    private (ulong Epoch, ulong Round) _timerFor;
    private Thread? _thread;
    private volatile string? _haltReason;
    private ulong _lastRound;

    public ConsensusHost(ChainSetup chain, NodeId self, ISigningKey key, LedgerStore store, SpeculativeExecution execution, IPeerNetwork network,
        TransactionPool pool, BatchStore batches, CommitFeed feed, NodeMetrics metrics, NodeLog log, TimeProvider clock)
    {
        _chain = chain;
        _self = self;
        _store = store;
        _storedChain = new StoredChain(store);
        _execution = execution;
        _network = network;
        _pool = pool;
        _batches = batches;
        _feed = feed;
        _metrics = metrics;
        _log = log;
        _clock = clock;

        var head = store.Head ?? throw new CustosException(ErrorCode.StorageCorrupt, "the store has no genesis block");
        var root = _storedChain.TryGetBlock(head.Height, out var committed)
            ? committed
            : throw new CustosException(ErrorCode.StorageCorrupt, $"the head block {head.Height} cannot be read");
        if (root.Qc is null) throw new CustosException(ErrorCode.StorageCorrupt, $"the head block {head.Height} has no QC on record");
        var safety = store.SafetyRecord.Load() is { } saved ? SafetyState.Parser.ParseFrom(saved) : null;
        var config = chain.Consensus with { EmptyBlockDelayMs = Math.Min(200, chain.Consensus.RoundTimeoutMs / 4) };
        _epochs = new EpochTransitions(chain, store);
        var epoch = root.Block.Epoch;
        var validators = _epochs.Load(epoch);
        _engine = new ConsensusEngine(config, chain.Suite, key, self, new EngineStart
        {
            Validators = validators,
            PreviousValidators = epoch == 0 ? null : _epochs.Load(epoch - 1),
            Root = root,
            Safety = safety,
            RootExecution = new BlockExecuted(head.Height, head.BlockHash, head.StateRoot, _epochs.EndedAt(root.Block)),
        }, execution, execution, _storedChain);
        NoteValidatorSet(_epochs.EndedAt(root.Block) ?? validators);
        ApplyChainParameters();
        _roundTimer = clock.CreateTimer(_ => Post(new EngineInput(new TimerFired(_timerFor.Epoch, _timerFor.Round))), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        var pace = TimeSpan.FromMilliseconds(Math.Max(10, config.EmptyBlockDelayMs / 2));
        _proposalTimer = clock.CreateTimer(_ => Post(new EngineInput(new ProposalDue())), null, pace, pace);
    }

    /// <summary>Called on the consensus thread after a committed block that wrote the consortium registry.</summary>
    public Action? ConsortiumChanged { get; set; }

    public bool IsValidator => _engine.IsValidator;

    public string? HaltReason => _haltReason;

    public ulong Round => _engine.CurrentRound;

    public ulong Epoch => _engine.Epoch;

    public int ValidatorCount => _engine.Validators.Count;

    public void Start()
    {
        _thread = new Thread(Run) { Name = "custos-consensus", IsBackground = true };
        _thread.Start();
    }

    public bool Post(HostInput input)
    {
        if (_stopping || Interlocked.Increment(ref _inboxCount) > InboxMax)
        {
            if (!_stopping) Interlocked.Decrement(ref _inboxCount);
            return false;
        }

        _inbox.Enqueue(input);
        _inboxSignal.Set();
        return true;
    }

    public void Stop()
    {
        _stopping = true;
        _inboxSignal.Set();
        _thread?.Join(TimeSpan.FromSeconds(10));
    }

    public void Dispose()
    {
        Stop();
        _roundTimer.Dispose();
        _proposalTimer.Dispose();

        // The inbox signal is not disposed: a timer callback or the relay may still post while the node stops, and
        // an event without a kernel handle holds nothing to release.
    }

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private void Run()
    {
        try
        {
            Carry(_engine.Start(Now));
            while (!_stopping)
            {
                _inboxSignal.Reset();
                if (_inbox.IsEmpty)
                {
                    _inboxSignal.Wait();
                    continue;
                }

                while (!_stopping && _inbox.TryDequeue(out var input))
                {
                    Interlocked.Decrement(ref _inboxCount);
                    if (_haltReason is not null) continue;
                    switch (input)
                    {
                        case EngineInput engine:
                            if (engine.Event is TimerFired) _metrics.OnViewChange();
                            Carry(_engine.Handle(engine.Event, Now));
                            break;
                        case BlockBatchesInput noted:
                            _execution.RecordBatches(noted.Block, noted.Digests);
                            Carry(_engine.Handle(noted.Then, Now));
                            break;
                    }
                }

                FlushJournal();
            }
        }
        catch (Exception e)
        {
            // A failure here (storage I/O, a broken invariant) must stop the node rather than let it go on unsafely.
            _haltReason = $"{e.GetType().Name}: {e.Message}";
            _log.Error("consensus-stopped", ("reason", _haltReason));
        }
    }

    /// <summary>Carries out actions in order; events they cause (persisted, executed) are handled before returning.</summary>
    private void Carry(IReadOnlyList<ConsensusAction> actions)
    {
        var pending = new Queue<IReadOnlyList<ConsensusAction>>();
        pending.Enqueue(actions);
        while (pending.TryDequeue(out var batch))
        {
            foreach (var action in batch)
            {
                switch (action)
                {
                    case SendMessage send:
                        Trace("send", send.Message);
                        Send(_chain.NameOf(send.To), send.Message);
                        break;
                    case BroadcastMessage broadcast:
                        Trace("broadcast", broadcast.Message);
                        Broadcast(broadcast.Message, broadcast.Proposal);
                        break;
                    case PersistSafetyState persist:
                        _store.SafetyRecord.Save(persist.State);
                        pending.Enqueue(_engine.Handle(new SafetyStatePersisted(persist.Sequence), Now));
                        break;
                    case CommitBlock commit:
                        pending.Enqueue(_engine.Handle(Commit(commit.Block), Now));
                        break;
                    case PersistEpochEnding epochEnding:
                        // Written now, not with the next block: until the nodes still in the old epoch get this proof
                        // from someone, the new epoch may have no quorum to commit that next block.
                        _store.PersistConfiguration([
                            new(StoredChain.EpochEndingEntry(epochEnding.Proof.Epoch), epochEnding.Proof.ToByteArray()),
                            new(StoredChain.ValidatorSetEntry(epochEnding.Next.Epoch), epochEnding.Next.ToRecord().ToByteArray()),
                        ]);
                        break;
                    case ScheduleTimer timer:
                        _timerFor = (timer.Epoch, timer.Round);
                        _roundTimer.Change(TimeSpan.FromMilliseconds(Math.Max(0, timer.AtMs - Now)), Timeout.InfiniteTimeSpan);
                        break;
                    case RequestBlocks request:
                        Send(_chain.NameOf(request.Peer), request.Message);
                        break;
                    case EmitEvidence evidence:
                        _metrics.OnEvidence();
                        _log.Warn("equivocation", ("culprit", _chain.NameOf(_engine.Validators.NodeOf(evidence.Evidence.Culprit))), ("round", evidence.Evidence.Round));
                        break;
                    case JournalAppend journal:
                        _journal.Add(journal.Payload);
                        if (journal.Kind == JournalEntryKind.Rejected) LogRejection(journal.Payload);
                        break;
                    case Halt halt:
                        _haltReason = halt.Reason;
                        _log.Error("consensus-halted", ("reason", halt.Reason));
                        return;
                }
            }
        }

        var round = _engine.CurrentRound;
        if (round != _lastRound)
        {
            _lastRound = round;
            _metrics.OnRound(round, _engine.Epoch);
        }
    }

    private BlockExecuted Commit(CommittedBlock committed)
    {
        var block = committed.Block;
        var started = Now;
        var executed = _execution.Execute(block);
        var executedAt = Now;
        var receipts = executed.Receipts;
        var events = new List<StoredEvent>();
        for (var i = 0; i < receipts.Count; i++)
        {
            foreach (var e in receipts[i].Events) events.Add(new StoredEvent((uint)i, e.ToByteArray()));
        }

        var configuration = StoredChain.CertificateEntries(block.Height, committed.Qc, committed.CommitQc).ToList();
        var nextEpoch = _epochs.NextSet(block, executed.Writes, out var epochEntries);
        configuration.AddRange(epochEntries);
        var journal = _journal.ToList();
        _store.Persist(new BlockPersist
        {
            Block = block.Decoded,
            StateDelta = executed.Delta,
            Receipts = receipts.Select(r => (ReadOnlyMemory<byte>)r.ToByteArray()).ToList(),
            Events = events,
            Configuration = configuration,
            JournalEntries = journal,
        });
        _journal.Clear();

        var ids = receipts.Select(r => new Hash32(r.TransactionId.Span)).ToList();
        if (_execution.TryGetBatches(block.Hash, out var digests)) _batches.OnCommitted(digests);
        else if (ids.Count > 0) _batches.OnTransactionsCommitted(ids.ToHashSet());
        _execution.OnCommitted(block);
        _pool.OnCommitted(ids, block.Height);
        _feed.Published(block.Height, ids);
        _metrics.OnCommit(block.Height, ids.Count, Now - (long)block.TimestampMs);
        if (ids.Count > 0)
        {
            _log.Info("committed", ("height", block.Height), ("transactions", ids.Count), ("round", block.Round), ("executeMs", executedAt - started),
                ("persistMs", Now - executedAt), ("sinceProposedMs", Now - (long)block.TimestampMs), ("validatedMs", Math.Round(_execution.ValidatedMs)));
            _execution.ValidatedMs = 0;
        }
        if (ConsortiumMembership.Touches(executed.Writes))
        {
            ApplyChainParameters();
            ConsortiumChanged?.Invoke();
        }
        if (nextEpoch is not null)
        {
            _log.Info("epoch-ends", ("height", block.Height), ("epoch", block.Epoch), ("nextValidators", string.Join(",", nextEpoch.Members.Select(m => _chain.NameOf(m.Node)))));
            NoteValidatorSet(nextEpoch);
        }

        return new BlockExecuted(block.Height, block.Hash, executed.PostRoot, nextEpoch);
    }

    /// <summary>
    /// Applies the chain parameters governance may change that this node acts on: block size for its proposals and
    /// the round timer's durations (genesis's values until governance sets others).
    /// </summary>
    private void ApplyChainParameters()
    {
        var state = new StoreStateReader(_store, 16);
        var genesis = _chain.Genesis.Parameters;
        _execution.BlockTransactionsMax = (int)Math.Min(int.MaxValue, ConsortiumRegistry.Parameter(state, ConsortiumRegistry.BlockTransactionsMaxParameter, (ulong)genesis.BlockTransactionsMax));
        var baseMs = (long)ConsortiumRegistry.Parameter(state, ConsortiumRegistry.RoundTimeoutMsParameter, (ulong)_chain.Consensus.RoundTimeoutMs);
        var maxMs = Math.Max(baseMs, (long)ConsortiumRegistry.Parameter(state, ConsortiumRegistry.RoundTimeoutMsMaxParameter, (ulong)_chain.Consensus.RoundTimeoutMsMax));
        if ((baseMs, maxMs) == _roundTimeouts) return;
        if (_roundTimeouts != default) _log.Info("round-timeouts-changed", ("baseMs", baseMs), ("maxMs", maxMs), ("blockTransactionsMax", _execution.BlockTransactionsMax));
        _engine.SetRoundTimeouts(baseMs, maxMs);
        _roundTimeouts = (baseMs, maxMs);
    }

    /// <summary>Publishes the validator count and warns when it is at or below the consortium's alert threshold (GOV-1).</summary>
    private void NoteValidatorSet(ValidatorSet set)
    {
        var threshold = ConsortiumRegistry.ValidatorAlertThreshold(new StoreStateReader(_store, 16));
        _metrics.OnValidatorSet(set.Count, threshold);
        if ((ulong)set.Count <= threshold)
        {
            _log.Warn("validators-at-alert-threshold", ("epoch", set.Epoch), ("validators", set.Count), ("threshold", threshold),
                ("tolerates", set.FaultsTolerated));
        }
    }

    public bool Tracing { get; init; } = Environment.GetEnvironmentVariable("CUSTOS_TRACE_CONSENSUS") == "1";

    private void Trace(string what, byte[] message)
    {
        if (!Tracing || !ConsensusMessages.TryDecode(message, out var decoded, out _)) return;
        _log.Info("consensus-" + what, ("kind", decoded.BodyCase.ToString()), ("round", _engine.CurrentRound), ("height", _store.Head?.Height ?? 0));
    }

    /// <summary>Messages the engine refused are logged (rate-limited by their nature: each is one refused message).</summary>
    private void LogRejection(byte[] payload)
    {
        JournalEntry entry;
        try
        {
            entry = JournalEntry.Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException)
        {
            return;
        }

        if (entry.Kind != JournalEntryKind.Rejected) return;
        var kind = ConsensusMessages.TryDecode(entry.Message.Span, out var message, out _) ? message.BodyCase.ToString() : "undecodable";
        _log.Warn("consensus-refused", ("from", _chain.NameOf(new NodeId((int)entry.Peer))), ("kind", kind), ("reason", entry.Reason), ("round", _engine.CurrentRound));
    }

    private void FlushJournal()
    {
        if (_journal.Count == 0) return;
        _store.Journal.Append(_journal.ToList());
        _journal.Clear();
    }

    private void Send(string peer, byte[] message)
    {
        var (kind, payload) = Compact(message);
        _network.TrySend(peer, kind, payload, out _);
    }

    private void Broadcast(byte[] message, ProposalForms? proposal)
    {
        var (kind, payload) = proposal is null ? Compact(message) : Compact(message, proposal);
        _network.Broadcast(kind, payload);
    }

    /// <summary>Our own proposal as the engine gave its forms: its header-only form is taken as it is, nothing parsed back.</summary>
    private (FrameKind Kind, byte[] Payload) Compact(byte[] message, ProposalForms proposal) =>
        CompactIfFromBatches(message, proposal.Block.Header, proposal.Block.Decoded.Transactions.Count, proposal.Block.Hash, () => proposal.HeaderOnly);

    /// <summary>Our own proposals built from batches go out as digests; everything else as it is.</summary>
    private (FrameKind Kind, byte[] Payload) Compact(byte[] message)
    {
        if (_execution.LastProposal is not { Batches.Count: > 0 }) return (FrameKind.Consensus, message);
        if (!ConsensusMessages.TryDecode(message, out var decoded, out _) || decoded.BodyCase != ConsensusMessage.BodyOneofCase.Proposal) return (FrameKind.Consensus, message);
        var block = Block.Parser.ParseFrom(decoded.Proposal.Block);
        var header = BlockHeader.Parser.ParseFrom(block.Header);
        return CompactIfFromBatches(message, header, block.Transactions.Count, BlockRecord.HashOfHeader(_chain.Suite, block.Header.Span), () =>
        {
            var proposal = decoded.Proposal.Clone();
            proposal.Block = new Block { Header = block.Header }.ToByteString();
            return ConsensusMessages.Encode(proposal);
        });
    }

    /// <summary>The compact form (the header-only message and the batch digests) if the proposal is the one built from batches.</summary>
    private (FrameKind Kind, byte[] Payload) CompactIfFromBatches(byte[] message, BlockHeader header, int transactions, Hash32 hash, Func<ReadOnlyMemory<byte>> headerOnly)
    {
        if (_execution.LastProposal is not { Batches.Count: > 0 } last) return (FrameKind.Consensus, message);
        if (header.Height != last.Height || header.Round != last.Round || header.Proposer != _engine.Validators.TryIndexOfOrMax(_self)) return (FrameKind.Consensus, message);
        if (transactions != last.Batches.Sum(b => b.Transactions.Count)) return (FrameKind.Consensus, message);
        var digests = last.Batches.Select(b => b.Digest).ToList();
        _execution.RecordBatches(hash, digests);
        var compact = new CompactProposal { Message = ByteString.CopyFrom(headerOnly().Span) };
        compact.BatchDigests.AddRange(digests.Select(d => d.ToByteString()));
        return (FrameKind.CompactProposal, compact.ToByteArray());
    }
}

internal static class ValidatorSetExtensions
{
    public static uint TryIndexOfOrMax(this ValidatorSet set, NodeId node) => set.TryIndexOf(node, out var index) ? index : uint.MaxValue;
}
