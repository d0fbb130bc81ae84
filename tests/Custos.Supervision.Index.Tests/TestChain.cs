using System.Security.Cryptography;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Supervision.Index.Tests;

/// <summary>
/// A chain of committed blocks built in memory, and the source the indexer reads it from. Hashes are derived from
/// the chain's name, so two chains of different names share no block, and blocks link by parent hash.
/// </summary>
internal sealed class TestChain(string name = "main") : ICommittedBlockSource
{
    /// <summary>2026-01-01T00:00:00Z.</summary>
    public const ulong StartMs = 1_767_225_600_000;

    private readonly List<IndexedBlock> _blocks = [];
    private readonly Lock _gate = new();

    public ulong? HeadHeight
    {
        get
        {
            lock (_gate) return _blocks.Count == 0 ? null : (ulong)_blocks.Count - 1;
        }
    }

    public IReadOnlyList<IndexedBlock> Blocks
    {
        get
        {
            lock (_gate) return _blocks.ToList();
        }
    }

    /// <summary>How many times a block was read (the indexer must not read what it indexed already).</summary>
    public int Reads;

    public IndexedBlock? ReadBlock(ulong height)
    {
        Interlocked.Increment(ref Reads);
        lock (_gate) return height < (ulong)_blocks.Count ? _blocks[(int)height] : null;
    }

    /// <summary>Appends a block holding <paramref name="transactions"/> (their ids and indexes are assigned here).</summary>
    public IndexedBlock Append(IEnumerable<IndexedTransaction> transactions, ulong? timestampMs = null)
    {
        lock (_gate)
        {
            var height = (ulong)_blocks.Count;
            var parent = _blocks.Count == 0 ? Hash32.Zero : _blocks[^1].Hash;
            var placed = transactions.Select((t, i) => t with { Index = (uint)i, Id = HashOf($"{name}/tx/{height}/{i}") }).ToList();
            var block = new IndexedBlock(height, HashOf($"{name}/block/{height}"), parent, timestampMs ?? StartMs + height * 1000,
                (uint)(height % 4), HashOf($"{name}/state/{height}"), placed);
            _blocks.Add(block);
            return block;
        }
    }

    public IndexedBlock Append(params IndexedTransaction[] transactions) => Append(transactions.AsEnumerable());

    /// <summary>Appends <paramref name="count"/> blocks of <paramref name="transfersPerBlock"/> token transfers each.</summary>
    public void AppendTransfers(int count, int transfersPerBlock)
    {
        for (var b = 0; b < count; b++)
        {
            Append(Enumerable.Range(0, transfersPerBlock).Select(i => Transfer(Account(i + 1), Account(i + 2), (ulong)(100 + i), "org1")));
        }
    }

    public static AccountId Account(int number) => new(0, (ulong)number);

    public static Hash32 HashOf(string text) => new(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public static IndexedTransaction Transfer(AccountId from, AccountId to, ulong amount, string? organisation, ErrorCode code = ErrorCode.Ok)
    {
        var data = new TransferEvent { From = from.ToByteString(), To = to.ToByteString(), Amount = amount };
        var events = code == ErrorCode.Ok ? new[] { new IndexedEvent("token", "transfer", data.ToByteArray()) } : [];
        return Call(from, "token", "transfer", organisation, new TransferArguments { To = to.ToByteString(), Amount = amount }.ToByteArray(), code, events);
    }

    public static IndexedTransaction Mint(AccountId issuer, AccountId to, ulong amount, string? organisation)
    {
        var data = new TransferEvent { To = to.ToByteString(), Amount = amount };
        return Call(issuer, "token", "mint", organisation, [], ErrorCode.Ok, [new IndexedEvent("token", "mint", data.ToByteArray())]);
    }

    public static IndexedTransaction Call(AccountId sender, string contract, string method, string? organisation, byte[]? arguments = null,
        ErrorCode code = ErrorCode.Ok, IReadOnlyList<IndexedEvent>? events = null) =>
        new(Hash32.Zero, 0, sender, organisation, contract, 1, method, Nonce(), arguments ?? [], code,
            code == ErrorCode.Ok ? "" : $"failed: {code}", 1_000, events ?? []);

    private static long _nonce;

    private static ulong Nonce() => (ulong)Interlocked.Increment(ref _nonce);
}
