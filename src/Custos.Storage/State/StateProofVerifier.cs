using System.Numerics;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.Wire;
using Google.Protobuf;

namespace Custos.Storage.State;

/// <summary>
/// Checks a state proof against a root: all a light client needs besides the proof is the root (from a header it
/// trusts, certified by a quorum) and the chain's hash function. It recomputes the path from the proven leaf (or the
/// empty position) up to the root and never throws on bad input: a malformed, truncated or tampered proof is refused
/// with a typed error.
/// </summary>
public static class StateProofVerifier
{
    private static readonly MessageParser<StateProof> Parser = StateProof.Parser.WithDiscardUnknownFields(true);

    /// <summary>True iff the proof shows that <paramref name="key"/> holds <paramref name="value"/> under <paramref name="root"/>.</summary>
    public static bool VerifyInclusion(IHashFunction hash, Hash32 root, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ReadOnlySpan<byte> proof) =>
        TryVerify(hash, root, key, value.ToArray(), proof, out _);

    /// <summary>True iff the proof shows that <paramref name="key"/> is absent under <paramref name="root"/>.</summary>
    public static bool VerifyNonInclusion(IHashFunction hash, Hash32 root, ReadOnlySpan<byte> key, ReadOnlySpan<byte> proof) =>
        TryVerify(hash, root, key, null, proof, out _);

    /// <summary>
    /// Checks that under <paramref name="root"/>, <paramref name="key"/> holds <paramref name="value"/> (or is absent,
    /// when <paramref name="value"/> is null). On failure <paramref name="error"/> says why.
    /// </summary>
    public static bool TryVerify(IHashFunction hash, Hash32 root, ReadOnlySpan<byte> key, byte[]? value, ReadOnlySpan<byte> proofBytes, out CustosError error)
    {
        ArgumentNullException.ThrowIfNull(hash);
        if (key.IsEmpty || key.Length > StorageLimits.StateKeySizeBytesMax)
        {
            error = new CustosError(ErrorCode.InvalidLength, $"a state key is 1 to {StorageLimits.StateKeySizeBytesMax} bytes");
            return false;
        }

        if (!TryDecode(proofBytes, out var proof, out error)) return false;

        using var hasher = new StateHasher(hash);
        var keyHash = hasher.KeyHash(key);
        var path = NibblePath.FromHash(keyHash);
        var depth = proof.Levels.Count;

        // The bottom of the path: the leaf the proof ends at, or nothing (an empty position).
        Hash32? current = null;
        if (proof.LeafKeyHash.Length != 0)
        {
            var leafKeyHash = new Hash32(proof.LeafKeyHash.Span);
            var leafValueHash = new Hash32(proof.LeafValueHash.Span);
            var leafPath = NibblePath.FromHash(leafKeyHash);
            if (!path.Prefix(depth).Equals(leafPath.Prefix(depth)))
            {
                return Fail(out error, "the proof's leaf is not on the key's path");
            }

            if (value is not null)
            {
                if (leafKeyHash != keyHash) return Fail(out error, "the proof ends at another key's leaf: the key is absent");
                if (leafValueHash != hasher.ValueHash(value)) return Fail(out error, "the proven value differs from the claimed one");
            }
            else if (leafKeyHash == keyHash)
            {
                return Fail(out error, "the proof shows the key present");
            }

            current = hasher.LeafHash(leafKeyHash, leafValueHash);
        }
        else if (value is not null)
        {
            return Fail(out error, "the proof ends at an empty position: the key is absent");
        }

        Span<Hash32> children = stackalloc Hash32[16];
        for (var level = depth - 1; level >= 0; level--)
        {
            var node = proof.Levels[level];
            var bitmap = (ushort)node.ChildBitmap;
            var nibble = path[level];
            var onPath = (bitmap & (1 << nibble)) != 0;
            if (onPath != current.HasValue)
            {
                return Fail(out error, $"level {level}: the child bitmap disagrees with the path");
            }

            var count = BitOperations.PopCount(bitmap);
            if (node.Siblings.Count != count - (onPath ? 1 : 0))
            {
                return Fail(out error, $"level {level}: {node.Siblings.Count} siblings for a bitmap of {count} children");
            }

            var sibling = 0;
            var index = 0;
            for (var n = 0; n < 16; n++)
            {
                if ((bitmap & (1 << n)) == 0) continue;
                children[index++] = n == nibble ? current!.Value : new Hash32(node.Siblings[sibling++].Span);
            }

            current = hasher.InternalHash(bitmap, children[..index]);
        }

        var computed = current ?? StateHashing.EmptyRoot(hash);
        if (computed != root) return Fail(out error, "the proof does not lead to the root");
        error = null!;
        return true;
    }

    private static bool TryDecode(ReadOnlySpan<byte> bytes, out StateProof proof, out CustosError error)
    {
        proof = null!;
        if (bytes.Length > StorageLimits.StateProofSizeBytesMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"a state proof is at most {StorageLimits.StateProofSizeBytesMax} bytes");
            return false;
        }

        try
        {
            proof = Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            error = new CustosError(ErrorCode.Malformed, $"state proof is not valid protobuf: {e.Message}");
            return false;
        }

        // One proof, one encoding: a re-encoding must give the same bytes (no unknown fields, no reordering).
        if (proof.CalculateSize() != bytes.Length || !proof.ToByteArray().AsSpan().SequenceEqual(bytes))
        {
            error = new CustosError(ErrorCode.Malformed, "state proof is not in canonical encoding");
            return false;
        }

        if (proof.Levels.Count > NibblePath.LengthMax)
        {
            error = new CustosError(ErrorCode.Malformed, $"state proof has {proof.Levels.Count} levels, at most {NibblePath.LengthMax}");
            return false;
        }

        var hasLeaf = proof.LeafKeyHash.Length != 0 || proof.LeafValueHash.Length != 0;
        if (hasLeaf && (proof.LeafKeyHash.Length != Hash32.SizeBytes || proof.LeafValueHash.Length != Hash32.SizeBytes))
        {
            error = new CustosError(ErrorCode.InvalidLength, "a proof's leaf hashes are 32 bytes each");
            return false;
        }

        foreach (var level in proof.Levels)
        {
            if (level.ChildBitmap == 0 || level.ChildBitmap > ushort.MaxValue)
            {
                error = new CustosError(ErrorCode.InvalidField, "a proof level's child bitmap must name 1 to 16 children");
                return false;
            }

            foreach (var sibling in level.Siblings)
            {
                if (sibling.Length != Hash32.SizeBytes)
                {
                    error = new CustosError(ErrorCode.InvalidLength, "a proof's sibling hashes are 32 bytes each");
                    return false;
                }
            }
        }

        error = null!;
        return true;
    }

    private static bool Fail(out CustosError error, string message)
    {
        error = new CustosError(ErrorCode.InvalidField, $"state proof refused: {message}");
        return false;
    }
}
