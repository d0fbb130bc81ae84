using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Storage.State;

/// <summary>One write to the state: a put, or a delete when <see cref="Value"/> is null.</summary>
public readonly record struct StateWrite(byte[] Key, byte[]? Value)
{
    public static StateWrite Put(byte[] key, byte[] value) => new(key, value ?? throw new ArgumentNullException(nameof(value)));

    public static StateWrite Delete(byte[] key) => new(key, null);

    public bool IsDelete => Value is null;
}

/// <summary>
/// The tree nodes one version adds, computed by <see cref="AuthenticatedState.Stage"/> and written by
/// <see cref="LedgerStore.Persist"/> in the block's batch. Computing it first lets the executor learn the state
/// root before the block is persisted, and lets the next version be staged on top of it while it is being written.
/// Immutable once built; safe to share between threads.
/// </summary>
public sealed class StateDelta
{
    private readonly Lazy<Dictionary<NodeKey, TreeNode>> _index;

    internal StateDelta(ulong version, ulong? baseVersion, Hash32 root, int writeCount, KeyValuePair<NodeKey, TreeNode>[] nodes,
        PendingWrite[] values, NodeKey[] staleNodes, (ulong Version, Hash32 KeyHash)[] staleValues, StateDelta? parent, AuthenticatedState owner)
    {
        Version = version;
        BaseVersion = baseVersion;
        Root = root;
        WriteCount = writeCount;
        Nodes = nodes;
        Values = values;
        StaleNodes = staleNodes;
        StaleValues = staleValues;
        Parent = parent;
        Owner = owner;
        _index = new Lazy<Dictionary<NodeKey, TreeNode>>(() =>
        {
            var index = new Dictionary<NodeKey, TreeNode>(Nodes.Length);
            foreach (var (key, node) in Nodes) index[key] = node;
            return index;
        });
    }

    /// <summary>The version this delta creates (the block height).</summary>
    public ulong Version { get; }

    /// <summary>The version it was computed on; null for the first version of a store.</summary>
    public ulong? BaseVersion { get; }

    /// <summary>The state root of <see cref="Version"/>.</summary>
    public Hash32 Root { get; }

    /// <summary>Puts and deletes applied to the tree (replay records are not counted).</summary>
    public int WriteCount { get; }

    /// <summary>Tree nodes written (sorted by node key).</summary>
    public int NodeCount => Nodes.Length;

    /// <summary>Value records written: one per put that changed a key.</summary>
    public int ValueCount => Values.Length;

    internal KeyValuePair<NodeKey, TreeNode>[] Nodes { get; }

    /// <summary>The puts that need a value record, sorted by key hash.</summary>
    internal PendingWrite[] Values { get; }

    /// <summary>Replay records written (puts and deletes), kept beside the tree: see <see cref="ReplayRecords"/>.</summary>
    internal StateWrite[] ReplayWrites { get; init; } = [];

    internal NodeKey[] StaleNodes { get; }

    internal (ulong Version, Hash32 KeyHash)[] StaleValues { get; }

    /// <summary>The unpersisted delta this one was staged on; cleared once that one is persisted.</summary>
    internal StateDelta? Parent { get; set; }

    internal AuthenticatedState Owner { get; }

    // Read by stagers on other threads while the persisting thread sets it.
    private volatile bool _isPersisted;

    internal bool IsPersisted
    {
        get => _isPersisted;
        set => _isPersisted = value;
    }

    internal bool TryGetNode(in NodeKey key, out TreeNode node)
    {
        if (key.Version != Version)
        {
            node = null!;
            return false;
        }

        return _index.Value.TryGetValue(key, out node!);
    }

    internal static CustosException Mismatch(string message) => new(ErrorCode.InvalidField, message);
}
