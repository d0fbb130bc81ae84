using System.Collections.Concurrent;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Wasmtime;

namespace Custos.Contracts.Wasm;

/// <summary>
/// Runs WASM contracts with Wasmtime (SC-3, SC-4, SC-6). The engine is configured for determinism: fuel metering
/// (as gas, <see cref="WasmGas"/>), no threads, no SIMD, NaN canonicalisation (floats are refused at deployment anyway),
/// a bounded stack; each call gets a fresh store and instance with its memory limited to
/// <see cref="WasmLimits.MemoryBytesMax"/>. Compiled modules are cached by code hash. A trap, a typed failure
/// (<c>fail</c>) or exhausted fuel raises a <see cref="ContractFailure"/> and the executor rolls back the transaction.
/// </summary>
/// <remarks>
/// Thread-safe: the engine and compiled modules are shared, each thread instantiates through its own linker, and a
/// call's state lives in its own store. All nodes must run the same Wasmtime version (fuel counts and stack depth
/// depend on it), which the package version pins.
/// </remarks>
public sealed class WasmContractRuntime : IContractRuntime, IDisposable
{
    /// <summary>Compiled modules kept (they are small; the bound keeps a chain with many versions from growing the cache without end).</summary>
    public const int CachedModulesMax = 256;

    private readonly Engine _engine;
    private readonly ThreadLocal<Linker> _linkers;
    private readonly ConcurrentDictionary<Hash32, Compiled> _compiled = new();

    /// <summary>
    /// Instances the engine's pool holds at once: calls running concurrently (one per executing thread) times the
    /// nesting depth. A call that finds the pool exhausted raises <see cref="ContractRuntimeFault"/>, never a
    /// contract failure, since another node would not fail it.
    /// </summary>
    public const int PooledInstancesMax = 1_000;

    public WasmContractRuntime(WasmGas? gas = null)
    {
        Gas = gas ?? new WasmGas();
        // A pool of instance slots whose first pages stay resident between calls: a fresh mapping per call cost a
        // page fault on the first write to memory, over a hundred microseconds per call under load.
        using var pool = new PoolingAllocationConfig()
            .WithTotalComponentInstances(0)
            .WithMaxCoreInstances(PooledInstancesMax)
            .WithMaxMemories(PooledInstancesMax)
            .WithMaxTables(PooledInstancesMax)
            .WithMaxMemorySize((nuint)WasmLimits.MemoryBytesMax)
            .WithMaxUnusedWarmSlots(32)
            .WithLinearMemoryKeepResidentBytes(128 * 1024)
            .WithTableKeepResidentBytes(64 * 1024);
        using var config = new Config()
            .WithPoolingAllocationStrategy(pool)
            .WithStaticMemoryMaximumSize((ulong)WasmLimits.MemoryBytesMax)
            .WithMemoryGuardSize(64 * 1024)
            .WithMemoryReservationForGrowth(0)
            .WithFuelConsumption(true)
            .WithWasmThreads(false)
            .WithSIMD(false)
            .WithRelaxedSIMD(false, false)
            .WithCraneliftNaNCanonicalization(true)
            .WithMultiMemory(false)
            .WithMemory64(false)
            .WithMaximumStackSize(WasmLimits.StackBytesMax);
        _engine = new Engine(config);
        _linkers = new ThreadLocal<Linker>(() => HostFunctions.Define(new Linker(_engine), this), trackAllValues: true);
    }

    public WasmGas Gas { get; }

    public ContractCheckReport Check(ReadOnlySpan<byte> module) => ContractChecks.Run(module, bytes => Module.Validate(_engine, bytes));

    public void Invoke(ContractCall call, ApplicationContract contract) => Run(call, contract, parent: null);

    /// <summary>Runs one call in a fresh instance and returns what the contract passed to <c>output</c>.</summary>
    internal byte[]? Run(ContractCall call, ApplicationContract contract, CallFrame? parent)
    {
        var meter = call.Meter;
        meter.Charge(Gas.Instantiate);
        var compiled = Compile(contract);
        if (!compiled.Methods.Contains(call.Method)) throw new ContractFailure(ErrorCode.MethodNotFound, $"{contract.Name} v{contract.Version} has no method '{call.Method}'");

        var frame = new CallFrame(this, call, contract, parent);
        using var store = new Store(_engine, frame);
        store.SetLimits(memorySize: WasmLimits.MemoryBytesMax, tableElements: WasmLimits.TableElementsMax, instances: 1, tables: 1, memories: 1);
        store.Fuel = frame.FuelAvailable();
        try
        {
            Instance instance;
            try
            {
                instance = _linkers.Value!.Instantiate(store, compiled.Module);
            }
            catch (WasmtimeException e) when (e is not TrapException && frame.Failure is null)
            {
                throw new ContractRuntimeFault($"cannot instantiate {contract.Name} v{contract.Version}: {e.Message.Split('\n')[0]}");
            }

            frame.Memory = instance.GetMemory(HostAbi.MemoryExport);
            var method = instance.GetAction(call.Method) ?? throw new ContractFailure(ErrorCode.MethodNotFound, $"{contract.Name} has no method '{call.Method}'");
            method();
            frame.Settle(store.Fuel);
        }
        catch (WasmtimeException e)
        {
            if (frame.Failure is not null) throw frame.Failure;
            if (e.InnerException is ContractRuntimeFault fault) throw fault;
            if (e is TrapException { Type: TrapCode.OutOfFuel })
            {
                meter.Charge(meter.Limit - meter.Used + 1);
            }

            frame.Settle(store.Fuel);
            var what = e is TrapException trap ? trap.Type.ToString() : e.InnerException is null ? "instantiation failed" : "host error";
            throw new ContractFailure(ErrorCode.ContractTrapped, $"{contract.Name} v{contract.Version}.{call.Method} trapped: {what}");
        }

        return frame.Output;
    }

    private Compiled Compile(ApplicationContract contract)
    {
        if (_compiled.TryGetValue(contract.CodeHash, out var compiled)) return compiled;
        var bytes = contract.LoadCode();
        var report = ContractChecks.Run(bytes);
        compiled = new Compiled(Module.FromBytes(_engine, contract.Name, bytes), [.. report.Methods]);
        // Evicted modules are not disposed: another thread may be instantiating one; the finaliser frees it.
        if (_compiled.Count >= CachedModulesMax) _compiled.Clear();
        return _compiled.GetOrAdd(contract.CodeHash, compiled);
    }

    public void Dispose()
    {
        foreach (var linker in _linkers.Values) linker.Dispose();
        _linkers.Dispose();
        foreach (var compiled in _compiled.Values) compiled.Module.Dispose();
        _engine.Dispose();
    }

    private sealed record Compiled(Module Module, HashSet<string> Methods);
}

/// <summary>
/// This node cannot run a contract for a reason of its own (its instance pool is exhausted): not a contract
/// failure, so the executor does not record it; block execution fails and the node must not go on with this block.
/// </summary>
public sealed class ContractRuntimeFault(string message) : Exception(message);

/// <summary>One running call: its contract call (state, gas, events), its memory, and what passes between it and the host.</summary>
internal sealed class CallFrame(WasmContractRuntime runtime, ContractCall call, ApplicationContract contract, CallFrame? parent)
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private ulong _fuelGiven;
    private ulong _fuelUnbilled;

    public WasmContractRuntime Runtime { get; } = runtime;

    public ContractCall Call { get; } = call;

    public ApplicationContract Contract { get; } = contract;

    public int Depth { get; } = parent is null ? 0 : parent.Depth + 1;

    /// <summary>The contract that called this one ("" when a transaction did).</summary>
    public string CallerContract { get; } = parent?.Contract.Name ?? "";

    public Memory? Memory { get; set; }

    public byte[]? Output { get; set; }

    public byte[]? LastCallResult { get; set; }

    /// <summary>The failure a host function raised: the engine reports it as a trap, the runtime raises it as it was.</summary>
    public ContractFailure? Failure { get; set; }

    /// <summary>The fuel the remaining gas buys, less what was burned but not yet billed.</summary>
    public ulong FuelAvailable()
    {
        var meter = Call.Meter;
        var fuel = (meter.Limit - meter.Used) * Runtime.Gas.FuelPerGas;
        _fuelGiven = fuel > _fuelUnbilled ? fuel - _fuelUnbilled : 0;
        return _fuelGiven;
    }

    /// <summary>Bills the fuel burned since it was last given, in whole units of gas.</summary>
    public void Settle(ulong fuelNow)
    {
        _fuelUnbilled += _fuelGiven - Math.Min(fuelNow, _fuelGiven);
        _fuelGiven = fuelNow;
        var gas = _fuelUnbilled / Runtime.Gas.FuelPerGas;
        _fuelUnbilled -= gas * Runtime.Gas.FuelPerGas;
        if (gas > 0) Call.Meter.Charge(gas);
    }

    public Span<byte> Bytes(int pointer, int length)
    {
        var memory = Memory ?? throw Trap("the contract exports no memory");
        if (pointer < 0 || length < 0 || (long)pointer + length > memory.GetLength()) throw Trap($"memory access out of bounds ({pointer}, {length})");
        return length == 0 ? [] : memory.GetSpan(pointer, length);
    }

    public string Text(int pointer, int length, int bytesMax, string what)
    {
        if (length > bytesMax) throw Fail(ErrorCode.InvalidArguments, $"{what} is longer than {bytesMax} bytes");
        try
        {
            return StrictUtf8.GetString(Bytes(pointer, length));
        }
        catch (DecoderFallbackException)
        {
            throw Fail(ErrorCode.InvalidArguments, $"{what} is not UTF-8");
        }
    }

    /// <summary>Copies <paramref name="value"/> (at most <paramref name="capacity"/> bytes of it) into memory.</summary>
    public void Write(int pointer, int capacity, ReadOnlySpan<byte> value)
    {
        if (capacity < 0) throw Trap("negative capacity");
        var count = Math.Min(capacity, value.Length);
        ChargeCopy(count);
        value[..count].CopyTo(Bytes(pointer, count));
    }

    public void ChargeCopy(int bytes) => Call.Meter.Charge((ulong)bytes / Runtime.Gas.CopyBytesPerGas);

    public ContractFailure Trap(string message) => new(ErrorCode.ContractTrapped, $"{Contract.Name} v{Contract.Version}.{Call.Method} trapped: {message}");

    public ContractFailure Fail(ErrorCode code, string message) => new(code, $"{Contract.Name} v{Contract.Version}.{Call.Method}: {message}");
}
