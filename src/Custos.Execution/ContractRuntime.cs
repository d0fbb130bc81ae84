using Custos.Execution.Wire;

namespace Custos.Execution;

/// <summary>
/// Runs application contracts (WASM, <c>Custos.Contracts.Wasm</c>) for the executor and checks modules before they
/// are deployed. Implementations must give identical results on every node: no clock, no randomness, nothing that
/// depends on the host.
/// </summary>
public interface IContractRuntime
{
    /// <summary>The pre-deployment checks (SC-7): a deployment is refused when the report has an error.</summary>
    ContractCheckReport Check(ReadOnlySpan<byte> module);

    /// <summary>
    /// Runs <paramref name="call"/>'s method of <paramref name="contract"/>. Failures are raised as
    /// <see cref="ContractFailure"/> (traps as <see cref="Core.Wire.ErrorCode.ContractTrapped"/>, exhausted fuel as
    /// <see cref="Core.Wire.ErrorCode.OutOfGas"/>); the executor then rolls back the whole transaction.
    /// </summary>
    void Invoke(ContractCall call, ApplicationContract contract);
}

/// <summary>
/// One deployed version of an application contract as a call sees it: it lets the executor treat it like a system
/// contract, and gives the runtime the record and (uncharged) the module bytes, which it caches by hash.
/// </summary>
public sealed class ApplicationContract : ISystemContract
{
    private readonly IStateReader _state;
    private readonly IContractRuntime _runtime;

    internal ApplicationContract(ContractVersionRecord record, IStateReader state, IContractRuntime runtime)
    {
        Record = record;
        _state = state;
        _runtime = runtime;
        CodeHash = new Core.Hash32(record.CodeHash.Span);
    }

    public string Name => Record.Name;

    public uint Version => Record.Version;

    public ContractVersionRecord Record { get; }

    public Core.Hash32 CodeHash { get; }

    /// <summary>The module, read from state without charging gas: the runtime charges a fixed load cost instead, so that gas never depends on its cache.</summary>
    public byte[] LoadCode() => ContractRegistry.ReadCode(_state, CodeHash)
        ?? throw new InvalidOperationException($"the code of {Name} v{Version} ({CodeHash}) is missing from state");

    /// <summary>Whether a call from contract <paramref name="caller"/> is admitted (declared by the module).</summary>
    public bool Admits(string caller) => Record.AdmittedCallers.Contains("*") || Record.AdmittedCallers.Contains(caller);

    public void Invoke(ContractCall call)
    {
        if (Record.MigrateMethod.Length > 0 && call.Method == Record.MigrateMethod)
        {
            throw new ContractFailure(Core.Wire.ErrorCode.PermissionDenied, $"{Name} v{Version}.{call.Method} is its migration: it runs once, at deployment");
        }

        _runtime.Invoke(call, this);
    }
}

public enum FindingSeverity
{
    Warning = 1,
    Error = 2,
}

/// <summary>One finding of the pre-deployment checks: which rule, how bad, where in the module, and what.</summary>
public sealed record ContractFinding(string Rule, FindingSeverity Severity, string Location, string Message)
{
    public override string ToString() => $"{(Severity == FindingSeverity.Error ? "error" : "warning")} {Rule} at {Location}: {Message}";
}

/// <summary>The readable report of the pre-deployment checks (SC-7), and what the module declares.</summary>
public sealed class ContractCheckReport(IReadOnlyList<ContractFinding> findings, IReadOnlyList<string> admittedCallers, IReadOnlyList<string> methods)
{
    public IReadOnlyList<ContractFinding> Findings { get; } = findings;

    /// <summary>Contracts the module admits as callers ("custos.callers" custom section; "*" for any).</summary>
    public IReadOnlyList<string> AdmittedCallers { get; } = admittedCallers;

    /// <summary>The exported methods a transaction may name.</summary>
    public IReadOnlyList<string> Methods { get; } = methods;

    public bool HasErrors => Findings.Any(f => f.Severity == FindingSeverity.Error);

    public IEnumerable<ContractFinding> Errors => Findings.Where(f => f.Severity == FindingSeverity.Error);

    /// <summary>The first errors on one line, for a refusal's message.</summary>
    public string Summary(int errorsMax = 3)
    {
        var errors = Errors.ToList();
        var shown = string.Join("; ", errors.Take(errorsMax));
        return errors.Count > errorsMax ? $"{shown}; and {errors.Count - errorsMax} more" : shown;
    }
}
