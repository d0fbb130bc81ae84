using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Contracts.Wasm.Tests;

public sealed class WasmExecutionTests
{
    private static Chain NewChain() => new(SharedRuntime.Instance);

    private static Chain WithToken()
    {
        var chain = NewChain();
        chain.Install("coin", ExampleContracts.Module("token"));
        Assert.Equal(ErrorCode.Ok, chain.Call(0, "coin", "mint", chain.TokenArguments(1, 1_000)).Code);
        return chain;
    }

    [Fact]
    public void Token_transfer_moves_the_amount_and_emits_an_event()
    {
        var chain = WithToken();
        var receipt = chain.Call(1, "coin", "transfer", chain.TokenArguments(2, 300));
        Assert.True(receipt.Code == ErrorCode.Ok, receipt.Message);
        Assert.Equal(700UL, chain.TokenBalance("coin", 1));
        Assert.Equal(300UL, chain.TokenBalance("coin", 2));
        var transfer = Assert.Single(receipt.Events);
        Assert.Equal("coin", transfer.Contract);
        Assert.Equal("transfer", transfer.Name);
        Assert.Equal(40, transfer.Data.Length);
        Assert.True(receipt.GasUsed > 0);
    }

    [Fact]
    public void Transfer_above_the_balance_fails_with_InsufficientFunds_and_changes_nothing()
    {
        var chain = WithToken();
        var receipt = chain.Call(1, "coin", "transfer", chain.TokenArguments(2, 1_001));
        Assert.Equal(ErrorCode.InsufficientFunds, receipt.Code);
        Assert.Contains("insufficient funds", receipt.Message);
        Assert.Equal(1_000UL, chain.TokenBalance("coin", 1));
        Assert.Equal(0UL, chain.TokenBalance("coin", 2));
    }

    [Fact]
    public void Mint_by_an_ordinary_account_is_refused()
    {
        var chain = WithToken();
        Assert.Equal(ErrorCode.PermissionDenied, chain.Call(1, "coin", "mint", chain.TokenArguments(1, 5)).Code);
    }

    [Fact]
    public void Deploy_of_a_float_module_is_refused_with_its_findings()
    {
        var chain = NewChain();
        var module = ExampleContracts.Module("float");
        Assert.Equal(ErrorCode.Ok, chain.Approve("floaty", 1, module).Code);
        var receipt = chain.Deploy("floaty", 1, module);
        Assert.Equal(ErrorCode.ContractRejected, receipt.Code);
        Assert.Contains("CK020", receipt.Message);
        Assert.Equal(ErrorCode.ContractNotFound, chain.Call(1, "floaty", "run").Code);
    }

    [Fact]
    public void Deploy_without_approval_or_with_other_code_is_refused()
    {
        var chain = NewChain();
        var token = ExampleContracts.Module("token");
        Assert.Equal(ErrorCode.ContractNotApproved, chain.Deploy("coin", 1, token).Code);
        Assert.Equal(ErrorCode.Ok, chain.Approve("coin", 1, token).Code);
        Assert.Equal(ErrorCode.ContractNotApproved, chain.Deploy("coin", 1, ExampleContracts.Module("faults")).Code);
        Assert.Equal(ErrorCode.ContractNotApproved, chain.Deploy("coin", 2, token).Code);
        Assert.Equal(ErrorCode.Ok, chain.Deploy("coin", 1, token).Code);
    }

    [Fact]
    public void Out_of_fuel_changes_nothing_and_reports_OutOfGas()
    {
        var chain = NewChain();
        chain.Install("faults", ExampleContracts.Module("faults"));
        var receipt = chain.Call(1, "faults", "spin", gasLimit: 200_000);
        Assert.Equal(ErrorCode.OutOfGas, receipt.Code);
        Assert.Equal(200_000UL, receipt.GasUsed);
        Assert.Null(chain.Data("faults", "written"));
        Assert.Empty(receipt.Events);
    }

    [Fact]
    public void Trap_rolls_back_the_writes_made_before_it()
    {
        var chain = NewChain();
        chain.Install("faults", ExampleContracts.Module("faults"));
        var receipt = chain.Call(1, "faults", "trap");
        Assert.Equal(ErrorCode.ContractTrapped, receipt.Code);
        Assert.Contains("Unreachable", receipt.Message);
        Assert.Null(chain.Data("faults", "written"));
    }

    [Fact]
    public void Typed_failure_keeps_its_code_and_rolls_back()
    {
        var chain = NewChain();
        chain.Install("faults", ExampleContracts.Module("faults"));
        var receipt = chain.Call(1, "faults", "refuse");
        Assert.Equal(ErrorCode.PermissionDenied, receipt.Code);
        Assert.Contains("refused on purpose", receipt.Message);
        Assert.Null(chain.Data("faults", "written"));
        Assert.Equal(ErrorCode.Ok, chain.Call(1, "faults", "write").Code);
        Assert.Equal("written"u8.ToArray(), chain.Data("faults", "written"));
    }

    [Fact]
    public void Unknown_method_is_MethodNotFound()
    {
        var chain = NewChain();
        chain.Install("faults", ExampleContracts.Module("faults"));
        Assert.Equal(ErrorCode.MethodNotFound, chain.Call(1, "faults", "memory").Code);
        Assert.Equal(ErrorCode.MethodNotFound, chain.Call(1, "faults", "nothing").Code);
    }

    [Fact]
    public void Admitted_caller_calls_another_contract_and_gets_its_result()
    {
        var chain = NewChain();
        chain.Install("counter", ExampleContracts.Module("counter"));
        chain.Install("vault", ExampleContracts.Module("vault"));
        Assert.Equal(ErrorCode.Ok, chain.Call(1, "vault", "bump").Code);
        var receipt = chain.Call(2, "vault", "bump");
        Assert.True(receipt.Code == ErrorCode.Ok, receipt.Message);
        Assert.Equal(2UL, BitConverter.ToUInt64(chain.Data("counter", "n")));
        Assert.Equal(2UL, BitConverter.ToUInt64(chain.Data("vault", "last")));
    }

    [Fact]
    public void Caller_the_callee_does_not_admit_is_denied()
    {
        var chain = NewChain();
        chain.Install("counter", ExampleContracts.Module("counter"));
        chain.Install("intruder", ExampleContracts.Module("vault"));
        var receipt = chain.Call(1, "intruder", "bump");
        Assert.Equal(ErrorCode.ContractCallDenied, receipt.Code);
        Assert.Null(chain.Data("counter", "n"));
    }

    [Fact]
    public void Callee_writes_roll_back_with_the_callers_failure()
    {
        var chain = NewChain();
        chain.Install("counter", ExampleContracts.Module("counter"));
        chain.Install("vault", ExampleContracts.Module("vault"));
        Assert.Equal(ErrorCode.PermissionDenied, chain.Call(1, "vault", "bump_then_fail").Code);
        Assert.Null(chain.Data("counter", "n"));
        Assert.Null(chain.Data("vault", "last"));
    }

    [Fact]
    public void Frozen_contract_is_refused_until_unfrozen_and_abolished_for_good()
    {
        var chain = WithToken();
        Assert.Equal(ErrorCode.Ok, chain.Lifecycle("freeze", "coin").Code);
        Assert.Equal(ErrorCode.ContractFrozen, chain.Call(1, "coin", "transfer", chain.TokenArguments(2, 1)).Code);
        Assert.Equal(ErrorCode.Ok, chain.Lifecycle("unfreeze", "coin").Code);
        Assert.Equal(ErrorCode.Ok, chain.Call(1, "coin", "transfer", chain.TokenArguments(2, 1)).Code);
        Assert.Equal(ErrorCode.Ok, chain.Lifecycle("abolish", "coin").Code);
        Assert.Equal(ErrorCode.ContractAbolished, chain.Call(1, "coin", "transfer", chain.TokenArguments(2, 1)).Code);
        Assert.Equal(ErrorCode.ContractAbolished, chain.Approve("coin", 2, ExampleContracts.Module("token")).Code);
    }

    [Fact]
    public void Upgrade_keeps_the_older_version_callable_and_migrates_once()
    {
        var chain = NewChain();
        var counter = ExampleContracts.Module("counter");
        chain.Install("counter", counter);
        chain.Install("vault", ExampleContracts.Module("vault"));
        Assert.Equal(ErrorCode.Ok, chain.Call(1, "vault", "bump").Code);

        chain.Install("counter", counter, version: 2, migrate: "migrate");
        Assert.Equal(1UL, BitConverter.ToUInt64(chain.Data("counter", "m")));
        Assert.Equal(ErrorCode.PermissionDenied, chain.Call(1, "counter", "migrate", version: 2).Code);
        Assert.Equal(ErrorCode.ContractVersionExists, chain.Deploy("counter", 2, counter).Code);
        Assert.Equal(1UL, BitConverter.ToUInt64(chain.Data("counter", "m")));

        // Version 1 stays on the ledger and callable; both versions share the contract's state.
        Assert.Equal(ErrorCode.Ok, chain.Call(1, "vault", "bump").Code);
        Assert.Equal(2UL, BitConverter.ToUInt64(chain.Data("counter", "n")));
        var record = ContractRegistry.ReadRecord(chain, "counter")!;
        Assert.Equal([1u, 2u], record.Versions);
        Assert.Equal(ErrorCode.ContractVersionExists, chain.Approve("counter", 1, counter).Code);
    }

    [Fact]
    public void Range_scan_returns_keys_in_byte_order()
    {
        var chain = NewChain();
        chain.Install("keys", ExampleContracts.Module("keys"));
        var random = new Random(7);
        var keys = Enumerable.Range(0, 150).Select(i => $"k{random.Next(100_000):D6}-{i}").Distinct().ToList();
        foreach (var batch in keys.Chunk(50)) Assert.Equal(ErrorCode.Ok, chain.Call(1, "keys", "put", Encode(batch), gasLimit: 50_000_000).Code);
        var removed = keys.Where((_, i) => i % 3 == 0).ToList();
        Assert.Equal(ErrorCode.Ok, chain.Call(1, "keys", "remove", Encode(removed), gasLimit: 50_000_000).Code);

        var receipt = chain.Call(1, "keys", "list", gasLimit: 50_000_000);
        Assert.True(receipt.Code == ErrorCode.Ok, receipt.Message);
        var expected = keys.Except(removed).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, receipt.Events.Select(e => e.Data.ToStringUtf8()).ToList());
    }

    [Fact]
    public void Two_executors_produce_identical_writes_and_receipts()
    {
        var chain = NewChain();
        chain.Install("coin", ExampleContracts.Module("token"));
        chain.Install("faults", ExampleContracts.Module("faults"));
        chain.Install("counter", ExampleContracts.Module("counter"));
        chain.Install("vault", ExampleContracts.Module("vault"));
        Transaction[] block =
        [
            chain.Sign(0, "coin", "mint", chain.TokenArguments(1, 500)),
            chain.Sign(1, "coin", "transfer", chain.TokenArguments(2, 200)),
            chain.Sign(2, "coin", "transfer", chain.TokenArguments(1, 999)),
            chain.Sign(1, "faults", "spin", [], gasLimit: 150_000),
            chain.Sign(1, "faults", "trap", []),
            chain.Sign(2, "vault", "bump", []),
            chain.Sign(1, "faults", "write", []),
        ];
        var context = new BlockContext(Chain.ChainId, chain.Height + 1, 42, 0);
        using var otherRuntime = new WasmContractRuntime();
        var other = new BlockExecutor(chain.Suite, [.. BlockExecutor.StandardContracts, new ContractRegistryContract(otherRuntime), new TestGovernance()], runtime: otherRuntime);

        var first = chain.Executor.Execute(context, block, chain);
        var second = other.Execute(context, block, chain);

        Assert.Equal(Describe(first.Writes), Describe(second.Writes));
        Assert.Equal(first.Receipts.Select(r => r.ToByteString()), second.Receipts.Select(r => r.ToByteString()));
        Assert.Equal(
            [ErrorCode.Ok, ErrorCode.Ok, ErrorCode.InsufficientFunds, ErrorCode.OutOfGas, ErrorCode.ContractTrapped, ErrorCode.Ok, ErrorCode.Ok],
            first.Receipts.Select(r => r.Code));
    }

    [Fact]
    public void Application_contract_cannot_take_a_system_name()
    {
        var chain = NewChain();
        Assert.Equal(ErrorCode.InvalidArguments, chain.Approve("token", 1, ExampleContracts.Module("token")).Code);
        Assert.Equal(ErrorCode.InvalidArguments, chain.Approve("system.evil", 1, ExampleContracts.Module("token")).Code);
    }

    private static byte[] Encode(IEnumerable<string> keys) =>
        [.. keys.SelectMany(k => new[] { (byte)k.Length }.Concat(System.Text.Encoding.UTF8.GetBytes(k)))];

    private static List<string> Describe(WriteSet writes) =>
        writes.Changes.Select(c => Convert.ToHexString(c.Key) + "=" + (c.Value is null ? "-" : Convert.ToHexString(c.Value))).ToList();
}
