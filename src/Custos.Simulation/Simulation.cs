using System.Globalization;
using System.Text;
using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Simulation;

/// <summary>
/// One seeded run of a whole network of real consensus engines in one process (docs/consensus.md, section 11).
/// Everything that varies comes from <c>System.Random(seed)</c> and a queue of events ordered by virtual time and
/// insertion order; signatures are deterministic; so a seed reproduces its run, trace included, byte for byte.
/// Checkers run after every event. Single-threaded; separate runs share nothing and may run in parallel.
/// </summary>
public sealed class Simulation
{
    private const string ChainId = "custos-sim";
    private const long StartMs = 1_700_000_000_000;

    private static readonly ConsensusConfig Config = new()
    {
        ChainId = ChainId,
        RoundTimeoutMs = 400,
        RoundTimeoutBackoff = 1.5,
        RoundTimeoutMsMax = 4_000,
        BlockTimestampDriftMsMax = 5_000,
        SyncBlocksMax = 32,
    };

    private readonly int _seed;
    private readonly SimulationOptions _options;
    private readonly TextWriter? _trace;
    private readonly Random _random;
    private readonly ICryptoSuite _suite;
    private readonly EventQueue<SimEvent> _queue = new();
    private readonly List<SimNode> _nodes = [];
    private readonly List<string> _violations = [];
    private readonly Dictionary<ulong, (Hash32 Hash, NodeId Node)> _committed = [];
    private readonly Dictionary<ulong, (Hash32 Root, string Replica)> _stateRoots = [];
    private readonly Dictionary<(NodeId Node, ulong Epoch, ulong Round, SignedKind Kind), ByteString> _signedByHonest = [];
    private readonly HashSet<(ulong Epoch, ulong Round, SignedKind Kind, uint Author)> _evidence = [];
    private readonly StringBuilder _scenario = new();
    private readonly ISigningKey _client;
    private readonly EngineMutation _engineMutation;
    private EpochPlan _plan = null!;
    private CurrencyWorkload? _currency;
    private CommittedBlock _genesis = null!;
    private BlockExecuted _genesisExecution = null!;
    private long _now = StartMs;
    private long _healAt;
    private long _events;
    private double _dropRate;
    private double _duplicateRate;
    private int _delayMaxMs = 20;
    private int[]? _partition;
    private ulong _heightAtHeal;
    private bool _healed;
    private long _commitRoundsSum;
    private long _commitRoundsCount;

    public Simulation(int seed, SimulationOptions options, TextWriter? trace = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validators < 4 || options.Validators > 64)
        {
            throw new CustosException(Core.Wire.ErrorCode.InvalidField, "the simulator runs 4 to 64 validators");
        }

        _seed = seed;
        _options = options;
        _trace = trace;
        _random = new Random(seed);
        _suite = CryptoSuites.Parse(options.Crypto);
        _client = DeterministicSigningKey.ForLabel(_suite, "client");
        _engineMutation = options.Mutation == SimulationMutation.SkipLock ? EngineMutation.SkipLock : EngineMutation.None;
        if (options.Mutation == SimulationMutation.Counterfeit && options.Workload != SimulationWorkload.DigitalCurrency)
        {
            throw new CustosException(Core.Wire.ErrorCode.InvalidField, "the counterfeit mutation needs the dcep workload");
        }
    }

    /// <summary>The simulated nodes, for tests that inspect what they kept (journals, ledgers) after a run.</summary>
    internal IReadOnlyList<SimNode> Nodes => _nodes;

    internal EpochPlan Plan => _plan;

    /// <summary>The currency workload of the run (null with the notes workload), for tests that re-check replicas.</summary>
    internal CurrencyWorkload? Currency => _currency;

    internal static string ChainIdentifier => ChainId;

    internal ICryptoSuite Suite => _suite;

    public SimulationResult Run()
    {
        Setup();
        while (_violations.Count == 0 && _queue.TryDequeue(out var next, out var time))
        {
            _now = Math.Max(_now, time);
            if (++_events > _options.EventsMax) break;
            Process(next);
            if (_healed && Done()) break;
            if (_now > _healAt + _options.LivenessBoundMs) break;
        }

        var honest = HonestReplicas().ToList();
        string? liveness = null;
        if (_violations.Count == 0)
        {
            var lagging = honest.Where(r => TipHeight(r) <= _heightAtHeal).Select(r => $"{r.Name} at {TipHeight(r)}").ToList();
            if (!_healed) liveness = "the run ended before the network healed";
            else if (lagging.Count > 0) liveness = $"no new commit within {_options.LivenessBoundMs} ms after the heal at height {_heightAtHeal}: {string.Join(", ", lagging)}";
            if (_events > _options.EventsMax) liveness = $"event budget of {_options.EventsMax} exhausted";
        }

        var result = new SimulationResult
        {
            Seed = _seed,
            SafetyViolations = [.. _violations],
            LivenessFailure = liveness,
            Commits = honest.Count == 0 ? 0 : honest.Max(TipHeight),
            Evidence = _evidence.Count,
            Rounds = honest.Select(r => r.Engine?.CurrentRound ?? 0).DefaultIfEmpty().Max(),
            VirtualMs = _now - StartMs,
            Events = _events,
            RoundsToCommit = _commitRoundsCount == 0 ? 0 : (double)_commitRoundsSum / _commitRoundsCount,
            Scenario = _scenario.ToString(),
            Currency = _currency is null ? null : CurrencyFiguresOf(honest),
        };
        Trace($"end {Describe(result)}");
        return result;
    }

    public static string Describe(SimulationResult result) =>
        $"seed {result.Seed}: {(result.SafetyViolations.Count > 0 ? "SAFETY " + result.SafetyViolations[0] : result.LivenessFailure is { } l ? "LIVENESS " + l : "ok")}; " +
        $"height {result.Commits}, rounds {result.Rounds}, evidence {result.Evidence}, {result.Events} events, {result.VirtualMs} virtual ms; " +
        (result.Currency is { } currency ? $"{currency}; " : "") + result.Scenario;

    /// <summary>The currency figures of the honest replica that executed the most blocks (the first such in node order).</summary>
    private CurrencyFigures? CurrencyFiguresOf(IReadOnlyList<SimReplica> honest)
    {
        var highest = honest.Where(r => r.Currency is not null).OrderByDescending(r => r.Currency!.Height).FirstOrDefault();
        return highest is null ? null : _currency!.Figures(highest.Currency!);
    }

    // ---------------------------------------------------------------- setup

    private void Setup()
    {
        var faults = _options.Faults;
        var n = _options.Validators;
        var f = (n - 1) / 3;
        var byzantine = new HashSet<int>();
        if (faults.HasFlag(FaultSet.Byzantine))
        {
            var count = _random.Next(2) == 0 ? f : _random.Next(f + 1);
            while (byzantine.Count < count) byzantine.Add(_random.Next(n));
        }

        var spares = faults.HasFlag(FaultSet.Epochs) ? 1 : 0;
        var identities = new List<SimNodeIdentity>();
        for (var i = 0; i < n + spares; i++)
        {
            identities.Add(new SimNodeIdentity(new NodeId(i), DeterministicSigningKey.ForLabel(_suite, $"node-{i}"), byzantine.Contains(i)));
        }

        var epochLength = faults.HasFlag(FaultSet.Epochs) ? _random.Next(6, 16) : 0;
        _plan = new EpochPlan(identities, n, epochLength);
        var genesisBlock = Genesis.CreateBlock(ChainId, 1, StartMs, Hash32.Zero, _suite);
        var genesisQc = Genesis.Certify(genesisBlock, identities.Take(n).Select((id, i) => ((uint)i, (ISigningKey)id.Key)));
        _genesis = new CommittedBlock(genesisBlock, genesisQc, null);
        if (_options.Workload == SimulationWorkload.DigitalCurrency)
        {
            _currency = new CurrencyWorkload(ChainId, _suite, _plan, new Random(_random.Next()), StartMs, counterfeit: _options.Mutation == SimulationMutation.Counterfeit);
            _genesisExecution = _currency.GenesisExecution(genesisBlock);
        }
        else
        {
            _genesisExecution = SimulatedExecutor.Execute(Hash32.Zero, genesisBlock, _plan, _suite);
        }

        var behaviours = new[] { "equivocating-leader", "twins", "vote-withholder", "stale-replayer", "forger", "forking-leader" };
        var allNodes = identities.Select(i => i.Id).ToList();
        foreach (var identity in identities)
        {
            var node = new SimNode(identity);
            _nodes.Add(node);
            node.SkewMs = faults.HasFlag(FaultSet.Skew) ? _random.Next(-400, 401) : 0;
            node.DiskDelayMsMax = faults.HasFlag(FaultSet.Crash) ? _random.Next(0, 20) : 1;
            var behaviour = identity.Byzantine ? behaviours[_random.Next(behaviours.Length)] : null;
            var replicas = behaviour == "twins" ? 2 : 1;
            for (var r = 0; r < replicas; r++) node.Replicas.Add(new SimReplica(node, r, _suite) { Currency = _currency?.NewLedger() });
            if (behaviour is not null)
            {
                var context = new AdversaryContext(ChainId, _suite, node, new Random(_random.Next()), allNodes, PayloadFor(node.Replicas[0]));
                node.Adversary = behaviour switch
                {
                    "equivocating-leader" => new EquivocatingLeader(context),
                    "vote-withholder" => new VoteWithholder(context),
                    "stale-replayer" => new StaleReplayer(context),
                    "forger" => new Forger(context),
                    "forking-leader" => new ForkingLeader(context),
                    _ => null,
                };
                _scenario.Append(CultureInfo.InvariantCulture, $"{identity.Id}={behaviour} ");
            }
        }

        if (epochLength > 0) _scenario.Append(CultureInfo.InvariantCulture, $"epochs every {epochLength} blocks; ");
        var faultPhase = faults == FaultSet.None ? _options.FaultPhaseMsMax / 2 : _random.NextInt64(_options.FaultPhaseMsMax / 2, _options.FaultPhaseMsMax + 1);
        _healAt = StartMs + faultPhase;
        ScheduleFaults(faults, faultPhase);
        _queue.Enqueue(_healAt, new HealEvent());

        foreach (var node in _nodes)
        {
            foreach (var replica in node.Replicas) StartEngine(replica, restart: false);
            if (node.Adversary is not null) _queue.Enqueue(_now + _random.Next(50, 400), new AdversaryTick(node.Id.Value));
        }
    }

    private void ScheduleFaults(FaultSet faults, long faultPhase)
    {
        if (faults.HasFlag(FaultSet.Network))
        {
            _dropRate = _random.NextDouble() * 0.15;
            _duplicateRate = _random.NextDouble() * 0.1;
            _delayMaxMs = _random.Next(20, 300);
            var partitions = _random.Next(0, 4);
            for (var i = 0; i < partitions; i++)
            {
                var start = _now + _random.NextInt64(0, faultPhase);
                var end = Math.Min(start + _random.Next(300, 4_000), _healAt);
                var groups = new int[_nodes.Count];
                for (var g = 0; g < groups.Length; g++) groups[g] = _random.Next(2);
                _queue.Enqueue(start, new PartitionEvent(groups));
                _queue.Enqueue(end, new PartitionEvent(null));
            }

            _scenario.Append(CultureInfo.InvariantCulture, $"drop {_dropRate:F2}, dup {_duplicateRate:F2}, delay ≤{_delayMaxMs} ms, {partitions} partitions; ");
        }

        if (faults.HasFlag(FaultSet.Crash))
        {
            var crashes = _random.Next(0, 4);
            var nodeCount = _nodes.Count;
            for (var i = 0; i < crashes; i++)
            {
                var node = _random.Next(nodeCount);
                var at = _now + _random.NextInt64(0, faultPhase);
                var down = _random.Next(20, 3_000);
                _queue.Enqueue(at, new CrashEvent(node));
                _queue.Enqueue(Math.Min(at + down, _healAt), new RestartEvent(node));
            }

            _scenario.Append(CultureInfo.InvariantCulture, $"{crashes} crashes; ");
        }

        if (faults.HasFlag(FaultSet.Skew)) _scenario.Append("skew; ");
    }

    private SimulatedPayloadSource PayloadFor(SimReplica replica) =>
        new(ChainId, _suite, _client, replica.Node.Id.Value * 10 + replica.Instance, () => LatestStateRoot(replica));

    /// <summary>What an engine proposes from: the workload's clients, or one note per block.</summary>
    private IPayloadSource EnginePayloadFor(SimReplica replica) =>
        _currency is { } currency ? currency.PayloadSource(() => LatestStateRoot(replica)) : PayloadFor(replica);

    private Hash32 LatestStateRoot(SimReplica replica) => replica.Ledger.Count > 0 ? replica.Ledger[^1].Execution.StateRoot : _genesisExecution.StateRoot;

    private void StartEngine(SimReplica replica, bool restart)
    {
        var node = replica.Node;
        var (root, execution) = replica.Ledger.Count > 0 ? replica.Ledger[^1] : (_genesis, _genesisExecution);
        var epoch = root.Block.Epoch;
        SafetyState? safety = null;
        if (replica.Safety is not null && !(restart && _options.Mutation == SimulationMutation.DoubleVoteAfterRestart && !node.Byzantine))
        {
            if (!ConsensusMessages.TryDecodeSafetyState(replica.Safety, out safety, out var error)) Violation($"{replica.Name}: durable safety state does not decode: {error}");
        }

        var start = new EngineStart
        {
            Validators = _plan.SetFor(epoch),
            PreviousValidators = epoch > 1 ? _plan.SetFor(epoch - 1) : null,
            Root = root,
            Safety = safety,
            RootExecution = execution,
        };
        replica.Engine = new ConsensusEngine(Config, _suite, node.Identity.Key, node.Id, start, EnginePayloadFor(replica), new SimulatedBlockValidator(), replica, _engineMutation);
        replica.Delivered.Clear();
        replica.EvidenceEmitted.Clear();
        Trace($"{replica.Name} {(restart ? "restart" : "start")} at height {root.Height} epoch {epoch}");
        Dispatch(replica, replica.Engine.Start(node.LocalTime(_now)));
    }

    // ---------------------------------------------------------------- events

    private abstract record SimEvent;

    private sealed record DeliverEvent(int To, NodeId From, byte[] Bytes) : SimEvent;

    private sealed record TimerEvent(int Node, int Replica, int Incarnation, int Generation, ulong Epoch, ulong Round) : SimEvent;

    private sealed record PersistAckEvent(int Node, int Replica, int Incarnation, long Sequence) : SimEvent;

    private sealed record ExecutedEvent(int Node, int Replica, int Incarnation, BlockExecuted Result) : SimEvent;

    private sealed record CrashEvent(int Node) : SimEvent;

    private sealed record RestartEvent(int Node) : SimEvent;

    private sealed record PartitionEvent(int[]? Groups) : SimEvent;

    private sealed record HealEvent : SimEvent;

    private sealed record AdversaryTick(int Node) : SimEvent;

    private void Process(SimEvent next)
    {
        switch (next)
        {
            case DeliverEvent deliver:
                Deliver(deliver);
                break;
            case TimerEvent timer:
                if (TryReplica(timer.Node, timer.Replica, timer.Incarnation, out var timed) && timed.TimerGeneration == timer.Generation)
                {
                    Trace($"{timed.Name} timer e{timer.Epoch} r{timer.Round}");
                    Handle(timed, new TimerFired(timer.Epoch, timer.Round));
                }

                break;
            case PersistAckEvent ack:
                if (TryReplica(ack.Node, ack.Replica, ack.Incarnation, out var persisted)) Handle(persisted, new SafetyStatePersisted(ack.Sequence));
                break;
            case ExecutedEvent executed:
                if (TryReplica(executed.Node, executed.Replica, executed.Incarnation, out var executing)) Handle(executing, executed.Result);
                break;
            case CrashEvent crash:
                Crash(_nodes[crash.Node]);
                break;
            case RestartEvent restart:
                Restart(_nodes[restart.Node]);
                break;
            case PartitionEvent partition:
                _partition = partition.Groups;
                Trace(partition.Groups is null ? "partition healed" : $"partition {string.Join("", partition.Groups)}");
                break;
            case HealEvent:
                Heal();
                break;
            case AdversaryTick tick:
                var adversaryNode = _nodes[tick.Node];
                if (adversaryNode.Up && adversaryNode.Adversary is { } adversary)
                {
                    foreach (var outgoing in adversary.Tick()) TransmitByzantine(adversaryNode, outgoing);
                }

                _queue.Enqueue(_now + _random.Next(50, 400), new AdversaryTick(tick.Node));
                break;
        }
    }

    private bool TryReplica(int node, int replica, int incarnation, out SimReplica found)
    {
        found = _nodes[node].Replicas[replica];
        return _nodes[node].Up && _nodes[node].Incarnation == incarnation && found.Engine is not null;
    }

    private void Crash(SimNode node)
    {
        if (!node.Up) return;
        node.Up = false;
        node.Incarnation++;
        foreach (var replica in node.Replicas) replica.Engine = null;
        Trace($"{node.Id} crash");
    }

    private void Restart(SimNode node)
    {
        if (node.Up) return;
        node.Up = true;
        node.Incarnation++;
        foreach (var replica in node.Replicas)
        {
            if (!node.Byzantine) CheckRestoredState(replica);
            StartEngine(replica, restart: true);
        }
    }

    private void Heal()
    {
        _partition = null;
        _dropRate = 0;
        _duplicateRate = 0;
        _delayMaxMs = 20;
        foreach (var node in _nodes.Where(n => !n.Up)) Restart(node);
        _healed = true;
        _heightAtHeal = HonestReplicas().Select(TipHeight).DefaultIfEmpty().Max();
        Trace($"heal at height {_heightAtHeal}");
    }

    private bool Done() => HonestReplicas().All(r => TipHeight(r) >= _heightAtHeal + (ulong)_options.CommitsAfterHeal);

    private IEnumerable<SimReplica> HonestReplicas() => _nodes.Where(n => !n.Byzantine).SelectMany(n => n.Replicas);

    private static ulong TipHeight(SimReplica replica) => replica.Ledger.Count > 0 ? replica.Ledger[^1].Block.Height : 0;

    // ---------------------------------------------------------------- network

    private void Transmit(SimNode from, Outgoing outgoing)
    {
        if (outgoing.To is { } to)
        {
            Send(from, to.Value, outgoing.Bytes);
            return;
        }

        foreach (var node in _nodes)
        {
            if (node.Id != from.Id) Send(from, node.Id.Value, outgoing.Bytes);
        }
    }

    private void Send(SimNode from, int to, byte[] bytes)
    {
        if (to < 0 || to >= _nodes.Count) return;
        if (to != from.Id.Value)
        {
            if (_partition is { } groups && groups[from.Id.Value] != groups[to]) return;
            if (_random.NextDouble() < _dropRate) return;
        }

        _queue.Enqueue(_now + _random.Next(1, _delayMaxMs + 1), new DeliverEvent(to, from.Id, bytes));
        if (_random.NextDouble() < _duplicateRate) _queue.Enqueue(_now + _random.Next(1, 2 * _delayMaxMs + 1), new DeliverEvent(to, from.Id, bytes));
    }

    private void Deliver(DeliverEvent deliver)
    {
        var node = _nodes[deliver.To];
        if (!node.Up) return;
        if (node.Adversary is { } adversary)
        {
            foreach (var reaction in adversary.Observe(deliver.From, deliver.Bytes).ToList()) TransmitByzantine(node, reaction);
        }

        foreach (var replica in node.Replicas)
        {
            // Twins: each replica misses some messages, so the two drift apart and sign different things.
            if (node.Replicas.Count > 1 && _random.NextDouble() < 0.3) continue;
            if (replica.Engine is null) continue;
            var expected = node.Byzantine ? null : ExpectedEvidence(replica, deliver.Bytes);
            if (_trace is not null) Trace($"{replica.Name} <- {deliver.From} {TraceText.Describe(deliver.Bytes)}");
            Handle(replica, new MessageReceived(deliver.From, deliver.Bytes));
            if (expected is { } key && !replica.EvidenceEmitted.Contains(key) && replica.Engine is { IsHalted: false })
            {
                Violation($"evidence: {replica.Name} received two different {key.Kind}s of validator {key.Author} for epoch {key.Epoch} round {key.Round} and produced no evidence");
            }
        }
    }

    // ---------------------------------------------------------------- engine actions

    private void Handle(SimReplica replica, ConsensusEvent @event)
    {
        var engine = replica.Engine!;
        Dispatch(replica, engine.Handle(@event, replica.Node.LocalTime(_now)));
    }

    private void Dispatch(SimReplica replica, IReadOnlyList<ConsensusAction> actions)
    {
        var node = replica.Node;
        foreach (var action in actions)
        {
            if (_trace is not null) Trace($"  {replica.Name} {TraceText.Describe(action)}");
            switch (action)
            {
                case SendMessage send:
                    Outbound(replica, new Outgoing(send.To, send.Message));
                    break;
                case BroadcastMessage broadcast:
                    Outbound(replica, new Outgoing(null, broadcast.Message));
                    break;
                case RequestBlocks request:
                    Outbound(replica, new Outgoing(request.Peer, request.Message));
                    break;
                case PersistSafetyState persist:
                    replica.Safety = persist.State;
                    _queue.Enqueue(_now + _random.Next(0, (int)node.DiskDelayMsMax + 1), new PersistAckEvent(node.Id.Value, replica.Instance, node.Incarnation, persist.Sequence));
                    break;
                case CommitBlock commit:
                    Commit(replica, commit.Block);
                    break;
                case PersistEpochEnding ending:
                    replica.EpochEndings[ending.Proof.Epoch] = ending.Proof;
                    break;
                case ScheduleTimer timer:
                    replica.TimerGeneration++;
                    _queue.Enqueue(Math.Max(_now, timer.AtMs - node.SkewMs), new TimerEvent(node.Id.Value, replica.Instance, node.Incarnation, replica.TimerGeneration, timer.Epoch, timer.Round));
                    break;
                case EmitEvidence evidence:
                    RecordEvidence(replica, evidence.Evidence);
                    break;
                case JournalAppend journal:
                    replica.Journal.Append(journal.Payload);
                    break;
                case Halt halt:
                    if (!node.Byzantine) Violation($"agreement: honest {replica.Name} halted: {halt.Reason}");
                    break;
            }
        }
    }

    private void Outbound(SimReplica replica, Outgoing outgoing)
    {
        var node = replica.Node;
        if (!node.Byzantine)
        {
            CheckVoteOnce(node, outgoing.Bytes);
            Transmit(node, outgoing);
            return;
        }

        foreach (var rewritten in node.Adversary is { } adversary ? adversary.Rewrite(outgoing) : [outgoing]) TransmitByzantine(node, rewritten);
    }

    private void TransmitByzantine(SimNode node, Outgoing outgoing)
    {
        if (_trace is not null) Trace($"  {node.Id} (byzantine) -> {(outgoing.To is { } to ? to.ToString() : "all")} {TraceText.Describe(outgoing.Bytes)}");
        Transmit(node, outgoing);
    }

    private void Commit(SimReplica replica, CommittedBlock block)
    {
        var tip = replica.Ledger.Count > 0 ? replica.Ledger[^1] : (_genesis, _genesisExecution);
        if (block.Height != tip.Item1.Height + 1 || block.Block.ParentHash != tip.Item1.Hash)
        {
            if (!replica.Node.Byzantine) Violation($"no loss: {replica.Name} committed height {block.Height} on top of its ledger at height {tip.Item1.Height}");
            return;
        }

        var execution = replica.Currency is { } ledger ? _currency!.Execute(ledger, block.Block) : SimulatedExecutor.Execute(tip.Item2.StateRoot, block.Block, _plan, _suite);
        replica.Ledger.Add((block, execution));
        var node = replica.Node;
        _queue.Enqueue(_now + _random.Next(0, 3), new ExecutedEvent(node.Id.Value, replica.Instance, node.Incarnation, execution));
        if (node.Byzantine) return;
        if (_committed.TryGetValue(block.Height, out var known))
        {
            if (known.Hash != block.Hash) Violation($"agreement: height {block.Height} committed as {known.Hash.ToShortString()} by {known.Node} and as {block.Hash.ToShortString()} by {replica.Name}");
        }
        else
        {
            _committed.Add(block.Height, (block.Hash, node.Id));
        }

        CheckStateRoot(replica, execution);
        if (replica.Currency is { } executed)
        {
            if (_trace is not null) Trace($"  {replica.Name} executed {block.Height}: {executed.Transactions} currency transactions so far, {executed.Payments} payments, {executed.Refusals} refused, root {execution.StateRoot.ToShortString()}");
            if (_currency!.CheckConservation(executed) is { } broken) Violation($"conservation: {replica.Name} {broken}");
            else _currency.AuditsPassed++;
        }

        if (node.Id.Value == 0 && replica.Engine is { } engine && engine.CurrentRound >= block.Block.Round)
        {
            _commitRoundsSum += (long)(engine.CurrentRound - block.Block.Round);
            _commitRoundsCount++;
        }
    }

    // ---------------------------------------------------------------- checkers

    /// <summary>Agreement on execution: every honest replica that executed a height has the same state root there.</summary>
    private void CheckStateRoot(SimReplica replica, BlockExecuted execution)
    {
        if (_stateRoots.TryGetValue(execution.Height, out var known))
        {
            if (known.Root != execution.StateRoot)
            {
                Violation($"agreement: state root at height {execution.Height} is {known.Root.ToShortString()} at {known.Replica} and {execution.StateRoot.ToShortString()} at {replica.Name}");
            }
        }
        else
        {
            _stateRoots.Add(execution.Height, (execution.StateRoot, replica.Name));
        }
    }

    /// <summary>
    /// A restarting replica's executed state must be what re-executing its durable ledger from genesis gives, height
    /// by height: what a node that lost its state would rebuild, and what it kept, are one and the same.
    /// </summary>
    private void CheckRestoredState(SimReplica replica)
    {
        if (replica.Currency is not { } kept) return;
        if (kept.Height != TipHeight(replica)) Violation($"restart: {replica.Name} kept state at height {kept.Height} with its ledger at {TipHeight(replica)}");
        else if (_currency!.CheckReExecution(kept, [.. replica.Ledger.Select(l => l.Block.Block)]) is { } difference) Violation($"restart: {replica.Name}: {difference}");
        else Trace($"{replica.Name} re-executed {kept.Height} blocks from genesis to the state it kept");
    }

    /// <summary>Vote once: an honest validator never signs two different statements of one kind for one (epoch, round).</summary>
    private void CheckVoteOnce(SimNode node, byte[] bytes)
    {
        if (!TraceText.TryStatement(bytes, _suite, out var statement)) return;
        var set = _plan.SetFor(statement.Epoch);
        if (!set.TryIndexOf(node.Id, out var index) || index != statement.Author) return;
        var key = (node.Id, statement.Epoch, statement.Round, statement.Kind);
        if (_signedByHonest.TryGetValue(key, out var first))
        {
            if (!first.Equals(statement.Data)) Violation($"vote once: honest {node.Id} signed two different {statement.Kind}s for epoch {statement.Epoch} round {statement.Round}");
        }
        else
        {
            _signedByHonest.Add(key, statement.Data);
        }
    }

    /// <summary>
    /// Evidence: when a message delivers a correctly signed statement that conflicts with one this replica already
    /// received in this run of it (and its engine accepts statements of that epoch), the engine must emit evidence.
    /// </summary>
    private (ulong Epoch, ulong Round, SignedKind Kind, uint Author)? ExpectedEvidence(SimReplica replica, byte[] bytes)
    {
        var engine = replica.Engine!;
        if (!TraceText.TryStatement(bytes, _suite, out var statement) || statement.Epoch != engine.Epoch || statement.ChainId != ChainId) return null;
        var set = engine.Validators;
        if (statement.Author >= set.Count) return null;
        if (statement.Kind == SignedKind.Proposal && set.LeaderIndex(statement.Round) != statement.Author) return null;
        var key = (statement.Epoch, statement.Round, statement.Kind, statement.Author);
        if (!replica.Delivered.TryGetValue(key, out var first))
        {
            if (CertificateVerifier.VerifyStatement(set, statement.Author, statement.Kind, statement.Data.Span, statement.Signature.Span, _suite)) replica.Delivered.Add(key, statement.Data);
            return null;
        }

        if (first.Equals(statement.Data) || !CertificateVerifier.VerifyStatement(set, statement.Author, statement.Kind, statement.Data.Span, statement.Signature.Span, _suite)) return null;
        return key;
    }

    private void RecordEvidence(SimReplica replica, EquivocationEvidence evidence)
    {
        if (!EquivocationEvidenceVerifier.TryVerify(evidence, _plan.SetFor(evidence.Epoch), _suite, out var error))
        {
            if (!replica.Node.Byzantine) Violation($"evidence: {replica.Name} emitted evidence that does not verify: {error}");
            return;
        }

        var key = (evidence.Epoch, evidence.Round, evidence.First.Kind, evidence.Culprit);
        replica.EvidenceEmitted.Add(key);
        if (!replica.Node.Byzantine) _evidence.Add(key);
    }

    private void Violation(string message)
    {
        _violations.Add($"{message} (at {_now - StartMs} ms)");
        Trace($"VIOLATION {message}");
    }

    private void Trace(string line)
    {
        if (_trace is null) return;
        _trace.Write((_now - StartMs).ToString(CultureInfo.InvariantCulture).PadLeft(8));
        _trace.Write(' ');
        _trace.Write(line);
        _trace.Write('\n');
    }
}
