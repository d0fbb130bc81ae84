using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution;

/// <summary>
/// A basic fungible token (system contract <c>token</c>): balances in the smallest unit as unsigned integers, a
/// total supply that only special-privilege accounts can grow, and transfers between registered accounts. It never
/// creates or destroys value in a transfer: the sum of balances always equals the supply.
/// </summary>
public sealed class TokenContract : ISystemContract
{
    public const string ContractName = "token";

    public string Name => ContractName;

    public uint Version => 1;

    public static byte[] BalanceKey(AccountId account) => StateKeys.For(ContractName, "balance/", account);

    public static byte[] SupplyKey { get; } = StateKeys.For(ContractName, "supply");

    public static ulong ReadBalance(IStateReader state, AccountId account) =>
        state.TryGet(BalanceKey(account), out var bytes) ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;

    public static ulong ReadSupply(IStateReader state) =>
        state.TryGet(SupplyKey, out var bytes) ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;

    public void Invoke(ContractCall call)
    {
        switch (call.Method)
        {
            case "transfer":
                Transfer(call);
                break;
            case "mint":
                Mint(call);
                break;
            default:
                throw new ContractFailure(ErrorCode.MethodNotFound, $"{Name} has no method '{call.Method}'");
        }
    }

    private static void Transfer(ContractCall call)
    {
        var arguments = call.ParseArguments(TransferArguments.Parser);
        var to = ContractCall.ParseAccount(arguments.To, "to");
        if (arguments.Amount == 0) throw new ContractFailure(ErrorCode.InvalidArguments, "amount must be positive");
        RequireActiveAccount(call, to);
        var from = call.CallerId;
        SupervisionContract.EnforceAsset(call, ContractName, from);
        SupervisionContract.EnforceAsset(call, ContractName, to);
        var fromBalance = Read(call, BalanceKey(from));
        if (fromBalance < arguments.Amount)
        {
            throw new ContractFailure(ErrorCode.InsufficientFunds, $"balance {fromBalance} is less than {arguments.Amount}");
        }

        if (from != to)
        {
            var toBalance = Read(call, BalanceKey(to));
            if (toBalance > ulong.MaxValue - arguments.Amount) throw new ContractFailure(ErrorCode.InvalidArguments, "the recipient's balance would overflow");
            Write(call, BalanceKey(from), fromBalance - arguments.Amount);
            Write(call, BalanceKey(to), toBalance + arguments.Amount);
        }

        call.Emit("transfer", new TransferEvent { From = from.ToByteString(), To = arguments.To, Amount = arguments.Amount });
    }

    private static void Mint(ContractCall call)
    {
        if (call.Caller.Type != AccountType.SpecialPrivilege)
        {
            throw new ContractFailure(ErrorCode.PermissionDenied, "only a special-privilege account (the issuer) mints");
        }

        var arguments = call.ParseArguments(MintArguments.Parser);
        var to = ContractCall.ParseAccount(arguments.To, "to");
        if (arguments.Amount == 0) throw new ContractFailure(ErrorCode.InvalidArguments, "amount must be positive");
        RequireActiveAccount(call, to);
        var supply = Read(call, SupplyKey);
        if (supply > ulong.MaxValue - arguments.Amount) throw new ContractFailure(ErrorCode.InvalidArguments, "the supply would overflow");
        Write(call, SupplyKey, supply + arguments.Amount);
        Write(call, BalanceKey(to), Read(call, BalanceKey(to)) + arguments.Amount);
        call.Emit("mint", new TransferEvent { To = arguments.To, Amount = arguments.Amount });
    }

    private static void RequireActiveAccount(ContractCall call, AccountId account)
    {
        var record = call.Get(AccountRegistry.RecordKey(account));
        if (record is null) throw new ContractFailure(ErrorCode.SenderUnknown, $"account {account} is not registered");
        AccountRegistry.RequireMayReceive(AccountRegistry.Parse(account, record), call.Block.Height);
    }

    private static ulong Read(ContractCall call, byte[] key) => call.Get(key) is { } bytes ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;

    private static void Write(ContractCall call, byte[] key, ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        call.Put(key, bytes);
    }
}
