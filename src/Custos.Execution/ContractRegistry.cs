using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution;

/// <summary>
/// The registry of application contracts (namespace <c>system.contracts</c>; SC-1, SC-5). Governance approves a
/// (name, version, code hash) when a proposal passes; anyone may then deploy exactly that module, which must pass
/// the pre-deployment checks (SC-7). Code is stored once by hash; every deployed version stays on the ledger and stays
/// callable (a transaction names the version it calls) until the contract is abolished. Freezing applies to every
/// version. Each change records the proposal, the height and the reason.
/// </summary>
/// <remarks>
/// Keys: <c>contract/NAME</c> (status, versions, history), <c>approval/NAME/VERSION</c> (until deployed),
/// <c>version/NAME/VERSION</c> (one per deployed version, kept for ever), <c>code/HASH</c> (module bytes).
/// </remarks>
public static class ContractRegistry
{
    public const string Namespace = "system.contracts";

    /// <summary>
    /// Largest module a deployment accepts. The module travels in a transaction's arguments, which the decoder bounds
    /// at <see cref="WireLimits.TransactionArgumentsSizeBytesMax"/> (96 KiB, inside the 128 KiB transaction bound);
    /// 64 KiB leaves room for the name, version and encoding.
    /// </summary>
    public const int ModuleSizeBytesMax = 64 * 1024;

    public const int NameLengthMax = 64;

    /// <summary>Depth of nested contract calls (a transaction's own call is depth 0).</summary>
    public const int CallDepthMax = 4;

    public static byte[] RecordKey(string name) => StateKeys.For(Namespace, "contract/" + name);

    public static byte[] ApprovalKey(string name, uint version) => StateKeys.For(Namespace, $"approval/{name}/{version:D10}");

    public static byte[] VersionKey(string name, uint version) => StateKeys.For(Namespace, $"version/{name}/{version:D10}");

    public static byte[] CodeKey(Hash32 hash) => StateKeys.For(Namespace, "code/", hash);

    public static ContractRecord? ReadRecord(IStateReader state, string name) =>
        state.TryGet(RecordKey(name), out var bytes) ? ContractRecord.Parser.ParseFrom(bytes) : null;

    public static ContractApproval? ReadApproval(IStateReader state, string name, uint version) =>
        state.TryGet(ApprovalKey(name, version), out var bytes) ? ContractApproval.Parser.ParseFrom(bytes) : null;

    public static ContractVersionRecord? ReadVersion(IStateReader state, string name, uint version) =>
        state.TryGet(VersionKey(name, version), out var bytes) ? ContractVersionRecord.Parser.ParseFrom(bytes) : null;

    public static byte[]? ReadCode(IStateReader state, Hash32 hash) => state.TryGet(CodeKey(hash), out var bytes) ? bytes : null;

    /// <summary>
    /// Whether <paramref name="name"/> may name an application contract: lower-case letters, digits, '.', '_' and
    /// '-', starting with a letter, at most 64 characters, and never a system contract's name (<c>system.*</c>, <c>token</c>).
    /// </summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= NameLengthMax && name[0] is >= 'a' and <= 'z'
        && name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '-')
        && !name.StartsWith("system.", StringComparison.Ordinal) && name != "system" && name != TokenContract.ContractName;

    /// <summary>After a passed deploy or upgrade proposal: deploying exactly (name, version, codeHash) is now allowed.</summary>
    public static void Approve(ContractCall call, string name, uint version, ReadOnlySpan<byte> codeHash, string migrateMethod, string proposalId)
    {
        RequireName(name);
        if (version == 0) throw new ContractFailure(ErrorCode.InvalidArguments, "contract versions start at 1");
        if (codeHash.Length != Hash32.SizeBytes) throw new ContractFailure(ErrorCode.InvalidArguments, $"a code hash is {Hash32.SizeBytes} bytes, got {codeHash.Length}");
        if (migrateMethod.Length > 0 && !IsValidMethodName(migrateMethod)) throw new ContractFailure(ErrorCode.InvalidArguments, $"'{migrateMethod}' is not a method name");
        var record = Load(call, name) ?? new ContractRecord { Name = name, Status = ContractStatus.Approved };
        if (record.Status == ContractStatus.Abolished) throw new ContractFailure(ErrorCode.ContractAbolished, $"contract {name} is abolished");
        if (record.Versions.Count > 0 && version <= record.Versions[^1])
        {
            throw new ContractFailure(ErrorCode.ContractVersionExists, $"contract {name} is deployed at version {record.Versions[^1]}: a new version must be higher than {record.Versions[^1]}");
        }

        var decision = Decision(call, proposalId, "");
        var approval = new ContractApproval { Name = name, Version = version, CodeHash = ByteString.CopyFrom(codeHash), MigrateMethod = migrateMethod, Decision = decision };
        call.Put(ApprovalKey(name, version), approval.ToByteArray());
        record.History.Add(new ContractStatusChange { Status = ContractStatus.Approved, Version = version, Decision = decision });
        Save(call, record);
        call.Emit("contract_approved", new ContractLifecycleEvent { Name = name, Version = version, CodeHash = approval.CodeHash, Proposal = proposalId });
    }

    /// <summary>Freezes every version of <paramref name="name"/>: calls are refused with ContractFrozen until unfrozen.</summary>
    public static void Freeze(ContractCall call, string name, string proposalId, string reason) =>
        ChangeStatus(call, name, proposalId, reason, ContractStatus.Frozen, "contract_frozen", r => r.Status is ContractStatus.Active or ContractStatus.Approved
            ? null : $"contract {name} is {Describe(r.Status)}");

    public static void Unfreeze(ContractCall call, string name, string proposalId, string reason) =>
        ChangeStatus(call, name, proposalId, reason, 0, "contract_unfrozen", r => r.Status == ContractStatus.Frozen ? null : $"contract {name} is not frozen");

    /// <summary>Final: no version can be called, and nothing can be approved or deployed under the name again.</summary>
    public static void Abolish(ContractCall call, string name, string proposalId, string reason) =>
        ChangeStatus(call, name, proposalId, reason, ContractStatus.Abolished, "contract_abolished", _ => null);

    /// <summary>
    /// The executor's lookup of a transaction's contract: unknown name or version is ContractNotFound, a frozen
    /// contract ContractFrozen, an abolished one ContractAbolished.
    /// </summary>
    public static ApplicationContract Resolve(IStateReader state, string name, uint version, IContractRuntime runtime)
    {
        var record = ReadRecord(state, name);
        if (record is null || record.Versions.Count == 0) throw new ContractFailure(ErrorCode.ContractNotFound, $"no contract '{name}'");
        if (record.Status == ContractStatus.Abolished) throw new ContractFailure(ErrorCode.ContractAbolished, $"contract {name} is abolished");
        if (record.Status == ContractStatus.Frozen) throw new ContractFailure(ErrorCode.ContractFrozen, $"contract {name} is frozen by governance");
        var deployed = ReadVersion(state, name, version)
            ?? throw new ContractFailure(ErrorCode.ContractNotFound, $"contract {name} has no version {version} (deployed: {string.Join(", ", record.Versions)})");
        return new ApplicationContract(deployed, state, runtime);
    }

    /// <summary>
    /// Prepares a call from the contract running <paramref name="from"/> to another application contract, within
    /// the same transaction (same state, gas meter and events): the callee must be callable (as for a transaction,
    /// supervision's freeze included) and must admit the caller (SC-2), else ContractCallDenied. The caller runs it
    /// (its runtime keeps the call depth below <see cref="CallDepthMax"/>).
    /// </summary>
    public static (ApplicationContract Callee, ContractCall Call) PrepareCall(ContractCall from, IContractRuntime runtime, string name, uint version, string method,
        ReadOnlyMemory<byte> arguments)
    {
        from.Meter.Charge(2 * from.Limits.Gas.StateRead + from.Limits.Gas.TransactionBase / 10 + from.Limits.Gas.PerArgumentByte * (ulong)arguments.Length);
        if (!IsValidName(name)) throw new ContractFailure(ErrorCode.ContractCallDenied, $"'{name}' is not an application contract; contracts call only application contracts");
        var callee = Resolve(from.State, name, version, runtime);
        var measures = from.Measures ?? SupervisionContract.ReadMeasures(from.State);
        if (measures.FrozenContracts.Contains(name)) throw new ContractFailure(ErrorCode.ContractFrozen, $"contract {name} is frozen by supervision");
        if (!callee.Admits(from.Contract.Name)) throw new ContractFailure(ErrorCode.ContractCallDenied, $"contract {name} v{version} does not admit calls from {from.Contract.Name}");
        var call = new ContractCall(callee, method, arguments, from.Caller, from.Block, from.State, from.Meter, from.Limits, from.Events, from.TransactionId)
        {
            Measures = from.Measures,
            Suite = from.Suite,
        };
        return (callee, call);
    }

    /// <summary>Whether <paramref name="method"/> may name a method of an application contract.</summary>
    public static bool IsValidMethodName(string method) =>
        method.Length is > 0 and <= NameLengthMax && !method.StartsWith("__", StringComparison.Ordinal)
        && method.All(c => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_');

    internal static void Deploy(ContractCall call, IContractRuntime runtime)
    {
        var arguments = call.ParseArguments(ContractDeployArguments.Parser);
        var name = arguments.Name;
        RequireName(name);
        var record = Load(call, name) ?? throw new ContractFailure(ErrorCode.ContractNotApproved, $"no deployment of {name} was approved");
        if (record.Status == ContractStatus.Abolished) throw new ContractFailure(ErrorCode.ContractAbolished, $"contract {name} is abolished");
        if (call.Get(VersionKey(name, arguments.Version)) is not null) throw new ContractFailure(ErrorCode.ContractVersionExists, $"{name} v{arguments.Version} is already deployed");
        var approval = call.Get(ApprovalKey(name, arguments.Version)) is { } bytes ? ContractApproval.Parser.ParseFrom(bytes)
            : throw new ContractFailure(ErrorCode.ContractNotApproved, $"no deployment of {name} v{arguments.Version} was approved");
        if (arguments.Module.Length > ModuleSizeBytesMax)
        {
            throw new ContractFailure(ErrorCode.ContractRejected, $"the module is {arguments.Module.Length} bytes, at most {ModuleSizeBytesMax} allowed");
        }

        var suite = call.Suite ?? throw new InvalidOperationException("deployment needs the chain's crypto suite");
        var hash = suite.Hash(arguments.Module.Span);
        if (!hash.ToByteString().Equals(approval.CodeHash))
        {
            throw new ContractFailure(ErrorCode.ContractNotApproved, $"the module hashes to {hash}, the approved code of {name} v{arguments.Version} is {Convert.ToHexStringLower(approval.CodeHash.Span)}");
        }

        // The checks parse the whole module: charged like reading its bytes.
        call.Meter.Charge(call.Limits.Gas.PerArgumentByte * 4 * (ulong)arguments.Module.Length);
        var report = runtime.Check(arguments.Module.Span);
        if (report.HasErrors) throw new ContractFailure(ErrorCode.ContractRejected, $"{name} v{arguments.Version} fails the pre-deployment checks: {report.Summary()}");

        if (call.Get(CodeKey(hash)) is null) call.Put(CodeKey(hash), arguments.Module.ToByteArray());
        var deployed = new ContractVersionRecord
        {
            Name = name,
            Version = arguments.Version,
            CodeHash = approval.CodeHash,
            MigrateMethod = approval.MigrateMethod,
            DeployedHeight = call.Block.Height,
            DeployedBy = call.CallerId.ToByteString(),
            DeployedInTransaction = call.TransactionId.ToByteString(),
            Proposal = approval.Decision?.Proposal ?? "",
        };
        deployed.AdmittedCallers.AddRange(report.AdmittedCallers);
        call.Put(VersionKey(name, arguments.Version), deployed.ToByteArray());
        call.Delete(ApprovalKey(name, arguments.Version));
        record.Versions.Add(arguments.Version);
        if (record.Status == ContractStatus.Approved) record.Status = ContractStatus.Active;
        record.History.Add(new ContractStatusChange { Status = ContractStatus.Active, Version = arguments.Version, Decision = Decision(call, deployed.Proposal, "deployed") });
        Save(call, record);
        call.Emit("contract_deployed", new ContractLifecycleEvent { Name = name, Version = arguments.Version, CodeHash = approval.CodeHash, Proposal = deployed.Proposal });

        // The migration runs once, here, on the new version and in this transaction: if it fails, nothing is deployed.
        if (deployed.MigrateMethod.Length > 0)
        {
            var contract = new ApplicationContract(deployed, call.State, runtime);
            runtime.Invoke(new ContractCall(contract, deployed.MigrateMethod, ReadOnlyMemory<byte>.Empty, call.Caller, call.Block, call.State, call.Meter, call.Limits, call.Events,
                call.TransactionId) { Measures = call.Measures, Suite = call.Suite }, contract);
        }
    }

    private static void ChangeStatus(ContractCall call, string name, string proposalId, string reason, ContractStatus status, string eventName, Func<ContractRecord, string?> refusal)
    {
        RequireName(name);
        var record = Load(call, name) ?? throw new ContractFailure(ErrorCode.ContractNotFound, $"no contract '{name}'");
        if (record.Status == ContractStatus.Abolished) throw new ContractFailure(ErrorCode.ContractAbolished, $"contract {name} is abolished");
        if (refusal(record) is { } message) throw new ContractFailure(ErrorCode.InvalidArguments, message);
        record.Status = status != 0 ? status : record.Versions.Count > 0 ? ContractStatus.Active : ContractStatus.Approved;
        var decision = Decision(call, proposalId, reason);
        record.History.Add(new ContractStatusChange { Status = record.Status, Decision = decision });
        Save(call, record);
        call.Emit(eventName, new ContractLifecycleEvent { Name = name, Proposal = proposalId, Reason = reason });
    }

    private static string Describe(ContractStatus status) => status switch
    {
        ContractStatus.Frozen => "already frozen",
        ContractStatus.Abolished => "abolished",
        _ => status.ToString().ToLowerInvariant(),
    };

    private static ContractDecision Decision(ContractCall call, string proposalId, string reason)
    {
        if (Encoding.UTF8.GetByteCount(reason) > 1024) throw new ContractFailure(ErrorCode.InvalidArguments, "the reason is longer than 1,024 bytes");
        return new ContractDecision { Proposal = proposalId, Height = call.Block.Height, Reason = reason };
    }

    private static void RequireName(string name)
    {
        if (!IsValidName(name))
        {
            throw new ContractFailure(ErrorCode.InvalidArguments,
                $"'{name}' cannot name an application contract (a-z, 0-9, '.', '_', '-', starting with a letter, at most {NameLengthMax}; not system.* or token)");
        }
    }

    private static ContractRecord? Load(ContractCall call, string name) => call.Get(RecordKey(name)) is { } bytes ? ContractRecord.Parser.ParseFrom(bytes) : null;

    private static void Save(ContractCall call, ContractRecord record) => call.Put(RecordKey(record.Name), record.ToByteArray());
}

/// <summary>
/// The system contract <c>system.contracts</c>: its one method, <c>deploy</c> (<see cref="ContractDeployArguments"/>),
/// carries out an approval. Approvals, freezes and abolitions come from governance through <see cref="ContractRegistry"/>.
/// </summary>
public sealed class ContractRegistryContract(IContractRuntime runtime) : ISystemContract
{
    public string Name => ContractRegistry.Namespace;

    public uint Version => 1;

    public void Invoke(ContractCall call)
    {
        switch (call.Method)
        {
            case "deploy": ContractRegistry.Deploy(call, runtime); break;
            default: throw new ContractFailure(ErrorCode.MethodNotFound, $"{Name} has no method '{call.Method}'");
        }
    }
}
