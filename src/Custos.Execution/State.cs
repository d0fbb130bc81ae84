using System.Diagnostics.CodeAnalysis;

namespace Custos.Execution;

/// <summary>Committed state as execution reads it: the storage's versioned map at the parent block's version.</summary>
public interface IStateReader
{
    bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value);
}

/// <summary>Orders keys bytewise, so that every iteration over state is the same on every node.</summary>
/// <remarks>Hash tables keyed with it can also be searched with a span (no copy of the key per lookup).</remarks>
public sealed class ByteKeyComparer : IComparer<byte[]>, IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static ByteKeyComparer Instance { get; } = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate)
    {
        var hash = new HashCode();
        hash.AddBytes(alternate);
        return hash.ToHashCode();
    }

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}

/// <summary>
/// The changes a block makes: key → new value, or null for a deletion. Enumerated sorted by key so that it is
/// applied and hashed identically everywhere.
/// </summary>
/// <remarks>
/// A hash table, sorted once when enumerated: execution and speculative reads look keys up far more often than the
/// set is enumerated, and a sorted tree cost a dozen key comparisons per lookup in a block of thousands of writes.
/// </remarks>
public sealed class WriteSet
{
    private readonly Dictionary<byte[], byte[]?> _changes = new(ByteKeyComparer.Instance);
    private KeyValuePair<byte[], byte[]?>[]? _sorted;

    public int Count => _changes.Count;

    public IEnumerable<KeyValuePair<byte[], byte[]?>> Changes
    {
        get
        {
            var sorted = _sorted;
            if (sorted is null)
            {
                sorted = [.. _changes];
                Array.Sort(sorted, static (a, b) => ByteKeyComparer.Instance.Compare(a.Key, b.Key));
                _sorted = sorted;
            }

            return sorted;
        }
    }

    internal void Set(byte[] key, byte[]? value)
    {
        _changes[key] = value;
        _sorted = null;
    }

    internal bool TryGet(ReadOnlySpan<byte> key, out byte[]? value) => _changes.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out value);

    /// <summary>Whether this set changes <paramref name="key"/>; <paramref name="value"/> is null for a deletion.</summary>
    public bool TryGetChange(byte[] key, out byte[]? value) => _changes.TryGetValue(key, out value);

    /// <inheritdoc cref="TryGetChange(byte[], out byte[])"/>
    public bool TryGetChange(ReadOnlySpan<byte> key, out byte[]? value) => TryGet(key, out value);
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
        foreach (var writes in newestFirst)
        {
            if (writes.TryGetChange(key, out var changed))
            {
                value = changed;
                return changed is not null;
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
        if (_transaction.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out value) || _block.TryGet(key, out value)) return value is not null;
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

    /// <summary>A copy of the current transaction's writes, to return to with <see cref="RestoreTransaction"/>.</summary>
    internal Dictionary<byte[], byte[]?> MarkTransaction() => new(_transaction, ByteKeyComparer.Instance);

    /// <summary>Undoes the current transaction's writes made since <paramref name="mark"/>.</summary>
    internal void RestoreTransaction(Dictionary<byte[], byte[]?> mark)
    {
        _transaction.Clear();
        foreach (var (key, value) in mark) _transaction[key] = value;
    }
}
