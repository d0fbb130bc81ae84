using System.Text;

namespace Custos.Contracts.Wasm;

/// <summary>A module that does not parse: where and why.</summary>
public sealed class WasmFormatException(int offset, string message) : Exception(message)
{
    public int Offset { get; } = offset;
}

public sealed record FunctionType(byte[] Parameters, byte[] Results)
{
    public bool Matches(ReadOnlySpan<byte> parameters, ReadOnlySpan<byte> results) => Parameters.AsSpan().SequenceEqual(parameters) && Results.AsSpan().SequenceEqual(results);

    public override string ToString() => $"({string.Join(" ", Parameters.Select(WasmModule.TypeName))}) -> ({string.Join(" ", Results.Select(WasmModule.TypeName))})";
}

/// <summary>Import kinds: 0 function (Index = its type), 1 table, 2 memory, 3 global.</summary>
public sealed record WasmImport(string Module, string Name, byte Kind, uint Index, int Offset);

public sealed record WasmExport(string Name, byte Kind, uint Index);

public sealed record WasmMemory(uint MinimumPages, uint? MaximumPages, bool Shared, bool Is64, int Offset);

public sealed record WasmGlobal(byte Type, bool Mutable, int Offset);

/// <summary>One instruction: its offset in the module, its opcode (prefixed ones as 0xFC00 | sub-opcode) and its index immediate, if any.</summary>
public readonly record struct WasmInstruction(int Offset, int Opcode, uint Immediate);

public sealed record WasmFunctionBody(uint FunctionIndex, int Offset, byte[] Locals, IReadOnlyList<WasmInstruction> Instructions, string? Unsupported);

/// <summary>
/// A small reader of WebAssembly binaries (core spec 2.0, no proposals beyond bulk memory and sign extension): the
/// sections, imports, exports, memories, globals and every instruction of every body, enough for the pre-deployment
/// checks. Sizes are bounded by the module's own length; anything malformed raises <see cref="WasmFormatException"/>.
/// Instructions it does not know (SIMD, atomics, tail calls, exceptions...) end the decoding of their body, which is
/// then marked <see cref="WasmFunctionBody.Unsupported"/>.
/// </summary>
public sealed class WasmModule
{
    public const byte I32 = 0x7F, I64 = 0x7E, F32 = 0x7D, F64 = 0x7C, V128 = 0x7B, FuncRef = 0x70, ExternRef = 0x6F;

    public List<FunctionType> Types { get; } = [];
    public List<WasmImport> Imports { get; } = [];
    public List<uint> FunctionTypeIndices { get; } = [];
    public List<WasmMemory> Memories { get; } = [];
    public List<(uint MinimumElements, int Offset)> Tables { get; } = [];
    public List<WasmGlobal> Globals { get; } = [];
    public List<WasmExport> Exports { get; } = [];
    public List<WasmFunctionBody> Bodies { get; } = [];
    public List<(string Name, byte[] Data)> CustomSections { get; } = [];
    public List<(int Offset, IReadOnlyList<WasmInstruction> Instructions, string? Unsupported)> InitExpressions { get; } = [];
    public uint? Start { get; private set; }
    public int ImportedFunctions => Imports.Count(i => i.Kind == 0);

    public static string TypeName(byte type) => type switch
    {
        I32 => "i32", I64 => "i64", F32 => "f32", F64 => "f64", V128 => "v128", FuncRef => "funcref", ExternRef => "externref", _ => $"0x{type:x2}",
    };

    /// <summary>The type of function <paramref name="index"/> (imports first, as the index space counts them).</summary>
    public FunctionType? TypeOfFunction(uint index)
    {
        var imported = Imports.Where(i => i.Kind == 0).ToList();
        var typeIndex = index < imported.Count ? imported[(int)index].Index
            : index - imported.Count < FunctionTypeIndices.Count ? FunctionTypeIndices[(int)(index - imported.Count)] : uint.MaxValue;
        return typeIndex < Types.Count ? Types[(int)typeIndex] : null;
    }

    public static WasmModule Parse(ReadOnlySpan<byte> bytes)
    {
        var module = new WasmModule();
        var reader = new Reader(bytes, 0);
        if (bytes.Length < 8 || !bytes[..4].SequenceEqual("\0asm"u8)) throw new WasmFormatException(0, "not a WebAssembly module (no \\0asm magic)");
        if (!bytes[4..8].SequenceEqual(new byte[] { 1, 0, 0, 0 })) throw new WasmFormatException(4, "not a core module of version 1");
        reader.Position = 8;
        while (!reader.AtEnd)
        {
            var id = reader.Byte();
            var declared = reader.U32();
            var start = reader.Position;
            if (declared > (uint)(bytes.Length - start)) throw new WasmFormatException(start, $"section {id} runs past the end of the module");
            var size = (int)declared;
            var section = new Reader(bytes[..(start + size)], start);
            module.ReadSection(id, ref section);
            if (id != 0 && !section.AtEnd) throw new WasmFormatException(section.Position, $"section {id} has {start + size - section.Position} bytes left over");
            reader.Position = start + size;
        }

        if (module.Bodies.Count != module.FunctionTypeIndices.Count) throw new WasmFormatException(bytes.Length, "function and code sections disagree");
        return module;
    }

    private void ReadSection(byte id, ref Reader r)
    {
        switch (id)
        {
            case 0:
                var sectionName = r.Name();
                CustomSections.Add((sectionName, r.Bytes(r.Remaining).ToArray()));
                break;
            case 1:
                for (var n = r.U32(); n > 0; n--)
                {
                    if (r.Byte() != 0x60) throw new WasmFormatException(r.Position - 1, "type is not a function type");
                    Types.Add(new FunctionType(r.ValueTypes(), r.ValueTypes()));
                }

                break;
            case 2:
                for (var n = r.U32(); n > 0; n--)
                {
                    var at = r.Position;
                    var module = r.Name();
                    var name = r.Name();
                    var kind = r.Byte();
                    uint index = 0;
                    switch (kind)
                    {
                        case 0: index = r.U32(); break;
                        case 1: r.Byte(); r.Limits(); break;
                        case 2: Memories.Add(r.Memory(at)); break;
                        case 3: r.Byte(); r.Byte(); break;
                        default: throw new WasmFormatException(at, $"unknown import kind {kind}");
                    }

                    Imports.Add(new WasmImport(module, name, kind, index, at));
                }

                break;
            case 3:
                for (var n = r.U32(); n > 0; n--) FunctionTypeIndices.Add(r.U32());
                break;
            case 4:
                for (var n = r.U32(); n > 0; n--)
                {
                    var at = r.Position;
                    r.Byte();
                    Tables.Add((r.Limits().Min, at));
                }

                break;
            case 5:
                for (var n = r.U32(); n > 0; n--) Memories.Add(r.Memory(r.Position));
                break;
            case 6:
                for (var n = r.U32(); n > 0; n--)
                {
                    var at = r.Position;
                    var type = r.Byte();
                    var mutable = r.Byte() == 1;
                    Globals.Add(new WasmGlobal(type, mutable, at));
                    InitExpressions.Add(r.Expression());
                }

                break;
            case 7:
                for (var n = r.U32(); n > 0; n--) Exports.Add(new WasmExport(r.Name(), r.Byte(), r.U32()));
                break;
            case 8:
                Start = r.U32();
                break;
            case 9:
            case 11:
            case 12:
                // Elements, data and the data count carry no instructions the checks look at beyond constant offsets,
                // which the engine's validation restricts to constant expressions.
                r.Bytes(r.Remaining);
                break;
            case 10:
                var count = r.U32();
                for (uint i = 0; i < count; i++)
                {
                    var declaredSize = r.U32();
                    var at = r.Position;
                    if (declaredSize > (uint)r.Remaining) throw new WasmFormatException(at, "function body runs past its section");
                    var size = (int)declaredSize;
                    var body = new Reader(r.Span[..(at + size)], at);
                    var locals = new List<byte>();
                    for (var groups = body.U32(); groups > 0; groups--)
                    {
                        var n = body.U32();
                        var type = body.Byte();
                        if (n > 50_000 || locals.Count + n > 50_000) throw new WasmFormatException(body.Position, "too many locals");
                        locals.AddRange(Enumerable.Repeat(type, (int)n));
                    }

                    var (_, instructions, unsupported) = body.Instructions(untilBodyEnd: true);
                    Bodies.Add(new WasmFunctionBody((uint)(ImportedFunctionsSoFar() + i), at, [.. locals], instructions, unsupported));
                    r.Position = at + size;
                }

                break;
            default:
                throw new WasmFormatException(r.Position, $"unknown section id {id}");
        }
    }

    private int ImportedFunctionsSoFar() => Imports.Count(i => i.Kind == 0);

    private ref struct Reader(ReadOnlySpan<byte> span, int position)
    {
        public readonly ReadOnlySpan<byte> Span = span;
        public int Position = position;

        public readonly bool AtEnd => Position >= Span.Length;

        public readonly int Remaining => Span.Length - Position;

        public byte Byte()
        {
            if (Position >= Span.Length) throw new WasmFormatException(Position, "unexpected end");
            return Span[Position++];
        }

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (count < 0 || count > Remaining) throw new WasmFormatException(Position, "unexpected end");
            var result = Span.Slice(Position, count);
            Position += count;
            return result;
        }

        public uint U32()
        {
            ulong result = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = Byte();
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return result <= uint.MaxValue ? (uint)result : throw new WasmFormatException(Position, "integer too large");
            }

            throw new WasmFormatException(Position, "integer too long");
        }

        /// <summary>A signed LEB128 of at most <paramref name="bits"/> bits, skipped (its value does not matter to the checks).</summary>
        public void SkipSigned(int bits)
        {
            for (var i = 0; i < (bits + 6) / 7; i++)
            {
                if ((Byte() & 0x80) == 0) return;
            }

            throw new WasmFormatException(Position, "integer too long");
        }

        public string Name()
        {
            var length = (int)U32();
            try
            {
                return new UTF8Encoding(false, true).GetString(Bytes(length));
            }
            catch (DecoderFallbackException)
            {
                throw new WasmFormatException(Position, "name is not UTF-8");
            }
        }

        public byte[] ValueTypes()
        {
            var n = U32();
            if (n > 1000) throw new WasmFormatException(Position, "too many types");
            return Bytes((int)n).ToArray();
        }

        public (uint Min, uint? Max, byte Flags) Limits()
        {
            var flags = Byte();
            var min = U32();
            uint? max = (flags & 1) != 0 ? U32() : null;
            return (min, max, flags);
        }

        public WasmMemory Memory(int at)
        {
            var (min, max, flags) = Limits();
            return new WasmMemory(min, max, (flags & 2) != 0, (flags & 4) != 0, at);
        }

        public (int Offset, IReadOnlyList<WasmInstruction> Instructions, string? Unsupported) Expression()
        {
            var at = Position;
            var (_, instructions, unsupported) = Instructions(untilBodyEnd: false);
            return (at, instructions, unsupported);
        }

        /// <summary>Decodes instructions up to the matching end (of the body, or of a constant expression).</summary>
        public (int End, List<WasmInstruction> Instructions, string? Unsupported) Instructions(bool untilBodyEnd)
        {
            var list = new List<WasmInstruction>();
            var depth = 0;
            while (true)
            {
                var at = Position;
                int op = Byte();
                uint immediate = 0;
                switch (op)
                {
                    case 0x02 or 0x03 or 0x04:
                        depth++;
                        if (BlockType() is var type and not 0) list.Add(new WasmInstruction(at, 0x1C00 | type, 0));
                        break;
                    case 0x0B:
                        list.Add(new WasmInstruction(at, op, 0));
                        if (depth-- == 0) return (Position, list, null);
                        continue;
                    case 0x0C or 0x0D: immediate = U32(); break;
                    case 0x0E:
                        for (var n = U32(); n > 0; n--) U32();
                        immediate = U32();
                        break;
                    case 0x10: immediate = U32(); break;
                    case 0x11:
                        immediate = U32();
                        U32();
                        break;
                    case 0x1C:
                        var types = ValueTypes();
                        foreach (var t in types) list.Add(new WasmInstruction(at, 0x1C00 | t, 0));
                        break;
                    case >= 0x20 and <= 0x26: immediate = U32(); break;
                    case >= 0x28 and <= 0x3E:
                        U32();
                        immediate = U32();
                        break;
                    case 0x3F or 0x40: immediate = U32(); break;
                    case 0x41: SkipSigned(32); break;
                    case 0x42: SkipSigned(64); break;
                    case 0x43: Bytes(4); break;
                    case 0x44: Bytes(8); break;
                    case 0x00 or 0x01 or 0x05 or 0x0F or 0x1A or 0x1B or (>= 0x45 and <= 0xC4) or 0xD1: break;
                    case 0xD0: Byte(); break;
                    case 0xD2: immediate = U32(); break;
                    case 0xFC:
                        var sub = U32();
                        op = 0xFC00 | (int)Math.Min(sub, 0xFF);
                        switch (sub)
                        {
                            case <= 7: break;
                            case 8: immediate = U32(); Byte(); break;
                            case 9 or 13 or 15 or 16 or 17: immediate = U32(); break;
                            case 10: Byte(); Byte(); break;
                            case 11: Byte(); break;
                            case 12 or 14: U32(); U32(); break;
                            default:
                                list.Add(new WasmInstruction(at, op, sub));
                                return (Position, list, $"unknown instruction 0xFC {sub}");
                        }

                        break;
                    default:
                        var name = op switch { 0xFD => "SIMD", 0xFE => "atomic (threads)", 0x12 or 0x13 => "tail call", 0x06 or 0x07 or 0x08 or 0x09 or 0x18 or 0x19 or 0x1F => "exception handling", _ => "unknown" };
                        list.Add(new WasmInstruction(at, op is 0xFD or 0xFE ? op << 8 : op, 0));
                        return (Position, list, $"{name} instruction 0x{op:X2}");
                }

                list.Add(new WasmInstruction(at, op, immediate));
            }
        }

        /// <summary>Skips a block type; returns the value type when it is one (0 otherwise).</summary>
        private byte BlockType()
        {
            var b = Span.Length > Position ? Span[Position] : (byte)0;
            if (b == 0x40 || b is I32 or I64 or F32 or F64 or V128 or FuncRef or ExternRef)
            {
                Position++;
                return b == 0x40 ? (byte)0 : b;
            }

            SkipSigned(33);
            return 0;
        }
    }
}
