using System.Diagnostics.CodeAnalysis;
using Custos.Execution;
using Custos.Storage;

namespace Custos.Node.Tests.Support;

/// <summary>Reads a store's state at one version (default: the latest), as execution reads state.</summary>
internal sealed class StoreState(LedgerStore store, ulong? version = null) : IStateReader
{
    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value)
    {
        value = store.State.Get(key, version);
        return value is not null;
    }
}

/// <summary>State made of writes alone (what a version adds to an empty state).</summary>
internal sealed class WrittenState : IStateReader
{
    private readonly Dictionary<byte[], byte[]> _values = new(ByteKeyComparer.Instance);

    public WrittenState(IEnumerable<KeyValuePair<byte[], byte[]?>> writes)
    {
        foreach (var (key, value) in writes)
        {
            if (value is null) _values.Remove(key);
            else _values[key] = value;
        }
    }

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value) => _values.TryGetValue(key.ToArray(), out value);
}
