using System.Runtime.Intrinsics.X86;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto.Tests.Support;

namespace Custos.Crypto.Tests;

/// <summary>SM3 sixteen messages at a time, and what is built on it (HashEach, Merkle roots, batch ids), against one at a time.</summary>
public sealed class Sm3LanesTests
{
    /// <summary>
    /// The vector widths this processor can run: AVX-512 (wide) and AVX2; on a processor with neither, AVX2, which the
    /// test then expects refused.
    /// </summary>
    public static TheoryData<bool> Widths()
    {
        var widths = new TheoryData<bool>();
        if (Avx512F.IsSupported) widths.Add(true);
        if (Avx2.IsSupported || !Avx512F.IsSupported) widths.Add(false);
        return widths;
    }

    [Fact]
    public void Lanes_run_wherever_the_processor_has_AVX2_and_are_one_vector_with_AVX512()
    {
        Assert.Equal(Avx512F.IsSupported || Avx2.IsSupported, Sm3Lanes.IsSupported);
        Assert.Equal(Avx512F.IsSupported, Sm3Lanes.IsWide);
    }

    [Fact]
    public void A_width_the_processor_lacks_is_refused()
    {
        var digests = new byte[32];
        ReadOnlyMemory<byte>[] one = [new byte[1]];
        if (!Avx512F.IsSupported) Assert.Throws<PlatformNotSupportedException>(() => Sm3Lanes.Hash([], one, digests, wide: true));
        if (!Avx2.IsSupported) Assert.Throws<PlatformNotSupportedException>(() => Sm3Lanes.Hash([], one, digests, wide: false));
        if (Sm3Lanes.IsSupported)
        {
            Sm3Lanes.Hash([], one, digests);
            Assert.Equal(CryptoSuites.Gm.Hash(new byte[1]).ToArray(), digests);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Sixteen_lanes_give_each_message_its_own_digest(bool wide)
    {
        if (!(wide ? Avx512F.IsSupported : Avx2.IsSupported))
        {
            Assert.Throws<PlatformNotSupportedException>(() => Sm3Lanes.Hash([], new ReadOnlyMemory<byte>[] { new byte[1] }, new byte[32], wide));
            return;
        }

        TestSeed.RunCases($"SM3 lanes ({(wide ? "AVX-512" : "AVX2")}) vs SM3", 500, (index, random, fail) =>
        {
            var prefix = random.Bytes(0, 40);
            var blocks = Sm3Lanes.BlocksFor(prefix.Length + random.Next(0, 300));
            var lanes = random.Next(1, Sm3Lanes.Width + 1);
            var messages = new ReadOnlyMemory<byte>[lanes];
            for (var lane = 0; lane < lanes; lane++)
            {
                // Any length that pads to the same number of blocks.
                byte[] message;
                do message = random.Bytes(0, 300);
                while (Sm3Lanes.BlocksFor(prefix.Length + message.Length) != blocks);
                messages[lane] = message;
            }

            var digests = new byte[lanes * 32];
            Sm3Lanes.Hash(prefix, messages, digests, wide);
            for (var lane = 0; lane < lanes; lane++)
            {
                var expected = CryptoSuites.Gm.Hash([.. prefix, .. messages[lane].Span]);
                if (!expected.ToArray().AsSpan().SequenceEqual(digests.AsSpan(lane * 32, 32))) fail($"lane {lane} of {lanes}, {messages[lane].Length} bytes after a {prefix.Length}-byte prefix");
            }
        });
    }

    [Fact]
    public void Lanes_refuse_messages_of_different_block_counts_and_more_than_sixteen()
    {
        if (!Sm3Lanes.IsSupported) return;
        var output = new byte[17 * 32];
        Assert.Throws<ArgumentException>(() => Sm3Lanes.Hash([], new ReadOnlyMemory<byte>[] { new byte[10], new byte[100] }, output));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sm3Lanes.Hash([], new ReadOnlyMemory<byte>[17], output));
    }

    [Fact]
    public void Hash_each_equals_hashing_each_alone_for_mixed_lengths()
    {
        TestSeed.RunCases("HashEach vs one at a time", 300, (index, random, fail) =>
        {
            var prefix = SigningDomain.Prefix(ObjectType.Transaction).ToArray();
            // Mostly equal lengths (a batch of like transactions), some others.
            var common = random.Next(0, 400);
            var messages = Enumerable.Range(0, random.Next(0, 60))
                .Select(_ => (ReadOnlyMemory<byte>)random.Bytes(random.Next(0, 4) == 0 ? random.Next(0, 400) : common)).ToList();
            foreach (var suite in new[] { CryptoSuites.Gm, CryptoSuites.Intl })
            {
                var digests = new Hash32[messages.Count];
                ((IHashFunction)suite).HashEach(prefix, messages, digests);
                for (var i = 0; i < messages.Count; i++)
                {
                    if (digests[i] != suite.HashObject(ObjectType.Transaction, messages[i].Span)) fail($"{suite.Name}: message {i} of {messages.Count} ({messages[i].Length} bytes)");
                }
            }
        });
    }

    [Fact]
    public void Merkle_roots_computed_by_levels_equal_the_recursive_split_at_the_largest_power_of_two()
    {
        var random = new Random(5);
        foreach (var suite in new[] { CryptoSuites.Gm, CryptoSuites.Intl })
        {
            for (var count = 0; count <= 70; count++)
            {
                var leaves = Enumerable.Range(0, count).Select(_ => { var b = new byte[32]; random.NextBytes(b); return new Hash32(b); }).ToList();
                Assert.Equal(Recursive(suite, leaves, 0, count), MerkleRoot.Compute(suite, leaves));
            }
        }
    }

    /// <summary>RFC 6962 §2.1 as written: the empty tree, a leaf, or the split at the largest power of two below n.</summary>
    private static Hash32 Recursive(IHashFunction hash, IReadOnlyList<Hash32> leaves, int start, int count)
    {
        if (count == 0) return hash.HashObject(ObjectType.MerkleLeaf, []);
        if (count == 1) return hash.HashObject(ObjectType.MerkleLeaf, leaves[start].ToArray());
        var split = 1;
        while (split * 2 < count) split *= 2;
        var left = Recursive(hash, leaves, start, split);
        var right = Recursive(hash, leaves, start + split, count - split);
        return hash.HashObject(ObjectType.MerkleNode, [.. left.ToArray(), .. right.ToArray()]);
    }
}
