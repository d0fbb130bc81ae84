using System.Buffers.Binary;
using Custos.Execution;

namespace Custos.Contracts.Wasm;

/// <summary>
/// The sorted list of a contract's keys, kept in state because the authenticated state has no ordered iteration.
/// Two levels: a root (<c>NAME\0i</c>) holding the lowest key of each page, and pages (<c>NAME\0ip</c> + lowest key)
/// of at most <see cref="PageKeysMax"/> keys. A page's lowest key never changes while the page exists (the first
/// page's is empty), so its state key is stable.
/// </summary>
/// <remarks>
/// Cost, all charged as ordinary state reads and writes: a put of a new key or a delete reads the root and one page and
/// rewrites the page (up to 64 keys), and the root when a page splits or empties; a put of an existing key reads it
/// once to learn that. A scan step reads the root and one or two pages. Writes of existing keys cost nothing more.
/// </remarks>
internal static class KeyDirectory
{
    public const int PageKeysMax = 64;

    public static byte[] DataKey(string contract, ReadOnlySpan<byte> key) => StateKeys.For(contract, [(byte)'d', .. key]);

    private static byte[] RootKey(string contract) => StateKeys.For(contract, "i");

    private static byte[] PageKey(string contract, ReadOnlySpan<byte> low) => StateKeys.For(contract, [(byte)'i', (byte)'p', .. low]);

    public static void Insert(ContractCall call, string contract, byte[] key)
    {
        var stored = ReadList(call, RootKey(contract));
        var root = stored ?? [[]];
        var pageIndex = PageOf(root, key);
        var pageKey = PageKey(contract, root[pageIndex]);
        var page = ReadList(call, pageKey) ?? [];
        var at = page.BinarySearch(key, ByteKeyComparer.Instance);
        if (at >= 0) return;
        page.Insert(~at, key);
        if (page.Count <= PageKeysMax)
        {
            call.Put(pageKey, Encode(page));
            if (stored is null) call.Put(RootKey(contract), Encode(root));
            return;
        }

        var upper = page.GetRange(page.Count / 2, page.Count - page.Count / 2);
        page.RemoveRange(page.Count / 2, upper.Count);
        call.Put(pageKey, Encode(page));
        call.Put(PageKey(contract, upper[0]), Encode(upper));
        root.Insert(pageIndex + 1, upper[0]);
        call.Put(RootKey(contract), Encode(root));
    }

    public static void Remove(ContractCall call, string contract, byte[] key)
    {
        var root = ReadList(call, RootKey(contract));
        if (root is null) return;
        var pageIndex = PageOf(root, key);
        var pageKey = PageKey(contract, root[pageIndex]);
        var page = ReadList(call, pageKey) ?? [];
        var at = page.BinarySearch(key, ByteKeyComparer.Instance);
        if (at < 0) return;
        page.RemoveAt(at);
        if (page.Count > 0 || pageIndex == 0)
        {
            call.Put(pageKey, Encode(page));
            return;
        }

        call.Delete(pageKey);
        root.RemoveAt(pageIndex);
        call.Put(RootKey(contract), Encode(root));
    }

    /// <summary>The smallest key k with start ≤ k &lt; end (no end bound when <paramref name="end"/> is null), or null.</summary>
    public static byte[]? Next(ContractCall call, string contract, byte[] start, byte[]? end)
    {
        var root = ReadList(call, RootKey(contract));
        if (root is null) return null;
        for (var pageIndex = PageOf(root, start); pageIndex < root.Count; pageIndex++)
        {
            if (end is not null && pageIndex > 0 && ByteKeyComparer.Instance.Compare(root[pageIndex], end) >= 0) return null;
            var page = ReadList(call, PageKey(contract, root[pageIndex])) ?? [];
            var at = page.BinarySearch(start, ByteKeyComparer.Instance);
            if (at < 0) at = ~at;
            if (at == page.Count) continue;
            var found = page[at];
            return end is null || ByteKeyComparer.Instance.Compare(found, end) < 0 ? found : null;
        }

        return null;
    }

    /// <summary>The page whose range holds <paramref name="key"/>: the last one whose lowest key is ≤ it.</summary>
    private static int PageOf(List<byte[]> root, byte[] key)
    {
        var at = root.BinarySearch(key, ByteKeyComparer.Instance);
        return at >= 0 ? at : Math.Max(0, ~at - 1);
    }

    private static List<byte[]>? ReadList(ContractCall call, byte[] stateKey)
    {
        var bytes = call.Get(stateKey);
        if (bytes is null) return null;
        var list = new List<byte[]>();
        for (var at = 0; at < bytes.Length;)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(at));
            list.Add(bytes.AsSpan(at + 2, length).ToArray());
            at += 2 + length;
        }

        return list;
    }

    private static byte[] Encode(List<byte[]> keys)
    {
        var bytes = new byte[keys.Sum(k => 2 + k.Length)];
        var at = 0;
        foreach (var key in keys)
        {
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at), (ushort)key.Length);
            key.CopyTo(bytes, at + 2);
            at += 2 + key.Length;
        }

        return bytes;
    }
}
