using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Node.Tests.Support;

/// <summary>
/// Blocks and certificates as a leader and the validators would make them (the header fields the engine fills in
/// when it proposes), so that execution and storage can be tested without running consensus.
/// </summary>
internal static class ChainBlocks
{
    public static BlockRecord Build(ChainSetup chain, BlockRecord parent, QuorumCertificate parentQc, ulong round, Hash32 stateRoot,
        IReadOnlyList<Transaction> transactions, uint proposer = 0)
    {
        var suite = chain.Suite;
        var ids = transactions.Select(t => t.ComputeId(suite)).ToArray();
        var header = new BlockHeader
        {
            ChainId = chain.ChainId,
            Epoch = 0,
            Height = parent.Height + 1,
            Round = round,
            ParentHash = parent.Hash.ToByteString(),
            TransactionRoot = MerkleRoot.Compute(suite, ids).ToByteString(),
            StateRoot = stateRoot.ToByteString(),
            TimestampMs = parent.TimestampMs + 1_000,
            Proposer = proposer,
            ParentQc = parentQc,
        };
        var block = new Block { Header = header.ToByteString() };
        foreach (var transaction in transactions) block.Transactions.Add(ByteString.CopyFrom(transaction.Envelope.Span));
        return BlockRecord.Decode(block.ToByteArray(), suite);
    }

    /// <summary>A QC on <paramref name="block"/> signed by <paramref name="signers"/> (validator indices; default: the first quorum).</summary>
    public static QuorumCertificate Certify(ChainSetup chain, BlockRecord block, BlockRecord parent, IReadOnlyList<ISigningKey> validatorKeys,
        IReadOnlyList<int>? signers = null)
    {
        var data = new VoteData
        {
            ChainId = chain.ChainId,
            Epoch = block.Epoch,
            Round = block.Round,
            Height = block.Height,
            BlockHash = block.Hash.ToByteString(),
            ParentRound = parent.Round,
            ParentHash = parent.Hash.ToByteString(),
        }.ToByteString();
        var indices = signers ?? Enumerable.Range(0, chain.Validators.Quorum).ToList();
        return QuorumCertificates.Assemble(data, indices.Select(i => ((uint)i, validatorKeys[i].SignObject(ObjectType.Vote, data.Span))));
    }
}
