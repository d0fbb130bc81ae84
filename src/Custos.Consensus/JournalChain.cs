using System.Buffers.Binary;
using Custos.Core;

namespace Custos.Consensus;

/// <summary>One journal entry as stored: its position, its payload (an encoded JournalEntry) and its chained hash.</summary>
public sealed record JournalRecord(ulong Index, byte[] Payload, Hash32 Hash);

/// <summary>
/// The consensus journal's hash chain: entry i's hash is H(domain ‖ hash(i−1) ‖ uint64_be(i) ‖ payload(i)), with
/// 32 zero bytes before the first entry. Storage keeps the durable journal with the same rule; this in-memory one
/// serves the simulator and tests. Not thread-safe.
/// </summary>
public sealed class JournalChain(IHashFunction hash)
{
    private readonly List<JournalRecord> _records = [];

    /// <summary>The domain prefix of journal entry hashes (ASCII, zero-terminated like the signing domains).</summary>
    public static ReadOnlySpan<byte> Domain => "custos/v1/consensus_journal\0"u8;

    public IReadOnlyList<JournalRecord> Records => _records;

    public Hash32 Head => _records.Count == 0 ? Hash32.Zero : _records[^1].Hash;

    public JournalRecord Append(byte[] payload)
    {
        var index = (ulong)_records.Count;
        var record = new JournalRecord(index, payload, EntryHash(hash, Head, index, payload));
        _records.Add(record);
        return record;
    }

    public static Hash32 EntryHash(IHashFunction hash, Hash32 previous, ulong index, ReadOnlySpan<byte> payload)
    {
        Span<byte> fixedPart = stackalloc byte[Hash32.SizeBytes + sizeof(ulong)];
        previous.CopyTo(fixedPart);
        BinaryPrimitives.WriteUInt64BigEndian(fixedPart[Hash32.SizeBytes..], index);
        using var accumulator = hash.Begin();
        accumulator.Append(Domain);
        accumulator.Append(fixedPart);
        accumulator.Append(payload);
        return accumulator.Finish();
    }

    /// <summary>The index of the first record whose index or hash does not follow the chain rule, or -1 if all do.</summary>
    public static long FirstBrokenLink(IHashFunction hash, IReadOnlyList<JournalRecord> records)
    {
        var previous = Hash32.Zero;
        for (var i = 0; i < records.Count; i++)
        {
            if (records[i].Index != (ulong)i || EntryHash(hash, previous, (ulong)i, records[i].Payload) != records[i].Hash) return i;
            previous = records[i].Hash;
        }

        return -1;
    }
}
