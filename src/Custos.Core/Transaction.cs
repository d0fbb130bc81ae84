using Custos.Core.Wire;

namespace Custos.Core;

/// <summary>
/// A decoded and structurally valid transaction. It keeps the exact bytes it was decoded from: the signature is
/// checked over <see cref="BodyBytes"/>, and the identifier is the hash of those bytes, so a transaction's id does
/// not change if someone re-encodes its signature.
/// </summary>
public sealed class Transaction
{
    internal Transaction(ReadOnlyMemory<byte> envelope, TransactionEnvelope wire, TransactionBody body)
    {
        Envelope = envelope;
        Wire = wire;
        Body = body;
        Sender = new AccountId(body.Sender.Span);
    }

    /// <summary>The envelope's bytes exactly as received.</summary>
    public ReadOnlyMemory<byte> Envelope { get; }

    public TransactionEnvelope Wire { get; }

    public TransactionBody Body { get; }

    /// <summary>The signed bytes.</summary>
    public ReadOnlyMemory<byte> BodyBytes => Wire.Body.Memory;

    public ReadOnlyMemory<byte> PublicKey => Wire.PublicKey.Memory;

    public ReadOnlyMemory<byte> Signature => Wire.Signature.Memory;

    public AccountId Sender { get; }

    public string ChainId => Body.ChainId;

    public ulong Nonce => Body.Nonce;

    public CryptoSuiteId Suite => Body.Suite;

    /// <summary>The transaction id: the chain hash of the transaction signing domain followed by the body bytes.</summary>
    /// <remarks>
    /// Remembered for the last hash function asked: admission, batching, the block's transaction root, validation
    /// and execution all need it, and hashing it each time was a visible share of a node's CPU.
    /// </remarks>
    public Hash32 ComputeId(IHashFunction hash)
    {
        var remembered = Volatile.Read(ref _id);
        if (remembered is not null && ReferenceEquals(remembered.Function, hash)) return remembered.Id;
        var id = hash.HashObject(ObjectType.Transaction, BodyBytes.Span);
        Volatile.Write(ref _id, new RememberedId(hash, id));
        return id;
    }

    // One reference, written whole, so that concurrent readers see a function and its id together.
    private sealed record RememberedId(IHashFunction Function, Hash32 Id);

    private RememberedId? _id;
}

/// <summary>A decoded block: its header (with exact bytes) and its decoded transactions in order.</summary>
public sealed class DecodedBlock
{
    internal DecodedBlock(ReadOnlyMemory<byte> encoded, BlockHeader header, ReadOnlyMemory<byte> headerBytes, IReadOnlyList<Transaction> transactions)
    {
        Encoded = encoded;
        Header = header;
        HeaderBytes = headerBytes;
        Transactions = transactions;
    }

    public ReadOnlyMemory<byte> Encoded { get; }

    public BlockHeader Header { get; }

    public ReadOnlyMemory<byte> HeaderBytes { get; }

    public IReadOnlyList<Transaction> Transactions { get; }

    public ulong Height => Header.Height;

    public Hash32 ComputeHash(IHashFunction hash) => hash.HashObject(ObjectType.BlockHeader, HeaderBytes.Span);

    /// <summary>The Merkle root of the transaction ids, which the header's transaction_root must equal.</summary>
    public Hash32 ComputeTransactionRoot(IHashFunction hash)
    {
        var ids = new Hash32[Transactions.Count];
        for (var i = 0; i < ids.Length; i++) ids[i] = Transactions[i].ComputeId(hash);
        return MerkleRoot.Compute(hash, ids);
    }
}
