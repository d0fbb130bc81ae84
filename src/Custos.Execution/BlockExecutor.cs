using System.Buffers.Binary;
using System.Collections.Concurrent;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution;

/// <summary>Bounds execution places on transactions.</summary>
public sealed record ExecutionLimits
{
    /// <summary>A transaction may name an expiry at most this many blocks ahead; its id is remembered until then.</summary>
    public ulong TransactionExpiryWindowBlocksMax { get; init; } = 10_000;

    /// <summary>
    /// ID-5: a key reset takes effect this many blocks after it is requested; until then the old key can cancel it
    /// and the account can neither pay nor be paid. Chain parameter <c>KeyResetLockWindowBlocks</c>.
    /// </summary>
    public ulong KeyResetLockBlocks { get; init; } = 1_000;

    public GasSchedule Gas { get; init; } = new();
}

/// <summary>The changes and receipts of one executed block.</summary>
public sealed record BlockExecutionResult(WriteSet Writes, IReadOnlyList<Receipt> Receipts)
{
    public int Succeeded => Receipts.Count(r => r.Code == ErrorCode.Ok);
}

/// <summary>Answers whether a transaction's signature is valid; production caches what admission already verified.</summary>
public interface ISignatureCheck
{
    bool IsValid(Transaction transaction, Hash32 id);

    /// <summary>Checks many at once; <see cref="VerificationPipeline"/> spreads them over cores.</summary>
    bool[] AreValid(IReadOnlyList<Transaction> transactions, IReadOnlyList<Hash32> ids)
    {
        var results = new bool[transactions.Count];
        for (var i = 0; i < results.Length; i++) results[i] = IsValid(transactions[i], ids[i]);
        return results;
    }
}

/// <summary>Verifies with the chain's suite and remembers, by transaction id, the signatures it found valid (bounded).</summary>
public sealed class SignatureCheck(ICryptoSuite suite, int cacheEntriesMax = 200_000, int keyCacheEntriesMax = 20_000) : ISignatureCheck
{
    // Two generations, each holding up to half the bound: when the newer fills, it becomes the older and the older is
    // dropped. Clearing everything at once (as before) also dropped what was verified a moment ago and was still
    // waiting in batches and blocks: a node under load verified those again.
    private ConcurrentDictionary<Hash32, byte[]> _verified = new();
    private ConcurrentDictionary<Hash32, byte[]> _verifiedBefore = new();
    private readonly Lock _rotation = new();

    // Decoding a key (point validation, Z_A and, for SM2, a 2 KiB table of multiples) costs about two verifications;
    // senders recur. The bound keeps the tables to about 40 MB.
    private readonly ConcurrentDictionary<byte[], PublicKey> _keys = new(ByteKeyComparer.Instance);

    // ConcurrentDictionary.Count takes every lock of the table; under parallel verification that serialised all
    // threads, so the bounds are kept with approximate counters instead.
    private int _verifiedAdded;
    private int _keysAdded;
    private long _verifications;

    /// <summary>Signatures actually verified (not found verified already): a validator's verification work, for metrics.</summary>
    public long Verifications => Interlocked.Read(ref _verifications);

    public bool IsValid(Transaction transaction, Hash32 id)
    {
        if (WasVerified(Volatile.Read(ref _verified), transaction, id) || WasVerified(Volatile.Read(ref _verifiedBefore), transaction, id)) return true;
        Interlocked.Increment(ref _verifications);
        var key = KeyOf(transaction.PublicKey);
        if (key is null || !suite.VerifyObject(key, ObjectType.Transaction, transaction.BodyBytes.Span, transaction.Signature.Span)) return false;

        if (Interlocked.Increment(ref _verifiedAdded) > Math.Max(1, cacheEntriesMax / 2))
        {
            lock (_rotation)
            {
                if (Volatile.Read(ref _verifiedAdded) > Math.Max(1, cacheEntriesMax / 2))
                {
                    Volatile.Write(ref _verifiedBefore, _verified);
                    Volatile.Write(ref _verified, new ConcurrentDictionary<Hash32, byte[]>());
                    Interlocked.Exchange(ref _verifiedAdded, 0);
                }
            }
        }

        Volatile.Read(ref _verified)[id] = transaction.Signature.ToArray();
        return true;
    }

    private static bool WasVerified(ConcurrentDictionary<Hash32, byte[]> verified, Transaction transaction, Hash32 id) =>
        verified.TryGetValue(id, out var signature) && signature.AsSpan().SequenceEqual(transaction.Signature.Span);

    private PublicKey? KeyOf(ReadOnlyMemory<byte> encoded)
    {
        // Looked up by span: a sender's key is found without copying it for every verification.
        if (_keys.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(encoded.Span, out var key)) return key;
        var bytes = encoded.ToArray();
        if (!suite.TryDecodePublicKey(bytes, out key, out _)) return null;
        if (Interlocked.Increment(ref _keysAdded) > keyCacheEntriesMax)
        {
            _keys.Clear();
            Interlocked.Exchange(ref _keysAdded, 0);
        }

        _keys[bytes] = key;
        return key;
    }
}

/// <summary>
/// Executes ordered blocks deterministically (invariant 5): the same block over the same state gives the same
/// writes and receipts on every node. Each transaction is checked (chain, suite, expiry window, replay, sender
/// account and its key, contract and version), then run by its system contract against a state overlay; a failure
/// rolls back everything the transaction did (SC-4) and is recorded with its typed error. The transaction's id is
/// remembered until its expiry whatever the outcome, so no transaction executes twice.
/// </summary>
public sealed class BlockExecutor
{
    public const string LedgerNamespace = "system.ledger";

    private readonly ICryptoSuite _suite;
    private readonly IReadOnlyDictionary<string, ISystemContract> _contracts;
    private readonly ExecutionLimits _limits;
    private readonly ISignatureCheck _signatures;
    private readonly IContractRuntime? _runtime;

    /// <param name="runtime">Runs application (WASM) contracts; without one, only system contracts can be called.</param>
    public BlockExecutor(ICryptoSuite suite, IEnumerable<ISystemContract> contracts, ExecutionLimits? limits = null, ISignatureCheck? signatures = null,
        IContractRuntime? runtime = null)
    {
        _suite = suite;
        _contracts = contracts.ToDictionary(c => c.Name, StringComparer.Ordinal);
        _limits = limits ?? new ExecutionLimits();
        _signatures = signatures ?? new SignatureCheck(suite);
        _runtime = runtime;
    }

    /// <summary>The contracts every Custos chain has.</summary>
    public static IReadOnlyList<ISystemContract> StandardContracts { get; } = [new AccountRegistry(), new TokenContract(), new SupervisionContract()];

    /// <summary>
    /// The replay record of transaction <paramref name="id"/> (its value: the expiry height), under
    /// <see cref="ReplayRecords.KeyPrefix"/>, which the store keeps beside the authenticated tree.
    /// </summary>
    public static byte[] SeenKey(Hash32 id) => StateKeys.For(LedgerNamespace, "seen/", id);

    /// <summary>The heights of the blocks that hold transactions expiring at <paramref name="expiry"/> (8 bytes each).</summary>
    public static byte[] ExpiringKey(ulong expiry)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, expiry);
        return StateKeys.For(LedgerNamespace, [.. "expiring/"u8, .. key]);
    }

    /// <summary>The ids of the transactions of block <paramref name="height"/> that expire at <paramref name="expiry"/>.</summary>
    public static byte[] ExpiringInBlockKey(ulong expiry, ulong height)
    {
        var key = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(key, expiry);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(8), height);
        return StateKeys.For(LedgerNamespace, [.. "expiring-in/"u8, .. key]);
    }

    public BlockExecutionResult Execute(BlockContext block, IReadOnlyList<Transaction> transactions, IStateReader committed)
    {
        var state = new StateOverlay(committed);
        ForgetExpired(state, block.Height);
        var receipts = new List<Receipt>(transactions.Count);
        var expiring = new Dictionary<ulong, List<Hash32>>();
        // Read once per block, and again only after a supervision call changed it.
        var measures = SupervisionContract.ReadMeasures(state);
        // Likewise revocations: a chain that never revoked a certificate pays one read per block for the check.
        var anyRevoked = ConsortiumRegistry.AnyRevoked(state);
        for (var i = 0; i < transactions.Count; i++)
        {
            var receipt = ExecuteOne(block, (uint)i, transactions[i], state, expiring, measures, anyRevoked);
            if (!anyRevoked && receipt.Code == ErrorCode.Ok) anyRevoked = ConsortiumRegistry.AnyRevoked(state);
            receipts.Add(receipt);
            if (receipt.Code == ErrorCode.Ok && transactions[i].Body.Contract == SupervisionContract.ContractName) measures = SupervisionContract.ReadMeasures(state);
        }

        // Replay records are indexed per block, so that a block writes only its own ids: one list per expiry that
        // every block appended to grew with the chain and was rewritten (and rehashed) by each block.
        foreach (var (expiry, ids) in expiring.OrderBy(p => p.Key))
        {
            var list = new byte[ids.Count * Hash32.SizeBytes];
            for (var j = 0; j < ids.Count; j++) ids[j].CopyTo(list.AsSpan(j * Hash32.SizeBytes));
            state.Put(ExpiringInBlockKey(expiry, block.Height), list);

            var indexKey = ExpiringKey(expiry);
            var existing = state.TryGet(indexKey, out var bytes) ? bytes : [];
            var index = new byte[existing.Length + sizeof(ulong)];
            existing.CopyTo(index, 0);
            BinaryPrimitives.WriteUInt64BigEndian(index.AsSpan(existing.Length), block.Height);
            state.Put(indexKey, index);
        }

        state.CommitTransaction();
        return new BlockExecutionResult(state.BlockWrites, receipts);
    }

    private Receipt ExecuteOne(BlockContext block, uint index, Transaction transaction, StateOverlay state, Dictionary<ulong, List<Hash32>> expiring, SupervisionMeasures measures,
        bool anyRevoked)
    {
        var id = transaction.ComputeId(_suite);
        var receipt = new Receipt { TransactionId = id.ToByteString(), Height = block.Height, Index = index };
        var body = transaction.Body;

        // Checks that leave no trace: the transaction was never valid here, so there is nothing to replay.
        var refusal = body.ChainId != block.ChainId ? (ErrorCode.ChainIdMismatch, $"transaction is for chain '{body.ChainId}'")
            : body.Suite != _suite.Id ? (ErrorCode.SuiteMismatch, $"transaction is signed with suite {body.Suite}, the chain uses {_suite.Name}")
            : body.ExpiryHeight < block.Height ? (ErrorCode.TransactionExpired, $"transaction expired at height {body.ExpiryHeight}")
            : body.ExpiryHeight > block.Height + _limits.TransactionExpiryWindowBlocksMax
                ? (ErrorCode.InvalidField, $"expiry {body.ExpiryHeight} is more than {_limits.TransactionExpiryWindowBlocksMax} blocks ahead")
            : state.TryGet(SeenKey(id), out _) ? (ErrorCode.DuplicateTransaction, "transaction was already executed")
            : !_signatures.IsValid(transaction, id) ? (ErrorCode.SignatureInvalid, "signature does not verify")
            : default((ErrorCode, string)?);
        if (refusal is { } failed) return Fail(receipt, failed.Item1, failed.Item2);

        // From here on the transaction is remembered whatever happens to it.
        var expiry = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(expiry, body.ExpiryHeight);
        state.Put(SeenKey(id), expiry);
        if (!expiring.TryGetValue(body.ExpiryHeight, out var ids)) expiring[body.ExpiryHeight] = ids = [];
        ids.Add(id);
        state.CommitTransaction();

        var gasLimit = body.GasLimit == 0 ? _limits.Gas.DefaultLimit : body.GasLimit;
        var meter = new GasMeter(Math.Min(gasLimit, _limits.Gas.MaximumLimit));
        var events = new List<Event>();
        try
        {
            var stored = AccountRegistry.Load(state, transaction.Sender)
                ?? throw new ContractFailure(ErrorCode.SenderUnknown, $"account {transaction.Sender} is not registered");

            // A key reset whose lock window has passed is in force (ID-5); the key is checked before anything else.
            var caller = AccountRegistry.Current(stored, block.Height);
            AccountRegistry.RequireSigningKey(caller, transaction.PublicKey.Span, block.Height);
            if (anyRevoked && ConsortiumRegistry.LoadRevocation(state, transaction.PublicKey.Span) is { } revocation)
            {
                throw new ContractFailure(ErrorCode.CertificateRevoked, $"the signing key's certificate {revocation.Serial} was revoked at height {revocation.Height}: {revocation.Reason}");
            }

            if (!ReferenceEquals(caller, stored))
            {
                // The first transaction signed with the new key stores it; kept even if the call fails, like the
                // replay record, since the signature alone proved the key.
                state.Put(AccountRegistry.RecordKey(transaction.Sender), caller.ToByteArray());
                state.CommitTransaction();
            }

            AccountRegistry.RequireSenderMayAct(caller, block.Height, body.Contract, body.Method);
            if (!_contracts.TryGetValue(body.Contract, out var contract))
            {
                // Not a system contract: an application contract of the registry (unknown, frozen or abolished is refused there).
                contract = _runtime is null ? throw new ContractFailure(ErrorCode.ContractNotFound, $"no contract '{body.Contract}'")
                    : ContractRegistry.Resolve(state, body.Contract, body.ContractVersion, _runtime);
            }
            else if (body.ContractVersion != contract.Version)
            {
                throw new ContractFailure(ErrorCode.ContractNotFound, $"{contract.Name} is at version {contract.Version}, not {body.ContractVersion}");
            }

            SupervisionContract.Enforce(measures, state, transaction.Sender, contract.Name);
            meter.Charge(_limits.Gas.TransactionBase + _limits.Gas.PerArgumentByte * (ulong)body.Arguments.Length);
            contract.Invoke(new ContractCall(contract, body.Method, body.Arguments.Memory, caller, block, state, meter, _limits, events, id) { Measures = measures, Suite = _suite });
            state.CommitTransaction();
            receipt.Code = ErrorCode.Ok;
            receipt.Events.AddRange(events);
        }
        catch (ContractFailure failure)
        {
            state.RollBackTransaction();
            receipt.Code = failure.Code;
            receipt.Message = failure.Message;
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or ArgumentException or InvalidOperationException or OverflowException or CustosException)
        {
            // A contract bug on unusual input: deterministic, so every node records the same failure.
            state.RollBackTransaction();
            receipt.Code = ErrorCode.ContractTrapped;
            receipt.Message = $"contract failed: {e.GetType().Name}";
        }

        receipt.GasUsed = meter.Used;
        return receipt;
    }

    private static Receipt Fail(Receipt receipt, ErrorCode code, string message)
    {
        receipt.Code = code;
        receipt.Message = message;
        return receipt;
    }

    /// <summary>Drops the replay records of transactions that expired before this block: they can never be valid again.</summary>
    private static void ForgetExpired(StateOverlay state, ulong height)
    {
        if (height == 0) return;
        var expiry = height - 1;
        var indexKey = ExpiringKey(expiry);
        if (!state.TryGet(indexKey, out var index)) return;
        for (var at = 0; at + sizeof(ulong) <= index.Length; at += sizeof(ulong))
        {
            var listKey = ExpiringInBlockKey(expiry, BinaryPrimitives.ReadUInt64BigEndian(index.AsSpan(at)));
            if (!state.TryGet(listKey, out var list)) continue;
            for (var offset = 0; offset + Hash32.SizeBytes <= list.Length; offset += Hash32.SizeBytes)
            {
                state.Delete(SeenKey(new Hash32(list.AsSpan(offset, Hash32.SizeBytes))));
            }

            state.Delete(listKey);
        }

        state.Delete(indexKey);
        state.CommitTransaction();
    }
}
