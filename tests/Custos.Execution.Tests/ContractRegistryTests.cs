using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution.Tests;

public sealed class ContractRegistryTests
{
    private static readonly byte[] Module = [0, 97, 115, 109, 1, 0, 0, 0];
    private static readonly byte[] OtherModule = [0, 97, 115, 109, 1, 0, 0, 0, 0, 1, 0];

    [Fact]
    public void Deploy_without_approval_is_refused_with_ContractNotApproved()
    {
        var ledger = new ContractLedger();
        Assert.Equal(ErrorCode.ContractNotApproved, ledger.Deploy("app", 1, Module).Code);
        Assert.Null(ContractRegistry.ReadVersion(ledger, "app", 1));
    }

    [Fact]
    public void Deploy_of_code_other_than_the_approved_hash_is_refused()
    {
        var ledger = new ContractLedger();
        Assert.Equal(ErrorCode.Ok, ledger.Approve("app", 1, Module).Code);
        var receipt = ledger.Deploy("app", 1, OtherModule);
        Assert.Equal(ErrorCode.ContractNotApproved, receipt.Code);
        Assert.Contains("hashes to", receipt.Message);
        Assert.Equal(ErrorCode.ContractNotApproved, ledger.Deploy("app", 2, Module).Code);
    }

    [Fact]
    public void Deploy_failing_the_checks_is_refused_with_the_findings()
    {
        var ledger = new ContractLedger();
        byte[] bad = [0xFF, 1, 2];
        Assert.Equal(ErrorCode.Ok, ledger.Approve("app", 1, bad).Code);
        var receipt = ledger.Deploy("app", 1, bad);
        Assert.Equal(ErrorCode.ContractRejected, receipt.Code);
        Assert.Contains("FAKE1", receipt.Message);
    }

    [Fact]
    public void Oversized_module_is_refused_before_the_checks()
    {
        var ledger = new ContractLedger();
        var big = new byte[ContractRegistry.ModuleSizeBytesMax + 1];
        Assert.Equal(ErrorCode.Ok, ledger.Approve("app", 1, big).Code);
        Assert.Equal(ErrorCode.ContractRejected, ledger.Deploy("app", 1, big).Code);
    }

    [Fact]
    public void Module_limit_stays_below_the_transaction_arguments_limit()
    {
        Assert.True(ContractRegistry.ModuleSizeBytesMax + 1024 < WireLimits.TransactionArgumentsSizeBytesMax);
    }

    [Fact]
    public void Deployed_contract_is_called_through_the_runtime_and_recorded()
    {
        var ledger = new ContractLedger();
        ledger.Install("app", Module);
        Assert.Equal(ErrorCode.Ok, ledger.Call("app", "run").Code);
        Assert.Equal(1, ledger.Runtime.Calls["app/1/run"]);

        var version = ContractRegistry.ReadVersion(ledger, "app", 1)!;
        Assert.Equal(ledger.Suite.Hash(Module).ToByteString(), version.CodeHash);
        Assert.Equal(ledger.Ids[1].ToByteString(), version.DeployedBy);
        Assert.Equal("p-approve", version.Proposal);
        Assert.Equal(Module, ContractRegistry.ReadCode(ledger, ledger.Suite.Hash(Module)));
        Assert.Equal(ContractStatus.Active, ContractRegistry.ReadRecord(ledger, "app")!.Status);
    }

    [Fact]
    public void Failing_application_call_rolls_back()
    {
        var ledger = new ContractLedger();
        ledger.Install("app", Module);
        Assert.Equal(ErrorCode.PermissionDenied, ledger.Call("app", "fail").Code);
        Assert.False(ledger.TryGet(StateKeys.For("app", "dfail"), out _));
    }

    [Fact]
    public void Unknown_contract_or_version_is_ContractNotFound()
    {
        var ledger = new ContractLedger();
        Assert.Equal(ErrorCode.ContractNotFound, ledger.Call("nothing", "run").Code);
        ledger.Install("app", Module);
        Assert.Equal(ErrorCode.ContractNotFound, ledger.Call("app", "run", version: 2).Code);
        Assert.Equal(ErrorCode.Ok, ledger.Approve("later", 1, Module).Code);
        Assert.Equal(ErrorCode.ContractNotFound, ledger.Call("later", "run").Code);
    }

    [Fact]
    public void Executor_without_a_runtime_knows_only_system_contracts()
    {
        var ledger = new ContractLedger(withRuntime: false);
        Assert.Equal(ErrorCode.ContractNotFound, ledger.Call("app", "run").Code);
    }

    [Fact]
    public void Frozen_contract_is_refused_and_unfrozen_one_callable_again()
    {
        var ledger = new ContractLedger();
        ledger.Install("app", Module);
        Assert.Equal(ErrorCode.Ok, ledger.Govern("freeze", "app").Code);
        Assert.Equal(ErrorCode.ContractFrozen, ledger.Call("app", "run").Code);
        Assert.Equal(ErrorCode.InvalidArguments, ledger.Govern("freeze", "app").Code);
        Assert.Equal(ErrorCode.Ok, ledger.Govern("unfreeze", "app").Code);
        Assert.Equal(ErrorCode.Ok, ledger.Call("app", "run").Code);

        var history = ContractRegistry.ReadRecord(ledger, "app")!.History;
        Assert.Equal([ContractStatus.Approved, ContractStatus.Active, ContractStatus.Frozen, ContractStatus.Active], history.Select(h => h.Status));
        Assert.Equal("p-freeze", history[2].Decision.Proposal);
        Assert.Equal("because", history[2].Decision.Reason);
    }

    [Fact]
    public void Contract_frozen_by_supervision_is_refused()
    {
        var ledger = new ContractLedger();
        ledger.Install("app", Module);
        var freeze = new ContractFreezeArguments { Contract = "app", Reason = "investigation" }.ToByteString();
        Assert.Equal(ErrorCode.Ok, ledger.Run(ContractLedger.Regulator, SupervisionContract.ContractName, "freeze_contract", freeze).Code);
        Assert.Equal(ErrorCode.ContractFrozen, ledger.Call("app", "run").Code);
    }

    [Fact]
    public void Abolished_contract_is_refused_for_good()
    {
        var ledger = new ContractLedger();
        ledger.Install("app", Module);
        Assert.Equal(ErrorCode.Ok, ledger.Govern("abolish", "app").Code);
        Assert.Equal(ErrorCode.ContractAbolished, ledger.Call("app", "run").Code);
        Assert.Equal(ErrorCode.ContractAbolished, ledger.Approve("app", 2, Module).Code);
        Assert.Equal(ErrorCode.ContractAbolished, ledger.Govern("unfreeze", "app").Code);
        Assert.Equal(ErrorCode.ContractAbolished, ledger.Govern("abolish", "app").Code);
    }

    [Fact]
    public void Freezing_an_unknown_contract_is_ContractNotFound()
    {
        Assert.Equal(ErrorCode.ContractNotFound, new ContractLedger().Govern("freeze", "ghost").Code);
    }

    [Fact]
    public void Upgrade_keeps_older_versions_callable_and_runs_the_migration_once()
    {
        var ledger = new ContractLedger();
        ledger.Install("app", Module);
        ledger.Install("app", OtherModule, version: 2, migrate: "migrate");
        Assert.Equal(1, ledger.Runtime.Calls["app/2/migrate"]);

        Assert.Equal(ErrorCode.Ok, ledger.Call("app", "run", version: 1).Code);
        Assert.Equal(ErrorCode.Ok, ledger.Call("app", "run", version: 2).Code);
        Assert.Equal(ErrorCode.PermissionDenied, ledger.Call("app", "migrate", version: 2).Code);
        Assert.Equal(ErrorCode.ContractVersionExists, ledger.Deploy("app", 2, OtherModule).Code);
        Assert.Equal(1, ledger.Runtime.Calls["app/2/migrate"]);
        Assert.Equal([1u, 2u], ContractRegistry.ReadRecord(ledger, "app")!.Versions);
    }

    [Fact]
    public void New_version_must_be_higher_than_the_deployed_one()
    {
        var ledger = new ContractLedger();
        ledger.Install("app", Module, version: 3);
        Assert.Equal(ErrorCode.ContractVersionExists, ledger.Approve("app", 2, OtherModule).Code);
        Assert.Equal(ErrorCode.ContractVersionExists, ledger.Approve("app", 3, OtherModule).Code);
    }

    [Theory]
    [InlineData("token")]
    [InlineData("system.contracts")]
    [InlineData("system.evil")]
    [InlineData("Upper")]
    [InlineData("a/b")]
    [InlineData("")]
    public void System_and_malformed_names_cannot_be_approved(string name)
    {
        Assert.Equal(ErrorCode.InvalidArguments, new ContractLedger().Approve(name, 1, Module).Code);
    }

    [Fact]
    public void Registry_key_layout_is_frozen()
    {
        Assert.Equal("system.contracts\0contract/app"u8.ToArray(), ContractRegistry.RecordKey("app"));
        Assert.Equal("system.contracts\0approval/app/0000000002"u8.ToArray(), ContractRegistry.ApprovalKey("app", 2));
        Assert.Equal("system.contracts\0version/app/0000000002"u8.ToArray(), ContractRegistry.VersionKey("app", 2));
    }
}
