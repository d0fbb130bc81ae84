using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;

namespace Custos.Mempool;

/// <summary>Bounds of the pool: what a flood of clients can make a node hold.</summary>
public sealed record MempoolLimits
{
    public int TransactionsMax { get; init; } = 100_000;

    public long BytesMax { get; init; } = 256L * 1024 * 1024;

    /// <summary>Pending transactions one sender may have (a single client cannot fill the pool).</summary>
    public int PerSenderMax { get; init; } = 10_000;

    /// <summary>Same window execution enforces: expiry at most this far ahead of the current height.</summary>
    public ulong ExpiryWindowBlocksMax { get; init; } = 10_000;
}

/// <summary>The result of offering one transaction: admitted (with its id) or refused with a typed error.</summary>
public readonly record struct Admission(Hash32 Id, CustosError? Error)
{
    public bool Admitted => Error is null;
}

/// <summary>What admission checks a transaction against: the committed state at the latest height.</summary>
public sealed record AdmissionContext(ulong Height, IStateReader State);

/// <summary>
/// Pending transactions, admitted after every check that can be made before ordering: decoding and size, chain and
/// suite, expiry window, signature (verified in parallel across cores, the result cached by id so that block
/// validation and execution do not verify again), sender registered with that key and active, not seen before
/// (committed or pending); bounded in count, bytes and per sender, so that a full pool pushes back on clients
/// (MEMPOOL_FULL) instead of growing. Thread-safe.
/// </summary>
public sealed class TransactionPool
{
    private readonly ICryptoSuite _suite;
    private readonly string _chainId;
    private readonly MempoolLimits _limits;
    private readonly ISignatureCheck _signatures;
    private readonly Lock _gate = new();
    private readonly Dictionary<Hash32, Entry> _byId = [];
    private readonly SortedDictionary<long, Entry> _unbatched = [];
    private readonly Dictionary<AccountId, int> _perSender = [];
    private long _sequence;
    private long _bytes;

    public TransactionPool(ICryptoSuite suite, string chainId, ISignatureCheck signatures, MempoolLimits? limits = null)
    {
        _suite = suite;
        _chainId = chainId;
        _signatures = signatures;
        _limits = limits ?? new MempoolLimits();
    }

    public int Count
    {
        get
        {
            lock (_gate) return _byId.Count;
        }
    }

    public long Bytes
    {
        get
        {
            lock (_gate) return _bytes;
        }
    }

    /// <summary>
    /// Transactions held elsewhere until committed (peers' batches), counted with the pool against
    /// <see cref="MempoolLimits.TransactionsMax"/>: what a node has accepted but not yet committed is one backlog.
    /// </summary>
    public Func<int>? HeldElsewhere { get; init; }

    public int UnbatchedCount
    {
        get
        {
            lock (_gate) return _unbatched.Count;
        }
    }

    /// <summary>
    /// Offers encoded transactions: the cheap checks run first, then the signatures of those that passed are verified
    /// together (across cores when the check is a <see cref="VerificationPipeline"/>), before the pool's lock is taken.
    /// </summary>
    public IReadOnlyList<Admission> Admit(IReadOnlyList<ReadOnlyMemory<byte>> envelopes, AdmissionContext context)
    {
        // Beyond the backlog nothing is decoded or verified: an overloaded node spends its cores on what it holds. Each
        // refusal still names its transaction: the id is the hash of the envelope's body field, found without decoding
        // (about a microsecond; zero for bytes that are not an envelope).
        if (HeldElsewhere is { } held && Count + held() >= _limits.TransactionsMax)
        {
            var full = new CustosError(ErrorCode.MempoolFull, "the node holds as many uncommitted transactions as it may; retry later");
            return envelopes.Select(e => new Admission(Transaction.TryComputeIdOfEnvelope(e.Span, _suite, out var id) ? id : default, full)).ToList();
        }

        var decoded = new (Transaction? Transaction, Hash32 Id, CustosError? Error)[envelopes.Count];
        var unsigned = new List<int>(envelopes.Count);
        // Decoded first, so that the ids are hashed together (several at once where the suite can).
        var transactions = new List<Transaction>(envelopes.Count);
        for (var i = 0; i < envelopes.Count; i++)
        {
            if (Decoders.TryDecodeTransaction(envelopes[i].Span, out var transaction, out var malformed))
            {
                decoded[i] = (transaction, default, null);
                transactions.Add(transaction);
            }
            else
            {
                decoded[i] = (null, default, malformed);
            }
        }

        var ids = Transaction.ComputeIds(_suite, transactions);
        for (int i = 0, k = 0; i < decoded.Length; i++)
        {
            if (decoded[i].Transaction is { } transaction) decoded[i] = Check(transaction, ids[k++], context);
        }

        // What insertion would refuse anyway (already pending, a full pool, a sender at its limit) is refused before
        // its signature is verified: under overload, a sender at its limit was refused only after a verification.
        // Checked again on insertion, since the pool may change while the signatures are verified.
        lock (_gate)
        {
            Dictionary<AccountId, int>? offeredPerSender = null;
            var room = _limits.TransactionsMax - _byId.Count;
            for (var i = 0; i < decoded.Length; i++)
            {
                if (decoded[i].Error is not null) continue;
                var transaction = decoded[i].Transaction!;
                offeredPerSender ??= [];
                offeredPerSender.TryGetValue(transaction.Sender, out var offered);
                if (InsertionRefusal(transaction, decoded[i].Id, offered, room) is { } refusal)
                {
                    decoded[i] = (null, decoded[i].Id, refusal);
                    continue;
                }

                offeredPerSender[transaction.Sender] = offered + 1;
                room--;
                unsigned.Add(i);
            }
        }

        if (unsigned.Count > 0)
        {
            var valid = _signatures.AreValid(unsigned.Select(i => decoded[i].Transaction!).ToList(), unsigned.Select(i => decoded[i].Id).ToList());
            for (var k = 0; k < unsigned.Count; k++)
            {
                if (valid[k]) continue;
                var i = unsigned[k];
                decoded[i] = (null, decoded[i].Id, new CustosError(ErrorCode.SignatureInvalid, "signature does not verify"));
            }
        }

        var results = new Admission[decoded.Length];
        lock (_gate)
        {
            for (var i = 0; i < decoded.Length; i++)
            {
                var (transaction, id, error) = decoded[i];
                results[i] = error is not null ? new Admission(id, error) : new Admission(id, Insert(transaction!, id));
            }
        }

        return results;
    }

    public Admission Admit(ReadOnlyMemory<byte> envelope, AdmissionContext context) => Admit([envelope], context)[0];

    /// <summary>Every check of a decoded transaction but its signature's.</summary>
    private (Transaction?, Hash32, CustosError?) Check(Transaction transaction, Hash32 id, AdmissionContext context)
    {
        var body = transaction.Body;
        CustosError? refusal = body.ChainId != _chainId ? new(ErrorCode.ChainIdMismatch, $"transaction is for chain '{body.ChainId}', this is '{_chainId}'")
            : body.Suite != _suite.Id ? new(ErrorCode.SuiteMismatch, $"transaction is signed with suite {body.Suite}; this chain uses {_suite.Name}")
            : body.ExpiryHeight <= context.Height ? new(ErrorCode.TransactionExpired, $"transaction expired at height {body.ExpiryHeight}")
            : body.ExpiryHeight > context.Height + _limits.ExpiryWindowBlocksMax
                ? new(ErrorCode.InvalidField, $"expiry {body.ExpiryHeight} is more than {_limits.ExpiryWindowBlocksMax} blocks ahead")
            : context.State.TryGet(BlockExecutor.SeenKey(id), out _) ? new(ErrorCode.DuplicateTransaction, "transaction was already executed")
            : CheckSender(transaction, context.State);
        return (refusal is null ? transaction : null, id, refusal);
    }

    private static CustosError? CheckSender(Transaction transaction, IStateReader state)
    {
        var account = AccountRegistry.Load(state, transaction.Sender);
        if (account is null) return new CustosError(ErrorCode.SenderUnknown, $"account {transaction.Sender} is not registered");
        if (!account.PublicKey.Span.SequenceEqual(transaction.PublicKey.Span))
        {
            return new CustosError(ErrorCode.SignatureInvalid, "the signing key is not the key registered for the sender");
        }

        return account.Status switch
        {
            AccountStatus.Active => null,
            AccountStatus.Frozen => new CustosError(ErrorCode.AccountFrozen, $"account {transaction.Sender} is frozen"),
            _ => new CustosError(ErrorCode.PermissionDenied, $"account {transaction.Sender} is not active"),
        };
    }

    /// <summary>
    /// Why the pool would not take <paramref name="transaction"/> now, with <paramref name="ahead"/> more of its
    /// sender's transactions and room for <paramref name="room"/> more in all; null when it would.
    /// </summary>
    private CustosError? InsertionRefusal(Transaction transaction, Hash32 id, int ahead, int room)
    {
        if (_byId.ContainsKey(id)) return new CustosError(ErrorCode.DuplicateTransaction, "transaction is already pending");
        if (room <= 0 || _bytes + transaction.Envelope.Length > _limits.BytesMax)
        {
            return new CustosError(ErrorCode.MempoolFull, "the pool is full; retry later");
        }

        _perSender.TryGetValue(transaction.Sender, out var pending);
        return pending + ahead >= _limits.PerSenderMax
            ? new CustosError(ErrorCode.SenderLimitExceeded, $"sender has {pending + ahead} pending transactions, at most {_limits.PerSenderMax}")
            : null;
    }

    private CustosError? Insert(Transaction transaction, Hash32 id)
    {
        if (InsertionRefusal(transaction, id, 0, _limits.TransactionsMax - _byId.Count) is { } refusal) return refusal;
        var size = transaction.Envelope.Length;
        _perSender.TryGetValue(transaction.Sender, out var pending);
        var entry = new Entry(transaction, id, ++_sequence);
        _byId[id] = entry;
        _unbatched[entry.Sequence] = entry;
        _perSender[transaction.Sender] = pending + 1;
        _bytes += size;
        return null;
    }

    /// <summary>Takes the oldest transactions not yet in a batch, up to the bounds, in arrival order.</summary>
    public IReadOnlyList<Transaction> TakeUnbatched(int countMax, int bytesMax)
    {
        lock (_gate)
        {
            var taken = new List<Entry>();
            var bytes = 0;
            foreach (var entry in _unbatched.Values)
            {
                if (taken.Count >= countMax || (taken.Count > 0 && bytes + entry.Transaction.Envelope.Length > bytesMax)) break;
                taken.Add(entry);
                bytes += entry.Transaction.Envelope.Length;
            }

            foreach (var entry in taken) _unbatched.Remove(entry.Sequence);
            return taken.Select(e => e.Transaction).ToList();
        }
    }

    /// <summary>Puts transactions back to be batched again (their batch was never included and was dropped).</summary>
    public void ReturnUnbatched(IEnumerable<Hash32> ids)
    {
        lock (_gate)
        {
            foreach (var id in ids)
            {
                if (_byId.TryGetValue(id, out var entry)) _unbatched[entry.Sequence] = entry;
            }
        }
    }

    public bool Contains(Hash32 id)
    {
        lock (_gate) return _byId.ContainsKey(id);
    }

    /// <summary>Forgets committed transactions and those that can no longer be included after <paramref name="height"/>.</summary>
    public void OnCommitted(IEnumerable<Hash32> committed, ulong height)
    {
        lock (_gate)
        {
            foreach (var id in committed) Remove(id);
            foreach (var expired in _byId.Values.Where(e => e.Transaction.Body.ExpiryHeight <= height).Select(e => e.Id).ToList()) Remove(expired);
        }
    }

    private void Remove(Hash32 id)
    {
        if (!_byId.Remove(id, out var entry)) return;
        _unbatched.Remove(entry.Sequence);
        _bytes -= entry.Transaction.Envelope.Length;
        if (--_perSender[entry.Transaction.Sender] == 0) _perSender.Remove(entry.Transaction.Sender);
    }

    private sealed record Entry(Transaction Transaction, Hash32 Id, long Sequence);
}
