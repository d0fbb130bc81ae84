using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution;

/// <summary>
/// The account registry (system contract <c>system.accounts</c>). An account id is assigned at registration, is
/// never derived from a key and is never reused: records are never deleted, only cancelled (ID-2). The registry
/// binds each account to the public key its transactions must be signed with, and keeps its lifecycle:
/// <list type="bullet">
/// <item>freeze / unfreeze (ID-4) by the registrar (an administrator of the account's organisation) or the
/// regulator; a freeze by the regulator is lifted only by the regulator.</item>
/// <item>request_key_reset / cancel_key_reset (ID-5): the registrar names a new key; for
/// <see cref="ExecutionLimits.KeyResetLockBlocks"/> blocks the account is locked (it can neither pay nor be paid)
/// and only its old key can act, to cancel the reset. From the unlock height the new key is the key: the rule is a
/// pure function of the record and the height (<see cref="Current"/>), and the executor stores the new key with
/// the first transaction signed by it.</item>
/// <item>cancel (ID-6) by the account itself, its registrar or the regulator: final, and appended to a public
/// cancellation list that clients page with plain state reads (<see cref="ReadCancellationList"/>).</item>
/// <item>an optional expiry height, set at registration or later by the registrar (set_expiry); from it the account
/// is refused until renewed or cancelled.</item>
/// </list>
/// Every method is a transaction, emits an event and changes nothing when it refuses.
/// </summary>
public sealed class AccountRegistry : ISystemContract
{
    public const string ContractName = "system.accounts";

    /// <summary>The one method a locked (or frozen) account may call, with its old key.</summary>
    public const string CancelKeyResetMethod = "cancel_key_reset";

    /// <summary>The most entries one read of the cancellation list returns.</summary>
    public const int CancellationPageEntriesMax = 1_000;

    /// <summary>Reasons are evidence, not documents: bounded so that a decision stays a small record.</summary>
    public const int ReasonBytesMax = 512;

    public string Name => ContractName;

    public uint Version => 1;

    public static byte[] RecordKey(AccountId account) => StateKeys.For(ContractName, "account/", account);

    /// <summary>The number of cancellation list entries (8 bytes, big-endian).</summary>
    public static byte[] CancellationCountKey { get; } = StateKeys.For(ContractName, "cancelled-count");

    /// <summary>Entry <paramref name="sequence"/> (from 0) of the cancellation list: a <see cref="CancellationEntry"/>.</summary>
    public static byte[] CancellationEntryKey(ulong sequence)
    {
        var key = new byte["cancelled/"u8.Length + sizeof(ulong)];
        "cancelled/"u8.CopyTo(key);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan("cancelled/"u8.Length), sequence);
        return StateKeys.For(ContractName, key);
    }

    /// <summary>The record as stored. A reset past its window may not be stored yet: see <see cref="LoadCurrent"/>.</summary>
    public static AccountRecord? Load(IStateReader state, AccountId account) =>
        state.TryGet(RecordKey(account), out var bytes) ? Parse(account, bytes) : null;

    /// <summary>Records parsed before, by account, with the encoding each was parsed from.</summary>
    private static readonly ConcurrentDictionary<AccountId, (byte[] Encoded, AccountRecord Parsed)> ParsedRecords = new();

    /// <summary>How many parsed records are kept before the cache starts again.</summary>
    private const int ParsedRecordsMax = 4_096;

    /// <summary>
    /// <paramref name="account"/>'s record parsed from <paramref name="encoded"/>: a copy of the one parsed before
    /// when the encoding is byte for byte the same. Every transfer reads its sender's and recipient's records, at
    /// admission and in execution, and parsing copies their keys and strings; a copy shares them (they are
    /// immutable), so the caller may change its record as freely as a freshly parsed one.
    /// </summary>
    public static AccountRecord Parse(AccountId account, byte[] encoded)
    {
        if (ParsedRecords.TryGetValue(account, out var cached) && cached.Encoded.AsSpan().SequenceEqual(encoded)) return cached.Parsed.Clone();
        var parsed = AccountRecord.Parser.ParseFrom(encoded);
        if (ParsedRecords.Count >= ParsedRecordsMax) ParsedRecords.Clear();
        ParsedRecords[account] = ((byte[])encoded.Clone(), parsed.Clone());
        return parsed;
    }

    /// <summary>The record as it stands at <paramref name="height"/>: a key reset whose window has passed is in force.</summary>
    public static AccountRecord? LoadCurrent(IStateReader state, AccountId account, ulong height) =>
        Load(state, account) is { } record ? Current(record, height) : null;

    /// <summary>
    /// <paramref name="record"/> with a key reset whose lock window has passed put in force; the same instance when
    /// nothing changes (so a caller can tell whether to store it).
    /// </summary>
    public static AccountRecord Current(AccountRecord record, ulong height)
    {
        if (record.PendingKeyReset is not { } reset || height < reset.UnlockHeight) return record;
        var current = record.Clone();
        current.PublicKey = reset.PublicKey;
        current.PendingKeyReset = null;
        return current;
    }

    /// <summary>True while a key reset waits out its window: the account may only cancel it.</summary>
    public static bool IsLocked(AccountRecord record, ulong height) => record.PendingKeyReset is { } reset && height < reset.UnlockHeight;

    public static bool IsExpired(AccountRecord record, ulong height) => record.ExpiresAtHeight != 0 && height >= record.ExpiresAtHeight;

    /// <summary>
    /// Refuses a transaction not signed with the account's key. The new key of a pending reset is refused as
    /// <see cref="ErrorCode.AccountLocked"/> (the reset exists but is not yet in force), any other key as
    /// <see cref="ErrorCode.SignatureInvalid"/>. <paramref name="record"/> must be <see cref="Current"/>.
    /// </summary>
    public static void RequireSigningKey(AccountRecord record, ReadOnlySpan<byte> publicKey, ulong height)
    {
        if (record.PublicKey.Span.SequenceEqual(publicKey)) return;
        if (record.PendingKeyReset is { } reset && reset.PublicKey.Span.SequenceEqual(publicKey))
        {
            throw new ContractFailure(ErrorCode.AccountLocked, $"the new key of account {Id(record)} is in force from height {reset.UnlockHeight}");
        }

        throw new ContractFailure(ErrorCode.SignatureInvalid, "the signing key is not the key registered for the sender");
    }

    /// <summary>
    /// Refuses a sender that may not act at <paramref name="height"/>: cancelled, expired, frozen, or locked by a
    /// pending key reset. Cancelling the pending reset stays open to a frozen or locked account: it moves no asset
    /// and is the owner's only defence against a reset it did not ask for.
    /// </summary>
    public static void RequireSenderMayAct(AccountRecord record, ulong height, string contract, string method)
    {
        RequireNotCancelledOrExpired(record, height);
        if (record.Status is not (AccountStatus.Active or AccountStatus.Frozen)) throw new ContractFailure(ErrorCode.PermissionDenied, $"account {Id(record)} is not active");
        if (contract == ContractName && method == CancelKeyResetMethod) return;
        if (record.Status == AccountStatus.Frozen) throw new ContractFailure(ErrorCode.AccountFrozen, $"account {Id(record)} is frozen");
        if (IsLocked(record, height))
        {
            throw new ContractFailure(ErrorCode.AccountLocked, $"account {Id(record)} is locked by a key reset until height {record.PendingKeyReset.UnlockHeight}");
        }
    }

    /// <summary>Refuses an account that may not receive an asset: cancelled, expired, frozen or locked.</summary>
    public static void RequireMayReceive(AccountRecord record, ulong height)
    {
        RequireNotCancelledOrExpired(record, height);
        if (record.Status == AccountStatus.Frozen) throw new ContractFailure(ErrorCode.AccountFrozen, $"account {Id(record)} is frozen");
        if (IsLocked(record, height)) throw new ContractFailure(ErrorCode.AccountLocked, $"account {Id(record)} is locked by a key reset");
        if (record.Status != AccountStatus.Active) throw new ContractFailure(ErrorCode.PermissionDenied, $"account {Id(record)} is not active");
    }

    public static ulong ReadCancellationCount(IStateReader state) =>
        state.TryGet(CancellationCountKey, out var bytes) ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;

    /// <summary>
    /// Up to <paramref name="count"/> (at most <see cref="CancellationPageEntriesMax"/>) entries of the
    /// cancellation list from sequence <paramref name="from"/>, oldest first; empty past the end.
    /// </summary>
    public static IReadOnlyList<CancellationEntry> ReadCancellationList(IStateReader state, ulong from, int count)
    {
        var total = ReadCancellationCount(state);
        var entries = new List<CancellationEntry>();
        for (var sequence = from; sequence < total && entries.Count < Math.Min(count, CancellationPageEntriesMax); sequence++)
        {
            if (state.TryGet(CancellationEntryKey(sequence), out var bytes)) entries.Add(CancellationEntry.Parser.ParseFrom(bytes));
        }

        return entries;
    }

    public void Invoke(ContractCall call)
    {
        switch (call.Method)
        {
            case "register":
                Register(call);
                break;
            case "freeze":
                Freeze(call);
                break;
            case "unfreeze":
                Unfreeze(call);
                break;
            case "request_key_reset":
                RequestKeyReset(call);
                break;
            case CancelKeyResetMethod:
                CancelKeyReset(call);
                break;
            case "cancel":
                Cancel(call);
                break;
            case "set_expiry":
                SetExpiry(call);
                break;
            default:
                throw new ContractFailure(ErrorCode.MethodNotFound, $"{Name} has no method '{call.Method}'");
        }
    }

    private static void Register(ContractCall call)
    {
        if (call.Caller.Type is not (AccountType.Administrator or AccountType.SpecialPrivilege))
        {
            throw new ContractFailure(ErrorCode.PermissionDenied, "only an organisation's administrator registers accounts");
        }

        var arguments = call.ParseArguments(RegisterAccountArguments.Parser);
        var id = ContractCall.ParseAccount(arguments.AccountId, "account_id");
        if (id.IsEmpty) throw new ContractFailure(ErrorCode.InvalidArguments, "the zero account id is reserved");
        RequirePublicKey(arguments.PublicKey, "public_key");
        if (arguments.Type == AccountType.Unspecified) throw new ContractFailure(ErrorCode.InvalidArguments, "account type is required");
        if (arguments.Type == AccountType.SpecialPrivilege && call.Caller.Type != AccountType.SpecialPrivilege)
        {
            throw new ContractFailure(ErrorCode.PermissionDenied, "only a special-privilege account creates another");
        }

        RequireFutureExpiry(call, arguments.ExpiresAtHeight);
        var key = RecordKey(id);
        if (call.Get(key) is not null) throw new ContractFailure(ErrorCode.InvalidArguments, $"account {id} exists already; ids are never reused");
        var record = new AccountRecord
        {
            AccountId = arguments.AccountId,
            Organisation = call.Caller.Organisation,
            PublicKey = arguments.PublicKey,
            Type = arguments.Type,
            Status = AccountStatus.Active,
            RegisteredHeight = call.Block.Height,
            ExpiresAtHeight = arguments.ExpiresAtHeight,
        };
        call.Put(key, record.ToByteArray());
        call.Emit("registered", record);
    }

    private static void Freeze(ContractCall call)
    {
        var arguments = call.ParseArguments(AccountDecisionArguments.Parser);
        var reason = RequireReason(arguments.Reason, required: true);
        var (id, record) = LoadTarget(call, arguments.AccountId, selfWhenEmpty: false);
        if (id == call.CallerId) throw new ContractFailure(ErrorCode.InvalidArguments, "an account does not freeze itself");
        RequireRegistrarOrRegulator(call, record, "freezes");
        RequireNotCancelled(record);
        if (record.Status == AccountStatus.Frozen) throw new ContractFailure(ErrorCode.InvalidArguments, $"account {id} is frozen already");

        var decision = Decide(call, reason);
        record.Status = AccountStatus.Frozen;
        record.Frozen = decision;
        Save(call, id, record, "frozen", decision);
    }

    private static void Unfreeze(ContractCall call)
    {
        var arguments = call.ParseArguments(AccountDecisionArguments.Parser);
        var reason = RequireReason(arguments.Reason, required: true);
        var (id, record) = LoadTarget(call, arguments.AccountId, selfWhenEmpty: false);
        RequireRegistrarOrRegulator(call, record, "unfreezes");
        RequireNotCancelled(record);
        if (record.Status != AccountStatus.Frozen) throw new ContractFailure(ErrorCode.InvalidArguments, $"account {id} is not frozen");

        // A registrar must not undo a supervisory freeze (SUP-5).
        if (record.Frozen?.ByRegulator == true && !call.CallerIsRegulator)
        {
            throw new ContractFailure(ErrorCode.PermissionDenied, $"account {id} was frozen by the regulator; only the regulator unfreezes it");
        }

        var decision = Decide(call, reason);
        record.Status = AccountStatus.Active;
        record.Frozen = null;
        Save(call, id, record, "unfrozen", decision);
    }

    private static void RequestKeyReset(ContractCall call)
    {
        var arguments = call.ParseArguments(KeyResetArguments.Parser);
        var reason = RequireReason(arguments.Reason, required: true);
        RequirePublicKey(arguments.NewPublicKey, "new_public_key");
        var (id, record) = LoadTarget(call, arguments.AccountId, selfWhenEmpty: false);
        RequireRegistrar(call, record, "resets keys");
        RequireNotCancelledOrExpired(record, call.Block.Height);

        // A frozen account's owner could still cancel, but the registrar unfreezes first so the two powers stay apart.
        if (record.Status == AccountStatus.Frozen) throw new ContractFailure(ErrorCode.AccountFrozen, $"account {id} is frozen");
        if (IsLocked(record, call.Block.Height))
        {
            throw new ContractFailure(ErrorCode.AccountLocked, $"a key reset of account {id} is pending until height {record.PendingKeyReset.UnlockHeight}");
        }

        if (record.PublicKey.Equals(arguments.NewPublicKey)) throw new ContractFailure(ErrorCode.InvalidArguments, "the new key is the account's key already");

        var height = call.Block.Height;
        var window = call.Limits.KeyResetLockBlocks;
        var decision = Decide(call, reason);
        record.PendingKeyReset = new PendingKeyReset
        {
            PublicKey = arguments.NewPublicKey,
            RequestedHeight = height,
            UnlockHeight = window > ulong.MaxValue - height ? ulong.MaxValue : height + window,
            RequestedBy = decision.By,
            Reason = reason,
        };
        Save(call, id, record, "key-reset-requested", decision);
    }

    private static void CancelKeyReset(ContractCall call)
    {
        var arguments = call.ParseArguments(AccountDecisionArguments.Parser);
        var reason = RequireReason(arguments.Reason, required: false);
        var (id, record) = LoadTarget(call, arguments.AccountId, selfWhenEmpty: true);

        // The executor let this through only with the account's current (old) key.
        if (id != call.CallerId) throw new ContractFailure(ErrorCode.PermissionDenied, "only the account itself cancels its key reset");
        if (!IsLocked(record, call.Block.Height)) throw new ContractFailure(ErrorCode.InvalidArguments, $"no key reset of account {id} is pending");

        record.PendingKeyReset = null;
        Save(call, id, record, "key-reset-cancelled", Decide(call, reason));
    }

    private static void Cancel(ContractCall call)
    {
        var arguments = call.ParseArguments(AccountDecisionArguments.Parser);
        var reason = RequireReason(arguments.Reason, required: true);
        var (id, record) = LoadTarget(call, arguments.AccountId, selfWhenEmpty: true);
        if (id != call.CallerId && !IsRegistrarOf(call.Caller, record) && !call.CallerIsRegulator)
        {
            throw new ContractFailure(ErrorCode.PermissionDenied, "only the account itself, its organisation's administrator or the regulator cancels it");
        }

        RequireNotCancelled(record);
        var decision = Decide(call, reason);
        record.Status = AccountStatus.Cancelled;
        record.Cancelled = decision;
        record.PendingKeyReset = null;

        var sequence = call.Get(CancellationCountKey) is { } bytes ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;
        var entry = new CancellationEntry { Sequence = sequence, AccountId = record.AccountId, Organisation = record.Organisation, Decision = decision };
        call.Put(CancellationEntryKey(sequence), entry.ToByteArray());
        var count = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(count, sequence + 1);
        call.Put(CancellationCountKey, count);
        Save(call, id, record, "cancelled", decision);
    }

    private static void SetExpiry(ContractCall call)
    {
        var arguments = call.ParseArguments(SetExpiryArguments.Parser);
        var reason = RequireReason(arguments.Reason, required: false);
        var (id, record) = LoadTarget(call, arguments.AccountId, selfWhenEmpty: false);
        RequireRegistrar(call, record, "sets expiry");
        RequireNotCancelled(record);
        RequireFutureExpiry(call, arguments.ExpiresAtHeight);

        record.ExpiresAtHeight = arguments.ExpiresAtHeight;
        Save(call, id, record, "expiry-set", Decide(call, reason));
    }

    /// <summary>The target account as it stands at this block (a reset past its window in force).</summary>
    private static (AccountId Id, AccountRecord Record) LoadTarget(ContractCall call, ByteString account, bool selfWhenEmpty)
    {
        var id = selfWhenEmpty && account.IsEmpty ? call.CallerId : ContractCall.ParseAccount(account, "account_id");
        var bytes = call.Get(RecordKey(id)) ?? throw new ContractFailure(ErrorCode.SenderUnknown, $"account {id} is not registered");
        return (id, Current(Parse(id, bytes), call.Block.Height));
    }

    private static void Save(ContractCall call, AccountId id, AccountRecord record, string eventName, AccountDecision decision)
    {
        call.Put(RecordKey(id), record.ToByteArray());
        call.Emit(eventName, new AccountEvent { AccountId = record.AccountId, Decision = decision, Record = record });
    }

    private static AccountDecision Decide(ContractCall call, string reason) => new()
    {
        By = call.CallerId.ToByteString(),
        Height = call.Block.Height,
        Reason = reason,
        ByRegulator = call.CallerIsRegulator,
        TransactionId = call.TransactionId.ToByteString(),
    };

    /// <summary>
    /// An administrator of the account's own organisation (ID-4: the registration authority). Special-privilege
    /// accounts answer only to another special-privilege account, as at registration.
    /// </summary>
    private static bool IsRegistrarOf(AccountRecord caller, AccountRecord target) =>
        caller.Organisation == target.Organisation
        && (caller.Type == AccountType.SpecialPrivilege || (caller.Type == AccountType.Administrator && target.Type != AccountType.SpecialPrivilege));

    private static void RequireRegistrar(ContractCall call, AccountRecord target, string what)
    {
        if (!IsRegistrarOf(call.Caller, target)) throw new ContractFailure(ErrorCode.PermissionDenied, $"only an administrator of {target.Organisation} {what} for its accounts");
    }

    private static void RequireRegistrarOrRegulator(ContractCall call, AccountRecord target, string what)
    {
        if (!IsRegistrarOf(call.Caller, target) && !call.CallerIsRegulator)
        {
            throw new ContractFailure(ErrorCode.PermissionDenied, $"only an administrator of {target.Organisation} or the regulator {what} this account");
        }
    }

    private static void RequireNotCancelled(AccountRecord record)
    {
        if (record.Status == AccountStatus.Cancelled) throw new ContractFailure(ErrorCode.AccountCancelled, $"account {Id(record)} is cancelled");
    }

    private static void RequireNotCancelledOrExpired(AccountRecord record, ulong height)
    {
        RequireNotCancelled(record);
        if (IsExpired(record, height)) throw new ContractFailure(ErrorCode.AccountExpired, $"account {Id(record)} expired at height {record.ExpiresAtHeight}");
    }

    private static void RequirePublicKey(ByteString key, string what)
    {
        if (key.Length != WireLimits.PublicKeySizeBytes || key[0] != 0x04) throw new ContractFailure(ErrorCode.InvalidArguments, $"{what} must be an uncompressed point");
    }

    private static void RequireFutureExpiry(ContractCall call, ulong expiresAtHeight)
    {
        if (expiresAtHeight != 0 && expiresAtHeight <= call.Block.Height)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"expiry height {expiresAtHeight} is not above the current height {call.Block.Height}");
        }
    }

    private static string RequireReason(string reason, bool required)
    {
        if (required && string.IsNullOrWhiteSpace(reason)) throw new ContractFailure(ErrorCode.InvalidArguments, "a reason is required");
        if (Encoding.UTF8.GetByteCount(reason) > ReasonBytesMax) throw new ContractFailure(ErrorCode.InvalidArguments, $"the reason is longer than {ReasonBytesMax} bytes");
        return reason;
    }

    private static string Id(AccountRecord record) =>
        AccountId.TryCreate(record.AccountId.Span, out var id) ? id.ToString() : Convert.ToHexString(record.AccountId.Span);
}
