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

    /// <summary>
    /// The ids of <paramref name="transactions"/> in order, those not yet remembered hashed together (several at once
    /// where the hash function can) and remembered like <see cref="ComputeId"/>'s.
    /// </summary>
    public static List<Hash32> ComputeIds(IHashFunction hash, IReadOnlyList<Transaction> transactions)
    {
        ArgumentNullException.ThrowIfNull(hash);
        var ids = new List<Hash32>(transactions.Count);
        var pending = new List<int>();
        for (var i = 0; i < transactions.Count; i++)
        {
            var remembered = Volatile.Read(ref transactions[i]._id);
            if (remembered is not null && ReferenceEquals(remembered.Function, hash))
            {
                ids.Add(remembered.Id);
                continue;
            }

            ids.Add(default);
            pending.Add(i);
        }

        if (pending.Count == 0) return ids;
        var bodies = new ReadOnlyMemory<byte>[pending.Count];
        for (var k = 0; k < bodies.Length; k++) bodies[k] = transactions[pending[k]].BodyBytes;
        var computed = new Hash32[pending.Count];
        hash.HashEach(SigningDomain.Prefix(ObjectType.Transaction), bodies, computed);
        for (var k = 0; k < computed.Length; k++)
        {
            ids[pending[k]] = computed[k];
            Volatile.Write(ref transactions[pending[k]]._id, new RememberedId(hash, computed[k]));
        }

        return ids;
    }

    /// <summary>
    /// The id of an encoded envelope without decoding it: the hash of its body field, found by walking the protobuf
    /// fields. For a node that refuses transactions before decoding them (a full backlog), so that each refusal still
    /// names its transaction. False when the bytes are not a well-formed envelope with a body.
    /// </summary>
    public static bool TryComputeIdOfEnvelope(ReadOnlySpan<byte> envelope, IHashFunction hash, out Hash32 id)
    {
        id = default;
        if (envelope.Length > WireLimits.TransactionSizeBytesMax || !TryFindBody(envelope, out var body)) return false;
        id = hash.HashObject(ObjectType.Transaction, body);
        return true;
    }

    // The last body field wins, as in protobuf parsing; the envelope's other fields are skipped by wire type.
    private static bool TryFindBody(ReadOnlySpan<byte> envelope, out ReadOnlySpan<byte> body)
    {
        body = default;
        var found = false;
        var at = 0;
        while (at < envelope.Length)
        {
            if (!TryReadVarint(envelope, ref at, out var tag) || tag >> 3 == 0) return false;
            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(envelope, ref at, out _)) return false;
                    break;
                case 1:
                    at += 8;
                    break;
                case 2:
                    if (!TryReadVarint(envelope, ref at, out var length) || length > (ulong)(envelope.Length - at)) return false;
                    if (tag >> 3 == 1)
                    {
                        body = envelope.Slice(at, (int)length);
                        found = true;
                    }

                    at += (int)length;
                    break;
                case 5:
                    at += 4;
                    break;
                default:
                    return false;
            }
        }

        return found && at == envelope.Length;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && at < bytes.Length; shift += 7)
        {
            var b = bytes[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return true;
        }

        return false;
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

    /// <summary>The block hash: the chain hash of the block-header signing domain followed by the header bytes (remembered).</summary>
    public Hash32 ComputeHash(IHashFunction hash)
    {
        var remembered = Volatile.Read(ref _hash);
        if (remembered is not null && ReferenceEquals(remembered.Function, hash)) return remembered.Root;
        var computed = hash.HashObject(ObjectType.BlockHeader, HeaderBytes.Span);
        Volatile.Write(ref _hash, new RememberedRoot(hash, computed));
        return computed;
    }

    /// <summary>The Merkle root of the transaction ids, which the header's transaction_root must equal.</summary>
    /// <remarks>Remembered like a transaction's id: validation and persist both check it.</remarks>
    public Hash32 ComputeTransactionRoot(IHashFunction hash)
    {
        var remembered = Volatile.Read(ref _root);
        if (remembered is not null && ReferenceEquals(remembered.Function, hash)) return remembered.Root;
        var root = MerkleRoot.Compute(hash, Transaction.ComputeIds(hash, Transactions));
        Volatile.Write(ref _root, new RememberedRoot(hash, root));
        return root;
    }

    // One reference each, written whole, so that concurrent readers see a function and its result together.
    private sealed record RememberedRoot(IHashFunction Function, Hash32 Root);

    private RememberedRoot? _hash;
    private RememberedRoot? _root;
}
