using System.Numerics;
using Custos.Core;
using Custos.Storage.State;
using CsCheck;

namespace Custos.Storage.Tests;

/// <summary>
/// The node cache keeps node bytes in slots it reuses: a hit must return exactly the node last cached for that
/// position and version, whatever was evicted, moved or overwritten since, and memory must stay within the budget.
/// </summary>
public sealed class NodeCacheTests
{
    private const int Positions = 40;

    [Fact]
    public void Hits_return_exactly_the_node_last_cached_for_the_position_and_version()
    {
        // Operations: cache a node (position, version step, shape, seed) or look one up (position, version step).
        var gen = Gen.Select(Gen.Int[0, Positions - 1], Gen.Int[-1, 2], Gen.Int[0, 16], Gen.Int, Gen.Bool).Array[1, 400];
        foreach (var capacity in new long[] { 0, 40_000, 200_000, 10_000_000 })
        {
            gen.Sample(operations => CheckAgainstModel(capacity, operations), iter: 40);
        }
    }

    [Fact]
    public void A_node_read_into_scratch_space_equals_the_cached_node_and_the_slot_can_then_be_reused()
    {
        var cache = new NodeCache(1_000_000);
        var key = new NodeKey(3, Path(7));
        var first = Node(12, seed: 1);
        cache.Add(key, first);
        var scratch = new byte[NodeCache.ScratchBytes];
        Assert.True(cache.TryGet(key, scratch, out var read));
        AssertSameNode(first, read);

        // The next version at the position takes the same slot; the copy in scratch space is unaffected.
        var second = Node(12, seed: 2);
        cache.Add(key with { Version = 4 }, second);
        AssertSameNode(first, read);
        Assert.False(cache.TryGet(key, out _));
        Assert.True(cache.TryGet(key with { Version = 4 }, out var newer));
        AssertSameNode(second, newer);
    }

    private static void CheckAgainstModel(long capacity, (int Position, int Step, int Shape, int Seed, bool IsLookup)[] operations)
    {
        // A position's node at a version never changes (nodes are immutable), so it is a function of the two.
        var cache = new NodeCache(capacity);
        var added = new HashSet<(int, ulong)>();
        var newest = new Dictionary<int, ulong>();
        var scratch = new byte[NodeCache.ScratchBytes];
        foreach (var (position, step, shape, seed, isLookup) in operations)
        {
            var version = (ulong)((long)newest.GetValueOrDefault(position, 10UL) + step);
            var key = new NodeKey(version, Path(position));
            if (isLookup)
            {
                var hit = seed % 2 == 0 ? cache.TryGet(key, out var node) : cache.TryGet(key, scratch, out node);
                if (!hit) continue;
                Assert.True(added.Contains((position, version)), $"a hit for {key}, which was never cached");
                AssertSameNode(NodeAt(position, version), node);
            }
            else
            {
                cache.Add(key, NodeAt(position, version));
                added.Add((position, version));
                newest[position] = Math.Max(version, newest.GetValueOrDefault(position));
            }

            // Each of the 16 shards holds at least two of the largest nodes, and may pass its share by one node.
            Assert.InRange(cache.EstimatedBytes, 0, Math.Max(capacity, 16 * 3_650) + 16 * 2_000);
        }

        // The newest version cached at a position is never displaced by an older one while it is cached.
        foreach (var (position, version) in newest)
        {
            for (var older = version - 3; older < version; older++)
            {
                if (cache.TryGet(new NodeKey(older, Path(position)), out _)) Assert.False(cache.TryGet(new NodeKey(version, Path(position)), out _));
            }
        }
    }

    private static TreeNode NodeAt(int position, ulong version)
    {
        var seed = HashCode.Combine(position, version);
        var shape = (seed & int.MaxValue) % 18;
        return shape == 17 ? new NullNode(Hash(seed)) : shape == 16 ? RootLeaf(seed) : Node(shape + 1, seed);
    }

    private static NibblePath Path(int position)
    {
        var path = NibblePath.Empty;
        foreach (var nibble in new[] { position % 16, position / 16 % 16, 3 }.Take(1 + position % 3)) path = path.Append(nibble);
        return path;
    }

    private static Hash32 Hash(int seed)
    {
        var bytes = new byte[Hash32.SizeBytes];
        new Random(seed).NextBytes(bytes);
        return new Hash32(bytes);
    }

    private static RootLeafNode RootLeaf(int seed) => new(new LeafRef(Hash(seed), Hash(seed + 1), Hash(seed + 2), (ulong)(uint)seed));

    /// <summary>An internal node of <paramref name="children"/> children, about half of them leaves, filled from <paramref name="seed"/>.</summary>
    private static InternalNode Node(int children, int seed)
    {
        var random = new Random(seed);
        var childBitmap = (ushort)((1 << children) - 1 << (16 - children));
        var leafBitmap = (ushort)(childBitmap & random.Next(0x10000));
        var data = new byte[InternalNode.DataLength(children, BitOperations.PopCount(leafBitmap))];
        random.NextBytes(data);
        return new InternalNode(childBitmap, leafBitmap, data, Hash(seed));
    }

    private static void AssertSameNode(TreeNode expected, TreeNode actual)
    {
        Assert.Equal(expected.GetType(), actual.GetType());
        Assert.Equal(expected.Hash, actual.Hash);
        switch (expected)
        {
            case InternalNode e:
                var a = (InternalNode)actual;
                Assert.Equal(e.ChildBitmap, a.ChildBitmap);
                Assert.Equal(e.LeafBitmap, a.LeafBitmap);
                Assert.Equal(e.Data.ToArray(), a.Data.ToArray());
                break;
            case RootLeafNode r:
                var leaf = ((RootLeafNode)actual).Leaf;
                Assert.Equal((r.Leaf.KeyHash, r.Leaf.ValueHash, r.Leaf.Version), (leaf.KeyHash, leaf.ValueHash, leaf.Version));
                break;
        }
    }
}
