using System.Diagnostics.CodeAnalysis;
using Custos.Core;
using Custos.Core.Wire;
using Custos.DigitalCurrency;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Sdk;

namespace Custos.Cli.Scenarios;

/// <summary>Every payment the scenario made, accepted or refused, the refused ones counted by reason (<see cref="RefusalReasons"/>).</summary>
internal sealed class PaymentTally
{
    private readonly SortedDictionary<string, int> _refused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _example = new(StringComparer.Ordinal);

    public int Accepted { get; private set; }

    public int Refused => _refused.Values.Sum();

    public IReadOnlyDictionary<string, int> RefusedByReason => _refused;

    /// <summary>The first refusal message of each reason, to show what a refused customer is told.</summary>
    public IReadOnlyDictionary<string, string> ExampleByReason => _example;

    public void Add(IEnumerable<Receipt> receipts)
    {
        foreach (var receipt in receipts)
        {
            if (receipt.Code == ErrorCode.Ok)
            {
                Accepted++;
                continue;
            }

            var reason = RefusalReasons.Of(receipt.Code, receipt.Message);
            _refused[reason] = _refused.GetValueOrDefault(reason) + 1;
            _example.TryAdd(reason, receipt.Message);
        }
    }

    public static int RefusedFor(IEnumerable<Receipt> receipts, string reason) =>
        receipts.Count(r => r.Code != ErrorCode.Ok && RefusalReasons.Of(r.Code, r.Message) == reason);
}

/// <summary>
/// State at one height, every value read from a node with its Merkle proof checked against the QC-signed header, so
/// that the supply check is a light client's check and not the node's word. Reads are made up front (the contract's
/// readers are synchronous); a key not fetched is an error rather than an absent value.
/// </summary>
internal sealed class VerifiedSnapshot : IStateReader
{
    private const int ReadsInFlightMax = 8;

    private readonly Dictionary<byte[], byte[]?> _values = new(ByteKeyComparer.Instance);

    private VerifiedSnapshot(ulong height) => Height = height;

    public ulong Height { get; }

    public static async Task<VerifiedSnapshot> ReadAsync(LedgerSession session, ulong height, IEnumerable<byte[]> keys, CancellationToken cancellationToken)
    {
        var snapshot = new VerifiedSnapshot(height);
        var distinct = keys.Distinct(ByteKeyComparer.Instance).ToList();
        await session.ReadVerifiedAtAsync(distinct[0], height, cancellationToken);
        var results = new VerifiedState[distinct.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, distinct.Count), new ParallelOptions { MaxDegreeOfParallelism = ReadsInFlightMax, CancellationToken = cancellationToken },
            async (i, token) => results[i] = await session.Client.ReadVerifiedStateAsync(distinct[i], height, token));
        foreach (var result in results)
        {
            if (result.Version != height) throw new CustosException(ErrorCode.StorageCorrupt, $"asked for state at height {height}, the node proved version {result.Version}");
            snapshot._values[result.Key] = result.Value;
        }

        return snapshot;
    }

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value)
    {
        if (!_values.TryGetValue(key.ToArray(), out value)) throw new CustosException(ErrorCode.NotFound, $"key {Convert.ToHexStringLower(key)} was not read into the snapshot");
        return value is not null;
    }
}
