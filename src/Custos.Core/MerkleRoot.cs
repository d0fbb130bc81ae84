using Custos.Core.Wire;

namespace Custos.Core;

/// <summary>
/// Merkle tree hash over an ordered list of leaves, shaped as RFC 6962 §2.1 (split at the largest power of two
/// below n, so no leaf is ever duplicated: the CVE-2012-2459 ambiguity cannot arise). Leaves and inner nodes are
/// hashed under different signing domains.
/// </summary>
public static class MerkleRoot
{
    /// <remarks>
    /// Computed level by level: each level's nodes are hashed in pairs, an odd last node moving up unchanged, which
    /// gives the same tree as the recursive split at the largest power of two. A level's hashes are independent of
    /// each other, so the hash function may compute them several at once (<see cref="IHashFunction.HashEach"/>).
    /// </remarks>
    public static Hash32 Compute(IHashFunction hash, IReadOnlyList<Hash32> leaves)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(leaves);
        if (leaves.Count == 0)
        {
            using var accumulator = hash.Begin();
            accumulator.Append(SigningDomain.Prefix(ObjectType.MerkleLeaf));
            return accumulator.Finish();
        }

        var count = leaves.Count;
        var bytes = new byte[count * Hash32.SizeBytes];
        var messages = new ReadOnlyMemory<byte>[count];
        for (var i = 0; i < count; i++)
        {
            leaves[i].CopyTo(bytes.AsSpan(i * Hash32.SizeBytes));
            messages[i] = bytes.AsMemory(i * Hash32.SizeBytes, Hash32.SizeBytes);
        }

        var level = new Hash32[count];
        hash.HashEach(SigningDomain.Prefix(ObjectType.MerkleLeaf), messages, level);
        while (count > 1)
        {
            // The pairs fit in the buffer the leaves used: a pair is 64 bytes and there are at most count / 2.
            var pairs = count / 2;
            for (var i = 0; i < pairs; i++)
            {
                level[2 * i].CopyTo(bytes.AsSpan(i * 2 * Hash32.SizeBytes));
                level[2 * i + 1].CopyTo(bytes.AsSpan((i * 2 + 1) * Hash32.SizeBytes));
                messages[i] = bytes.AsMemory(i * 2 * Hash32.SizeBytes, 2 * Hash32.SizeBytes);
            }

            var odd = count % 2 == 1 ? level[count - 1] : default;
            hash.HashEach(SigningDomain.Prefix(ObjectType.MerkleNode), new ArraySegment<ReadOnlyMemory<byte>>(messages, 0, pairs), level);
            if (count % 2 == 1) level[pairs] = odd;
            count = pairs + count % 2;
        }

        return level[0];
    }
}
