using RocksDbSharp;

namespace Custos.Storage.Tests.Support;

/// <summary>Writes straight into a store's RocksDB, behind its back, to simulate damage that RocksDB's checksums cannot see.</summary>
internal static class RawAccess
{
    public static byte[] Get(LedgerStore store, string family, byte[] key) =>
        store.Database.Get(family, key) ?? throw new InvalidOperationException($"no {family} entry for the key");

    public static void Put(LedgerStore store, string family, byte[] key, byte[] value)
    {
        using var batch = new WriteBatch();
        batch.Put(key, value, store.Database[family]);
        store.Database.Write(batch, sync: true);
    }

    public static void Delete(LedgerStore store, string family, byte[] key)
    {
        using var batch = new WriteBatch();
        batch.Delete(key, store.Database[family]);
        store.Database.Write(batch, sync: true);
    }

    /// <summary>Flips bits of one byte of an entry in place.</summary>
    public static void FlipByte(LedgerStore store, string family, byte[] key, int position, byte mask = 0x01)
    {
        var value = Get(store, family, key);
        value[position] ^= mask;
        Put(store, family, key, value);
    }

    /// <summary>Every key of a family, in order.</summary>
    public static List<byte[]> Keys(LedgerStore store, string family)
    {
        var keys = new List<byte[]>();
        using var iterator = store.Database.NewIterator(family);
        for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next()) keys.Add(iterator.Key());
        return keys;
    }
}
