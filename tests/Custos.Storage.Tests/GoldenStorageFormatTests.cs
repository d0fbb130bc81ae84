using System.Text;
using Custos.Core;
using Custos.Crypto;
using Custos.Storage.State;
using Custos.Storage.Tests.Support;
using Custos.Storage.Wire;
using Google.Protobuf.Reflection;

namespace Custos.Storage.Tests;

/// <summary>
/// Freezes the storage format: column families, key prefixes and encodings, hash domains, node and value encodings,
/// record field numbers and known hash vectors. A change here is a format change and bumps
/// <see cref="StorageLayout.FormatVersion"/>.
/// </summary>
public sealed class GoldenStorageFormatTests
{
    [Fact]
    public void Format_version_is_three()
    {
        Assert.Equal(3u, StorageLayout.FormatVersion);
    }

    [Fact]
    public void Column_families_keep_state_transactions_configuration_and_metadata_apart()
    {
        Assert.Equal(
            ["meta", "config", "blocks", "transactions", "state_nodes", "state_values", "state_stale", "state_roots", "consensus", "replay"],
            StorageLayout.Families);
    }

    [Fact]
    public void Meta_keys_and_tags_are_frozen()
    {
        Assert.Equal("chain_identity", Ascii(StorageLayout.ChainIdentityKey));
        Assert.Equal("head", Ascii(StorageLayout.HeadKey));
        Assert.Equal("state_pruned_through", Ascii(StorageLayout.PrunedThroughKey));
        Assert.Equal(
            [0x01, 0x02, 0x03, 0x01, 0x02, 0x01, 0x01, 0x02, 0x03],
            new[]
            {
                StorageLayout.BlockByHeightTag, StorageLayout.HeightByHashTag, StorageLayout.BlockInfoTag,
                StorageLayout.TransactionPositionTag, StorageLayout.ReceiptsTag,
                StorageLayout.ConfigEntryTag, StorageLayout.SafetyRecordTag, StorageLayout.JournalEntryTag, StorageLayout.JournalHeadTag,
            });
    }

    [Fact]
    public void Key_encodings_are_frozen()
    {
        var hash = new Hash32(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        const string hashHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        Assert.Equal("010102030405060708", Hex(StorageLayout.BlockByHeightKey(0x0102030405060708)));
        Assert.Equal("02" + hashHex, Hex(StorageLayout.HeightByHashKey(hash)));
        Assert.Equal("030000000000000007", Hex(StorageLayout.BlockInfoKey(7)));
        Assert.Equal("01" + hashHex, Hex(StorageLayout.TransactionPositionKey(hash)));
        Assert.Equal("020000000000000009", Hex(StorageLayout.ReceiptsKey(9)));
        Assert.Equal("01" + Hex(Encoding.UTF8.GetBytes("genesis")), Hex(StorageLayout.ConfigEntryKey("genesis")));
        Assert.Equal("01", Hex(StorageLayout.SafetyRecordKey()));
        Assert.Equal("02000000000000002a", Hex(StorageLayout.JournalEntryKey(42)));
        Assert.Equal("03", Hex(StorageLayout.JournalHeadKey()));
        Assert.Equal("000000000000002a", Hex(StorageLayout.StateRootKey(42)));
        Assert.Equal("000000000000002a", Hex(StorageLayout.StaleListKey(42)));
    }

    [Fact]
    public void Stored_block_is_its_hash_then_a_crc32c_then_the_encoded_block()
    {
        using var ledger = new TestLedger();
        var result = ledger.Persist();
        var stored = RawAccess.Get(ledger.Store, StorageLayout.BlocksFamily, StorageLayout.BlockByHeightKey(0));
        var encoded = ledger.Store.ReadBlock(0)!.Block.Encoded.ToArray();
        Assert.Equal(result.BlockHash.ToString(), Hex(stored.AsSpan(0, 32)));
        Assert.Equal(encoded, stored[36..]);
        Assert.Equal(Hex(stored.AsSpan(32, 4)), StorageLayout.Crc32C(encoded).ToString("x8"));

        // CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
        Assert.Equal(0xE3069283u, StorageLayout.Crc32C("123456789"u8));
    }

    [Fact]
    public void A_blocks_receipts_and_events_are_one_record_under_its_height()
    {
        using var ledger = new TestLedger();
        ledger.Persist();
        var block = ledger.NextBlock(transactions: 2);
        ledger.Store.Persist(new BlockPersist
        {
            Block = block,
            Receipts = [new byte[] { 0xaa }, new byte[] { 0xbb, 0xcc }],
            Events = [new StoredEvent(1, new byte[] { 0xee })],
        });

        // BlockReceiptsRecord: receipts (field 1) in order, then events (field 2) as StoredEventRecord
        // { transaction_index = 1, encoded = 2 }.
        Assert.Equal("0a01aa" + "0a02bbcc" + "1205" + "0801" + "1201ee",
            Hex(RawAccess.Get(ledger.Store, StorageLayout.TransactionsFamily, StorageLayout.ReceiptsKey(1))));
        Assert.Equal(2 + 1, RawAccess.Keys(ledger.Store, StorageLayout.TransactionsFamily).Count);
    }

    [Fact]
    public void Node_keys_are_version_then_nibble_count_then_packed_nibbles()
    {
        var path = NibblePath.FromHash(new Hash32(Convert.FromHexString("abcdef" + new string('0', 58))));
        Assert.Equal("000000000000000500", Hex(new NodeKey(5, NibblePath.Empty).Encode()));
        Assert.Equal("000000000000000503abc0", Hex(new NodeKey(5, path.Prefix(3)).Encode()));
        Assert.Equal("000000000000000504abcd", Hex(new NodeKey(5, path.Prefix(4)).Encode()));
        Assert.Equal("0000000000000100" + "abcdef" + new string('0', 58), Hex(NodeCodec.EncodeValueKey(256, path.ToHash())));
    }

    [Fact]
    public void Hash_domains_are_frozen_and_distinct_from_the_signing_domains()
    {
        Assert.Equal(
            ["custos/v1/state_key\0", "custos/v1/state_value\0", "custos/v1/state_leaf\0", "custos/v1/state_node\0", "custos/v1/state_empty\0",
             "custos/v1/consensus_journal\0", "custos/v1/safety_record\0"],
            StorageDomains.All);
        var signing = Enum.GetValues<Core.Wire.ObjectType>().Where(t => t != Core.Wire.ObjectType.Unspecified).Select(t => Ascii(SigningDomain.Prefix(t))).ToList();
        Assert.Empty(StorageDomains.All.Intersect(signing));
        Assert.Equal(StorageDomains.All.Count, StorageDomains.All.Distinct().Count());
    }

    [Fact]
    public void Node_and_value_encodings_are_frozen()
    {
        using var hasher = new StateHasher(CryptoSuites.Gm);
        var keyHash = new Hash32(Enumerable.Repeat((byte)0xa0, 32).ToArray());
        var valueHash = new Hash32(Enumerable.Repeat((byte)0xb0, 32).ToArray());
        var children = new ChildrenBuilder(stackalloc byte[ChildrenBuilder.BufferBytes]);
        children.AddInternal(1, new Hash32(Enumerable.Repeat((byte)0x11, 32).ToArray()), 3);
        children.AddLeaf(10, LeafRef.Create(hasher, keyHash, valueHash, 200));
        var node = children.Build(hasher);

        // 0x01, child bitmap 0x0402 (nibbles 1 and a), leaf bitmap 0x0400 (nibble a), then per child the version
        // delta (300 - 3 = 297 as LEB128 a9 02; 300 - 200 = 100 as 64) and its hashes.
        Assert.Equal("01" + "0402" + "0400" + "a902" + new string('1', 64) + "64" + Repeat("a0", 32) + Repeat("b0", 32), Hex(NodeCodec.Encode(node, 300)));
        Assert.Equal("fe6f033acb398e5895181b33cbead47e511b2291a1529f001646bfb3876c7ac8", node.Hash.ToString());
        Assert.Equal("0264" + Repeat("a0", 32) + Repeat("b0", 32), Hex(NodeCodec.Encode(new RootLeafNode(LeafRef.Create(hasher, keyHash, valueHash, 200)), 300)));
        Assert.Equal("00", Hex(NodeCodec.Encode(new NullNode(default), 9)));

        var record = new byte[NodeCodec.ValueRecordLength("key"u8.ToArray(), "value"u8.ToArray())];
        NodeCodec.EncodeValueRecord("key"u8.ToArray(), "value"u8.ToArray(), record);
        Assert.Equal("03" + Hex("key"u8.ToArray()) + Hex("value"u8.ToArray()), Hex(record));

        var stale = AuthenticatedState.EncodeStaleList([new NodeKey(2, NibblePath.Empty)], [(1UL, keyHash)]);
        Assert.Equal("01" + "09" + "000000000000000200" + "02" + "28" + "0000000000000001" + Repeat("a0", 32), Hex(stale));
    }

    [Fact]
    public void Known_hash_vectors_of_both_suites_are_frozen()
    {
        Assert.Equal("7f481838c2bd0cf62498c04de9247bf4321a2af1531522d08e3aafbe5b1a9aea", StateHashing.EmptyRoot(CryptoSuites.Gm).ToString());
        Assert.Equal("66355902cc146ba3c53644e7cabf6a37b7c0888270f184135a7579a0e8e4d781", StateHashing.EmptyRoot(CryptoSuites.Intl).ToString());
        var gmKey = StateHashing.KeyHash(CryptoSuites.Gm, "a"u8);
        var gmValue = StateHashing.ValueHash(CryptoSuites.Gm, "1"u8);
        Assert.Equal("be8672788d4e9831985693d289ae3d05d4ba003e631fbd16b2740ad8d7e6fd57", gmKey.ToString());
        Assert.Equal("e859b05320301d2ea58ee94bfa311c28c6da497c45dd7093f13522f2b2605df1", gmValue.ToString());
        Assert.Equal("4a33238fffe09f7ed885d2828207f46c96c3a175b9dd56ba98d1316493d6601b", StateHashing.LeafHash(CryptoSuites.Gm, gmKey, gmValue).ToString());
        var intlKey = StateHashing.KeyHash(CryptoSuites.Intl, "a"u8);
        var intlValue = StateHashing.ValueHash(CryptoSuites.Intl, "1"u8);
        Assert.Equal("5d40e47b1bb61f90b0bd30edba7f18b6ba869f233ce72ba51eebb2f7623dcd0b", intlKey.ToString());
        Assert.Equal("f31369b80cbcad5ae536c3a80d99dd8167e3b3ded3f80656ab349339e99fead5", StateHashing.LeafHash(CryptoSuites.Intl, intlKey, intlValue).ToString());
    }

    [Fact]
    public void Root_of_a_known_state_is_frozen_and_matches_the_reference_computation()
    {
        using var ledger = new TestLedger();
        var result = ledger.Persist([TestLedger.Put("a", "1"), TestLedger.Put("b", "2"), TestLedger.Put("c", "3")]);
        var reference = ReferenceTree.Root(CryptoSuites.Gm, new Dictionary<string, byte[]> { ["a"] = "1"u8.ToArray(), ["b"] = "2"u8.ToArray(), ["c"] = "3"u8.ToArray() });
        Assert.Equal(reference, result.StateRoot);
        Assert.Equal("3e14de83c6d3c43e69674cc4e570993ab107beafcdfe3370191ebe4a4aaaf426", result.StateRoot.ToString());
    }

    [Fact]
    public void Record_field_numbers_are_frozen()
    {
        AssertFields(ChainIdentityRecord.Descriptor, ("format_version", 1), ("chain_id", 2), ("genesis_hash", 3), ("suite", 4));
        AssertFields(StoreHeadRecord.Descriptor, ("height", 1), ("block_hash", 2), ("state_root", 3), ("journal_length", 4), ("journal_last_hash", 5));
        AssertFields(BlockInfoRecord.Descriptor, ("block_hash", 1), ("transaction_count", 2), ("journal_length", 3), ("journal_last_hash", 4));
        AssertFields(BlockReceiptsRecord.Descriptor, ("receipts", 1), ("events", 2));
        AssertFields(StoredEventRecord.Descriptor, ("transaction_index", 1), ("encoded", 2));
        AssertFields(Receipt.Descriptor, ("transaction_id", 1), ("status", 2), ("gas_used", 3), ("result", 4), ("event_count", 5));
        AssertFields(Event.Descriptor, ("contract", 1), ("name", 2), ("data", 3));
        AssertFields(StateProofLevel.Descriptor, ("child_bitmap", 1), ("siblings", 2));
        AssertFields(StateProof.Descriptor, ("levels", 1), ("leaf_key_hash", 2), ("leaf_value_hash", 3));
    }

    private static void AssertFields(MessageDescriptor descriptor, params (string Name, int Number)[] expected)
    {
        Assert.Equal(expected, descriptor.Fields.InFieldNumberOrder().Select(f => (f.Name, f.FieldNumber)).ToArray());
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    private static string Ascii(ReadOnlySpan<byte> bytes) => Encoding.ASCII.GetString(bytes);

    private static string Repeat(string hex, int count) => string.Concat(Enumerable.Repeat(hex, count));
}
