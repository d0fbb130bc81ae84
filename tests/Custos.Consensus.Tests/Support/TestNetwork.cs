using Custos.Consensus.Wire;
using Custos.Core;

namespace Custos.Consensus.Tests.Support;

/// <summary>Blocks without transactions, with the state root execution last reported.</summary>
internal sealed class EmptyPayloadSource : IPayloadSource
{
    public BlockPayload NextPayload(BlockRecord parent, ulong height, ulong round, long nowMs) => new([], Hash32.Zero);
}

/// <summary>A mempool with nothing in it: leaders may hold back empty blocks (<see cref="ConsensusConfig.EmptyBlockDelayMs"/>).</summary>
internal sealed class IdlePayloadSource : IPayloadSource
{
    public BlockPayload NextPayload(BlockRecord parent, ulong height, ulong round, long nowMs) => new([], Hash32.Zero);

    public bool HasPayload(BlockRecord parent) => false;
}

/// <summary>Accepts every payload: these tests are about consensus, which delegates payload rules to execution.</summary>
internal sealed class AnyPayloadValidator : IBlockValidator
{
    public CustosError? Validate(BlockRecord block, BlockRecord parent) => null;
}

/// <summary>An in-memory durable ledger, as storage keeps it.</summary>
internal sealed class MemoryLedger : ICommittedChain
{
    public List<CommittedBlock> Blocks { get; } = [];

    public Dictionary<ulong, EpochEndingProof> EpochEndings { get; } = [];

    public bool TryGetBlock(ulong height, out CommittedBlock block)
    {
        block = Blocks.FirstOrDefault(b => b.Height == height)!;
        return block is not null;
    }

    public bool TryGetEpochEnding(ulong epoch, out EpochEndingProof proof) => EpochEndings.TryGetValue(epoch, out proof!);
}

/// <summary>
/// One validator as a host runs it: its engine, its durable records (safety state, ledger, journal), and what it
/// sent. The host side is what a node does: persist and acknowledge, append commits and report their execution.
/// </summary>
internal sealed class TestNode
{
    private readonly TestChain _chain;

    public TestNode(TestChain chain, int index, Func<BlockRecord, ValidatorSet?>? epochChanges = null)
    {
        _chain = chain;
        Id = new NodeId(index);
        EpochChanges = epochChanges ?? (_ => null);
        Journal = new JournalChain(chain.Suite);
        Engine = NewEngine(null);
    }

    public NodeId Id { get; }

    /// <summary>Validator sets by epoch, as execution announced them to this node.</summary>
    public Dictionary<ulong, ValidatorSet> Sets { get; } = [];

    public Func<BlockRecord, ValidatorSet?> EpochChanges { get; }

    public ConsensusEngine Engine { get; private set; }

    public byte[]? DurableSafety { get; private set; }

    public MemoryLedger Ledger { get; } = new();

    public JournalChain Journal { get; }

    public List<EquivocationEvidence> Evidence { get; } = [];

    public List<(NodeId? To, byte[] Message)> Sent { get; } = [];

    public List<ConsensusAction> Actions { get; } = [];

    public bool AutoPersist { get; set; } = true;

    public bool AutoExecute { get; set; } = true;

    public long Now { get; set; } = 1_000_000;

    public List<string> Halts { get; } = [];

    public (ulong Epoch, ulong Round)? Timer { get; private set; }

    public IPayloadSource PayloadSource { get; set; } = new EmptyPayloadSource();

    public long TimerAt { get; private set; }

    public ulong Height => Ledger.Blocks.Count == 0 ? 0 : Ledger.Blocks[^1].Height;

    /// <summary>Starts (or restarts, from the durable records) the engine.</summary>
    public ConsensusEngine NewEngine(SafetyState? safety)
    {
        Sets.TryAdd(1, _chain.Set);
        var root = Ledger.Blocks.Count == 0 ? _chain.Genesis : Ledger.Blocks[^1];
        var epoch = root.Block.Epoch;
        Engine = new ConsensusEngine(_chain.Config, _chain.Suite, _chain.Keys[Id.Value], Id, new EngineStart
        {
            Validators = Sets[epoch],
            PreviousValidators = epoch > 1 ? Sets[epoch - 1] : null,
            Root = root,
            Safety = safety,
            RootExecution = new BlockExecuted(root.Height, root.Hash, Hash32.Zero, root.Height == 0 ? null : EpochChanges(root.Block)),
        }, PayloadSource, new AnyPayloadValidator(), Ledger);
        return Engine;
    }

    public void Restart()
    {
        SafetyState? safety = null;
        if (DurableSafety is not null && !ConsensusMessages.TryDecodeSafetyState(DurableSafety, out safety, out var error)) throw error.ToException();
        NewEngine(safety);
        Start();
    }

    public void Start() => Apply(Engine.Start(Now));

    public void Handle(ConsensusEvent @event) => Apply(Engine.Handle(@event, Now));

    public void Receive(NodeId from, byte[] message) => Handle(new MessageReceived(from, message));

    public void Apply(IReadOnlyList<ConsensusAction> actions)
    {
        var follow = new List<ConsensusEvent>();
        foreach (var action in actions)
        {
            Actions.Add(action);
            switch (action)
            {
                case SendMessage send:
                    Sent.Add((send.To, send.Message));
                    break;
                case BroadcastMessage broadcast:
                    Sent.Add((null, broadcast.Message));
                    break;
                case RequestBlocks request:
                    Sent.Add((request.Peer, request.Message));
                    break;
                case PersistSafetyState persist:
                    DurableSafety = persist.State;
                    if (AutoPersist) follow.Add(new SafetyStatePersisted(persist.Sequence));
                    break;
                case CommitBlock commit:
                    Ledger.Blocks.Add(commit.Block);
                    if (AutoExecute)
                    {
                        var next = EpochChanges(commit.Block.Block);
                        if (next is not null) Sets[next.Epoch] = next;
                        follow.Add(new BlockExecuted(commit.Block.Height, commit.Block.Hash, Hash32.Zero, next));
                    }

                    break;
                case PersistEpochEnding ending:
                    Ledger.EpochEndings[ending.Proof.Epoch] = ending.Proof;
                    break;
                case ScheduleTimer timer:
                    Timer = (timer.Epoch, timer.Round);
                    TimerAt = timer.AtMs;
                    break;
                case EmitEvidence evidence:
                    Evidence.Add(evidence.Evidence);
                    break;
                case JournalAppend journal:
                    // The kind the host acts on is the kind recorded.
                    if (JournalEntry.Parser.ParseFrom(journal.Payload).Kind != journal.Kind) throw new InvalidOperationException($"journal action says {journal.Kind}, its entry says otherwise");
                    Journal.Append(journal.Payload);
                    break;
                case Halt halt:
                    Halts.Add(halt.Reason);
                    break;
            }
        }

        foreach (var next in follow) Handle(next);
    }

    /// <summary>Fires the current round timer (the test decides when time has passed).</summary>
    public void FireTimer()
    {
        if (Timer is { } timer)
        {
            Now = Math.Max(Now, TimerAt);
            Handle(new TimerFired(timer.Epoch, timer.Round));
        }
    }

    public IEnumerable<ConsensusMessage> SentMessages() => Sent.Select(s => Decode(s.Message));

    public static ConsensusMessage Decode(byte[] bytes) => ConsensusMessages.TryDecode(bytes, out var message, out var error) ? message : throw error.ToException();

    public IEnumerable<JournalEntry> JournalEntries() => Journal.Records.Select(r => JournalEntry.Parser.ParseFrom(r.Payload));
}

/// <summary>
/// Nodes connected by an in-order, lossless network that tests drive by hand: messages wait in a queue until
/// <see cref="Run"/> delivers them; a filter can drop or hold some; <see cref="Down"/> nodes receive nothing.
/// </summary>
internal sealed class TestNetwork
{
    private readonly Queue<(NodeId From, NodeId To, byte[] Message)> _inFlight = new();
    private readonly Dictionary<NodeId, int> _sentCursor = [];

    public TestNetwork(TestChain chain, int nodes, Func<BlockRecord, ValidatorSet?>? epochChanges = null)
    {
        Chain = chain;
        Nodes = [.. Enumerable.Range(0, nodes).Select(i => new TestNode(chain, i, epochChanges))];
    }

    public TestChain Chain { get; }

    public List<TestNode> Nodes { get; }

    public HashSet<NodeId> Down { get; } = [];

    /// <summary>Return false to drop a message.</summary>
    public Func<NodeId, NodeId, ConsensusMessage, bool> Filter { get; set; } = (_, _, _) => true;

    public void StartAll()
    {
        foreach (var node in Nodes) node.Start();
        Collect();
    }

    /// <summary>Delivers messages until none is left (or the step limit is reached); returns how many were delivered.</summary>
    public int Run(int steps = 100_000)
    {
        var delivered = 0;
        Collect();
        while (_inFlight.Count > 0 && delivered < steps)
        {
            var (from, to, message) = _inFlight.Dequeue();
            if (!Down.Contains(to) && Filter(from, to, TestNode.Decode(message)))
            {
                Nodes[to.Value].Now += 1;
                Nodes[to.Value].Receive(from, message);
                delivered++;
            }

            Collect();
        }

        return delivered;
    }

    /// <summary>Fires every running node's round timer, as if its duration passed without progress.</summary>
    public void TimeoutAll()
    {
        foreach (var node in Nodes.Where(n => !Down.Contains(n.Id))) node.FireTimer();
        Collect();
    }

    private void Collect()
    {
        foreach (var node in Nodes)
        {
            _sentCursor.TryGetValue(node.Id, out var cursor);
            for (; cursor < node.Sent.Count; cursor++)
            {
                var (to, message) = node.Sent[cursor];
                if (Down.Contains(node.Id)) continue;
                if (to is { } target) _inFlight.Enqueue((node.Id, target, message));
                else foreach (var other in Nodes.Where(n => n.Id != node.Id)) _inFlight.Enqueue((node.Id, other.Id, message));
            }

            _sentCursor[node.Id] = cursor;
        }
    }
}
