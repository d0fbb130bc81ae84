using System.Text;
using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Simulation;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Cli.Tests;

/// <summary>
/// Real consensus engines of one epoch driven in one process by a seeded queue of events (messages with random
/// delays, timers, persistence and execution acknowledgements), with the host side a node has: each records its
/// committed blocks and its journal, so that one node's records can be written into a <see cref="LedgerStore"/> the
/// way a node writes them. Blocks carry the empty state's root, which is what a store whose blocks change no state
/// expects (the simulator's blocks carry its own state roots, which a store refuses).
/// </summary>
internal sealed class EngineNetwork
{
    public const string ChainId = "custos-audit";
    private const long StartMs = 1_767_225_600_000;

    private static readonly ConsensusConfig Config = new() { ChainId = ChainId, RoundTimeoutMs = 400, RoundTimeoutMsMax = 4_000 };

    private readonly Random _random;
    private readonly PriorityQueue<NetworkEvent, (long At, long Sequence)> _queue = new();
    private readonly int? _equivocator;
    private long _sequence;
    private long _now = StartMs;

    /// <param name="equivocator">A validator whose proposals also reach node 0 in a second, conflicting version.</param>
    public EngineNetwork(ICryptoSuite suite, int validators, int seed, int? equivocator = null)
        : this(suite, DefaultChain(suite, validators), seed, equivocator)
    {
    }

    /// <param name="chain">Where the engines start: a chain of epoch 1 made up here, or one derived from a genesis file.</param>
    public EngineNetwork(ICryptoSuite suite, EngineChain chain, int seed, int? equivocator = null)
    {
        if (equivocator == 0) throw new ArgumentOutOfRangeException(nameof(equivocator), "node 0 keeps the records and must be honest");
        Suite = suite;
        Chain = chain;
        _random = new Random(seed);
        _equivocator = equivocator;
        StateRoot = new Hash32(chain.Genesis.Block.Header.StateRoot.Span);
        Validators = chain.Validators;
        Genesis = chain.Genesis;
        Nodes = [.. chain.Keys.Select((key, i) => new NetworkNode(this, new NodeId(i), key))];
    }

    /// <summary>The milliseconds since the Unix epoch at which the network starts (and the default genesis block's time).</summary>
    public static long StartTimeMs => StartMs;

    public EngineChain Chain { get; }

    public ICryptoSuite Suite { get; }

    public ValidatorSet Validators { get; }

    public CommittedBlock Genesis { get; }

    public Hash32 StateRoot { get; }

    public IReadOnlyList<NetworkNode> Nodes { get; }

    /// <summary>The node whose records tests write into a store.</summary>
    public NetworkNode Recorder => Nodes[0];

    private static EngineChain DefaultChain(ICryptoSuite suite, int validators)
    {
        var keys = Enumerable.Range(0, validators).Select(i => (ISigningKey)DeterministicSigningKey.ForLabel(suite, $"audit-node-{i}")).ToList();
        var set = new ValidatorSet(1, keys.Select((key, i) => new Validator(new NodeId(i), key.PublicKey)));
        var genesis = Consensus.Genesis.CreateBlock(ChainId, 1, StartMs, suite.Hash(StorageDomains.StateEmpty), suite);
        var root = new CommittedBlock(genesis, Consensus.Genesis.Certify(genesis, keys.Select((key, i) => ((uint)i, key))), null);
        return new EngineChain(keys, set, root, root.Hash, []);
    }

    /// <summary>Runs until the recorder has committed <paramref name="height"/>; false if the event budget ran out first.</summary>
    public bool RunUntilCommitted(ulong height, int eventsMax = 200_000)
    {
        foreach (var node in Nodes) node.Start();
        for (var events = 0; events < eventsMax && _queue.TryDequeue(out var next, out var at); events++)
        {
            _now = Math.Max(_now, at.At);
            next.Deliver(_now);
            if (Recorder.Ledger[^1].Height >= height) return true;
        }

        return false;
    }

    /// <summary>
    /// Writes the recorder's ledger into a new store the way a node does: genesis with the validator set (and the
    /// node names, if given), then each committed block with the journal entries appended before its commit and the
    /// head's certificates, then the journal entries written after the last block.
    /// </summary>
    public void WriteRecorderStore(string directory, IReadOnlyList<string>? nodeNames = null)
    {
        using var store = LedgerStore.Create(directory, new ChainIdentity(ChainId, Chain.GenesisHash, Suite.Id));
        var configuration = new List<KeyValuePair<string, ReadOnlyMemory<byte>>>(Chain.GenesisConfiguration)
        {
            new($"consensus/validator-set/{Validators.Epoch}", Validators.ToRecord().ToByteArray()),
        };
        if (nodeNames is not null) configuration.Add(new("node-names", Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(nodeNames))));
        store.Persist(new BlockPersist { Block = Genesis.Block.Decoded, StateWrites = [], Configuration = configuration });

        var written = 0;
        foreach (var (block, journalMark) in Recorder.Commits)
        {
            var certificates = new List<KeyValuePair<string, ReadOnlyMemory<byte>>>();
            if (block.Qc is not null) certificates.Add(new("consensus/head-qc", block.Qc.ToByteArray()));
            if (block.CommitQc is not null) certificates.Add(new("consensus/head-commit-qc", block.CommitQc.ToByteArray()));
            store.Persist(new BlockPersist
            {
                Block = block.Block.Decoded,
                StateWrites = [],
                Configuration = certificates,
                JournalEntries = [.. Recorder.Journal.Skip(written).Take(journalMark - written).Select(p => (ReadOnlyMemory<byte>)p)],
            });
            written = journalMark;
        }

        store.Journal.Append([.. Recorder.Journal.Skip(written).Select(p => (ReadOnlyMemory<byte>)p)]);
    }

    /// <summary>
    /// What a network starts from: the validators' keys in index order, their set, the genesis block with its QC, the
    /// genesis hash the store is bound to, and configuration entries written with the genesis block.
    /// </summary>
    internal sealed record EngineChain(IReadOnlyList<ISigningKey> Keys, ValidatorSet Validators, CommittedBlock Genesis, Hash32 GenesisHash,
        IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> GenesisConfiguration);

    private void Enqueue(long at, NetworkEvent networkEvent) => _queue.Enqueue(networkEvent, (at, _sequence++));

    private void Send(NodeId from, NodeId to, byte[] message, long delayMs) =>
        Enqueue(_now + delayMs, new NetworkEvent(Nodes[to.Value], new MessageReceived(from, message)));

    private void Broadcast(NetworkNode from, byte[] message)
    {
        foreach (var node in Nodes.Where(n => n.Id != from.Id)) Send(from.Id, node.Id, message, _random.Next(1, 11));
        if (from.Id.Value == _equivocator && ConsensusMessages.TryDecode(message, out var decoded, out _) && decoded.BodyCase == ConsensusMessage.BodyOneofCase.Proposal)
        {
            // Later than any first version, so that the recorder votes for the version everyone else saw.
            Send(from.Id, Recorder.Id, Conflicting(decoded.Proposal, from.Key), _random.Next(15, 26));
        }
    }

    /// <summary>The same proposal with another timestamp, signed again by its proposer: an equivocation.</summary>
    private static byte[] Conflicting(Proposal proposal, ISigningKey key)
    {
        var block = Block.Parser.ParseFrom(proposal.Block);
        var header = BlockHeader.Parser.ParseFrom(block.Header);
        header.TimestampMs += 1;
        block.Header = header.ToByteString();
        var twin = new Proposal
        {
            Block = block.ToByteString(),
            Signature = ByteString.CopyFrom(key.SignObject(ObjectType.Proposal, block.Header.Span)),
            SyncInfo = proposal.SyncInfo,
        };
        return ConsensusMessages.Encode(twin);
    }

    /// <summary>An event for one node; a round timer carries the generation it was scheduled in, since only the latest one fires.</summary>
    internal sealed record NetworkEvent(NetworkNode Node, ConsensusEvent Event, int? TimerGeneration = null)
    {
        public void Deliver(long now) => Node.Handle(this, now);
    }

    /// <summary>One validator and what its host keeps: safety state, committed blocks, journal, evidence.</summary>
    internal sealed class NetworkNode(EngineNetwork network, NodeId id, ISigningKey key) : ICommittedChain, IPayloadSource, IBlockValidator
    {
        private ConsensusEngine? _engine;
        private int _timerGeneration;

        public NodeId Id { get; } = id;

        public ISigningKey Key { get; } = key;

        public List<CommittedBlock> Ledger { get; } = [network.Genesis];

        /// <summary>Each committed block with the number of journal payloads appended before its commit.</summary>
        public List<(CommittedBlock Block, int JournalMark)> Commits { get; } = [];

        public List<byte[]> Journal { get; } = [];

        public List<EquivocationEvidence> Evidence { get; } = [];

        public List<string> Halts { get; } = [];

        public void Start()
        {
            var start = new EngineStart
            {
                Validators = network.Validators,
                Root = network.Genesis,
                RootExecution = new BlockExecuted(0, network.Genesis.Hash, network.StateRoot),
            };
            _engine = new ConsensusEngine(Config, network.Suite, Key, Id, start, this, this, this);
            Apply(_engine.Start(network._now));
        }

        public void Handle(NetworkEvent networkEvent, long now)
        {
            if (networkEvent.TimerGeneration is { } generation && generation != _timerGeneration) return;
            Apply(_engine!.Handle(networkEvent.Event, now));
        }

        private void Apply(IReadOnlyList<ConsensusAction> actions)
        {
            foreach (var action in actions)
            {
                switch (action)
                {
                    case SendMessage send:
                        network.Send(Id, send.To, send.Message, network._random.Next(1, 11));
                        break;
                    case BroadcastMessage broadcast:
                        network.Broadcast(this, broadcast.Message);
                        break;
                    case RequestBlocks request:
                        network.Send(Id, request.Peer, request.Message, network._random.Next(1, 11));
                        break;
                    case PersistSafetyState persist:
                        network.Enqueue(network._now, new NetworkEvent(this, new SafetyStatePersisted(persist.Sequence)));
                        break;
                    case CommitBlock commit:
                        Ledger.Add(commit.Block);
                        Commits.Add((commit.Block, Journal.Count));
                        network.Enqueue(network._now, new NetworkEvent(this, new BlockExecuted(commit.Block.Height, commit.Block.Hash, network.StateRoot)));
                        break;
                    case ScheduleTimer timer:
                        network.Enqueue(Math.Max(network._now, timer.AtMs), new NetworkEvent(this, new TimerFired(timer.Epoch, timer.Round), ++_timerGeneration));
                        break;
                    case JournalAppend journal:
                        Journal.Add(journal.Payload);
                        break;
                    case EmitEvidence evidence:
                        Evidence.Add(evidence.Evidence);
                        break;
                    case Halt halt:
                        Halts.Add(halt.Reason);
                        break;
                }
            }
        }

        public bool TryGetBlock(ulong height, out CommittedBlock block)
        {
            block = height < (ulong)Ledger.Count ? Ledger[(int)height] : null!;
            return block is not null;
        }

        public bool TryGetEpochEnding(ulong epoch, out EpochEndingProof proof)
        {
            proof = null!;
            return false;
        }

        public BlockPayload NextPayload(BlockRecord parent, ulong height, ulong round, long nowMs) => new([], network.StateRoot);

        public CustosError? Validate(BlockRecord block, BlockRecord parent) => null;
    }
}
