using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.State;
using Custos.Storage.Tests.Support;

namespace Custos.Storage.Tests;

/// <summary>
/// A flipped byte is detected on read and reported as STORAGE_CORRUPT, never served: by our own hash checks when the
/// damage is inside a value RocksDB considers valid, and by RocksDB's block checksums when it is in a table file.
/// </summary>
public sealed class CorruptionTests
{
    [Fact]
    public void Flipped_byte_anywhere_in_a_stored_block_is_reported_as_corrupt()
    {
        using var ledger = new TestLedger();
        ledger.Persist();
        ledger.Store.Persist(new BlockPersist { Block = ledger.NextBlock(transactions: 3) });
        var key = StorageLayout.BlockByHeightKey(1);
        var length = RawAccess.Get(ledger.Store, StorageLayout.BlocksFamily, key).Length;
        var random = new Random(TestSeed.Value);

        // The stored hash, the checksum, the header, the transaction bodies (covered by the transaction root) and their
        // signatures (covered by the checksum alone).
        foreach (var position in new[] { 0, 31, 33, 40, length / 2, length - 1 }.Concat(Enumerable.Range(0, 20).Select(_ => random.Next(length))))
        {
            RawAccess.FlipByte(ledger.Store, StorageLayout.BlocksFamily, key, position, mask: 0x10);
            var error = Assert.Throws<CustosException>(() => ledger.Store.ReadBlock(1));
            Assert.True(error.Code == ErrorCode.StorageCorrupt, $"byte {position}: {error.Error}; {TestSeed.Describe}");
            RawAccess.FlipByte(ledger.Store, StorageLayout.BlocksFamily, key, position, mask: 0x10);
            Assert.NotNull(ledger.Store.ReadBlock(1));
        }
    }

    [Fact]
    public void Flipped_byte_in_a_state_node_is_reported_as_corrupt_by_reads_and_proofs()
    {
        using var ledger = new TestLedger();
        var writes = Enumerable.Range(0, 300).Select(i => TestLedger.Put($"account-{i}", $"balance {i}")).ToList();
        ledger.Persist(writes);
        var nodeKeys = RawAccess.Keys(ledger.Store, StorageLayout.StateNodesFamily);
        var random = new Random(TestSeed.Value);
        foreach (var nodeKey in nodeKeys.OrderBy(_ => random.Next()).Take(12))
        {
            var length = RawAccess.Get(ledger.Store, StorageLayout.StateNodesFamily, nodeKey).Length;
            var position = 1 + random.Next(length - 1);
            RawAccess.FlipByte(ledger.Store, StorageLayout.StateNodesFamily, nodeKey, position);
            ledger.Store.State.Cache.Clear();

            // Some key's path runs through the damaged node: reading all of them must hit it.
            var error = Assert.Throws<CustosException>(() =>
            {
                foreach (var write in writes) ledger.Store.State.Prove(write.Key);
            });
            Assert.True(error.Code == ErrorCode.StorageCorrupt, $"node {Convert.ToHexString(nodeKey)} byte {position}: {error.Error}; {TestSeed.Describe}");
            Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => ledger.Store.State.RecomputeRoot(0)).Code);

            RawAccess.FlipByte(ledger.Store, StorageLayout.StateNodesFamily, nodeKey, position);
            ledger.Store.State.Cache.Clear();
        }

        Assert.Equal(ledger.Store.State.LatestRoot, ledger.Store.State.RecomputeRoot(0).Root);
    }

    [Fact]
    public void Flipped_byte_in_a_state_value_is_reported_as_corrupt()
    {
        using var ledger = new TestLedger();
        ledger.Persist([TestLedger.Put("alice", "100"), TestLedger.Put("bob", "200")]);
        var valueKey = NodeCodec.EncodeValueKey(0, StateHashing.KeyHash(ledger.Suite, "alice"u8));
        var length = RawAccess.Get(ledger.Store, StorageLayout.StateValuesFamily, valueKey).Length;
        for (var position = 0; position < length; position++)
        {
            RawAccess.FlipByte(ledger.Store, StorageLayout.StateValuesFamily, valueKey, position, mask: 0x04);
            Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => ledger.Store.State.Get("alice"u8)).Code);
            Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => ledger.Store.State.Prove("alice"u8)).Code);
            RawAccess.FlipByte(ledger.Store, StorageLayout.StateValuesFamily, valueKey, position, mask: 0x04);
        }

        Assert.Equal("100"u8.ToArray(), ledger.Store.State.Get("alice"u8));
        Assert.Equal("200"u8.ToArray(), ledger.Store.State.Get("bob"u8));
    }

    [Fact]
    public void Flipped_byte_in_a_table_file_is_caught_by_rocksdb_checksums_and_reported_as_corrupt()
    {
        using var ledger = new TestLedger();
        var marker = Encoding.ASCII.GetBytes("a value easy to find in a table file: " + new string('#', 40));
        ledger.Persist([new StateWrite("marked"u8.ToArray(), marker), TestLedger.Put("other", "x")]);
        ledger.Store.Database.Flush();
        ledger.Close();

        // State values are stored uncompressed, so the marker's bytes are in the table file as they are.
        var flipped = 0;
        foreach (var file in Directory.EnumerateFiles(ledger.DataDirectory, "*.sst"))
        {
            var bytes = File.ReadAllBytes(file);
            var at = bytes.AsSpan().IndexOf(marker);
            if (at < 0) continue;
            bytes[at + 20] ^= 0x01;
            File.WriteAllBytes(file, bytes);
            flipped++;
        }

        Assert.Equal(1, flipped);
        var error = Assert.Throws<CustosException>(() =>
        {
            using var store = LedgerStore.Open(ledger.DataDirectory);
            store.State.Get("marked"u8);
        });
        Assert.Equal(ErrorCode.StorageCorrupt, error.Code);
        Assert.Contains("checksum", error.Message, StringComparison.OrdinalIgnoreCase);
    }
}
