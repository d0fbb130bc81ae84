using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using RocksDbSharp;

namespace Custos.Storage.Journal;

/// <summary>Where an appended entry landed: its index and its hash (which commits to every entry before it).</summary>
public readonly record struct JournalPosition(ulong Index, Hash32 Hash);

/// <summary>The end of the journal: how many entries it holds and the hash of the last (zero when empty).</summary>
public readonly record struct JournalHead(ulong Length, Hash32 LastHash)
{
    public static JournalHead Empty => new(0, Hash32.Zero);
}

/// <summary>One journal entry as stored.</summary>
public sealed record JournalEntry(ulong Index, Hash32 Hash, byte[] Payload);

/// <summary>
/// An append-only, hash-chained journal of consensus messages (proposals, votes, timeouts and certificates seen),
/// kept forever as evidence (invariant 4). Payloads are opaque: the consensus layer encodes them.
/// <para>
/// Entry i's hash is H(<c>custos/v1/consensus_journal\0</c> ‖ hash of entry i−1 ‖ i (u64 BE) ‖ payload), with a zero hash
/// before entry 0, so the last hash commits to the whole history and <see cref="Verify"/> finds the first entry
/// that was altered, dropped or reordered.
/// </para>
/// Threading: appends are serialised by a lock (standalone appends and appends inside a block's persist batch
/// alike); reads run concurrently.
/// </summary>
public sealed class ConsensusJournal
{
    private readonly RocksDatabase _db;
    private readonly IHashFunction _hash;
    private readonly object _appendGate = new();
    private JournalHead _head;

    internal ConsensusJournal(RocksDatabase db, IHashFunction hash)
    {
        _db = db;
        _hash = hash;
        _head = LoadHead(db);
    }

    public JournalHead Head
    {
        get
        {
            lock (_appendGate) return _head;
        }
    }

    /// <summary>Appends one entry and syncs it to disk before returning.</summary>
    public JournalPosition Append(ReadOnlySpan<byte> payload) => Append([payload.ToArray()])[0];

    /// <summary>Appends entries in order, in one synced batch.</summary>
    public IReadOnlyList<JournalPosition> Append(IReadOnlyList<ReadOnlyMemory<byte>> payloads)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        using var batch = new WriteBatch();
        using var append = BeginAppend(batch, payloads);
        _db.Write(batch, sync: true);
        append.Complete();
        return append.Positions;
    }

    /// <summary>
    /// Adds entries to <paramref name="batch"/> (a block's persist batch) and holds the append lock until the returned
    /// scope is disposed; call <see cref="JournalAppend.Complete"/> once the batch is written.
    /// </summary>
    internal JournalAppend BeginAppend(WriteBatch batch, IReadOnlyList<ReadOnlyMemory<byte>> payloads)
    {
        Monitor.Enter(_appendGate);
        try
        {
            var head = _head;
            var positions = new JournalPosition[payloads.Count];
            using var accumulator = _hash.Begin();
            for (var i = 0; i < payloads.Count; i++)
            {
                var payload = payloads[i].Span;
                if (payload.Length > StorageLimits.JournalPayloadSizeBytesMax)
                {
                    throw new CustosException(ErrorCode.TooLarge, $"a journal payload is {payload.Length} bytes, at most {StorageLimits.JournalPayloadSizeBytesMax} allowed");
                }

                var entryHash = EntryHash(accumulator, head.LastHash, head.Length, payload);
                var value = new byte[Hash32.SizeBytes + payload.Length];
                entryHash.CopyTo(value);
                payload.CopyTo(value.AsSpan(Hash32.SizeBytes));
                batch.Put(StorageLayout.JournalEntryKey(head.Length), value, _db[StorageLayout.ConsensusFamily]);
                positions[i] = new JournalPosition(head.Length, entryHash);
                head = new JournalHead(head.Length + 1, entryHash);
            }

            batch.Put(StorageLayout.JournalHeadKey(), EncodeHead(head), _db[StorageLayout.ConsensusFamily]);
            return new JournalAppend(this, head, positions);
        }
        catch
        {
            Monitor.Exit(_appendGate);
            throw;
        }
    }

    /// <summary>Entries with index in [<paramref name="from"/>, <paramref name="to"/>), as stored.</summary>
    public IReadOnlyList<JournalEntry> Read(ulong from, ulong to)
    {
        CheckRange(from, to);
        if (to - from > StorageLimits.JournalReadEntriesMax)
        {
            throw new CustosException(ErrorCode.TooLarge, $"at most {StorageLimits.JournalReadEntriesMax} journal entries per read");
        }

        var entries = new List<JournalEntry>((int)(to - from));
        Scan(from, to, (index, hash, payload) => entries.Add(new JournalEntry(index, hash, payload.ToArray())));
        return entries;
    }

    /// <summary>
    /// Re-walks the hash chain over [<paramref name="from"/>, <paramref name="to"/>). False with the first broken link
    /// (a <see cref="ErrorCode.StorageCorrupt"/> error naming the entry) if any entry was altered, dropped or reordered.
    /// </summary>
    public bool TryVerify(ulong from, ulong to, out CustosError error)
    {
        try
        {
            Verify(from, to);
            error = null!;
            return true;
        }
        catch (CustosException e)
        {
            error = e.Error;
            return false;
        }
    }

    /// <summary>As <see cref="TryVerify"/>, throwing the first broken link.</summary>
    public void Verify(ulong from, ulong to)
    {
        CheckRange(from, to);
        var head = Head;
        var previous = Hash32.Zero;
        if (from > 0)
        {
            var before = _db.Get(StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey(from - 1))
                ?? throw Broken(from - 1, "is missing");
            if (before.Length < Hash32.SizeBytes) throw Broken(from - 1, "is truncated");
            previous = new Hash32(before.AsSpan(0, Hash32.SizeBytes));
        }

        using var accumulator = _hash.Begin();
        Scan(from, to, (index, stored, payload) =>
        {
            var computed = EntryHash(accumulator, previous, index, payload);
            if (computed != stored) throw Broken(index, "does not hash to its stored value with its predecessor (altered, dropped or reordered)");
            previous = computed;
        });

        if (to == head.Length && to > 0 && previous != head.LastHash)
        {
            throw Broken(to - 1, "is not the entry the journal head records");
        }
    }

    private void Scan(ulong from, ulong to, Action<ulong, Hash32, ReadOnlySpan<byte>> visit)
    {
        if (from == to) return;
        using var iterator = _db.NewIterator(StorageLayout.ConsensusFamily);
        var expected = from;
        for (iterator.Seek(StorageLayout.JournalEntryKey(from)); expected < to; iterator.Next())
        {
            if (!iterator.Valid()) throw Broken(expected, "is missing");
            var key = iterator.GetKeySpan();
            if (key.Length != 9 || key[0] != StorageLayout.JournalEntryTag) throw Broken(expected, "is missing");
            var index = BinaryPrimitives.ReadUInt64BigEndian(key[1..]);
            if (index != expected) throw Broken(expected, "is missing");
            var value = iterator.GetValueSpan();
            if (value.Length < Hash32.SizeBytes) throw Broken(index, "is truncated");
            visit(index, new Hash32(value[..Hash32.SizeBytes]), value[Hash32.SizeBytes..]);
            expected++;
        }
    }

    private void CheckRange(ulong from, ulong to)
    {
        var length = Head.Length;
        if (from > to || to > length)
        {
            throw new CustosException(ErrorCode.NotFound, $"journal range [{from}, {to}) is outside [0, {length})");
        }
    }

    private static Hash32 EntryHash(IHashAccumulator accumulator, Hash32 previous, ulong index, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[Hash32.SizeBytes + 8];
        previous.CopyTo(header);
        BinaryPrimitives.WriteUInt64BigEndian(header[Hash32.SizeBytes..], index);
        accumulator.Append(StorageDomains.JournalEntry);
        accumulator.Append(header);
        accumulator.Append(payload);
        return accumulator.Finish();
    }

    internal static byte[] EncodeHead(JournalHead head)
    {
        var bytes = new byte[8 + Hash32.SizeBytes];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, head.Length);
        head.LastHash.CopyTo(bytes.AsSpan(8));
        return bytes;
    }

    private static JournalHead LoadHead(RocksDatabase db)
    {
        var bytes = db.Get(StorageLayout.ConsensusFamily, StorageLayout.JournalHeadKey());
        if (bytes is null) return JournalHead.Empty;
        if (bytes.Length != 8 + Hash32.SizeBytes) throw new CustosException(ErrorCode.StorageCorrupt, "the consensus journal head is corrupt");
        return new JournalHead(BinaryPrimitives.ReadUInt64BigEndian(bytes), new Hash32(bytes.AsSpan(8)));
    }

    private static CustosException Broken(ulong index, string what) =>
        new(ErrorCode.StorageCorrupt, $"consensus journal entry {index} {what}");

    /// <summary>An append in progress inside a batch; holds the journal's append lock until disposed.</summary>
    internal sealed class JournalAppend : IDisposable
    {
        private readonly ConsensusJournal _journal;
        private bool _released;

        public JournalAppend(ConsensusJournal journal, JournalHead head, IReadOnlyList<JournalPosition> positions)
        {
            _journal = journal;
            Head = head;
            Positions = positions;
        }

        public JournalHead Head { get; }

        public IReadOnlyList<JournalPosition> Positions { get; }

        /// <summary>The batch is on disk: the new entries become the journal's.</summary>
        public void Complete() => _journal._head = Head;

        public void Dispose()
        {
            if (_released) return;
            _released = true;
            Monitor.Exit(_journal._appendGate);
        }
    }
}
