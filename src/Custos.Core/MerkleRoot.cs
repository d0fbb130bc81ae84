using Custos.Core.Wire;

namespace Custos.Core;

/// <summary>
/// Merkle tree hash over an ordered list of leaves, shaped as RFC 6962 §2.1 (split at the largest power of two
/// below n, so no leaf is ever duplicated: the CVE-2012-2459 ambiguity cannot arise). Leaves and inner nodes are
/// hashed under different signing domains.
/// </summary>
public static class MerkleRoot
{
    public static Hash32 Compute(IHashFunction hash, IReadOnlyList<Hash32> leaves)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(leaves);
        using var accumulator = hash.Begin();
        if (leaves.Count == 0)
        {
            accumulator.Append(SigningDomain.Prefix(ObjectType.MerkleLeaf));
            return accumulator.Finish();
        }

        return Subtree(accumulator, leaves, 0, leaves.Count);
    }

    private static Hash32 Subtree(IHashAccumulator accumulator, IReadOnlyList<Hash32> leaves, int start, int count)
    {
        Span<byte> buffer = stackalloc byte[Hash32.SizeBytes];
        if (count == 1)
        {
            accumulator.Append(SigningDomain.Prefix(ObjectType.MerkleLeaf));
            leaves[start].CopyTo(buffer);
            accumulator.Append(buffer);
            return accumulator.Finish();
        }

        var split = 1;
        while (split * 2 < count) split *= 2;
        var left = Subtree(accumulator, leaves, start, split);
        var right = Subtree(accumulator, leaves, start + split, count - split);
        accumulator.Append(SigningDomain.Prefix(ObjectType.MerkleNode));
        left.CopyTo(buffer);
        accumulator.Append(buffer);
        right.CopyTo(buffer);
        accumulator.Append(buffer);
        return accumulator.Finish();
    }
}
