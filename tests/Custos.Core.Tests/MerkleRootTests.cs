using System.Security.Cryptography;
using Custos.Crypto;
using CsCheck;
using Org.BouncyCastle.Crypto.Digests;

namespace Custos.Core.Tests;

public sealed class MerkleRootTests
{
    private static readonly byte[] LeafDomain = "custos/v1/merkle_leaf\0"u8.ToArray();
    private static readonly byte[] NodeDomain = "custos/v1/merkle_node\0"u8.ToArray();

    public static TheoryData<string> SuiteNames => ["gm", "intl"];

    [Theory]
    [MemberData(nameof(SuiteNames))]
    public void Root_matches_the_reference_implementation_for_0_to_70_leaves(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        for (var count = 0; count <= 70; count++)
        {
            var leaves = Leaves(count);
            var expected = ReferenceRoot(suiteName, leaves.Select(l => l.ToArray()).ToList());
            Assert.Equal(Convert.ToHexStringLower(expected), MerkleRoot.Compute(suite, leaves).ToString());
        }
    }

    [Fact]
    public void Swapping_two_different_leaves_changes_the_root()
    {
        Gen.Byte.Array[32].Array[2, 40].Select(Gen.Int[0, 39], Gen.Int[0, 39]).Sample((raw, i, j) =>
        {
            i %= raw.Length;
            j %= raw.Length;
            if (i == j || raw[i].AsSpan().SequenceEqual(raw[j])) return;
            var leaves = raw.Select(r => new Hash32(r)).ToArray();
            var root = MerkleRoot.Compute(CryptoSuites.Gm, leaves);
            (leaves[i], leaves[j]) = (leaves[j], leaves[i]);
            Assert.NotEqual(root, MerkleRoot.Compute(CryptoSuites.Gm, leaves));
        }, iter: 300);
    }

    [Fact]
    public void Repeating_the_last_leaf_changes_the_root()
    {
        // A tree that pads an odd level by duplicating its last node gives [a, b, c] and [a, b, c, c] one root
        // (CVE-2012-2459); RFC 6962's split never duplicates, so the two lists must differ.
        for (var count = 1; count <= 33; count++)
        {
            var leaves = Leaves(count);
            var duplicatedLast = leaves.Append(leaves[^1]).ToArray();
            Assert.NotEqual(MerkleRoot.Compute(CryptoSuites.Gm, leaves), MerkleRoot.Compute(CryptoSuites.Gm, duplicatedLast));
        }
    }

    [Fact]
    public void Leaf_hash_differs_from_an_inner_node_hash_of_the_same_bytes()
    {
        Gen.Byte.Array[32].Sample(bytes =>
        {
            var leaf = new Hash32(bytes);
            var asLeaf = MerkleRoot.Compute(CryptoSuites.Gm, [leaf]);
            Assert.Equal(Convert.ToHexStringLower(Sm3([.. LeafDomain, .. bytes])), asLeaf.ToString());
            Assert.NotEqual(Convert.ToHexStringLower(Sm3([.. NodeDomain, .. bytes])), asLeaf.ToString());
        }, iter: 100);
        Assert.NotEqual(LeafDomain, NodeDomain);
    }

    [Theory]
    [MemberData(nameof(SuiteNames))]
    public void Inner_nodes_presented_as_leaves_do_not_reproduce_the_root(string suiteName)
    {
        // The second-preimage attack that domain separation prevents: a tree of the inner nodes of another tree.
        var suite = CryptoSuites.Parse(suiteName);
        var leaves = Leaves(4);
        var raw = leaves.Select(l => l.ToArray()).ToList();
        var left = new Hash32(ReferenceRoot(suiteName, raw[..2]));
        var right = new Hash32(ReferenceRoot(suiteName, raw[2..]));
        Assert.NotEqual(MerkleRoot.Compute(suite, leaves), MerkleRoot.Compute(suite, [left, right]));
    }

    [Fact]
    public void Root_differs_between_the_suites()
    {
        var leaves = Leaves(3);
        Assert.NotEqual(MerkleRoot.Compute(CryptoSuites.Gm, leaves), MerkleRoot.Compute(CryptoSuites.Intl, leaves));
    }

    private static Hash32[] Leaves(int count) =>
        Enumerable.Range(0, count).Select(i => new Hash32(SHA256.HashData(BitConverter.GetBytes(i)))).ToArray();

    /// <summary>RFC 6962 §2.1 written out directly, with the Custos domains and hashes computed without Custos.</summary>
    private static byte[] ReferenceRoot(string suiteName, List<byte[]> leaves)
    {
        Func<byte[], byte[]> hash = suiteName == "gm" ? Sm3 : SHA256.HashData;
        if (leaves.Count == 0) return hash(LeafDomain);
        if (leaves.Count == 1) return hash([.. LeafDomain, .. leaves[0]]);
        var k = 1;
        while (k * 2 < leaves.Count) k *= 2;
        return hash([.. NodeDomain, .. ReferenceRoot(suiteName, leaves[..k]), .. ReferenceRoot(suiteName, leaves[k..])]);
    }

    private static byte[] Sm3(byte[] data)
    {
        var digest = new SM3Digest();
        digest.BlockUpdate(data, 0, data.Length);
        var output = new byte[32];
        digest.DoFinal(output, 0);
        return output;
    }
}
