using System.Buffers.Binary;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Privacy.PrivateData;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Policy;

/// <summary>
/// The privacy policy as a system contract (<c>system.privacy</c>; JR/T 0184 §14.5, PRI-5): the policy changes only
/// through a transaction of the designated account (the standard's "super account"), and every change is kept
/// under its sequence number with who, when, which transaction and why.
/// </summary>
/// <remarks>
/// Designation: a chain starts with no designated account and <see cref="PrivacyPolicy.Default"/> in force. The
/// first <c>designate</c> call by a special-privilege account names the designated account (itself, or the account
/// in the arguments); from then on only the designated account may hand the role over. Refused calls leave no state
/// but are recorded, like every transaction, in their receipt with the typed error.
/// Commitments: <c>commit</c> records the salted commitment of a private record kept off chain at the entitled
/// organisations' nodes (§14.3.4). Only an account of an organisation the policy in force entitles to the collection
/// commits. The first commit of a key names no previous commitment; a later one (the value was rewritten) names the
/// commitment it replaces, so a stale or replayed writer cannot overwrite a newer value. The version counts commits.
/// </remarks>
public sealed class PrivacyPolicyContract : ISystemContract
{
    public const string ContractName = "system.privacy";
    public const int ReasonSizeBytesMax = 1024;

    public string Name => ContractName;

    public uint Version => 1;

    public static byte[] DesignatedKey { get; } = StateKeys.For(ContractName, "designated");

    public static byte[] PolicyKey { get; } = StateKeys.For(ContractName, "policy");

    public static byte[] ChangeCountKey { get; } = StateKeys.For(ContractName, "change-count");

    /// <summary>Where the commitment of one private record is kept: the address, length-prefixed, under <c>commitment/</c>.</summary>
    public static byte[] CommitmentKey(string contract, string collection, ReadOnlySpan<byte> key) =>
        StateKeys.For(ContractName, new LengthPrefixedWriter().AddRaw("commitment/"u8).Add(contract).Add(collection).Add(key).ToArray());

    /// <summary>The commitment the chain holds for a private record, or null when none was committed.</summary>
    public static PrivateDataCommitment? ReadCommitment(IStateReader state, string contract, string collection, ReadOnlySpan<byte> key) =>
        state.TryGet(CommitmentKey(contract, collection, key), out var bytes) ? PrivateDataCommitment.Parser.ParseFrom(bytes) : null;

    public static byte[] ChangeKey(ulong sequence)
    {
        var key = new byte["change/".Length + 8];
        Encoding.ASCII.GetBytes("change/").CopyTo(key, 0);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan("change/".Length), sequence);
        return StateKeys.For(ContractName, key);
    }

    /// <summary>The designated account, or null while none is designated.</summary>
    public static AccountId? ReadDesignated(IStateReader state) =>
        state.TryGet(DesignatedKey, out var bytes) && AccountId.TryCreate(bytes, out var id) ? id : null;

    public static ulong ReadChangeCount(IStateReader state) =>
        state.TryGet(ChangeCountKey, out var bytes) ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;

    /// <summary>Change number <paramref name="sequence"/> (from 1), or null.</summary>
    public static PrivacyPolicyChange? ReadChange(IStateReader state, ulong sequence) =>
        state.TryGet(ChangeKey(sequence), out var bytes) ? PrivacyPolicyChange.Parser.ParseFrom(bytes) : null;

    public void Invoke(ContractCall call)
    {
        switch (call.Method)
        {
            case "designate": Designate(call); break;
            case "set_policy": SetPolicy(call); break;
            case "commit": Commit(call); break;
            default: throw new ContractFailure(ErrorCode.MethodNotFound, $"{Name} has no method '{call.Method}'");
        }
    }

    private static void Designate(ContractCall call)
    {
        var arguments = call.ParseArguments(PrivacyDesignateArguments.Parser);
        var current = call.Get(DesignatedKey) is { } bytes && AccountId.TryCreate(bytes, out var id) ? id : (AccountId?)null;
        if (current is null)
        {
            if (call.Caller.Type != AccountType.SpecialPrivilege)
            {
                throw new ContractFailure(ErrorCode.NotAuthorised, "no account is designated yet: only a special-privilege account designates the first");
            }
        }
        else if (current.Value != call.CallerId)
        {
            throw new ContractFailure(ErrorCode.NotAuthorised, "only the designated privacy account hands its role over");
        }

        var designated = arguments.Account.IsEmpty ? call.CallerId : ContractCall.ParseAccount(arguments.Account, "account");
        if (call.Get(AccountRegistry.RecordKey(designated)) is null) throw new ContractFailure(ErrorCode.SenderUnknown, $"account {designated} is not registered");
        var reason = RequireReason(arguments.Reason);
        call.Put(DesignatedKey, designated.ToArray());
        Record(call, reason, change => change.Designated = designated.ToByteString());
    }

    private static void SetPolicy(ContractCall call)
    {
        var designated = call.Get(DesignatedKey) is { } bytes && AccountId.TryCreate(bytes, out var id) ? id : (AccountId?)null;
        if (designated is null || designated.Value != call.CallerId)
        {
            throw new ContractFailure(ErrorCode.NotAuthorised, "only the designated privacy account changes the privacy policy");
        }

        var arguments = call.ParseArguments(PrivacySetPolicyArguments.Parser);
        var reason = RequireReason(arguments.Reason);
        if (arguments.Policy is null) throw new ContractFailure(ErrorCode.InvalidArguments, "set_policy needs a policy");
        var currentVersion = call.Get(PolicyKey) is { } current ? PrivacyPolicyRecord.Parser.ParseFrom(current).Version : PrivacyPolicy.Default.Version;
        if (arguments.Policy.Version != currentVersion + 1)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"the new policy's version must be {currentVersion + 1}, not {arguments.Policy.Version}");
        }

        if (!PrivacyPolicy.TryCreate(arguments.Policy, out var policy, out var error)) throw new ContractFailure(error.Code, error.Message);
        call.Put(PolicyKey, policy.Record.ToByteArray());
        Record(call, reason, change => change.Policy = policy.Record);
    }

    private static void Commit(ContractCall call)
    {
        var arguments = call.ParseArguments(PrivacyCommitArguments.Parser);
        if (!IsName(arguments.Contract) || !IsName(arguments.Collection))
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"contract and collection names have 1 to {PrivacyPolicy.NameLengthMax} bytes");
        }

        if (arguments.Key.IsEmpty || arguments.Key.Length > PrivateDataStore.KeySizeBytesMax)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"a private key has 1 to {PrivateDataStore.KeySizeBytesMax} bytes");
        }

        if (arguments.Commitment.Length != Hash32.SizeBytes) throw new ContractFailure(ErrorCode.InvalidArguments, "a commitment is 32 bytes");
        if (!arguments.PreviousCommitment.IsEmpty && arguments.PreviousCommitment.Length != Hash32.SizeBytes)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, "the previous commitment is empty or 32 bytes");
        }

        var policy = call.Get(PolicyKey) is { } policyBytes ? PrivacyPolicy.FromStored(policyBytes) : PrivacyPolicy.Default;
        if (!policy.IsEntitled(call.Caller.Organisation, arguments.Contract, arguments.Collection))
        {
            throw new ContractFailure(ErrorCode.NotEntitled, $"organisation {call.Caller.Organisation} is not entitled to {arguments.Contract}/{arguments.Collection}");
        }

        var key = CommitmentKey(arguments.Contract, arguments.Collection, arguments.Key.Span);
        var current = call.Get(key) is { } currentBytes ? PrivateDataCommitment.Parser.ParseFrom(currentBytes) : null;
        if (current is null && !arguments.PreviousCommitment.IsEmpty)
        {
            throw new ContractFailure(ErrorCode.CommitmentMismatch, "nothing is committed for this key yet: give no previous commitment");
        }

        if (current is not null)
        {
            if (!current.Commitment.Equals(arguments.PreviousCommitment))
            {
                throw new ContractFailure(ErrorCode.CommitmentMismatch, "the previous commitment is not the one on chain (a newer value was committed, or none was named)");
            }

            if (current.Commitment.Equals(arguments.Commitment)) throw new ContractFailure(ErrorCode.InvalidArguments, "this commitment is the one on chain already");
        }

        var record = new PrivateDataCommitment
        {
            Commitment = arguments.Commitment,
            Version = (current?.Version ?? 0) + 1,
            By = call.CallerId.ToByteString(),
            Organisation = call.Caller.Organisation,
            Height = call.Block.Height,
            TransactionId = call.TransactionId.ToByteString(),
        };
        call.Put(key, record.ToByteArray());
        call.Emit("private_data_committed", record);
    }

    private static bool IsName(string name) => !string.IsNullOrEmpty(name) && Encoding.UTF8.GetByteCount(name) <= PrivacyPolicy.NameLengthMax;

    private static string RequireReason(string reason)
    {
        if (string.IsNullOrWhiteSpace(reason)) throw new ContractFailure(ErrorCode.InvalidArguments, "a reason is required");
        if (Encoding.UTF8.GetByteCount(reason) > ReasonSizeBytesMax) throw new ContractFailure(ErrorCode.InvalidArguments, $"the reason is longer than {ReasonSizeBytesMax} bytes");
        return reason;
    }

    private static void Record(ContractCall call, string reason, Action<PrivacyPolicyChange> fill)
    {
        var sequence = (call.Get(ChangeCountKey) is { } bytes ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0) + 1;
        var change = new PrivacyPolicyChange
        {
            Sequence = sequence,
            By = call.CallerId.ToByteString(),
            Height = call.Block.Height,
            TransactionId = call.TransactionId.ToByteString(),
            Reason = reason,
            Method = call.Method,
        };
        fill(change);
        call.Put(ChangeKey(sequence), change.ToByteArray());
        var count = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(count, sequence);
        call.Put(ChangeCountKey, count);
        call.Emit(call.Method == "designate" ? "privacy_designated" : "privacy_policy_changed", change);
    }
}
