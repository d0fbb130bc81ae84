using System.Buffers.Binary;
using System.Text;
using Custos.Core;

namespace Custos.Storage.Tests.Support;

/// <summary>
/// The state root computed from scratch, written from the specification in docs/storage.md and independently of
/// the store's code: hash every key and value, then recursively, at each position, nothing for no key, the leaf hash
/// for one key, and the internal hash over the 16 nibble-children for two or more.
/// </summary>
internal static class ReferenceTree
{
    private static readonly byte[] KeyDomain = Encoding.ASCII.GetBytes("custos/v1/state_key\0");
    private static readonly byte[] ValueDomain = Encoding.ASCII.GetBytes("custos/v1/state_value\0");
    private static readonly byte[] LeafDomain = Encoding.ASCII.GetBytes("custos/v1/state_leaf\0");
    private static readonly byte[] NodeDomain = Encoding.ASCII.GetBytes("custos/v1/state_node\0");
    private static readonly byte[] EmptyDomain = Encoding.ASCII.GetBytes("custos/v1/state_empty\0");

    public static Hash32 Root(IHashFunction hash, IEnumerable<KeyValuePair<byte[], byte[]>> state)
    {
        var leaves = state
            .Select(entry => (Key: hash.Hash([.. KeyDomain, .. entry.Key]), Value: hash.Hash([.. ValueDomain, .. entry.Value])))
            .Select(leaf => (Path: leaf.Key.ToArray(), Hash: hash.Hash([.. LeafDomain, .. leaf.Key.ToArray(), .. leaf.Value.ToArray()])))
            .OrderBy(leaf => Convert.ToHexString(leaf.Path), StringComparer.Ordinal)
            .ToList();
        return leaves.Count == 0 ? hash.Hash(EmptyDomain) : Subtree(hash, leaves, 0);
    }

    public static Hash32 Root(IHashFunction hash, IReadOnlyDictionary<string, byte[]> state) =>
        Root(hash, state.Select(e => new KeyValuePair<byte[], byte[]>(Encoding.ASCII.GetBytes(e.Key), e.Value)));

    private static Hash32 Subtree(IHashFunction hash, List<(byte[] Path, Hash32 Hash)> leaves, int depth)
    {
        if (leaves.Count == 1) return leaves[0].Hash;
        ushort bitmap = 0;
        var children = new List<byte>();
        for (var nibble = 0; nibble < 16; nibble++)
        {
            var group = leaves.Where(l => Nibble(l.Path, depth) == nibble).ToList();
            if (group.Count == 0) continue;
            bitmap |= (ushort)(1 << nibble);
            children.AddRange(Subtree(hash, group, depth + 1).ToArray());
        }

        var message = new byte[NodeDomain.Length + 2 + children.Count];
        NodeDomain.CopyTo(message, 0);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(NodeDomain.Length), bitmap);
        children.CopyTo(message, NodeDomain.Length + 2);
        return hash.Hash(message);
    }

    private static int Nibble(byte[] path, int index) => index % 2 == 0 ? path[index / 2] >> 4 : path[index / 2] & 0xF;
}
