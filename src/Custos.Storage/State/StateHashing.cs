using System.Buffers.Binary;
using Custos.Core;

namespace Custos.Storage.State;

/// <summary>
/// The hashes of the sparse Merkle tree, under the chain suite's hash function (SM3 on gm chains, SHA-256 on intl).
/// Every kind of hash has its own domain (<see cref="StorageDomains"/>), so a leaf can never be taken for an internal
/// node or a value for a key. Light clients use these through <see cref="StateProofVerifier"/>.
/// </summary>
public static class StateHashing
{
    public static Hash32 KeyHash(IHashFunction hash, ReadOnlySpan<byte> key)
    {
        using var hasher = new StateHasher(hash);
        return hasher.KeyHash(key);
    }

    public static Hash32 ValueHash(IHashFunction hash, ReadOnlySpan<byte> value)
    {
        using var hasher = new StateHasher(hash);
        return hasher.ValueHash(value);
    }

    public static Hash32 LeafHash(IHashFunction hash, Hash32 keyHash, Hash32 valueHash)
    {
        using var hasher = new StateHasher(hash);
        return hasher.LeafHash(keyHash, valueHash);
    }

    /// <summary>Hash of an internal node from its child bitmap and its children's hashes in nibble order.</summary>
    public static Hash32 InternalHash(IHashFunction hash, ushort childBitmap, IReadOnlyList<Hash32> children)
    {
        using var hasher = new StateHasher(hash);
        return hasher.InternalHash(childBitmap, children.ToArray().AsSpan());
    }

    /// <summary>The root of the tree with no keys: H(<c>custos/v1/state_empty\0</c>), a constant per suite.</summary>
    public static Hash32 EmptyRoot(IHashFunction hash) => hash.Hash(StorageDomains.StateEmpty);
}

/// <summary>One thread's hashing of tree objects, reusing one accumulator. Not thread-safe.</summary>
internal sealed class StateHasher : IDisposable
{
    private readonly IHashAccumulator _accumulator;

    public StateHasher(IHashFunction hash) => _accumulator = hash.Begin();

    public Hash32 KeyHash(ReadOnlySpan<byte> key)
    {
        _accumulator.Append(StorageDomains.StateKey);
        _accumulator.Append(key);
        return _accumulator.Finish();
    }

    public Hash32 ValueHash(ReadOnlySpan<byte> value)
    {
        _accumulator.Append(StorageDomains.StateValue);
        _accumulator.Append(value);
        return _accumulator.Finish();
    }

    public Hash32 LeafHash(in Hash32 keyHash, in Hash32 valueHash)
    {
        Span<byte> buffer = stackalloc byte[2 * Hash32.SizeBytes];
        keyHash.CopyTo(buffer);
        valueHash.CopyTo(buffer[Hash32.SizeBytes..]);
        _accumulator.Append(StorageDomains.StateLeaf);
        _accumulator.Append(buffer);
        return _accumulator.Finish();
    }

    /// <summary>Internal node hash over the children's hashes already laid out back to back.</summary>
    public Hash32 InternalHash(ushort childBitmap, ReadOnlySpan<byte> childHashes)
    {
        Span<byte> bitmap = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bitmap, childBitmap);
        _accumulator.Append(StorageDomains.StateNode);
        _accumulator.Append(bitmap);
        _accumulator.Append(childHashes);
        return _accumulator.Finish();
    }

    public Hash32 InternalHash(ushort childBitmap, ReadOnlySpan<Hash32> children)
    {
        if (children.Length > 16) throw new ArgumentOutOfRangeException(nameof(children));
        Span<byte> buffer = stackalloc byte[2 + 16 * Hash32.SizeBytes];
        BinaryPrimitives.WriteUInt16BigEndian(buffer, childBitmap);
        for (var i = 0; i < children.Length; i++) children[i].CopyTo(buffer.Slice(2 + i * Hash32.SizeBytes, Hash32.SizeBytes));
        _accumulator.Append(StorageDomains.StateNode);
        _accumulator.Append(buffer[..(2 + children.Length * Hash32.SizeBytes)]);
        return _accumulator.Finish();
    }

    public void Dispose() => _accumulator.Dispose();
}
