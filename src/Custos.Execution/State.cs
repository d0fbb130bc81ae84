using System.Diagnostics.CodeAnalysis;

namespace Custos.Execution;

/// <summary>Committed state as execution reads it: the storage's versioned map at the parent block's version.</summary>
public interface IStateReader
{
    bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value);
}

/// <summary>Orders keys bytewise, so that every iteration over state is the same on every node.</summary>
public sealed class ByteKeyComparer : IComparer<byte[]>, IEqualityComparer<byte[]>
{
    public static ByteKeyComparer Instance { get; } = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj)
    {
        var hash = new HashCode();
        hash.AddBytes(obj);
        return hash.ToHashCode();
    }
}

/// <summary>
/// The changes a block makes: key → new value, or null for a deletion. Sorted by key so that it is applied and
/// hashed identically everywhere.
/// </summary>
public sealed class WriteSet
{
    private readonly SortedDictionary<byte[], byte[]?> _changes = new(ByteKeyComparer.Instance);

    public int Count => _changes.Count;

    public IEnumerable<KeyValuePair<byte[], byte[]?>> Changes => _changes;

    internal void Set(byte[] key, byte[]? value) => _changes[key] = value;

    internal bool TryGet(byte[] key, out byte[]? value) => _changes.TryGetValue(key, out value);

    /// <summary>Whether this set changes <paramref name="key"/>; <paramref name="value"/> is null for a deletion.</summary>
    public bool TryGetChange(byte[] key, out byte[]? value) => _changes.TryGetValue(key, out value);
}

/// <summary>
/// State as a block sees it before its ancestors are committed: the write sets of its uncommitted ancestors, newest
/// first, over committed state. Speculative execution of a proposal reads through it, so a block can be executed
/// (and its state root known) as soon as it is proposed, two blocks before it commits.
/// </summary>
public sealed class ChainedState(IReadOnlyList<WriteSet> newestFirst, IStateReader committed) : IStateReader
{
    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value)
    {
        if (newestFirst.Count > 0)
        {
            var array = key.ToArray();
            foreach (var writes in newestFirst)
            {
                if (writes.TryGetChange(array, out var changed))
                {
                    value = changed;
                    return changed is not null;
                }
            }
        }

        return committed.TryGet(key, out value);
    }
}

/// <summary>
/// A block's working state over committed state: block-level writes plus the current transaction's writes, which a
/// failed transaction discards (SC-4: atomic rollback). Not thread-safe: a block executes on one thread.
/// </summary>
public sealed class StateOverlay : IStateReader
{
    private readonly IStateReader _committed;
    private readonly WriteSet _block = new();
    private readonly Dictionary<byte[], byte[]?> _transaction = new(ByteKeyComparer.Instance);

    public StateOverlay(IStateReader committed) => _committed = committed;

    public WriteSet BlockWrites => _block;

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value)
    {
        var array = key.ToArray();
        if (_transaction.TryGetValue(array, out value) || _block.TryGet(array, out value)) return value is not null;
        return _committed.TryGet(key, out value);
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _transaction[key.ToArray()] = value.ToArray();

    public void Delete(ReadOnlySpan<byte> key) => _transaction[key.ToArray()] = null;

    /// <summary>Makes the current transaction's writes part of the block.</summary>
    public void CommitTransaction()
    {
        foreach (var (key, value) in _transaction) _block.Set(key, value);
        _transaction.Clear();
    }

    /// <summary>Discards the current transaction's writes.</summary>
    public void RollBackTransaction() => _transaction.Clear();
}
