namespace Custos.Contracts.Wasm;

/// <summary>
/// How WASM execution is priced in gas. Wasmtime counts fuel, about one unit per instruction; one unit of gas buys
/// <see cref="FuelPerGas"/> units of fuel, so that 100 gas (one state read) is about a thousand instructions,
/// roughly the same time on this class of machine. Host functions charge gas directly, through the same
/// <see cref="Execution.GasMeter"/> as system contracts (state reads and writes, events at the chain's prices).
/// </summary>
public sealed record WasmGas
{
    public ulong FuelPerGas { get; init; } = 10;

    /// <summary>Every call (a transaction's or another contract's): a new store and instance, whether or not the compiled module was cached.</summary>
    public ulong Instantiate { get; init; } = 1_000;

    public ulong HostCall { get; init; } = 10;

    /// <summary>Bytes copied between the host and the contract's memory per unit of gas.</summary>
    public ulong CopyBytesPerGas { get; init; } = 16;

    public ulong HashBase { get; init; } = 100;

    public ulong HashPerByte { get; init; } = 1;

    public ulong Verify { get; init; } = 20_000;
}
