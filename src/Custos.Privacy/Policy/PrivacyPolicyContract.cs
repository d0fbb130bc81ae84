using System.Buffers.Binary;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
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
