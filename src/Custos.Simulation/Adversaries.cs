using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Simulation;

/// <summary>A message leaving a node: to one node, or to every other node when <see cref="To"/> is null.</summary>
internal readonly record struct Outgoing(NodeId? To, byte[] Bytes);

/// <summary>What an adversary knows and holds: the chain, its own key, its node, and a random source of its own.</summary>
internal sealed record AdversaryContext(string ChainId, ICryptoSuite Suite, SimNode Node, Random Random, IReadOnlyList<NodeId> AllNodes, SimulatedPayloadSource Payload)
{
    public ISigningKey Key => Node.Identity.Key;

    public ConsensusEngine? Engine => Node.Replicas[0].Engine;
}

/// <summary>
/// A Byzantine validator's behaviour, wrapped around a real engine: it sees what the node receives, may rewrite
/// what the engine sends, and may send messages of its own on a tick. It holds only its own key.
/// </summary>
internal abstract class Adversary(AdversaryContext context)
{
    protected AdversaryContext Context { get; } = context;

    public abstract string Name { get; }

    /// <summary>Sees a message delivered to the node (before its engine does) and may react at once.</summary>
    public virtual IEnumerable<Outgoing> Observe(NodeId from, byte[] bytes) => [];

    public virtual IEnumerable<Outgoing> Rewrite(Outgoing original) => [original];

    public virtual IEnumerable<Outgoing> Tick() => [];

    protected static bool TryDecode(byte[] bytes, out ConsensusMessage message) => ConsensusMessages.TryDecode(bytes, out message, out _);

    protected NodeId RandomOtherNode()
    {
        var others = Context.AllNodes.Where(n => n != Context.Node.Id).ToList();
        return others[Context.Random.Next(others.Count)];
    }

    protected byte[] SignProposal(BlockHeader header, IEnumerable<Transaction> transactions, SyncInfo? syncInfo)
    {
        var headerBytes = header.ToByteString();
        var block = new Block { Header = headerBytes };
        foreach (var transaction in transactions) block.Transactions.Add(ByteString.CopyFrom(transaction.Envelope.Span));
        return ConsensusMessages.Encode(new Proposal
        {
            Block = block.ToByteString(),
            Signature = ByteString.CopyFrom(Context.Key.SignObject(ObjectType.Proposal, headerBytes.Span)),
            SyncInfo = syncInfo,
        });
    }

    protected Hash32 TransactionRoot(IEnumerable<Transaction> transactions) =>
        MerkleRoot.Compute(Context.Suite, transactions.Select(t => t.ComputeId(Context.Suite)).ToArray());
}

/// <summary>A leader that sends one proposal to half the nodes and a different one, for the same round, to the rest.</summary>
internal sealed class EquivocatingLeader(AdversaryContext context) : Adversary(context)
{
    public override string Name => "equivocating-leader";

    public override IEnumerable<Outgoing> Rewrite(Outgoing original)
    {
        if (original.To is not null || !TryDecode(original.Bytes, out var message) || message.BodyCase != ConsensusMessage.BodyOneofCase.Proposal
            || !BlockRecord.TryDecode(message.Proposal.Block.Span, Context.Suite, out var block, out _))
        {
            return [original];
        }

        var header = block.Header.Clone();
        var transaction = Context.Payload.MakeTransaction(block.Height, block.Round, tag: 1_000 + Context.Node.Id.Value);
        header.TimestampMs += 1;
        header.TransactionRoot = TransactionRoot([transaction]).ToByteString();
        var second = SignProposal(header, [transaction], message.Proposal.SyncInfo);
        var sends = new List<Outgoing>();
        foreach (var node in Context.AllNodes.Where(n => n != Context.Node.Id))
        {
            sends.Add(new Outgoing(node, Context.Random.Next(2) == 0 ? original.Bytes : second));
        }

        return sends;
    }
}

/// <summary>A validator that never sends its votes (it still proposes and times out).</summary>
internal sealed class VoteWithholder(AdversaryContext context) : Adversary(context)
{
    public override string Name => "vote-withholder";

    public override IEnumerable<Outgoing> Rewrite(Outgoing original) =>
        TryDecode(original.Bytes, out var message) && message.BodyCase == ConsensusMessage.BodyOneofCase.Vote ? [] : [original];
}

/// <summary>A validator that re-sends old messages it received, to random nodes, long after they were current.</summary>
internal sealed class StaleReplayer(AdversaryContext context) : Adversary(context)
{
    private readonly List<byte[]> _seen = [];

    public override string Name => "stale-replayer";

    public override IEnumerable<Outgoing> Observe(NodeId from, byte[] bytes)
    {
        if (_seen.Count < 256) _seen.Add(bytes);
        else _seen[Context.Random.Next(_seen.Count)] = bytes;
        return [];
    }

    public override IEnumerable<Outgoing> Tick()
    {
        if (_seen.Count == 0) return [];
        return [new Outgoing(RandomOtherNode(), _seen[Context.Random.Next(_seen.Count)]), new Outgoing(RandomOtherNode(), _seen[Context.Random.Next(_seen.Count)])];
    }
}

/// <summary>
/// A validator that also sends forged and malformed messages: garbage, flipped bytes, votes under another
/// validator's index, invalid certificates, a proposal out of turn, oversized and wrong-chain statements.
/// </summary>
internal sealed class Forger(AdversaryContext context) : Adversary(context)
{
    private readonly List<byte[]> _sent = [];

    public override string Name => "forger";

    public override IEnumerable<Outgoing> Rewrite(Outgoing original)
    {
        if (_sent.Count < 32) _sent.Add(original.Bytes);
        else _sent[Context.Random.Next(_sent.Count)] = original.Bytes;
        return [original];
    }

    public override IEnumerable<Outgoing> Tick()
    {
        var forged = Forge(Context.Random.Next(9));
        return forged is null ? [] : [new Outgoing(Context.Random.Next(3) == 0 ? null : RandomOtherNode(), forged)];
    }

    private byte[]? Forge(int kind)
    {
        var engine = Context.Engine;
        var random = Context.Random;
        switch (kind)
        {
            case 0:
            {
                var garbage = new byte[random.Next(1, 200)];
                random.NextBytes(garbage);
                return garbage;
            }

            case 1 when _sent.Count > 0:
            {
                var copy = (byte[])_sent[random.Next(_sent.Count)].Clone();
                copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
                return copy;
            }

            case 2 when engine is not null && engine.Validators.TryIndexOf(Context.Node.Id, out var index):
            {
                // A vote that names another validator but carries this one's signature.
                var data = VoteDataFor(engine).ToByteString();
                var vote = new Vote { Data = data, Voter = (index + 1) % (uint)engine.Validators.Count, Signature = ByteString.CopyFrom(Context.Key.SignObject(ObjectType.Vote, data.Span)) };
                return ConsensusMessages.Encode(new VoteMessage { Vote = vote });
            }

            case 3 when engine is not null:
            {
                // The highest QC with one signature corrupted.
                var qc = engine.HighestQc.Wire.Clone();
                var signature = qc.Signatures[0].ToByteArray();
                signature[random.Next(signature.Length)] ^= 0x40;
                qc.Signatures[0] = ByteString.CopyFrom(signature);
                return ConsensusMessages.Encode(new SyncInfo { HighestQc = qc });
            }

            case 4 when engine is not null && engine.Validators.TryIndexOf(Context.Node.Id, out var index):
            {
                // A timeout certificate signed by this validator alone: far from a quorum.
                var data = new TimeoutData { ChainId = Context.ChainId, Epoch = engine.Epoch, Round = engine.CurrentRound + 3, HighQcRound = engine.HighestQc.Round }.ToByteString();
                var tc = new TimeoutCertificate { Epoch = engine.Epoch, Round = engine.CurrentRound + 3 };
                tc.Signatures.Add(new TimeoutSignature { Author = index, Data = data, Signature = ByteString.CopyFrom(Context.Key.SignObject(ObjectType.Timeout, data.Span)) });
                return ConsensusMessages.Encode(new SyncInfo { HighestTc = tc });
            }

            case 5 when engine is not null && engine.Validators.TryIndexOf(Context.Node.Id, out var index):
            {
                // A proposal for a round this validator does not lead.
                var round = engine.CurrentRound;
                while (engine.Validators.LeaderIndex(round) == index) round++;
                var transaction = Context.Payload.MakeTransaction(engine.HighestQc.Height + 1, round, tag: 2_000 + Context.Node.Id.Value);
                var header = new BlockHeader
                {
                    ChainId = Context.ChainId,
                    Epoch = engine.Epoch,
                    Height = engine.HighestQc.Height + 1,
                    Round = round,
                    ParentHash = engine.HighestQc.BlockHash.ToByteString(),
                    TransactionRoot = TransactionRoot([transaction]).ToByteString(),
                    StateRoot = Hash32.Zero.ToByteString(),
                    TimestampMs = (ulong)Context.Node.LocalTime(0) + 1,
                    Proposer = index,
                    ParentQc = engine.HighestQc.Wire,
                };
                return SignProposal(header, [transaction], null);
            }

            case 6:
            {
                // A vote whose data is larger than any vote may be.
                var vote = new Vote { Data = ByteString.CopyFrom(new byte[WireLimits.VoteSizeBytesMax + 1]), Voter = 0, Signature = ByteString.CopyFrom(new byte[64]) };
                return ConsensusMessages.Encode(new VoteMessage { Vote = vote });
            }

            case 7 when engine is not null && engine.Validators.TryIndexOf(Context.Node.Id, out var index):
            {
                // A correctly signed vote for another chain.
                var data = VoteDataFor(engine);
                data.ChainId = Context.ChainId + "-other";
                var bytes = data.ToByteString();
                return ConsensusMessages.Encode(new VoteMessage { Vote = new Vote { Data = bytes, Voter = index, Signature = ByteString.CopyFrom(Context.Key.SignObject(ObjectType.Vote, bytes.Span)) } });
            }

            case 8 when engine is not null && engine.Validators.TryIndexOf(Context.Node.Id, out var index):
            {
                // A timeout of a later epoch: receivers ask this node for blocks it cannot give.
                var data = new TimeoutData { ChainId = Context.ChainId, Epoch = engine.Epoch + 1, Round = 1 }.ToByteString();
                var timeout = new RoundTimeout { Data = data, Author = index, Signature = ByteString.CopyFrom(Context.Key.SignObject(ObjectType.Timeout, data.Span)) };
                return ConsensusMessages.Encode(new TimeoutMessage { Timeout = timeout });
            }

            default:
                return null;
        }
    }

    private static VoteData VoteDataFor(ConsensusEngine engine) => new()
    {
        ChainId = engine.HighestQc.ChainId,
        Epoch = engine.Epoch,
        Round = engine.CurrentRound,
        Height = engine.HighestQc.Height + 1,
        BlockHash = Hash32.Zero.ToByteString(),
        ParentRound = engine.HighestQc.Round,
        ParentHash = engine.HighestQc.BlockHash.ToByteString(),
    };
}

/// <summary>
/// The attack a lock exists to stop. As leader of round R, having formed QC(R−1) on block C (whose parent B was
/// certified in round R−2, so QC(R−1) commits B), it withholds its proposal. The others time out in round R−1
/// reporting their lock R−2; with their timeouts the adversary forms TC(R−1) and proposes, for round R, a block F
/// that extends B's parent A (QC of round below R−2), while it shows its real proposal only to one honest
/// validator X, which therefore commits B.
/// Honest validators refuse F (its QC is below the lock the TC reports); an engine that ignores its lock votes for
/// it, F gets certified and then committed at B's height: a fork. X is chosen so that the next leaders are not X.
/// </summary>
internal sealed class ForkingLeader(AdversaryContext context) : Adversary(context)
{
    private readonly Dictionary<Hash32, BlockHeader> _headers = [];
    private readonly Queue<Hash32> _order = new();
    private readonly Dictionary<uint, RoundTimeout> _timeouts = [];
    private Attack? _attack;

    public override string Name => "forking-leader";

    private sealed record Attack(ulong Epoch, ulong Round, NodeId Target, BlockHeader B, BlockHeader C, QuorumCertificate QcOfB, uint Index, byte[] Withheld)
    {
        /// <summary>Set once F is out; the engine stays silent until the rounds that could commit F are over.</summary>
        public bool Struck { get; set; }

        public Hash32 Fork { get; set; }
    }

    public override IEnumerable<Outgoing> Observe(NodeId from, byte[] bytes)
    {
        if (!TryDecode(bytes, out var message)) return [];
        switch (message.BodyCase)
        {
            case ConsensusMessage.BodyOneofCase.Proposal:
                Remember(message.Proposal.Block);
                return VoteForChildOfFork(message.Proposal);
            case ConsensusMessage.BodyOneofCase.SyncResponse:
                foreach (var block in message.SyncResponse.Blocks) Remember(block);
                break;
            case ConsensusMessage.BodyOneofCase.Timeout when _attack is { } attack && message.Timeout.Timeout is { } timeout:
                if (Decoders.TryDecodeTimeoutData(timeout.Data.Span, out var data, out _) && data.Epoch == attack.Epoch && data.Round + 1 == attack.Round)
                {
                    _timeouts.TryAdd(timeout.Author, timeout);
                    return Strike();
                }

                break;
        }

        return [];
    }

    public override IEnumerable<Outgoing> Rewrite(Outgoing original)
    {
        if (!TryDecode(original.Bytes, out var message)) return [original];
        if (message.BodyCase == ConsensusMessage.BodyOneofCase.Proposal) Remember(message.Proposal.Block);

        // While the attack is armed the engine stays silent: its vote for the withheld proposal and its timeouts
        // would carry QC(R−1) to the others, who would then commit B and lock on R−1 themselves.
        if (_attack is not null) return [];

        if (original.To is not null || message.BodyCase != ConsensusMessage.BodyOneofCase.Proposal) return [original];
        var engine = Context.Engine;
        if (engine is null || !BlockRecord.TryDecode(message.Proposal.Block.Span, Context.Suite, out var proposal, out _)) return [original];
        var round = proposal.Round;
        var set = engine.Validators;
        if (proposal.Header.TimeoutCertificate is not null || proposal.Header.ParentQc is null || !set.TryIndexOf(Context.Node.Id, out var index)) return [original];
        if (!_headers.TryGetValue(proposal.ParentHash, out var c) || c.ParentQc is null || c.Round + 1 != round) return [original];
        if (!_headers.TryGetValue(new Hash32(c.ParentHash.Span), out var b) || b.ParentQc is null || b.Round + 1 != c.Round) return [original];
        var target = set.Leader(round + 3);
        if (target == Context.Node.Id || target == set.Leader(round + 1) || target == set.Leader(round + 2)) return [original];

        _attack = new Attack(proposal.Epoch, round, target, b, c, c.ParentQc, index, original.Bytes);
        _timeouts.Clear();
        var data = new TimeoutData { ChainId = Context.ChainId, Epoch = proposal.Epoch, Round = round - 1, HighQcRound = b.Round }.ToByteString();
        var own = new RoundTimeout { Data = data, Author = index, Signature = ByteString.CopyFrom(Context.Key.SignObject(ObjectType.Timeout, data.Span)), HighQc = c.ParentQc };
        _timeouts[index] = own;
        return [new Outgoing(null, ConsensusMessages.Encode(new TimeoutMessage { Timeout = own }))];
    }

    public override IEnumerable<Outgoing> Tick()
    {
        var engine = Context.Engine;
        if (_attack is not { } attack || engine is null) return [];
        if (engine.Epoch != attack.Epoch || engine.CurrentRound > attack.Round + 3 || (!attack.Struck && engine.CurrentRound > attack.Round + 1))
        {
            _attack = null;
            return [];
        }

        return Strike();
    }

    /// <summary>Once a quorum of timeouts for round R−1 is in, forms TC(R−1) and sends the forking block F with its own vote for it.</summary>
    private IEnumerable<Outgoing> Strike()
    {
        var engine = Context.Engine;
        if (_attack is not { } attack || attack.Struck || engine is null) return [];
        var set = engine.Validators;
        if (_timeouts.Count < set.Quorum) return [];
        attack.Struck = true;
        var tc = new TimeoutCertificate { Epoch = attack.Epoch, Round = attack.Round - 1 };
        foreach (var (author, timeout) in _timeouts.OrderBy(t => t.Key).Take(set.Quorum))
        {
            tc.Signatures.Add(new TimeoutSignature { Author = author, Data = timeout.Data, Signature = timeout.Signature });
        }

        var transaction = Context.Payload.MakeTransaction(attack.B.Height, attack.Round, tag: 3_000 + Context.Node.Id.Value);
        var header = new BlockHeader
        {
            ChainId = Context.ChainId,
            Epoch = attack.Epoch,
            Height = attack.B.Height,
            Round = attack.Round,
            ParentHash = attack.B.ParentHash,
            TransactionRoot = TransactionRoot([transaction]).ToByteString(),
            StateRoot = attack.B.StateRoot,
            TimestampMs = attack.B.TimestampMs + 1,
            Proposer = attack.Index,
            ParentQc = attack.B.ParentQc,
            TimeoutCertificate = tc,
        };
        var fork = SignProposal(header, [transaction], new SyncInfo { HighestTc = tc });
        var forkHash = BlockRecord.HashOfHeader(Context.Suite, header.ToByteArray());
        attack.Fork = forkHash;
        var voteData = new VoteData
        {
            ChainId = Context.ChainId,
            Epoch = attack.Epoch,
            Round = attack.Round,
            Height = header.Height,
            BlockHash = forkHash.ToByteString(),
            ParentRound = attack.B.ParentQc.VoteData.IsEmpty ? 0 : VoteData.Parser.ParseFrom(attack.B.ParentQc.VoteData).Round,
            ParentHash = attack.B.ParentHash,
        }.ToByteString();
        var vote = new Vote { Data = voteData, Voter = attack.Index, Signature = ByteString.CopyFrom(Context.Key.SignObject(ObjectType.Vote, voteData.Span)) };
        var sends = Context.AllNodes.Where(n => n != attack.Target).Select(n => new Outgoing(n, fork)).ToList();
        sends.Add(new Outgoing(set.Leader(attack.Round + 1), ConsensusMessages.Encode(new VoteMessage { Vote = vote })));

        // Only now does X get the real proposal (and with it QC(R−1), which commits B): had it got it earlier, its
        // own timeout in round R would have carried QC(R−1) to the others before F could be certified.
        sends.Add(new Outgoing(attack.Target, attack.Withheld));
        return sends;
    }

    /// <summary>Its own engine has committed B and cannot follow F, so the adversary votes for F's child G itself.</summary>
    private IEnumerable<Outgoing> VoteForChildOfFork(Proposal proposal)
    {
        if (_attack is not { Struck: true } attack || Context.Engine is not { } engine || !BlockRecord.TryDecode(proposal.Block.Span, Context.Suite, out var child, out _)
            || child.ParentHash != attack.Fork || child.Round != attack.Round + 1 || child.Epoch != attack.Epoch)
        {
            return [];
        }

        var data = new VoteData
        {
            ChainId = Context.ChainId,
            Epoch = child.Epoch,
            Round = child.Round,
            Height = child.Height,
            BlockHash = child.Hash.ToByteString(),
            ParentRound = attack.Round,
            ParentHash = attack.Fork.ToByteString(),
        }.ToByteString();
        var vote = new Vote { Data = data, Voter = attack.Index, Signature = ByteString.CopyFrom(Context.Key.SignObject(ObjectType.Vote, data.Span)) };
        return [new Outgoing(engine.Validators.Leader(child.Round + 1), ConsensusMessages.Encode(new VoteMessage { Vote = vote }))];
    }

    private void Remember(ByteString encoded)
    {
        if (!BlockRecord.TryDecode(encoded.Span, Context.Suite, out var block, out _) || !_headers.TryAdd(block.Hash, block.Header)) return;
        _order.Enqueue(block.Hash);
        if (_order.Count > 512) _headers.Remove(_order.Dequeue());
    }
}
