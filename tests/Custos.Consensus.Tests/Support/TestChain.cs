using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Consensus.Tests.Support;

/// <summary>
/// A chain for tests: n validators with fixed keys (software keys imported from fixed scalars), the genesis block
/// certified by all of them, and helpers that sign the chain's statements as any validator would.
/// </summary>
internal sealed class TestChain
{
    public const string Id = "custos-test";

    public TestChain(int validators = 4, ICryptoSuite? suite = null, int spares = 0)
    {
        Suite = suite ?? CryptoSuites.Intl;
        Keys = [.. Enumerable.Range(0, validators + spares).Select(KeyFor)];
        Set = new ValidatorSet(1, Keys.Take(validators).Select((k, i) => new Validator(new NodeId(i), k.PublicKey)));
        GenesisBlock = Consensus.Genesis.CreateBlock(Id, 1, 1_000_000, Hash32.Zero, Suite);
        GenesisQc = Consensus.Genesis.Certify(GenesisBlock, Keys.Take(validators).Select((k, i) => ((uint)i, (ISigningKey)k)));
        Genesis = new CommittedBlock(GenesisBlock, GenesisQc, null);
    }

    public ICryptoSuite Suite { get; }

    public SoftwareKey[] Keys { get; }

    public ValidatorSet Set { get; }

    public BlockRecord GenesisBlock { get; }

    public QuorumCertificate GenesisQc { get; }

    public CommittedBlock Genesis { get; }

    public ConsensusConfig Config { get; init; } = new() { ChainId = Id, RoundTimeoutMs = 1_000, RoundTimeoutBackoff = 1.5, RoundTimeoutMsMax = 8_000 };

    public ValidatorSet SetOf(ulong epoch, params int[] nodes) =>
        new(epoch, nodes.Select(n => new Validator(new NodeId(n), Keys[n].PublicKey)));

    private SoftwareKey KeyFor(int index)
    {
        var scalar = new byte[32];
        scalar[31] = (byte)(index + 1);
        scalar[0] = 0x11;
        return Suite.TryImportPrivateKey(scalar, out var key, out var error) ? key : throw error.ToException();
    }

    /// <summary>A block of this chain (no transactions) extending <paramref name="parent"/> under <paramref name="parentQc"/>.</summary>
    public BlockRecord MakeBlock(BlockRecord parent, QuorumCertificate parentQc, ulong round, uint proposer, TimeoutCertificate? tc = null, ulong epoch = 1, ulong? timestampMs = null)
    {
        var header = new BlockHeader
        {
            ChainId = Id,
            Epoch = epoch,
            Height = parent.Height + 1,
            Round = round,
            ParentHash = parent.Hash.ToByteString(),
            TransactionRoot = MerkleRoot.Compute(Suite, []).ToByteString(),
            StateRoot = Hash32.Zero.ToByteString(),
            TimestampMs = timestampMs ?? parent.TimestampMs + 1,
            Proposer = proposer,
            ParentQc = parentQc,
            TimeoutCertificate = tc,
        };
        return BlockRecord.Decode(new Block { Header = header.ToByteString() }.ToByteArray(), Suite);
    }

    /// <summary>
    /// A transaction of this chain that decodes (its key and signature are placeholders: the engine's tests never
    /// execute or verify transactions, only carry them in blocks).
    /// </summary>
    public static Transaction SampleTransaction(ulong nonce)
    {
        var body = new TransactionBody
        {
            ChainId = Id,
            Sender = ByteString.CopyFrom(new byte[AccountId.SizeBytes]),
            Nonce = nonce,
            ExpiryHeight = 1_000,
            Contract = "token",
            ContractVersion = 1,
            Method = "transfer",
            Suite = CryptoSuiteId.Gm,
        };
        var envelope = new TransactionEnvelope { Body = body.ToByteString(), PublicKey = ByteString.CopyFrom([0x04, .. new byte[64]]), Signature = ByteString.CopyFrom(new byte[64]) };
        return Decoders.TryDecodeTransaction(envelope.ToByteArray(), out var transaction, out var error) ? transaction : throw error.ToException();
    }

    public VoteData VoteDataFor(BlockRecord block, ulong parentRound) => new()
    {
        ChainId = Id,
        Epoch = block.Epoch,
        Round = block.Round,
        Height = block.Height,
        BlockHash = block.Hash.ToByteString(),
        ParentRound = parentRound,
        ParentHash = block.ParentHash.ToByteString(),
    };

    /// <summary>A QC on <paramref name="block"/> signed by the given validators (all of the first quorum by default).</summary>
    public QuorumCertificate Certify(BlockRecord block, ulong parentRound, IEnumerable<int>? signers = null)
    {
        var data = VoteDataFor(block, parentRound).ToByteString();
        return QuorumCertificates.Assemble(data, (signers ?? Enumerable.Range(0, Set.Quorum)).Select(i => ((uint)i, Keys[i].SignObject(ObjectType.Vote, data.Span))));
    }

    public Vote SignVote(int voter, VoteData data)
    {
        var bytes = data.ToByteString();
        return new Vote { Data = bytes, Voter = (uint)voter, Signature = ByteString.CopyFrom(Keys[voter].SignObject(ObjectType.Vote, bytes.Span)) };
    }

    public RoundTimeout SignTimeout(int author, ulong round, QuorumCertificate highQc, ulong highQcRound, ulong epoch = 1)
    {
        var data = new TimeoutData { ChainId = Id, Epoch = epoch, Round = round, HighQcRound = highQcRound }.ToByteString();
        return new RoundTimeout { Data = data, Author = (uint)author, Signature = ByteString.CopyFrom(Keys[author].SignObject(ObjectType.Timeout, data.Span)), HighQc = highQc };
    }

    public TimeoutCertificate MakeTc(ulong round, IEnumerable<(int Author, ulong HighQcRound)> signers, ulong epoch = 1)
    {
        var tc = new TimeoutCertificate { Epoch = epoch, Round = round };
        foreach (var (author, high) in signers.OrderBy(s => s.Author))
        {
            var data = new TimeoutData { ChainId = Id, Epoch = epoch, Round = round, HighQcRound = high }.ToByteString();
            tc.Signatures.Add(new TimeoutSignature { Author = (uint)author, Data = data, Signature = ByteString.CopyFrom(Keys[author].SignObject(ObjectType.Timeout, data.Span)) });
        }

        return tc;
    }

    public byte[] SignProposal(int proposer, BlockRecord block, SyncInfo? syncInfo = null) => ConsensusMessages.Encode(new Proposal
    {
        Block = ByteString.CopyFrom(block.Encoded.Span),
        Signature = ByteString.CopyFrom(Keys[proposer].SignObject(ObjectType.Proposal, block.HeaderBytes.Span)),
        SyncInfo = syncInfo,
    });

    public QuorumCertificateView View(QuorumCertificate qc) => CertificateVerifier.TryDecode(qc, out var view, out var error) ? view : throw error.ToException();

    public TimeoutCertificateView View(TimeoutCertificate tc) => CertificateVerifier.TryDecode(tc, out var view, out var error) ? view : throw error.ToException();
}
