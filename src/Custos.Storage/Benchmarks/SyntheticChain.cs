using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Storage.Benchmarks;

/// <summary>
/// Builds structurally valid blocks for benchmarks and storage tests: real headers, hash links, transaction roots and
/// parent QCs that certify the parent, with filler keys and signatures (storage checks structure, not signatures;
/// signature checks belong to admission and consensus). Height h is in round h + 1; the genesis block is round 0.
/// </summary>
internal sealed class SyntheticChain
{
    private static readonly byte[] SignatureFiller = Enumerable.Repeat((byte)0x5a, WireLimits.SignatureSizeBytes).ToArray();
    private static readonly byte[] PublicKeyFiller = [0x04, .. Enumerable.Repeat((byte)0x11, 64)];

    private readonly IHashFunction _hash;

    public SyntheticChain(string chainId, CryptoSuiteId suite, IHashFunction hash)
    {
        _hash = hash;
        Identity = new ChainIdentity(chainId, hash.Hash(System.Text.Encoding.ASCII.GetBytes($"synthetic genesis of {chainId}")), suite);
    }

    public ChainIdentity Identity { get; }

    /// <summary>
    /// The block after <paramref name="parent"/> (or the genesis block), carrying <paramref name="laggedStateRoot"/>
    /// (the root of the parent's state version) and <paramref name="transactions"/> filler transactions.
    /// </summary>
    public DecodedBlock NextBlock(StoredBlock? parent, Hash32 laggedStateRoot, int transactions = 0)
    {
        var height = parent is null ? 0 : parent.Height + 1;
        var header = new BlockHeader
        {
            ChainId = Identity.ChainId,
            Epoch = 1,
            Height = height,
            Round = height == 0 ? 0 : height + 1,
            ParentHash = parent?.Hash.ToByteString() ?? ByteString.CopyFrom(new byte[Hash32.SizeBytes]),
            StateRoot = laggedStateRoot.ToByteString(),
            TimestampMs = 1_767_225_600_000 + height * 1000,
            Proposer = (uint)(height % 4),
        };

        var envelopes = new List<ByteString>(transactions);
        var ids = new Hash32[transactions];
        for (var i = 0; i < transactions; i++)
        {
            var body = new TransactionBody
            {
                ChainId = Identity.ChainId,
                Sender = ByteString.CopyFrom(Sender(height, i)),
                Nonce = height * 100_000 + (ulong)i + 1,
                ExpiryHeight = height + 1000,
                Contract = "bench",
                ContractVersion = 1,
                Method = "put",
                Arguments = ByteString.CopyFrom(BitConverter.GetBytes(height)),
                Suite = Identity.Suite,
            }.ToByteArray();
            ids[i] = _hash.HashObject(ObjectType.Transaction, body);
            envelopes.Add(new TransactionEnvelope
            {
                Body = ByteString.CopyFrom(body),
                PublicKey = ByteString.CopyFrom(PublicKeyFiller),
                Signature = ByteString.CopyFrom(SignatureFiller),
            }.ToByteString());
        }

        header.TransactionRoot = MerkleRoot.Compute(_hash, ids).ToByteString();
        if (parent is not null) header.ParentQc = QuorumCertificateFor(parent);

        var block = new Block { Header = header.ToByteString() };
        block.Transactions.AddRange(envelopes);
        if (!Decoders.TryDecodeBlock(block.ToByteArray(), out var decoded, out var error)) throw error.ToException();
        return decoded;
    }

    /// <summary>A quorum certificate (validators 0, 1 and 2 of 4) for <paramref name="block"/>.</summary>
    public QuorumCertificate QuorumCertificateFor(StoredBlock block)
    {
        var header = block.Block.Header;
        var vote = new VoteData
        {
            ChainId = Identity.ChainId,
            Epoch = header.Epoch,
            Round = header.Round,
            Height = header.Height,
            BlockHash = block.Hash.ToByteString(),
            ParentRound = header.Round == 0 ? 0 : (header.Height == 1 ? 0 : header.Round - 1),
            ParentHash = header.ParentHash,
        };
        var qc = new QuorumCertificate { VoteData = vote.ToByteString(), Signers = ByteString.CopyFrom([0x07]) };
        for (var i = 0; i < 3; i++) qc.Signatures.Add(ByteString.CopyFrom(SignatureFiller));
        return qc;
    }

    private static byte[] Sender(ulong height, int index)
    {
        var sender = new byte[AccountId.SizeBytes];
        BinaryPrimitives.WriteUInt64BigEndian(sender, height);
        BinaryPrimitives.WriteInt32BigEndian(sender.AsSpan(8), index);
        return sender;
    }
}
