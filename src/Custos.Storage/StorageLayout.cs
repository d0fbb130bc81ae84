using System.Buffers.Binary;
using System.Text;
using Custos.Core;

namespace Custos.Storage;

/// <summary>
/// Where everything lives in the RocksDB instance: the column families and the key encodings inside them. Column
/// families keep account state, transaction data, configuration data and metadata physically apart (LED-3), each
/// with options suited to it. All of it is format: frozen by <c>GoldenStorageFormatTests</c>; changing a name, a
/// tag or an encoding bumps <see cref="FormatVersion"/>.
/// </summary>
public static class StorageLayout
{
    /// <summary>Version of this layout, written into the chain-identity marker.</summary>
    /// <remarks>
    /// 2: receipts and events are one value per block (format 1 had a key per receipt and per event). 3: replay records
    /// are kept in their own family beside the state tree (format 2 had them in the tree).
    /// </remarks>
    public const uint FormatVersion = 3;

    /// <summary>Metadata: chain identity marker, head record, pruning watermark.</summary>
    public const string MetaFamily = "meta";

    /// <summary>Configuration data: named chain configuration entries (genesis document, parameters).</summary>
    public const string ConfigFamily = "config";

    /// <summary>Transaction data: blocks by height, the hash index, per-block bookkeeping.</summary>
    public const string BlocksFamily = "blocks";

    /// <summary>Transaction data: transaction positions by id, receipts and events.</summary>
    public const string TransactionsFamily = "transactions";

    /// <summary>Account state: sparse Merkle tree nodes keyed by version and nibble path.</summary>
    public const string StateNodesFamily = "state_nodes";

    /// <summary>Account state: value records (key and value) keyed by the version that wrote them and the key hash.</summary>
    public const string StateValuesFamily = "state_values";

    /// <summary>Account state: per version, the nodes and value records that version made stale (the pruning index).</summary>
    public const string StateStaleFamily = "state_stale";

    /// <summary>Account state: the root hash of every state version.</summary>
    public const string StateRootsFamily = "state_roots";

    /// <summary>Consensus: the safety record and the hash-chained journal.</summary>
    public const string ConsensusFamily = "consensus";

    /// <summary>
    /// Replay records (<see cref="ReplayRecords"/>): state keys under their prefix, stored as they are (key to value,
    /// latest value only) beside the tree instead of in it, written in the block's batch.
    /// </summary>
    public const string ReplayFamily = "replay";

    /// <summary>Every family a Custos data directory holds, besides RocksDB's own "default" (kept empty).</summary>
    public static IReadOnlyList<string> Families { get; } =
    [
        MetaFamily, ConfigFamily, BlocksFamily, TransactionsFamily, StateNodesFamily, StateValuesFamily, StateStaleFamily, StateRootsFamily, ConsensusFamily,
        ReplayFamily,
    ];

    // Keys of the meta family are ASCII names.
    public static ReadOnlySpan<byte> ChainIdentityKey => "chain_identity"u8;

    public static ReadOnlySpan<byte> HeadKey => "head"u8;

    /// <summary>Highest version whose stale nodes were deleted by pruning (absent: nothing pruned).</summary>
    public static ReadOnlySpan<byte> PrunedThroughKey => "state_pruned_through"u8;

    // One-byte tags separate the kinds of key that share a family.
    public const byte BlockByHeightTag = 0x01;
    public const byte HeightByHashTag = 0x02;
    public const byte BlockInfoTag = 0x03;
    public const byte TransactionPositionTag = 0x01;
    public const byte ReceiptsTag = 0x02;
    public const byte ConfigEntryTag = 0x01;
    public const byte SafetyRecordTag = 0x01;
    public const byte JournalEntryTag = 0x02;
    public const byte JournalHeadTag = 0x03;

    /// <summary>
    /// blocks: 0x01 ‖ height (u64 BE) → block hash (32) ‖ CRC-32C of the encoded block (u32 BE) ‖ encoded <c>Block</c>.
    /// The hash covers the header and, through the transaction root, the transaction bodies; the checksum also covers
    /// what no hash commits to (transaction signatures and keys), so damage anywhere is detected on read.
    /// </summary>
    public static byte[] BlockByHeightKey(ulong height) => Tagged(BlockByHeightTag, height);

    /// <summary>blocks: 0x02 ‖ block hash → height (u64 BE).</summary>
    public static byte[] HeightByHashKey(Hash32 hash) => Tagged(HeightByHashTag, hash);

    /// <summary>blocks: 0x03 ‖ height (u64 BE) → <c>BlockInfoRecord</c>.</summary>
    public static byte[] BlockInfoKey(ulong height) => Tagged(BlockInfoTag, height);

    /// <summary>transactions: 0x01 ‖ transaction id → height (u64 BE) ‖ index (u32 BE).</summary>
    public static byte[] TransactionPositionKey(Hash32 id) => Tagged(TransactionPositionTag, id);

    /// <summary>
    /// transactions: 0x02 ‖ height (u64 BE) → <c>BlockReceiptsRecord</c>: the block's receipts and events in one value
    /// (absent for a block without either). Tag 0x03 held events one by one in format 1 and is not used.
    /// </summary>
    public static byte[] ReceiptsKey(ulong height) => Tagged(ReceiptsTag, height);

    /// <summary>config: 0x01 ‖ UTF-8 name → entry bytes.</summary>
    public static byte[] ConfigEntryKey(string name)
    {
        var key = new byte[1 + Encoding.UTF8.GetByteCount(name)];
        key[0] = ConfigEntryTag;
        Encoding.UTF8.GetBytes(name, key.AsSpan(1));
        return key;
    }

    /// <summary>consensus: 0x01 → H(safety domain ‖ record) ‖ record.</summary>
    public static byte[] SafetyRecordKey() => [SafetyRecordTag];

    /// <summary>consensus: 0x02 ‖ index (u64 BE) → entry hash (32) ‖ payload.</summary>
    public static byte[] JournalEntryKey(ulong index) => Tagged(JournalEntryTag, index);

    /// <summary>consensus: 0x03 → length (u64 BE) ‖ hash of the last entry (32).</summary>
    public static byte[] JournalHeadKey() => [JournalHeadTag];

    /// <summary>state_roots: version (u64 BE) → root hash (32).</summary>
    public static byte[] StateRootKey(ulong version)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, version);
        return key;
    }

    /// <summary>state_stale: version (u64 BE) → what it made stale, each entry tag (0x01 node, 0x02 value) ‖ length (1 byte) ‖ key.</summary>
    public static byte[] StaleListKey(ulong version) => StateRootKey(version);

    /// <summary>Bytes in front of the encoded block in a stored block value.</summary>
    public const int StoredBlockPrefixLength = Hash32.SizeBytes + 4;

    /// <summary>CRC-32C (Castagnoli) of <paramref name="bytes"/>, as stored beside a block.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> bytes)
    {
        var crc = uint.MaxValue;
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(bytes);
        foreach (var word in words) crc = System.Numerics.BitOperations.Crc32C(crc, word);
        foreach (var b in bytes[(words.Length * 8)..]) crc = System.Numerics.BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    public static byte[] EncodeHeight(ulong height)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, height);
        return bytes;
    }

    private static byte[] Tagged(byte tag, ulong value)
    {
        var key = new byte[9];
        key[0] = tag;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), value);
        return key;
    }

    private static byte[] Tagged(byte tag, Hash32 hash)
    {
        var key = new byte[1 + Hash32.SizeBytes];
        key[0] = tag;
        hash.CopyTo(key.AsSpan(1));
        return key;
    }
}
