using System.Diagnostics.CodeAnalysis;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution.Tests;

/// <summary>
/// A ledger with the contract registry and a recording <see cref="FakeContractRuntime"/>: registry and dispatch are
/// tested without WASM. Accounts: 0 special-privilege (org1), 1 and 2 ordinary, 3 an administrator of the regulator.
/// Governance is stood in for by <see cref="ContractApprover"/>.
/// </summary>
internal sealed class ContractLedger : IStateReader
{
    public const string ChainId = "custos-contracts-test";
    public const int Regulator = 3;
    private readonly SortedDictionary<byte[], byte[]> _state = new(ByteKeyComparer.Instance);
    private ulong _nonce;

    public ContractLedger(bool withRuntime = true)
    {
        Executor = new BlockExecutor(Suite, [.. BlockExecutor.StandardContracts, new ContractRegistryContract(Runtime), new ContractApprover()], runtime: withRuntime ? Runtime : null);
        for (var i = 0; i < 4; i++)
        {
            Keys.Add(Suite.GenerateKey());
            Ids.Add(new AccountId(0, (ulong)i + 1));
        }

        Apply(GenesisState.Build(
            Ids.Select((id, i) => new GenesisAccount(id, i == Regulator ? "regulator" : "org1", Keys[i].PublicKey.ToArray(),
                i == 0 ? AccountType.SpecialPrivilege : i == Regulator ? AccountType.Administrator : AccountType.Ordinary, 1_000)),
            [new GenesisOrganisationRole("org1", OrganisationRole.Member), new GenesisOrganisationRole("regulator", OrganisationRole.Regulator)]));
    }

    public ICryptoSuite Suite { get; } = CryptoSuites.Intl;

    public FakeContractRuntime Runtime { get; } = new();

    public BlockExecutor Executor { get; }

    public List<SoftwareKey> Keys { get; } = [];

    public List<AccountId> Ids { get; } = [];

    public ulong Height { get; private set; }

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value) => _state.TryGetValue(key.ToArray(), out value);

    private void Apply(WriteSet writes)
    {
        foreach (var (key, value) in writes.Changes)
        {
            if (value is null) _state.Remove(key);
            else _state[key] = value;
        }
    }

    public Receipt Run(int from, string contract, string method, ByteString arguments, uint version = 1)
    {
        Height++;
        var body = new TransactionBody
        {
            ChainId = ChainId,
            Sender = Ids[from].ToByteString(),
            Nonce = ++_nonce,
            ExpiryHeight = Height + 10,
            Contract = contract,
            ContractVersion = version,
            Method = method,
            Arguments = arguments,
            Suite = Suite.Id,
        }.ToByteArray();
        var envelope = new TransactionEnvelope
        {
            Body = ByteString.CopyFrom(body),
            PublicKey = ByteString.CopyFrom(Keys[from].PublicKey.Encoded),
            Signature = ByteString.CopyFrom(Keys[from].SignObject(ObjectType.Transaction, body)),
        };
        if (!Decoders.TryDecodeTransaction(envelope.ToByteArray(), out var transaction, out var error)) throw error.ToException();
        var result = Executor.Execute(new BlockContext(ChainId, Height, 1_767_225_600_000 + Height * 1000, 0), [transaction], this);
        Apply(result.Writes);
        return result.Receipts[0];
    }

    public Receipt Approve(string name, uint version, byte[] module, string migrate = "") =>
        Run(0, ContractApprover.ContractName, "approve",
            new ContractApproval { Name = name, Version = version, CodeHash = Suite.Hash(module).ToByteString(), MigrateMethod = migrate }.ToByteString());

    public Receipt Deploy(string name, uint version, byte[] module) =>
        Run(1, ContractRegistry.Namespace, "deploy", new ContractDeployArguments { Name = name, Version = version, Module = ByteString.CopyFrom(module) }.ToByteString());

    public Receipt Govern(string method, string name) =>
        Run(0, ContractApprover.ContractName, method, new ContractLifecycleEvent { Name = name, Proposal = "p-" + method, Reason = "because" }.ToByteString());

    public Receipt Call(string name, string method, uint version = 1) => Run(1, name, method, ByteString.Empty, version);

    public void Install(string name, byte[] module, uint version = 1, string migrate = "")
    {
        Assert.Equal(ErrorCode.Ok, Approve(name, version, module, migrate).Code);
        var receipt = Deploy(name, version, module);
        Assert.True(receipt.Code == ErrorCode.Ok, receipt.Message);
    }
}

/// <summary>Stands in for governance: carries out approvals, freezes and abolitions at once.</summary>
internal sealed class ContractApprover : ISystemContract
{
    public const string ContractName = "test.approver";

    public string Name => ContractName;

    public uint Version => 1;

    public void Invoke(ContractCall call)
    {
        if (call.Method == "approve")
        {
            var approval = call.ParseArguments(ContractApproval.Parser);
            ContractRegistry.Approve(call, approval.Name, approval.Version, approval.CodeHash.Span, approval.MigrateMethod, "p-approve");
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

/// <summary>
/// A runtime without WASM: a module whose first byte is 0xFF fails the checks; a call writes key "d" + method of its
/// contract, and method "fail" fails after writing. It counts the calls per (contract, version, method).
/// </summary>
internal sealed class FakeContractRuntime : IContractRuntime
{
    public Dictionary<string, int> Calls { get; } = [];

    public ContractCheckReport Check(ReadOnlySpan<byte> module) => module.Length > 0 && module[0] == 0xFF
        ? new ContractCheckReport([new ContractFinding("FAKE1", FindingSeverity.Error, "offset 0x0", "refused by the fake")], [], [])
        : new ContractCheckReport([new ContractFinding("FAKE2", FindingSeverity.Warning, "offset 0x0", "only a warning")], [], ["run"]);

    public void Invoke(ContractCall call, ApplicationContract contract)
    {
        var key = $"{contract.Name}/{contract.Version}/{call.Method}";
        Calls[key] = Calls.GetValueOrDefault(key) + 1;
        call.Put(StateKeys.For(contract.Name, "d" + call.Method), [1]);
        if (call.Method == "fail") throw new ContractFailure(ErrorCode.PermissionDenied, "fake failure");
    }
}
