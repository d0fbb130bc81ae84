using System.Buffers.Binary;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Wasmtime;

namespace Custos.Contracts.Wasm;

/// <summary>
/// The host interface (module <c>custos</c>, <see cref="HostAbi"/>): every function bills the fuel burned so far,
/// does its work through the call's <see cref="ContractCall"/> (so state, gas and events behave as for system
/// contracts), then gives the contract the fuel its remaining gas buys.
/// </summary>
internal static class HostFunctions
{
    public static Linker Define(Linker linker, WasmContractRuntime runtime)
    {
        const string m = HostAbi.Module;
        linker.DefineFunction(m, "input_size", (Caller c) => Run(c, f => f.Call.Arguments.Length));
        linker.DefineFunction(m, "input_read", (Caller c, int pointer) => Run(c, (CallFrame f) =>
        {
            f.Write(pointer, int.MaxValue, f.Call.Arguments.Span);
        }));
        linker.DefineFunction(m, "output", (Caller c, int pointer, int length) => Run(c, (CallFrame f) =>
        {
            if (length > WasmLimits.OutputBytesMax) throw f.Fail(ErrorCode.InvalidArguments, $"output is longer than {WasmLimits.OutputBytesMax} bytes");
            f.ChargeCopy(length);
            f.Output = f.Bytes(pointer, length).ToArray();
        }));
        linker.DefineFunction(m, "state_get", (Caller c, int keyPointer, int keyLength, int valuePointer, int valueCapacity) => Run(c, f =>
        {
            var value = f.Call.Get(KeyDirectory.DataKey(f.Contract.Name, Key(f, keyPointer, keyLength)));
            if (value is null) return -1;
            f.Write(valuePointer, valueCapacity, value);
            return value.Length;
        }));
        linker.DefineFunction(m, "state_put", (Caller c, int keyPointer, int keyLength, int valuePointer, int valueLength) => Run(c, (CallFrame f) =>
        {
            if (valueLength > WasmLimits.ValueBytesMax) throw f.Fail(ErrorCode.InvalidArguments, $"a value is at most {WasmLimits.ValueBytesMax} bytes");
            var key = Key(f, keyPointer, keyLength);
            var stateKey = KeyDirectory.DataKey(f.Contract.Name, key);
            var existed = f.Call.Get(stateKey) is not null;
            f.Call.Put(stateKey, f.Bytes(valuePointer, valueLength).ToArray());
            if (!existed) KeyDirectory.Insert(f.Call, f.Contract.Name, key);
        }));
        linker.DefineFunction(m, "state_delete", (Caller c, int keyPointer, int keyLength) => Run(c, (CallFrame f) =>
        {
            var key = Key(f, keyPointer, keyLength);
            var stateKey = KeyDirectory.DataKey(f.Contract.Name, key);
            if (f.Call.Get(stateKey) is null) return;
            f.Call.Delete(stateKey);
            KeyDirectory.Remove(f.Call, f.Contract.Name, key);
        }));
        linker.DefineFunction(m, "state_next", (Caller c, int startPointer, int startLength, int endPointer, int endLength, int outPointer, int outCapacity) => Run(c, f =>
        {
            var start = Key(f, startPointer, startLength);
            var end = endLength < 0 ? null : Key(f, endPointer, endLength);
            var next = KeyDirectory.Next(f.Call, f.Contract.Name, start, end);
            if (next is null) return -1;
            f.Write(outPointer, outCapacity, next);
            return next.Length;
        }));
        linker.DefineFunction(m, "caller_account", (Caller c, int pointer) => Run(c, (CallFrame f) =>
        {
            Span<byte> id = stackalloc byte[AccountId.SizeBytes];
            f.Call.CallerId.CopyTo(id);
            f.Write(pointer, id.Length, id);
        }));
        linker.DefineFunction(m, "caller_role", (Caller c) => Run(c, f => (int)f.Call.Caller.Type));
        linker.DefineFunction(m, "caller_organisation", (Caller c, int pointer, int capacity) => Run(c, f =>
        {
            var organisation = Encoding.UTF8.GetBytes(f.Call.Caller.Organisation);
            f.Write(pointer, capacity, organisation);
            return organisation.Length;
        }));
        linker.DefineFunction(m, "caller_contract", (Caller c, int pointer, int capacity) => Run(c, f =>
        {
            var name = Encoding.ASCII.GetBytes(f.CallerContract);
            f.Write(pointer, capacity, name);
            return name.Length;
        }));
        linker.DefineFunction(m, "block_height", (Caller c) => Run(c, f => (long)f.Call.Block.Height));
        linker.DefineFunction(m, "block_time", (Caller c) => Run(c, f => (long)f.Call.Block.TimestampMs));
        linker.DefineFunction(m, "emit", (Caller c, int namePointer, int nameLength, int dataPointer, int dataLength) => Run(c, (CallFrame f) =>
        {
            var name = f.Text(namePointer, nameLength, WasmLimits.EventNameBytesMax, "an event name");
            if (dataLength > WasmLimits.EventDataBytesMax) throw f.Fail(ErrorCode.InvalidArguments, $"event data is at most {WasmLimits.EventDataBytesMax} bytes");
            f.Call.Emit(name, f.Bytes(dataPointer, dataLength));
        }));
        linker.DefineFunction(m, "call", (Caller c, int namePointer, int nameLength, int version, int methodPointer, int methodLength, int argumentsPointer, int argumentsLength) =>
            Run(c, f => CallContract(f, runtime, namePointer, nameLength, version, methodPointer, methodLength, argumentsPointer, argumentsLength)));
        linker.DefineFunction(m, "call_result_size", (Caller c) => Run(c, f => f.LastCallResult?.Length ?? 0));
        linker.DefineFunction(m, "call_result_read", (Caller c, int pointer) => Run(c, (CallFrame f) =>
        {
            f.Write(pointer, int.MaxValue, f.LastCallResult ?? []);
        }));
        linker.DefineFunction(m, "hash", (Caller c, int pointer, int length, int outPointer) => Run(c, (CallFrame f) =>
        {
            f.Call.Meter.Charge(runtime.Gas.HashBase + runtime.Gas.HashPerByte * (ulong)Math.Max(0, length));
            var suite = f.Call.Suite ?? throw f.Trap("no crypto suite");
            Span<byte> digest = stackalloc byte[Hash32.SizeBytes];
            suite.Hash(f.Bytes(pointer, length)).CopyTo(digest);
            f.Write(outPointer, digest.Length, digest);
        }));
        linker.DefineFunction(m, "verify", (Caller c, int keyPointer, int keyLength, int messagePointer, int messageLength, int signaturePointer, int signatureLength) => Run(c, f =>
        {
            f.Call.Meter.Charge(runtime.Gas.Verify + (ulong)Math.Max(0, messageLength) / runtime.Gas.CopyBytesPerGas);
            var suite = f.Call.Suite ?? throw f.Trap("no crypto suite");
            if (!suite.TryDecodePublicKey(f.Bytes(keyPointer, keyLength), out var key, out _)) return 0;
            return suite.Verify(key, f.Bytes(messagePointer, messageLength), f.Bytes(signaturePointer, signatureLength)) ? 1 : 0;
        }));
        linker.DefineFunction(m, "fail", (Caller c, int code, int messagePointer, int messageLength) => Run(c, (CallFrame f) =>
        {
            var length = Math.Min(Math.Max(0, messageLength), WasmLimits.MessageBytesMax);
            throw FailureOf(f, code, Encoding.UTF8.GetString(f.Bytes(messagePointer, length)));
        }));
        return linker;
    }

    /// <summary>
    /// A contract's own failure: codes of the contract range (700-799) that the enum defines are kept, except those
    /// the host alone reports (out of gas, trapped); any other code is reported as ContractTrapped with the number.
    /// </summary>
    internal static ContractFailure FailureOf(CallFrame frame, int code, string message)
    {
        var known = code is >= 700 and <= 799 && Enum.IsDefined((ErrorCode)code) && (ErrorCode)code is not (ErrorCode.OutOfGas or ErrorCode.ContractTrapped);
        return known ? frame.Fail((ErrorCode)code, message) : frame.Fail(ErrorCode.ContractTrapped, $"failed with code {code}: {message}");
    }

    private static int CallContract(CallFrame f, WasmContractRuntime runtime, int namePointer, int nameLength, int version, int methodPointer, int methodLength,
        int argumentsPointer, int argumentsLength)
    {
        var name = f.Text(namePointer, nameLength, ContractRegistry.NameLengthMax, "a contract name");
        var method = f.Text(methodPointer, methodLength, ContractRegistry.NameLengthMax, "a method name");
        if (argumentsLength > WasmLimits.InputBytesMax) throw f.Fail(ErrorCode.InvalidArguments, $"call arguments are at most {WasmLimits.InputBytesMax} bytes");
        f.ChargeCopy(argumentsLength);
        var arguments = f.Bytes(argumentsPointer, argumentsLength).ToArray();
        f.LastCallResult = null;
        if (f.Depth + 1 > ContractRegistry.CallDepthMax) return (int)ErrorCode.ContractCallDenied;
        byte[]? result = null;
        // The callee's writes and events are undone if it fails; the caller learns the code and decides (it may fail in turn).
        var failure = f.Call.TryAtomically(() =>
        {
            var (callee, call) = ContractRegistry.PrepareCall(f.Call, runtime, name, (uint)version, method, arguments);
            if (callee.Record.MigrateMethod.Length > 0 && method == callee.Record.MigrateMethod)
            {
                throw new ContractFailure(ErrorCode.PermissionDenied, $"{name}.{method} is a migration: it runs once, at deployment");
            }

            result = runtime.Run(call, callee, f);
        });
        f.LastCallResult = failure is null ? result : null;
        return failure is null ? 0 : (int)failure.Code;
    }

    private static byte[] Key(CallFrame f, int pointer, int length)
    {
        if (length > WasmLimits.KeyBytesMax) throw f.Fail(ErrorCode.InvalidArguments, $"a key is at most {WasmLimits.KeyBytesMax} bytes");
        f.ChargeCopy(length);
        return f.Bytes(pointer, length).ToArray();
    }

    private static T Run<T>(Caller caller, Func<CallFrame, T> body)
    {
        var frame = (CallFrame)caller.GetData()!;
        try
        {
            frame.Settle(caller.Fuel);
            frame.Call.Meter.Charge(frame.Runtime.Gas.HostCall);
            var result = body(frame);
            caller.Fuel = frame.FuelAvailable();
            return result;
        }
        catch (ContractFailure failure)
        {
            frame.Failure ??= failure;
            throw;
        }
    }

    private static void Run(Caller caller, Action<CallFrame> body) => Run(caller, f =>
    {
        body(f);
        return 0;
    });
}
