using System.Text;
using Custos.Execution;

namespace Custos.Contracts.Wasm;

/// <summary>
/// The pre-deployment checks (SC-7): the module must parse and validate, stay within the size and memory limits,
/// import only the host interface with its exact signatures, and contain nothing non-deterministic or unsupported
/// (floating point anywhere, threads and atomics, SIMD, a start function that reaches the host). Known dangerous
/// patterns are reported as warnings; each is detected soundly (what is reported is really there) but not completely:
/// <list type="bullet">
/// <item>DP001: a loop whose body holds no branch, call, <c>if</c> or <c>return</c> and ends by branching to its own
/// start: it can end only by a trap or by running out of fuel.</item>
/// <item>DP002: <c>memory.grow</c> inside a loop: memory use that grows with input, up to the limit.</item>
/// <item>DP003: a function that calls itself: depth is bounded only by the stack limit (a trap).</item>
/// <item>DP004: a contract that admits any caller and itself calls other contracts: re-entrancy is possible.</item>
/// </list>
/// </summary>
public static class ContractChecks
{
    /// <summary>Runs every rule; <paramref name="validate"/> is the engine's own validation (null: skipped), returning an error or null.</summary>
    public static ContractCheckReport Run(ReadOnlySpan<byte> bytes, Func<byte[], string?>? validate = null)
    {
        var findings = new List<ContractFinding>();
        void Error(string rule, string location, string message) => findings.Add(new ContractFinding(rule, FindingSeverity.Error, location, message));
        void Warn(string rule, string location, string message) => findings.Add(new ContractFinding(rule, FindingSeverity.Warning, location, message));

        if (bytes.Length > ContractRegistry.ModuleSizeBytesMax)
        {
            Error("CK002", "module", $"the module is {bytes.Length} bytes, at most {ContractRegistry.ModuleSizeBytesMax} allowed");
            return new ContractCheckReport(findings, [], []);
        }

        WasmModule module;
        try
        {
            module = WasmModule.Parse(bytes);
        }
        catch (WasmFormatException e)
        {
            Error("CK001", At(e.Offset), $"the module does not parse: {e.Message}");
            return new ContractCheckReport(findings, [], []);
        }
        catch (Exception e) when (e is ArgumentException or OverflowException or IndexOutOfRangeException)
        {
            // A defect of the reader on input it should have refused: still a refusal, never a crash.
            Error("CK001", "module", $"the module does not parse ({e.GetType().Name})");
            return new ContractCheckReport(findings, [], []);
        }

        if (validate?.Invoke(bytes.ToArray()) is { } invalid) Error("CK001", "module", $"the module is not valid WebAssembly: {invalid}");

        // Imports: functions of the host interface only, with their exact signatures.
        var imported = module.Imports.Where(i => i.Kind == 0).ToList();
        foreach (var import in module.Imports)
        {
            var where = $"import {import.Module}.{import.Name}";
            if (import.Kind != 0) Error("CK013", where, "only functions may be imported (no memories, tables or globals)");
            else if (import.Module != HostAbi.Module) Error("CK010", where, $"imports come only from \"{HostAbi.Module}\"");
            else if (!HostAbi.Functions.TryGetValue(import.Name, out var expected)) Error("CK011", where, "not a function of the host interface");
            else if (import.Index >= module.Types.Count || !module.Types[(int)import.Index].Matches(expected.Parameters, expected.Results))
            {
                Error("CK012", where, $"signature must be {expected}");
            }
        }

        // Types, locals and globals: integers only.
        for (var i = 0; i < module.Types.Count; i++) CheckTypes(module.Types[i].Parameters.Concat(module.Types[i].Results), $"type {i}", Error);
        foreach (var global in module.Globals) CheckTypes([global.Type], $"global at {At(global.Offset)}", Error);
        foreach (var body in module.Bodies) CheckTypes(body.Locals, $"function {body.FunctionIndex} locals", Error);

        // Memory.
        if (module.Memories.Count > 1) Error("CK031", "memory", "at most one memory");
        foreach (var memory in module.Memories)
        {
            if (memory.Shared) Error("CK023", At(memory.Offset), "shared memory (threads) is not allowed");
            if (memory.Is64) Error("CK024", At(memory.Offset), "64-bit memory is not supported");
            if (memory.MinimumPages > WasmLimits.MemoryPagesMax) Error("CK031", At(memory.Offset), $"memory starts at {memory.MinimumPages} pages, at most {WasmLimits.MemoryPagesMax} (64 KiB each) allowed");
            else if (memory.MaximumPages > WasmLimits.MemoryPagesMax) Warn("CK032", At(memory.Offset), $"memory may grow to {memory.MaximumPages} pages; growth beyond {WasmLimits.MemoryPagesMax} fails");
        }

        foreach (var (elements, offset) in module.Tables.Where(t => t.MinimumElements > WasmLimits.TableElementsMax))
        {
            Error("CK033", At(offset), $"table starts with {elements} elements, at most {WasmLimits.TableElementsMax} allowed");
        }

        if (module.Tables.Count > 1) Error("CK033", "tables", "at most one table");

        // Instructions.
        foreach (var (offset, instructions, unsupported) in module.InitExpressions) CheckInstructions(instructions, unsupported, $"global initialiser at {At(offset)}", Error);
        foreach (var body in module.Bodies)
        {
            CheckInstructions(body.Instructions, body.Unsupported, $"function {body.FunctionIndex}", Error);
            FindPatterns(module, body, Warn);
        }

        // Exports.
        var methods = new List<string>();
        if (!module.Exports.Any(e => e.Name == HostAbi.MemoryExport && e.Kind == 2)) Error("CK040", "exports", $"the module must export its memory as \"{HostAbi.MemoryExport}\"");
        foreach (var export in module.Exports.Where(e => e.Kind == 0 && !e.Name.StartsWith("__", StringComparison.Ordinal)))
        {
            var type = module.TypeOfFunction(export.Index);
            if (type is null || !ContractRegistry.IsValidMethodName(export.Name)) Warn("CK042", $"export {export.Name}", "not callable as a method (name: letters, digits and '_')");
            else if (!type.Matches([], [])) Warn("CK042", $"export {export.Name}", $"not callable as a method: methods take no parameters and return nothing (arguments come through input_read), this is {type}");
            else methods.Add(export.Name);
        }

        if (methods.Count == 0) Error("CK041", "exports", "the module exports no method (a function of type () -> ())");

        // Start function: it runs at every instantiation, before any method; it may initialise memory but not reach the host.
        if (module.Start is { } start)
        {
            var reach = Reachable(module, start);
            if (reach.Host.Count > 0) Error("CK030", $"start function {start}", $"the start function reaches the host ({string.Join(", ", reach.Host.Order(StringComparer.Ordinal))}): initialise in a method run by migrate");
            else if (reach.Indirect && imported.Count > 0) Error("CK030", $"start function {start}", "the start function makes indirect calls and may reach the host");
        }

        // Declared callers.
        var callers = new List<string>();
        foreach (var (name, data) in module.CustomSections.Where(s => s.Name == HostAbi.CallersSection))
        {
            string text;
            try
            {
                text = new UTF8Encoding(false, true).GetString(data);
            }
            catch (DecoderFallbackException)
            {
                Error("CK050", $"section {name}", "not UTF-8");
                continue;
            }

            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (line != "*" && !ContractRegistry.IsValidName(line)) Error("CK050", $"section {name}", $"'{line}' is not a contract name");
                else if (!callers.Contains(line)) callers.Add(line);
            }
        }

        if (callers.Contains("*") && imported.Any(i => i.Name == "call")) Warn("DP004", $"section {HostAbi.CallersSection}", "admits any caller and calls other contracts: re-entrancy is possible");
        callers.Sort(StringComparer.Ordinal);
        methods.Sort(StringComparer.Ordinal);
        return new ContractCheckReport(findings, callers, methods);
    }

    private static string At(int offset) => $"offset 0x{offset:x}";

    private static void CheckTypes(IEnumerable<byte> types, string where, Action<string, string, string> error)
    {
        foreach (var type in types.Distinct())
        {
            if (type is WasmModule.F32 or WasmModule.F64) error("CK021", where, $"floating-point type {WasmModule.TypeName(type)} (results could differ between nodes)");
            else if (type == WasmModule.V128) error("CK022", where, "SIMD type v128");
            else if (type is not (WasmModule.I32 or WasmModule.I64)) error("CK024", where, $"value type {WasmModule.TypeName(type)} is not supported");
        }
    }

    private static void CheckInstructions(IReadOnlyList<WasmInstruction> instructions, string? unsupported, string where, Action<string, string, string> error)
    {
        var floats = 0;
        foreach (var instruction in instructions)
        {
            if (IsFloat(instruction.Opcode) && floats++ == 0) error("CK020", $"{where} {At(instruction.Offset)}", $"floating-point instruction 0x{instruction.Opcode:X2} (the first of this function)");
            if (instruction.Opcode == (0x1C00 | WasmModule.V128)) error("CK022", $"{where} {At(instruction.Offset)}", "SIMD block or select type");
        }

        if (unsupported is null) return;
        var last = instructions[^1];
        var rule = last.Opcode == 0xFD00 ? "CK022" : last.Opcode == 0xFE00 ? "CK023" : "CK024";
        error(rule, $"{where} {At(last.Offset)}", $"{unsupported} is not allowed (the rest of the function was not examined)");
    }

    /// <summary>Floating-point instructions: loads, stores, constants, comparisons, arithmetic and conversions from or to floats.</summary>
    public static bool IsFloat(int opcode) => opcode switch
    {
        0x2A or 0x2B or 0x38 or 0x39 or 0x43 or 0x44 => true,
        >= 0x5B and <= 0x66 => true,
        >= 0x8B and <= 0xA6 => true,
        >= 0xA8 and <= 0xAB => true,
        >= 0xAE and <= 0xBF => true,
        >= 0xFC00 and <= 0xFC07 => true,
        0x1C00 | WasmModule.F32 or 0x1C00 | WasmModule.F64 => true,
        _ => false,
    };

    private static void FindPatterns(WasmModule module, WasmFunctionBody body, Action<string, string, string> warn)
    {
        var code = body.Instructions;
        var open = new Stack<(int Opcode, int Index)>();
        var loops = 0;
        for (var i = 0; i < code.Count; i++)
        {
            var op = code[i].Opcode;
            switch (op)
            {
                case 0x02 or 0x03 or 0x04:
                    open.Push((op, i));
                    if (op == 0x03) loops++;
                    break;
                case 0x0B when open.Count > 0:
                    var (kind, start) = open.Pop();
                    if (kind != 0x03) break;
                    loops--;
                    if (i - 1 > start && code[i - 1].Opcode == 0x0C && code[i - 1].Immediate == 0
                        && !code.Skip(start + 1).Take(i - 2 - start).Any(c => c.Opcode is 0x0C or 0x0D or 0x0E or 0x04 or 0x0F or 0x10 or 0x11))
                    {
                        warn("DP001", $"function {body.FunctionIndex} {At(code[start].Offset)}", "loop with no way out: it ends only by a trap or by running out of fuel");
                    }

                    break;
                case 0x40 when loops > 0:
                    warn("DP002", $"function {body.FunctionIndex} {At(code[i].Offset)}", "memory.grow inside a loop");
                    break;
                case 0x10 when code[i].Immediate == body.FunctionIndex:
                    warn("DP003", $"function {body.FunctionIndex} {At(code[i].Offset)}", "calls itself: recursion is bounded only by the stack limit");
                    break;
            }
        }
    }

    private static (HashSet<string> Host, bool Indirect) Reachable(WasmModule module, uint start)
    {
        var imported = module.Imports.Where(i => i.Kind == 0).ToList();
        var host = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<uint>();
        var pending = new Stack<uint>([start]);
        var indirect = false;
        while (pending.TryPop(out var function))
        {
            if (!seen.Add(function)) continue;
            if (function < imported.Count)
            {
                host.Add(imported[(int)function].Name);
                continue;
            }

            var index = (int)(function - imported.Count);
            if (index >= module.Bodies.Count) continue;
            foreach (var instruction in module.Bodies[index].Instructions)
            {
                if (instruction.Opcode == 0x10) pending.Push(instruction.Immediate);
                else if (instruction.Opcode == 0x11) indirect = true;
            }
        }

        return (host, indirect);
    }
}

/// <summary>Limits of a running contract (they are also checked before deployment where they can be).</summary>
public static class WasmLimits
{
    /// <summary>Linear memory: 16 pages of 64 KiB (1 MiB).</summary>
    public const uint MemoryPagesMax = 16;

    public const long MemoryBytesMax = MemoryPagesMax * 65_536L;

    /// <summary>
    /// Native stack for wasm frames; exceeding it traps (deterministically, on the same Wasmtime version). Each nested
    /// contract call gets its own allowance on the same thread, so the executor's thread needs about
    /// (<see cref="Execution.ContractRegistry.CallDepthMax"/> + 1) times this, well inside .NET's 1.5 MiB default.
    /// </summary>
    public const int StackBytesMax = 128 * 1024;

    public const int TableElementsMax = 10_000;

    public const int KeyBytesMax = 256;

    public const int ValueBytesMax = 16 * 1024;

    public const int InputBytesMax = 96 * 1024;

    public const int OutputBytesMax = 16 * 1024;

    public const int EventNameBytesMax = 64;

    public const int EventDataBytesMax = 4 * 1024;

    public const int MessageBytesMax = 1024;
}
