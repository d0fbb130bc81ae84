using System.Buffers.Binary;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage.Benchmarks;
using Custos.Storage.State;
using Google.Protobuf;

namespace Custos.Storage.CrashWriter;

/// <summary>
/// The deterministic workload the crash writer persists and the crash test replays: block h writes and deletes keys
/// chosen from h alone, so the expected state after any height can be recomputed without the store.
/// </summary>
public static class CrashWorkload
{
    public const string ChainId = "custos-crash";
    public const int KeyUniverse = 400;

    public static ICryptoSuite Suite => CryptoSuites.Gm;

    internal static SyntheticChain Chain { get; } = new(ChainId, CryptoSuiteId.Gm, CryptoSuites.Gm);

    public static ChainIdentity Identity => Chain.Identity;

    public static byte[] Key(int index) => Encoding.ASCII.GetBytes($"account/{index:D5}");

    /// <summary>The state writes of block <paramref name="height"/>: 24 puts and, every third block, 6 deletes.</summary>
    public static IReadOnlyList<StateWrite> Writes(ulong height)
    {
        var writes = new Dictionary<int, StateWrite>();
        var random = new Random(unchecked((int)(height * 2_654_435_761UL)));
        for (var i = 0; i < 24; i++)
        {
            var index = random.Next(KeyUniverse);
            var value = new byte[16 + random.Next(48)];
            random.NextBytes(value);
            BinaryPrimitives.WriteUInt64BigEndian(value, height);
            writes[index] = StateWrite.Put(Key(index), value);
        }

        if (height % 3 == 2)
        {
            for (var i = 0; i < 6; i++)
            {
                var index = random.Next(KeyUniverse);
                writes[index] = StateWrite.Delete(Key(index));
            }
        }

        return [.. writes.Values];
    }

    /// <summary>The state after blocks 0..<paramref name="height"/>, replayed in memory.</summary>
    public static Dictionary<string, byte[]> StateAfter(ulong height)
    {
        var state = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (ulong h = 0; h <= height; h++)
        {
            foreach (var write in Writes(h))
            {
                var name = Encoding.ASCII.GetString(write.Key);
                if (write.Value is null) state.Remove(name);
                else state[name] = write.Value;
            }
        }

        return state;
    }

    /// <summary>Journal payload persisted with block <paramref name="height"/>.</summary>
    public static byte[] JournalPayload(ulong height) => Encoding.ASCII.GetBytes($"vote for block {height}");

    /// <summary>Persists the next block of the workload, with two transactions, receipts and a journal entry.</summary>
    public static PersistResult PersistNext(LedgerStore store)
    {
        var head = store.Head;
        var parent = head is null ? null : store.ReadBlock(head.Height);
        var height = head is null ? 0 : head.Height + 1;
        var block = Chain.NextBlock(parent, store.State.LatestRoot, transactions: 2);
        var receipts = block.Transactions.Select(t => (ReadOnlyMemory<byte>)new Wire.Receipt
        {
            TransactionId = t.ComputeId(store.Suite).ToByteString(),
            GasUsed = height,
        }.ToByteArray()).ToList();
        return store.Persist(new BlockPersist
        {
            Block = block,
            StateWrites = Writes(height),
            Receipts = receipts,
            JournalEntries = [JournalPayload(height)],
        });
    }
}
