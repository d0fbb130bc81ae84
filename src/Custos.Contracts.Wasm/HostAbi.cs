namespace Custos.Contracts.Wasm;

/// <summary>
/// The host interface a contract may import (module <c>custos</c>), with the exact signatures the checks require.
/// Pointers and lengths are i32 offsets into the contract's exported memory. Documented in docs/contracts.md.
/// </summary>
public static class HostAbi
{
    public const string Module = "custos";

    /// <summary>The memory every contract exports; the host reads and writes arguments through it.</summary>
    public const string MemoryExport = "memory";

    /// <summary>Custom section listing the contracts admitted as callers, one name per line ("*": any).</summary>
    public const string CallersSection = "custos.callers";

    private const byte I = WasmModule.I32, L = WasmModule.I64;

    public static IReadOnlyDictionary<string, FunctionType> Functions { get; } = new Dictionary<string, FunctionType>(StringComparer.Ordinal)
    {
        ["input_size"] = new([], [I]),
        ["input_read"] = new([I], []),
        ["output"] = new([I, I], []),
        ["state_get"] = new([I, I, I, I], [I]),
        ["state_put"] = new([I, I, I, I], []),
        ["state_delete"] = new([I, I], []),
        ["state_next"] = new([I, I, I, I, I, I], [I]),
        ["caller_account"] = new([I], []),
        ["caller_role"] = new([], [I]),
        ["caller_organisation"] = new([I, I], [I]),
        ["caller_contract"] = new([I, I], [I]),
        ["block_height"] = new([], [L]),
        ["block_time"] = new([], [L]),
        ["emit"] = new([I, I, I, I], []),
        ["call"] = new([I, I, I, I, I, I, I], [I]),
        ["call_result_size"] = new([], [I]),
        ["call_result_read"] = new([I], []),
        ["hash"] = new([I, I, I], []),
        ["verify"] = new([I, I, I, I, I, I], [I]),
        ["fail"] = new([I, I, I], []),
    };
}
