using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution;

/// <summary>What every transaction of a block sees of the block: from the header, never from a clock (invariant 5).</summary>
public sealed record BlockContext(string ChainId, ulong Height, ulong TimestampMs, uint Proposer);

/// <summary>A contract compiled into the node (accounts, tokens; later governance, supervision, the digital currency).</summary>
public interface ISystemContract
{
    /// <summary>The name transactions call it by; also its state namespace.</summary>
    string Name { get; }

    /// <summary>The version a transaction must name (SC-1).</summary>
    uint Version { get; }

    /// <summary>
    /// Runs one method. Failures are raised as <see cref="ContractFailure"/> with a typed code; the executor then
    /// discards every change the call made.
    /// </summary>
    void Invoke(ContractCall call);
}

/// <summary>A typed refusal from a contract. Its changes are rolled back and it is recorded in the receipt.</summary>
public sealed class ContractFailure(ErrorCode code, string message) : Exception(message)
{
    public ErrorCode Code { get; } = code;
}

/// <summary>Counts gas; running out raises <see cref="ErrorCode.OutOfGas"/>.</summary>
public sealed class GasMeter(ulong limit)
{
    public ulong Limit { get; } = limit;

    public ulong Used { get; private set; }

    public void Charge(ulong amount)
    {
        Used += amount;
        if (Used > Limit)
        {
            Used = Limit;
            throw new ContractFailure(ErrorCode.OutOfGas, $"out of gas (limit {Limit})");
        }
    }
}

/// <summary>Gas prices. Deliberately simple: a base cost per transaction and per state access.</summary>
public sealed record GasSchedule
{
    public ulong TransactionBase { get; init; } = 1_000;
    public ulong PerArgumentByte { get; init; } = 1;
    public ulong StateRead { get; init; } = 100;
    public ulong StateWritePerByte { get; init; } = 10;
    public ulong Event { get; init; } = 50;

    /// <summary>The gas a transaction gets when its body says 0.</summary>
    public ulong DefaultLimit { get; init; } = 1_000_000;

    public ulong MaximumLimit { get; init; } = 50_000_000;
}

/// <summary>One method call as a contract sees it: caller, arguments, its own state namespace, events, gas.</summary>
public sealed class ContractCall
{
    private readonly StateOverlay _state;
    private readonly GasSchedule _gas;
    private readonly List<Event> _events;

    internal ContractCall(ISystemContract contract, string method, ReadOnlyMemory<byte> arguments, AccountRecord caller, BlockContext block,
        StateOverlay state, GasMeter meter, ExecutionLimits limits, List<Event> events, Hash32 transactionId)
    {
        Contract = contract;
        Method = method;
        Arguments = arguments;
        Caller = caller;
        Block = block;
        _state = state;
        Meter = meter;
        Limits = limits;
        _gas = limits.Gas;
        _events = events;
        TransactionId = transactionId;
        CallerId = new AccountId(caller.AccountId.Span);
    }

    public ISystemContract Contract { get; }

    public string Method { get; }

    public ReadOnlyMemory<byte> Arguments { get; }

    /// <summary>The sending account as the registry knows it (its type and organisation included).</summary>
    public AccountRecord Caller { get; }

    public AccountId CallerId { get; }

    public BlockContext Block { get; }

    public GasMeter Meter { get; }

    public Hash32 TransactionId { get; }

    /// <summary>The chain's execution parameters (the key-reset lock window among them).</summary>
    public ExecutionLimits Limits { get; }

    /// <summary>The chain's crypto suite, for contracts that check signatures inside their arguments.</summary>
    public Custos.Crypto.ICryptoSuite? Suite { get; internal init; }

    /// <summary>The supervision measures in force, as the executor read them for this block (null: read them from state).</summary>
    public SupervisionMeasures? Measures { get; internal init; }

    /// <summary>True when the caller is an administrator of the regulator organisation (holds supervision powers).</summary>
    public bool CallerIsRegulator => ConsortiumRegistry.IsRegulatorAccount(_state, Caller);

    /// <summary>Reads a key of this contract's namespace.</summary>
    public byte[]? Get(byte[] namespacedKey)
    {
        Meter.Charge(_gas.StateRead);
        return _state.TryGet(namespacedKey, out var value) ? value : null;
    }

    public void Put(byte[] namespacedKey, byte[] value)
    {
        Meter.Charge(_gas.StateWritePerByte * (ulong)(namespacedKey.Length + value.Length));
        _state.Put(namespacedKey, value);
    }

    public void Delete(byte[] namespacedKey)
    {
        Meter.Charge(_gas.StateWritePerByte * (ulong)namespacedKey.Length);
        _state.Delete(namespacedKey);
    }

    /// <summary>A key in this contract's namespace.</summary>
    public byte[] Key(string key) => StateKeys.For(Contract.Name, key);

    public byte[] Key(string prefix, AccountId account) => StateKeys.For(Contract.Name, prefix, account);

    /// <summary>An event with raw data (application contracts, whose events are bytes they chose).</summary>
    public void Emit(string name, ReadOnlySpan<byte> data)
    {
        Meter.Charge(_gas.Event + _gas.PerArgumentByte * (ulong)(name.Length + data.Length));
        _events.Add(new Event { Contract = Contract.Name, Name = name, Data = ByteString.CopyFrom(data) });
    }

    /// <summary>The same transaction's state and events, for a call of another contract (<see cref="ContractRegistry.CallFrom"/>).</summary>
    internal StateOverlay State => _state;

    internal List<Event> Events => _events;

    public void Emit(string name, IMessage data)
    {
        Meter.Charge(_gas.Event);
        _events.Add(new Event { Contract = Contract.Name, Name = name, Data = data.ToByteString() });
    }

    /// <summary>
    /// Runs <paramref name="change"/> as a unit within this call: when it raises a <see cref="ContractFailure"/> other
    /// than running out of gas, its writes and events are undone and the failure is returned, and the call goes on.
    /// Governance records a passed proposal whose execution was refused this way without losing the vote that passed it.
    /// </summary>
    public ContractFailure? TryAtomically(Action change)
    {
        var mark = _state.MarkTransaction();
        var events = _events.Count;
        try
        {
            change();
            return null;
        }
        catch (ContractFailure failure) when (failure.Code != ErrorCode.OutOfGas)
        {
            _state.RestoreTransaction(mark);
            _events.RemoveRange(events, _events.Count - events);
            return failure;
        }
    }

    /// <summary>Parses the arguments as <typeparamref name="T"/>; anything that does not parse is InvalidArguments.</summary>
    public T ParseArguments<T>(MessageParser<T> parser) where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(Arguments.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"{Contract.Name}.{Method}: arguments do not decode ({e.Message})");
        }
    }

    public static AccountId ParseAccount(ByteString bytes, string what) =>
        AccountId.TryCreate(bytes.Span, out var id) ? id : throw new ContractFailure(ErrorCode.InvalidArguments, $"{what} is not a {AccountId.SizeBytes}-byte account id");
}
