using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.DigitalCurrency;
using Custos.Execution;
using Custos.Execution.Wire;

namespace Custos.Simulation;

/// <summary>Committed state held in a sorted map, read by the executor.</summary>
internal sealed class SortedState(SortedDictionary<byte[], byte[]> entries) : IStateReader
{
    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value) => entries.TryGetValue(key.ToArray(), out value);
}

/// <summary>
/// The currency workload of one run: its participants, the genesis state the real contracts made, the clients'
/// traffic, and the executor every replica runs committed blocks with (docs/consensus.md, section 11).
/// </summary>
internal sealed class CurrencyWorkload
{
    private readonly string _chainId;
    private readonly ICryptoSuite _suite;
    private readonly EpochPlan _plan;
    private readonly CurrencyTraffic _traffic;
    private readonly SortedDictionary<byte[], byte[]> _genesisState;

    public CurrencyWorkload(string chainId, ICryptoSuite suite, EpochPlan plan, Random random, long genesisTimestampMs, bool counterfeit)
    {
        _chainId = chainId;
        _suite = suite;
        _plan = plan;
        Participants = new CurrencyParticipants(suite, random);
        // The contracts a chain runs for the currency (the node adds governance, the contract registry and privacy,
        // which the workload never calls). One signature cache for the run stands for admission, which verifies a
        // transaction once for the whole node rather than once per execution.
        var signatures = new SignatureCheck(suite);
        Contracts = [.. BlockExecutor.StandardContracts, counterfeit ? new CounterfeitingCurrency() : new DigitalCurrencyContract()];
        Executor = new BlockExecutor(suite, Contracts, signatures: signatures);
        // The genesis is made by the real contract even under the counterfeit mutation, so that the bug shows in the run.
        _genesisState = CurrencyGenesis.Build(chainId, suite, Participants, new BlockExecutor(suite, [.. BlockExecutor.StandardContracts, new DigitalCurrencyContract()], signatures: signatures), genesisTimestampMs);
        GenesisRoot = CurrencyLedger.RootOf(suite, _genesisState);
        _traffic = new CurrencyTraffic(new CurrencySigner(chainId, suite), Participants, random);
    }

    public CurrencyParticipants Participants { get; }

    public IReadOnlyList<ISystemContract> Contracts { get; }

    public BlockExecutor Executor { get; }

    public Hash32 GenesisRoot { get; }

    /// <summary>Conservation audits that held, over every honest replica and height.</summary>
    public long AuditsPassed { get; set; }

    public BlockExecuted GenesisExecution(BlockRecord genesis) => new(genesis.Height, genesis.Hash, GenesisRoot, null);

    public CurrencyLedger NewLedger() => new(new SortedDictionary<byte[], byte[]>(_genesisState, ByteKeyComparer.Instance), GenesisRoot);

    public IPayloadSource PayloadSource(Func<Hash32> latestStateRoot) => new CurrencyPayloadSource(_traffic, latestStateRoot);

    /// <summary>Executes a committed block on <paramref name="ledger"/> (at its parent) and returns what the engine is told.</summary>
    public BlockExecuted Execute(CurrencyLedger ledger, BlockRecord block)
    {
        var result = Executor.Execute(new BlockContext(_chainId, block.Height, block.TimestampMs, block.Header.Proposer), block.Decoded.Transactions, new SortedState(ledger.State));
        ledger.Append(_suite, block, result);
        var next = block.Height > 0 && _plan.EndsEpoch(block.Height) ? _plan.SetFor(block.Epoch + 1) : null;
        return new BlockExecuted(block.Height, block.Hash, ledger.Root, next);
    }

    /// <summary>
    /// Re-executes <paramref name="blocks"/> from the genesis state, as a node that lost its state would, and returns
    /// the first difference from what <paramref name="kept"/> recorded (roots per height, then the state itself), or null.
    /// </summary>
    public string? CheckReExecution(CurrencyLedger kept, IReadOnlyList<BlockRecord> blocks)
    {
        var fresh = NewLedger();
        foreach (var block in blocks)
        {
            Execute(fresh, block);
            if (fresh.Roots[^1] != kept.RootAt(block.Height))
            {
                return $"re-executing height {block.Height} gives state root {fresh.Roots[^1].ToShortString()}, the node kept {kept.RootAt(block.Height).ToShortString()}";
            }
        }

        return fresh.Root == kept.Root && fresh.State.Count == kept.State.Count ? null : $"re-executed state differs from the kept state at height {kept.Height}";
    }

    /// <summary>
    /// Conservation at the ledger's height: the contract's supply audit over the known holders, and, so that money
    /// cannot hide in an account the audit does not name, the sum of every balance the contract stores.
    /// </summary>
    public string? CheckConservation(CurrencyLedger ledger)
    {
        var state = new SortedState(ledger.State);
        var audit = SupplyAudit.Run(state, Participants.Holders);
        if (!audit.Holds) return $"at height {ledger.Height}: {audit}";
        var everyBalance = ledger.SumOfAllBalances();
        if (everyBalance != audit.SumOfBalances)
        {
            return $"at height {ledger.Height}: the balances the contract stores sum to {CurrencyParameters.Yuan(everyBalance)}, the holders' to {CurrencyParameters.Yuan(audit.SumOfBalances)}";
        }

        return null;
    }

    public CurrencyFigures Figures(CurrencyLedger ledger)
    {
        var totals = DigitalCurrencyContract.ReadTotals(new SortedState(ledger.State));
        return new CurrencyFigures
        {
            Wallets = Participants.Wallets.Count,
            Transactions = ledger.Transactions,
            Payments = ledger.Payments,
            Refusals = ledger.Refusals,
            RefusalsByReason = new SortedDictionary<string, long>(ledger.RefusalsByReason, StringComparer.Ordinal),
            Issued = totals.Issued,
            Redeemed = totals.Redeemed,
            Supply = totals.Supply,
            AuditsPassed = AuditsPassed,
        };
    }
}

/// <summary>
/// One replica's executed currency state: durable, like the node's storage, so it survives a crash with the ledger
/// it belongs to. The state root is the suite hash of the whole state in key order: it stands in for the storage's
/// sparse Merkle root (which needs RocksDB) and commits to the same content, so two replicas agree on it exactly
/// when their states are equal.
/// </summary>
internal sealed class CurrencyLedger(SortedDictionary<byte[], byte[]> state, Hash32 genesisRoot)
{
    private static readonly byte[] Domain = "custos-simulation/currency-state\0"u8.ToArray();
    private static readonly byte[] BalancePrefix = DigitalCurrencyContract.BalanceKey(default)[..^AccountId.SizeBytes];

    public SortedDictionary<byte[], byte[]> State { get; } = state;

    /// <summary>State roots from height 0 (genesis) up.</summary>
    public List<Hash32> Roots { get; } = [genesisRoot];

    public ulong Height => (ulong)Roots.Count - 1;

    public Hash32 Root => Roots[^1];

    public long Transactions { get; private set; }

    public long Payments { get; private set; }

    public long Refusals { get; private set; }

    public Dictionary<string, long> RefusalsByReason { get; } = new(StringComparer.Ordinal);

    public Hash32 RootAt(ulong height) => Roots[(int)height];

    public void Append(ICryptoSuite suite, BlockRecord block, BlockExecutionResult result)
    {
        if (block.Height != Height + 1) throw new InvalidOperationException($"height {block.Height} executed on state at {Height}");
        Apply(State, result.Writes);
        Roots.Add(RootOf(suite, State));
        var transactions = block.Decoded.Transactions;
        for (var i = 0; i < result.Receipts.Count; i++)
        {
            var body = transactions[i].Body;
            if (body.Contract != DigitalCurrencyContract.ContractName) continue;
            Transactions++;
            var receipt = result.Receipts[i];
            if (receipt.Code == ErrorCode.Ok)
            {
                if (body.Method == "pay") Payments++;
                continue;
            }

            Refusals++;
            var reason = RefusalReasons.Of(receipt.Code, receipt.Message);
            RefusalsByReason[reason] = RefusalsByReason.GetValueOrDefault(reason) + 1;
        }
    }

    public ulong SumOfAllBalances()
    {
        var sum = 0UL;
        foreach (var (key, value) in State)
        {
            if (key.AsSpan().StartsWith(BalancePrefix)) sum = checked(sum + BinaryPrimitives.ReadUInt64BigEndian(value));
        }

        return sum;
    }

    public static void Apply(SortedDictionary<byte[], byte[]> state, WriteSet writes)
    {
        foreach (var (key, value) in writes.Changes)
        {
            if (value is null) state.Remove(key);
            else state[key] = value;
        }
    }

    public static Hash32 RootOf(IHashFunction hash, SortedDictionary<byte[], byte[]> state)
    {
        using var accumulator = hash.Begin();
        accumulator.Append(Domain);
        Span<byte> length = stackalloc byte[4];
        foreach (var (key, value) in state)
        {
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)key.Length);
            accumulator.Append(length);
            accumulator.Append(key);
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)value.Length);
            accumulator.Append(length);
            accumulator.Append(value);
        }

        return accumulator.Finish();
    }
}

/// <summary>
/// The currency contract with a deliberate bug for <see cref="SimulationMutation.Counterfeit"/>: every successful
/// payment also credits the payee one fen that no one paid. Deterministic, so replicas still agree; only the
/// conservation checker can catch it.
/// </summary>
internal sealed class CounterfeitingCurrency : ISystemContract
{
    private readonly DigitalCurrencyContract _real = new();

    public string Name => _real.Name;

    public uint Version => _real.Version;

    public void Invoke(ContractCall call)
    {
        _real.Invoke(call);
        if (call.Method != "pay") return;
        var to = new AccountId(call.ParseArguments(DigitalCurrency.Wire.PayArguments.Parser).To.Span);
        var key = DigitalCurrencyContract.BalanceKey(to);
        var balance = call.Get(key) is { } bytes ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;
        var credited = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(credited, balance + 1);
        call.Put(key, credited);
    }
}

/// <summary>What the currency workload did in a run, as the highest honest replica executed it.</summary>
public sealed record CurrencyFigures
{
    public required int Wallets { get; init; }

    /// <summary>Currency transactions in committed blocks.</summary>
    public required long Transactions { get; init; }

    /// <summary>Payments the contract accepted.</summary>
    public required long Payments { get; init; }

    /// <summary>Currency transactions the contract refused (limits, funds, reserve, outstanding).</summary>
    public required long Refusals { get; init; }

    public required IReadOnlyDictionary<string, long> RefusalsByReason { get; init; }

    public required ulong Issued { get; init; }

    public required ulong Redeemed { get; init; }

    public required ulong Supply { get; init; }

    /// <summary>Conservation audits that held, over every honest replica and committed height.</summary>
    public required long AuditsPassed { get; init; }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"dcep {Wallets} wallets, {Transactions} transactions, {Payments} payments, {Refusals} refused ({string.Join(", ", RefusalsByReason.Select(r => $"{r.Key} {r.Value}"))}), supply {CurrencyParameters.Yuan(Supply)}, {AuditsPassed} audits");
}
