using System.Buffers;
using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Mempool.Wire;
using Google.Protobuf;

namespace Custos.Mempool;

/// <summary>
/// A batch with its digest and decoded transactions. The parsed protobuf message is not kept: it held another copy of
/// every transaction's bytes for as long as the batch waited to be committed.
/// </summary>
public sealed record StoredBatch(Hash32 Digest, byte[] Encoded, uint Author, IReadOnlyList<Transaction> Transactions, IReadOnlyList<Hash32> Ids);

/// <summary>Bounds on batches.</summary>
public sealed record BatchLimits
{
    public int TransactionsPerBatchMax { get; init; } = 2_000;

    public int BatchBytesMax { get; init; } = 4 * 1024 * 1024;

    /// <summary>Batches kept that no committed block has included yet (own and received).</summary>
    public int UncommittedBatchesMax { get; init; } = 10_000;

    /// <summary>Batches one proposal may reference.</summary>
    public int BatchesPerProposalMax { get; init; } = 32;
}

/// <summary>
/// Transaction batches known to this validator, by digest: the ones it formed from its own pool and the ones peers
/// sent (Narwhal / Quorum Store idea: data is disseminated before it is ordered, and a proposal names batch digests).
/// A validator only votes for a proposal whose batches it holds, so a committed block's data is held by a quorum.
/// Thread-safe.
/// </summary>
public sealed class BatchStore(ICryptoSuite suite, string chainId, BatchLimits? limits = null)
{
    private readonly BatchLimits _limits = limits ?? new BatchLimits();
    private readonly Lock _gate = new();
    private readonly Dictionary<Hash32, StoredBatch> _batches = [];
    private readonly SortedDictionary<long, Hash32> _proposable = [];
    private readonly Dictionary<Hash32, long> _arrival = [];

    // Digests of batches already committed, so that a late copy (a broadcast still in flight, a peer's retry) is not
    // taken in and proposed again. Bounded: the oldest are forgotten first.
    private readonly HashSet<Hash32> _committed = [];
    private readonly Queue<Hash32> _committedOrder = new();
    private const int CommittedRememberedMax = 100_000;
    private long _sequence;
    private ulong _ownSequence;
    private int _heldTransactions;
    private int _awaitingVerification;

    public BatchLimits Limits => _limits;

    /// <summary>
    /// Transactions in the batches held, which no committed block has included yet, and in peers' batches received
    /// and still waiting for verification (admission's back-pressure). Without the waiting ones, a node whose
    /// verification fell behind let clients fill its backlog unseen: under overload four validators held twice their
    /// bound between them.
    /// </summary>
    public int HeldTransactions => Volatile.Read(ref _heldTransactions) + Volatile.Read(ref _awaitingVerification);

    /// <summary>
    /// Counts the transactions of a peer's batch as held from the moment it arrives until its verification ends
    /// (<see cref="CountTransactions"/> gives the number without decoding it).
    /// </summary>
    public void AwaitVerification(int transactions) => Interlocked.Add(ref _awaitingVerification, transactions);

    /// <summary>Ends <see cref="AwaitVerification"/>: the batch is kept (<see cref="Accept"/>) or dropped by the caller.</summary>
    public void VerificationEnded(int transactions) => Interlocked.Add(ref _awaitingVerification, -transactions);

    /// <summary>
    /// The transactions an encoded batch holds, by walking its fields without copying anything (a few hundred
    /// nanoseconds for a hundred transactions); 0 for bytes that are not a batch, which decoding then refuses.
    /// </summary>
    public static int CountTransactions(ReadOnlySpan<byte> encoded)
    {
        const int transactionsField = TransactionBatch.TransactionsFieldNumber;
        var count = 0;
        var at = 0;
        while (at < encoded.Length)
        {
            if (!TryReadVarint(encoded, ref at, out var tag)) return 0;
            switch (tag & 7)
            {
                case 0:
                    if (!TryReadVarint(encoded, ref at, out _)) return 0;
                    break;
                case 1:
                    at += 8;
                    break;
                case 2:
                    if (!TryReadVarint(encoded, ref at, out var length) || length > (ulong)(encoded.Length - at)) return 0;
                    at += (int)length;
                    if (tag >> 3 == transactionsField) count++;
                    break;
                case 5:
                    at += 4;
                    break;
                default:
                    return 0;
            }
        }

        return at == encoded.Length ? count : 0;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && at < bytes.Length; shift += 7)
        {
            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return true;
        }

        return false;
    }

    public int Count
    {
        get
        {
            lock (_gate) return _batches.Count;
        }
    }

    /// <summary>
    /// A batch's digest, which proposals name it by: under the batch domain, the length and encoding of its chain,
    /// author and sequence, then its transactions' ids in order. The ids already bind every transaction's bytes, so
    /// this hashes 32 bytes per transaction where hashing the encoded batch hashed each transaction a second time.
    /// Fields of an encoding that this version does not know are not bound: the digest names the content.
    /// </summary>
    public Hash32 Digest(string chain, uint author, ulong sequence, IReadOnlyList<Hash32> ids)
    {
        var header = new TransactionBatch { ChainId = chain, Author = author, Sequence = sequence };
        var headerLength = header.CalculateSize();
        var length = sizeof(uint) + headerLength + ids.Count * Hash32.SizeBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = buffer.AsSpan(0, length);
            BinaryPrimitives.WriteUInt32BigEndian(span, (uint)headerLength);
            header.WriteTo(span.Slice(sizeof(uint), headerLength));
            var offset = sizeof(uint) + headerLength;
            foreach (var id in ids)
            {
                id.CopyTo(span[offset..]);
                offset += Hash32.SizeBytes;
            }

            return suite.HashObject(ObjectType.TransactionBatch, span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Forms a batch of this validator's own transactions; the caller broadcasts <see cref="StoredBatch.Encoded"/>.</summary>
    public StoredBatch Form(uint author, IReadOnlyList<Transaction> transactions)
    {
        var batch = new TransactionBatch { ChainId = chainId, Author = author };
        lock (_gate) batch.Sequence = ++_ownSequence;
        batch.Transactions.AddRange(transactions.Select(t => ByteString.CopyFrom(t.Envelope.Span)));
        var encoded = batch.ToByteArray();
        var ids = Transaction.ComputeIds(suite, transactions);
        var stored = new StoredBatch(Digest(batch.ChainId, author, batch.Sequence, ids), encoded, author, transactions, ids);
        Add(stored);
        return stored;
    }

    /// <summary>
    /// Accepts a batch a peer sent. Structure is checked here (bounds, chain, every transaction decodes); signatures are
    /// checked by the caller through admission, since the transactions must be valid to be worth ordering.
    /// </summary>
    public bool TryAccept(ReadOnlySpan<byte> encoded, out StoredBatch stored, out CustosError error)
    {
        if (!TryDecode(encoded, out stored, out error)) return false;
        Add(stored);
        return true;
    }

    /// <summary>Adds a batch decoded by <see cref="TryDecode"/> once the caller has checked its signatures.</summary>
    public void Accept(StoredBatch stored) => Add(stored);

    /// <summary>Decodes and checks a peer's batch like <see cref="TryAccept"/>, without keeping it.</summary>
    public bool TryDecode(ReadOnlySpan<byte> encoded, out StoredBatch stored, out CustosError error)
    {
        stored = null!;
        if (encoded.Length > _limits.BatchBytesMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"batch is {encoded.Length} bytes, at most {_limits.BatchBytesMax}");
            return false;
        }

        TransactionBatch batch;
        try
        {
            batch = TransactionBatch.Parser.ParseFrom(encoded);
        }
        catch (InvalidProtocolBufferException e)
        {
            error = new CustosError(ErrorCode.Malformed, $"batch is not valid protobuf: {e.Message}");
            return false;
        }

        if (batch.ChainId != chainId)
        {
            error = new CustosError(ErrorCode.ChainIdMismatch, $"batch is for chain '{batch.ChainId}'");
            return false;
        }

        if (batch.Transactions.Count == 0 || batch.Transactions.Count > _limits.TransactionsPerBatchMax)
        {
            error = new CustosError(ErrorCode.InvalidField, $"batch holds {batch.Transactions.Count} transactions, 1 to {_limits.TransactionsPerBatchMax} allowed");
            return false;
        }

        var transactions = new Transaction[batch.Transactions.Count];
        for (var i = 0; i < transactions.Length; i++)
        {
            if (!Decoders.TryDecodeTransaction(batch.Transactions[i].Span, out transactions[i], out var inner))
            {
                error = inner with { Message = $"batch transaction {i}: {inner.Message}" };
                return false;
            }
        }

        var ids = Transaction.ComputeIds(suite, transactions);
        stored = new StoredBatch(Digest(batch.ChainId, batch.Author, batch.Sequence, ids), encoded.ToArray(), batch.Author, transactions, ids);
        error = null!;
        return true;
    }

    private void Add(StoredBatch stored)
    {
        lock (_gate)
        {
            if (_batches.ContainsKey(stored.Digest) || _committed.Contains(stored.Digest)) return;
            if (_batches.Count >= _limits.UncommittedBatchesMax && _proposable.Count > 0)
            {
                // Drop the oldest: if it is ever proposed, it can be fetched again.
                var oldest = _proposable.First();
                _proposable.Remove(oldest.Key);
                _arrival.Remove(oldest.Value);
                if (_batches.Remove(oldest.Value, out var dropped)) _heldTransactions -= dropped.Transactions.Count;
            }

            _batches[stored.Digest] = stored;
            _heldTransactions += stored.Transactions.Count;
            var arrival = ++_sequence;
            _arrival[stored.Digest] = arrival;
            _proposable[arrival] = stored.Digest;
        }
    }

    public bool TryGet(Hash32 digest, out StoredBatch batch)
    {
        lock (_gate) return _batches.TryGetValue(digest, out batch!);
    }

    /// <summary>The digests of <paramref name="digests"/> this validator does not hold.</summary>
    public IReadOnlyList<Hash32> Missing(IEnumerable<Hash32> digests)
    {
        lock (_gate) return digests.Where(d => !_batches.ContainsKey(d)).ToList();
    }

    /// <summary>
    /// Batches for a proposal, oldest first, excluding those already referenced by blocks not yet committed
    /// (<paramref name="inFlight"/>), within the per-proposal and per-block transaction bounds.
    /// </summary>
    public IReadOnlyList<StoredBatch> SelectForProposal(IReadOnlySet<Hash32> inFlight, int transactionsMax)
    {
        lock (_gate)
        {
            var chosen = new List<StoredBatch>();
            var count = 0;
            foreach (var digest in _proposable.Values)
            {
                if (chosen.Count >= _limits.BatchesPerProposalMax) break;
                if (inFlight.Contains(digest)) continue;
                var batch = _batches[digest];
                if (count > 0 && count + batch.Transactions.Count > transactionsMax) break;
                chosen.Add(batch);
                count += batch.Transactions.Count;
            }

            return chosen;
        }
    }

    /// <summary>Forgets batches a committed block included.</summary>
    public void OnCommitted(IEnumerable<Hash32> digests)
    {
        lock (_gate)
        {
            foreach (var digest in digests) ForgetCommitted(digest);
        }
    }

    /// <summary>
    /// Forgets every batch holding a transaction that a committed block included, for blocks whose batches are not
    /// known (a block fetched by catch-up, or a proposal sent whole): such batches must not be proposed again.
    /// </summary>
    public void OnTransactionsCommitted(IReadOnlySet<Hash32> ids)
    {
        if (ids.Count == 0) return;
        lock (_gate)
        {
            var spent = _batches.Values.Where(b => b.Ids.Any(ids.Contains)).Select(b => b.Digest).ToList();
            foreach (var digest in spent) ForgetCommitted(digest);
        }
    }

    /// <summary>Whether a batch with this digest was committed (as far as this store remembers).</summary>
    public bool WasCommitted(Hash32 digest)
    {
        lock (_gate) return _committed.Contains(digest);
    }

    private void ForgetCommitted(Hash32 digest)
    {
        if (_arrival.Remove(digest, out var arrival)) _proposable.Remove(arrival);
        if (_batches.Remove(digest, out var removed)) _heldTransactions -= removed.Transactions.Count;
        if (!_committed.Add(digest)) return;
        _committedOrder.Enqueue(digest);
        while (_committedOrder.Count > CommittedRememberedMax) _committed.Remove(_committedOrder.Dequeue());
    }

    /// <summary>Encodes the payload a proposal carries: the digests in order.</summary>
    public static byte[] EncodeReferences(IEnumerable<Hash32> digests)
    {
        var references = new BatchReferences();
        references.Digests.AddRange(digests.Select(d => d.ToByteString()));
        return references.ToByteArray();
    }

    public bool TryDecodeReferences(ReadOnlySpan<byte> payload, out IReadOnlyList<Hash32> digests, out CustosError error)
    {
        digests = [];
        try
        {
            var references = BatchReferences.Parser.ParseFrom(payload);
            if (references.Digests.Count > _limits.BatchesPerProposalMax)
            {
                error = new CustosError(ErrorCode.TooLarge, $"payload names {references.Digests.Count} batches, at most {_limits.BatchesPerProposalMax}");
                return false;
            }

            var list = new List<Hash32>(references.Digests.Count);
            foreach (var digest in references.Digests)
            {
                if (!Hash32.TryCreate(digest.Span, out var hash))
                {
                    error = new CustosError(ErrorCode.InvalidLength, "a batch digest is 32 bytes");
                    return false;
                }

                list.Add(hash);
            }

            if (list.Distinct().Count() != list.Count)
            {
                error = new CustosError(ErrorCode.InvalidField, "payload names a batch twice");
                return false;
            }

            digests = list;
            error = null!;
            return true;
        }
        catch (InvalidProtocolBufferException e)
        {
            error = new CustosError(ErrorCode.Malformed, $"payload is not valid protobuf: {e.Message}");
            return false;
        }
    }
}
