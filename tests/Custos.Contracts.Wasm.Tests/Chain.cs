using System.Diagnostics.CodeAnalysis;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Contracts.Wasm.Tests;

/// <summary>
/// A chain in memory with the WASM runtime, the contract registry and a stand-in for governance
/// (<see cref="TestGovernance"/>), advanced block by block through the real executor. Account 0 is special-privilege.
/// </summary>
internal sealed class Chain : IStateReader
{
    public const string ChainId = "custos-wasm-test";
    private readonly SortedDictionary<byte[], byte[]> _state = new(ByteKeyComparer.Instance);

    public Chain(WasmContractRuntime runtime, int accounts = 3, ulong balance = 1_000_000, ICryptoSuite? suite = null)
    {
        Suite = suite ?? CryptoSuites.Gm;
        Runtime = runtime;
        Executor = new BlockExecutor(Suite, [.. BlockExecutor.StandardContracts, new ContractRegistryContract(runtime), new TestGovernance()], runtime: runtime);
        for (var i = 0; i < accounts; i++)
        {
            Keys.Add(Suite.GenerateKey());
            Ids.Add(new AccountId(0, (ulong)i + 1));
        }

        Apply(GenesisState.Build(Ids.Select((id, i) =>
            new GenesisAccount(id, i % 2 == 0 ? "org1" : "org2", Keys[i].PublicKey.ToArray(), i == 0 ? AccountType.SpecialPrivilege : AccountType.Ordinary, balance))));
    }

    public ICryptoSuite Suite { get; }

    public WasmContractRuntime Runtime { get; }

    public BlockExecutor Executor { get; }

    public List<SoftwareKey> Keys { get; } = [];

    public List<AccountId> Ids { get; } = [];

    public ulong Height { get; private set; }

    private ulong _nonce;

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value) => _state.TryGetValue(key.ToArray(), out value);

    public IEnumerable<KeyValuePair<byte[], byte[]>> Entries => _state;

    public void Apply(WriteSet writes)
    {
        foreach (var (key, value) in writes.Changes)
        {
            if (value is null) _state.Remove(key);
            else _state[key] = value;
        }
    }

    public BlockExecutionResult Execute(params Transaction[] transactions)
    {
        Height++;
        var result = Executor.Execute(new BlockContext(ChainId, Height, 1_767_225_600_000 + Height * 1000, 0), transactions, this);
        Apply(result.Writes);
        return result;
    }

    public Receipt Run(Transaction transaction) => Execute(transaction).Receipts[0];

    public Transaction Sign(int from, string contract, string method, ReadOnlySpan<byte> arguments, uint version = 1, ulong gasLimit = 0)
    {
        var body = new TransactionBody
        {
            ChainId = ChainId,
            Sender = Ids[from].ToByteString(),
            Nonce = ++_nonce,
            ExpiryHeight = Height + 100,
            Contract = contract,
            ContractVersion = version,
            Method = method,
            Arguments = ByteString.CopyFrom(arguments),
            Suite = Suite.Id,
            GasLimit = gasLimit,
        };
        var bodyBytes = body.ToByteArray();
        var envelope = new TransactionEnvelope
        {
            Body = ByteString.CopyFrom(bodyBytes),
            PublicKey = ByteString.CopyFrom(Keys[from].PublicKey.Encoded),
            Signature = ByteString.CopyFrom(Keys[from].SignObject(ObjectType.Transaction, bodyBytes)),
        };
        if (!Decoders.TryDecodeTransaction(envelope.ToByteArray(), out var transaction, out var error)) throw error.ToException();
        return transaction;
    }

    public Receipt Approve(string name, uint version, byte[] module, string migrate = "") =>
        Run(Sign(0, TestGovernance.ContractName, "approve", new ContractApproval
        {
            Name = name,
            Version = version,
            CodeHash = Suite.Hash(module).ToByteString(),
            MigrateMethod = migrate,
        }.ToByteArray()));

    public Receipt Deploy(string name, uint version, byte[] module, int from = 1) =>
        Run(Sign(from, ContractRegistry.Namespace, "deploy", new ContractDeployArguments { Name = name, Version = version, Module = ByteString.CopyFrom(module) }.ToByteArray()));

    /// <summary>Approves and deploys; fails the test unless both succeed.</summary>
    public void Install(string name, byte[] module, uint version = 1, string migrate = "")
    {
        Assert.Equal(ErrorCode.Ok, Approve(name, version, module, migrate).Code);
        var receipt = Deploy(name, version, module);
        Assert.True(receipt.Code == ErrorCode.Ok, receipt.Message);
    }

    public Receipt Lifecycle(string method, string name) =>
        Run(Sign(0, TestGovernance.ContractName, method, new ContractLifecycleEvent { Name = name, Reason = "test", Proposal = "p-" + method }.ToByteArray()));

    public Receipt Call(int from, string contract, string method, byte[]? arguments = null, uint version = 1, ulong gasLimit = 0) =>
        Run(Sign(from, contract, method, arguments ?? [], version, gasLimit));

    /// <summary>A contract's value for <paramref name="key"/> (its data namespace), or null.</summary>
    public byte[]? Data(string contract, string key) => TryGet(StateKeys.For(contract, "d" + key), out var value) ? value : null;

    /// <summary>The 24-byte arguments of the token example: account id and a little-endian amount.</summary>
    public byte[] TokenArguments(int to, ulong amount)
    {
        var bytes = new byte[24];
        Ids[to].CopyTo(bytes);
        BitConverter.TryWriteBytes(bytes.AsSpan(16), amount);
        return bytes;
    }

    public ulong TokenBalance(string contract, int account)
    {
        var key = new byte[17];
        key[0] = (byte)'b';
        Ids[account].CopyTo(key.AsSpan(1));
        return TryGet(StateKeys.For(contract, [(byte)'d', .. key]), out var value) ? BitConverter.ToUInt64(value) : 0;
    }
}

/// <summary>Stands in for governance (G's system.governance): carries out what a passed proposal would, at once.</summary>
internal sealed class TestGovernance : ISystemContract
{
    public const string ContractName = "test.governance";

    public string Name => ContractName;

    public uint Version => 1;

    public void Invoke(ContractCall call)
    {
        if (call.Method == "approve")
        {
            var approval = call.ParseArguments(ContractApproval.Parser);
            ContractRegistry.Approve(call, approval.Name, approval.Version, approval.CodeHash.Span, approval.MigrateMethod, "p-approve-" + approval.Name + approval.Version);
            return;
        }

        var change = call.ParseArguments(ContractLifecycleEvent.Parser);
        switch (call.Method)
        {
            case "freeze": ContractRegistry.Freeze(call, change.Name, change.Proposal, change.Reason); break;
            case "unfreeze": ContractRegistry.Unfreeze(call, change.Name, change.Proposal, change.Reason); break;
            case "abolish": ContractRegistry.Abolish(call, change.Name, change.Proposal, change.Reason); break;
            default: throw new ContractFailure(ErrorCode.MethodNotFound, call.Method);
        }
    }
}
