using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution.Wire;
using Custos.Storage;
using Custos.Storage.State;
using Google.Protobuf;

namespace Custos.Supervision.Index.Tests;

/// <summary>
/// A real <see cref="LedgerStore"/> in a temporary directory with blocks persisted as the node persists them: the
/// block, one receipt per transaction, the events, and state writes. Signatures are filler: the store checks the
/// structure of blocks, not signatures.
/// </summary>
internal sealed class StoreChain : IDisposable
{
    public const string ChainId = "custos-index-test";
    private static readonly byte[] SignatureFiller = Enumerable.Repeat((byte)0x5a, WireLimits.SignatureSizeBytes).ToArray();
    private static readonly byte[] PublicKeyFiller = [0x04, .. Enumerable.Repeat((byte)0x11, 64)];

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "custos-index-store-" + Guid.NewGuid().ToString("N")[..12]);

    public StoreChain()
    {
        Suite = CryptoSuites.Gm;
        Store = LedgerStore.Create(Path.Combine(_directory, "data"),
            new ChainIdentity(ChainId, Suite.Hash(System.Text.Encoding.ASCII.GetBytes("index test genesis")), Suite.Id));
    }

    public ICryptoSuite Suite { get; }

    public LedgerStore Store { get; }

    public static TransactionBody Body(AccountId sender, string contract, string method, IMessage arguments, ulong nonce) => new()
    {
        ChainId = ChainId,
        Sender = sender.ToByteString(),
        Nonce = nonce,
        ExpiryHeight = 1_000,
        Contract = contract,
        ContractVersion = 1,
        Method = method,
        Arguments = arguments.ToByteString(),
        Suite = CryptoSuiteId.Gm,
    };

    /// <summary>
    /// Persists the next block with <paramref name="bodies"/>; <paramref name="outcome"/> gives each transaction's
    /// receipt code and events (by index). Returns the transactions' ids.
    /// </summary>
    public IReadOnlyList<Hash32> Persist(IReadOnlyList<TransactionBody> bodies, Func<int, (ErrorCode Code, Event[] Events)> outcome,
        IReadOnlyList<StateWrite>? writes = null)
    {
        var head = Store.Head;
        var height = head is null ? 0 : head.Height + 1;
        var header = new BlockHeader
        {
            ChainId = ChainId,
            Epoch = 1,
            Height = height,
            Round = height == 0 ? 0 : height + 1,
            ParentHash = head?.BlockHash.ToByteString() ?? ByteString.CopyFrom(new byte[Hash32.SizeBytes]),
            StateRoot = Store.State.LatestRoot.ToByteString(),
            TimestampMs = TestChain.StartMs + height * 1000,
            Proposer = 1,
        };
        if (head is not null) header.ParentQc = Certificate(Store.ReadBlock(head.Height)!);

        var ids = new List<Hash32>();
        var block = new Block();
        foreach (var body in bodies)
        {
            var bytes = body.ToByteArray();
            ids.Add(Suite.HashObject(ObjectType.Transaction, bytes));
            block.Transactions.Add(new TransactionEnvelope
            {
                Body = ByteString.CopyFrom(bytes),
                PublicKey = ByteString.CopyFrom(PublicKeyFiller),
                Signature = ByteString.CopyFrom(SignatureFiller),
            }.ToByteString());
        }

        header.TransactionRoot = MerkleRoot.Compute(Suite, ids.ToArray()).ToByteString();
        block.Header = header.ToByteString();
        if (!Decoders.TryDecodeBlock(block.ToByteArray(), out var decoded, out var error)) throw error.ToException();

        var receipts = new List<ReadOnlyMemory<byte>>();
        var events = new List<StoredEvent>();
        for (var i = 0; i < ids.Count; i++)
        {
            var (code, emitted) = outcome(i);
            var receipt = new Receipt { TransactionId = ids[i].ToByteString(), Height = height, Index = (uint)i, Code = code, GasUsed = 500 + (ulong)i };
            receipt.Events.AddRange(emitted);
            receipts.Add(receipt.ToByteArray());
            events.AddRange(emitted.Select(e => new StoredEvent((uint)i, e.ToByteArray())));
        }

        Store.Persist(new BlockPersist { Block = decoded, StateWrites = writes ?? [], Receipts = receipts, Events = events });
        return ids;
    }

    private static QuorumCertificate Certificate(StoredBlock block)
    {
        var header = block.Block.Header;
        var vote = new VoteData
        {
            ChainId = ChainId,
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

    public void Dispose()
    {
        Store.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is harmless.
        }
    }
}
