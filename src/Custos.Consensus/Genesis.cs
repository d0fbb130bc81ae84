using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Consensus;

/// <summary>
/// The genesis block (height 0, round 0, no certificates) and its quorum certificate, which the first epoch's
/// validators sign once when the chain is created. Every later block descends from it.
/// </summary>
public static class Genesis
{
    public static BlockRecord CreateBlock(string chainId, ulong epoch, ulong timestampMs, Hash32 stateRoot, IHashFunction hash)
    {
        var header = new BlockHeader
        {
            ChainId = chainId,
            Epoch = epoch,
            Height = 0,
            Round = 0,
            ParentHash = Hash32.Zero.ToByteString(),
            TransactionRoot = MerkleRoot.Compute(hash, []).ToByteString(),
            StateRoot = stateRoot.ToByteString(),
            TimestampMs = timestampMs,
            Proposer = 0,
        };
        var block = new Block { Header = header.ToByteString() };
        return BlockRecord.Decode(block.ToByteArray(), hash);
    }

    /// <summary>What validators sign to certify the genesis block.</summary>
    public static VoteData VoteDataFor(BlockRecord genesis) => new()
    {
        ChainId = genesis.Header.ChainId,
        Epoch = genesis.Epoch,
        Round = 0,
        Height = 0,
        BlockHash = genesis.Hash.ToByteString(),
        ParentRound = 0,
        ParentHash = Hash32.Zero.ToByteString(),
    };

    /// <summary>Signs the genesis vote data with the given validators' keys (validator index, key) and assembles the QC.</summary>
    public static QuorumCertificate Certify(BlockRecord genesis, IEnumerable<(uint Index, ISigningKey Key)> signers)
    {
        var data = VoteDataFor(genesis).ToByteString();
        return QuorumCertificates.Assemble(data, signers.Select(s => (s.Index, s.Key.SignObject(ObjectType.Vote, data.Span))));
    }
}

/// <summary>Assembly of a QC from individual vote signatures.</summary>
public static class QuorumCertificates
{
    /// <summary>Builds the signer bitmap and orders the signatures by validator index. Each index must appear once.</summary>
    public static QuorumCertificate Assemble(ByteString voteData, IEnumerable<(uint Index, byte[] Signature)> signatures)
    {
        var ordered = signatures.OrderBy(s => s.Index).ToList();
        if (ordered.Count == 0 || ordered.Select(s => s.Index).Distinct().Count() != ordered.Count || ordered[^1].Index >= WireLimits.ValidatorsMax)
        {
            throw new CustosException(ErrorCode.InvalidField, "a QC needs distinct signer indices within the validator limit");
        }

        var bitmap = new byte[(ordered[^1].Index / 8) + 1];
        var qc = new QuorumCertificate { VoteData = voteData };
        foreach (var (index, signature) in ordered)
        {
            bitmap[index / 8] |= (byte)(1 << (int)(index % 8));
            qc.Signatures.Add(ByteString.CopyFrom(signature));
        }

        qc.Signers = ByteString.CopyFrom(bitmap);
        return qc;
    }
}
