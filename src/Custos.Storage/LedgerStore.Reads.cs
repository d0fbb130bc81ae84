using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.Wire;
using Google.Protobuf;

namespace Custos.Storage;

public sealed partial class LedgerStore
{
    /// <summary>
    /// The block at <paramref name="height"/>, or null if there is none. The stored block is decoded (canonical form),
    /// its header hash compared with the hash stored beside it and its transactions with the header's transaction
    /// root; any mismatch is <see cref="ErrorCode.StorageCorrupt"/>, so a damaged block is never served.
    /// </summary>
    public StoredBlock? ReadBlock(ulong height)
    {
        var value = _db.Get(StorageLayout.BlocksFamily, StorageLayout.BlockByHeightKey(height));
        return value is null ? null : DecodeStoredBlock(height, value);
    }

    /// <summary>The block with hash <paramref name="hash"/>, or null.</summary>
    public StoredBlock? ReadBlock(Hash32 hash)
    {
        var height = _db.Get(StorageLayout.BlocksFamily, StorageLayout.HeightByHashKey(hash));
        if (height is null) return null;
        if (height.Length != 8) throw new CustosException(ErrorCode.StorageCorrupt, $"the hash index entry of block {hash.ToShortString()} is corrupt");
        var block = ReadBlock(BinaryPrimitives.ReadUInt64BigEndian(height))
            ?? throw new CustosException(ErrorCode.StorageCorrupt, $"the hash index names block {hash.ToShortString()} but the block is missing");
        if (block.Hash != hash) throw new CustosException(ErrorCode.StorageCorrupt, $"the hash index entry of block {hash.ToShortString()} points at another block");
        return block;
    }

    /// <summary>Where transaction <paramref name="id"/> was included, or null.</summary>
    public TransactionLocation? FindTransaction(Hash32 id)
    {
        var value = _db.Get(StorageLayout.TransactionsFamily, StorageLayout.TransactionPositionKey(id));
        if (value is null) return null;
        if (value.Length != 12) throw new CustosException(ErrorCode.StorageCorrupt, $"the position of transaction {id.ToShortString()} is corrupt");
        return new TransactionLocation(BinaryPrimitives.ReadUInt64BigEndian(value), BinaryPrimitives.ReadUInt32BigEndian(value.AsSpan(8)));
    }

    /// <summary>Transaction <paramref name="id"/> and where it is, or null; read from its (verified) block.</summary>
    public (Transaction Transaction, TransactionLocation Location)? ReadTransaction(Hash32 id)
    {
        if (FindTransaction(id) is not { } location) return null;
        var block = ReadBlock(location.Height) ?? throw new CustosException(ErrorCode.StorageCorrupt, $"transaction {id.ToShortString()} names missing block {location.Height}");
        if (location.Index >= block.Block.Transactions.Count) throw new CustosException(ErrorCode.StorageCorrupt, $"transaction {id.ToShortString()} names a position past the end of block {location.Height}");
        var transaction = block.Block.Transactions[(int)location.Index];
        if (transaction.ComputeId(Suite) != id) throw new CustosException(ErrorCode.StorageCorrupt, $"the position of transaction {id.ToShortString()} names another transaction");
        return (transaction, location);
    }

    /// <summary>The receipt stored for a transaction, or null.</summary>
    /// <remarks>
    /// A block's receipts are one value; the last one read is kept decoded, so that reading the receipts of a block one
    /// by one reads and decodes it once.
    /// </remarks>
    public byte[]? ReadReceipt(TransactionLocation location)
    {
        var receipts = ReadReceiptsRecord(location.Height);
        return receipts is not null && location.Index < receipts.Receipts.Count ? receipts.Receipts[(int)location.Index].ToByteArray() : null;
    }

    /// <summary>The receipts of block <paramref name="height"/> in transaction order (empty if none were stored).</summary>
    public IReadOnlyList<byte[]> ReadReceipts(ulong height) =>
        ReadReceiptsRecord(height)?.Receipts.Select(r => r.ToByteArray()).ToList() ?? [];

    /// <summary>The events of block <paramref name="height"/>, in transaction and emission order.</summary>
    public IReadOnlyList<StoredEvent> ReadEvents(ulong height) =>
        ReadReceiptsRecord(height)?.Events.Select(e => new StoredEvent(e.TransactionIndex, e.Encoded.Memory)).ToList() ?? [];

    private BlockReceiptsRecord? ReadReceiptsRecord(ulong height)
    {
        if (Volatile.Read(ref _lastReceipts) is { } last && last.Height == height) return last.Record;
        var value = _db.Get(StorageLayout.TransactionsFamily, StorageLayout.ReceiptsKey(height));
        if (value is null) return null;
        BlockReceiptsRecord record;
        try
        {
            record = BlockReceiptsRecord.Parser.ParseFrom(value);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"the receipts of block {height} are corrupt");
        }

        Volatile.Write(ref _lastReceipts, new ReceiptsOfBlock(height, record));
        return record;
    }

    // Written whole, so that a reader sees a height with its own receipts. Persisted blocks never change.
    private sealed record ReceiptsOfBlock(ulong Height, BlockReceiptsRecord Record);

    private ReceiptsOfBlock? _lastReceipts;

    /// <summary>A configuration entry, or null.</summary>
    public byte[]? ReadConfiguration(string name) => _db.Get(StorageLayout.ConfigFamily, StorageLayout.ConfigEntryKey(name));

    private StoredBlock DecodeStoredBlock(ulong height, byte[] value)
    {
        if (value.Length < StorageLayout.StoredBlockPrefixLength) throw new CustosException(ErrorCode.StorageCorrupt, $"stored block {height} is truncated");
        var storedHash = new Hash32(value.AsSpan(0, Hash32.SizeBytes));
        var encoded = value.AsSpan(StorageLayout.StoredBlockPrefixLength);
        if (StorageLayout.Crc32C(encoded) != BinaryPrimitives.ReadUInt32BigEndian(value.AsSpan(Hash32.SizeBytes)))
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"stored block {height} fails its checksum");
        }

        if (!Decoders.TryDecodeBlock(encoded, out var block, out var error))
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"stored block {height} does not decode: {error}");
        }

        if (block.ComputeHash(Suite) != storedHash)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"stored block {height} does not hash to its recorded hash");
        }

        if (block.ComputeTransactionRoot(Suite) != new Hash32(block.Header.TransactionRoot.Span))
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"stored block {height}'s transactions do not match its transaction root");
        }

        if (block.Height != height) throw new CustosException(ErrorCode.StorageCorrupt, $"stored block {height} says it is block {block.Height}");
        return new StoredBlock(height, storedHash, block);
    }
}
