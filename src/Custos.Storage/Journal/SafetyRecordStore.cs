using Custos.Core;
using Custos.Core.Wire;
using RocksDbSharp;

namespace Custos.Storage.Journal;

/// <summary>
/// The consensus safety record (highest voted round, locked and highest QC; encoded by the consensus layer). It must
/// be on disk before a vote or timeout leaves the node (invariant 3: a restart can never equivocate), so
/// <see cref="Save"/> returns only after an fsync. Stored with a checksum under its own hash domain so a damaged
/// record is refused, never read as a different one.
/// </summary>
public sealed class SafetyRecordStore
{
    private readonly RocksDatabase _db;
    private readonly IHashFunction _hash;
    private readonly Lock _gate = new();

    internal SafetyRecordStore(RocksDatabase db, IHashFunction hash)
    {
        _db = db;
        _hash = hash;
    }

    /// <summary>Replaces the record; durable (synced) when this returns.</summary>
    public void Save(ReadOnlySpan<byte> record)
    {
        if (record.Length > StorageLimits.SafetyRecordSizeBytesMax)
        {
            throw new CustosException(ErrorCode.TooLarge, $"a safety record is at most {StorageLimits.SafetyRecordSizeBytesMax} bytes");
        }

        var value = new byte[Hash32.SizeBytes + record.Length];
        Checksum(record).CopyTo(value);
        record.CopyTo(value.AsSpan(Hash32.SizeBytes));
        lock (_gate)
        {
            using var batch = new WriteBatch();
            batch.Put(StorageLayout.SafetyRecordKey(), value, _db[StorageLayout.ConsensusFamily]);
            _db.Write(batch, sync: true);
        }
    }

    /// <summary>The last saved record, or null if none was ever saved.</summary>
    public byte[]? Load()
    {
        var value = _db.Get(StorageLayout.ConsensusFamily, StorageLayout.SafetyRecordKey());
        if (value is null) return null;
        if (value.Length < Hash32.SizeBytes || Checksum(value.AsSpan(Hash32.SizeBytes)) != new Hash32(value.AsSpan(0, Hash32.SizeBytes)))
        {
            throw new CustosException(ErrorCode.StorageCorrupt, "the consensus safety record is corrupt");
        }

        return value[Hash32.SizeBytes..];
    }

    private Hash32 Checksum(ReadOnlySpan<byte> record)
    {
        using var accumulator = _hash.Begin();
        accumulator.Append(StorageDomains.SafetyRecord);
        accumulator.Append(record);
        return accumulator.Finish();
    }
}
