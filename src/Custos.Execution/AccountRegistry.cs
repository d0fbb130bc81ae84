using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution;

/// <summary>
/// The account registry (system contract <c>system.accounts</c>). An account id is assigned at registration, is
/// never derived from a key and is never reused: records are never deleted, only cancelled (ID-2). The registry
/// binds each account to the public key its transactions must be signed with.
/// </summary>
public sealed class AccountRegistry : ISystemContract
{
    public const string ContractName = "system.accounts";

    public string Name => ContractName;

    public uint Version => 1;

    public static byte[] RecordKey(AccountId account) => StateKeys.For(ContractName, "account/", account);

    public static AccountRecord? Load(IStateReader state, AccountId account) =>
        state.TryGet(RecordKey(account), out var bytes) ? AccountRecord.Parser.ParseFrom(bytes) : null;

    public void Invoke(ContractCall call)
    {
        switch (call.Method)
        {
            case "register":
                Register(call);
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
        if (arguments.PublicKey.Length != WireLimits.PublicKeySizeBytes || arguments.PublicKey[0] != 0x04)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, "public_key must be an uncompressed point");
        }

        if (arguments.Type == AccountType.Unspecified) throw new ContractFailure(ErrorCode.InvalidArguments, "account type is required");
        if (arguments.Type == AccountType.SpecialPrivilege && call.Caller.Type != AccountType.SpecialPrivilege)
        {
            throw new ContractFailure(ErrorCode.PermissionDenied, "only a special-privilege account creates another");
        }

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
        };
        call.Put(key, record.ToByteArray());
        call.Emit("registered", record);
    }
}
