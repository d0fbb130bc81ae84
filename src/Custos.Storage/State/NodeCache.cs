namespace Custos.Storage.State;

/// <summary>
/// A bounded cache of verified tree nodes, shared by all threads, holding at most one node per tree position: the
/// newest one loaded or written. A new version's node at a position replaces its predecessor in one step, so the
/// cache fills with the latest version's nodes (which the next version builds on) rather than superseded copies,
/// and a lookup hits only when the cached node is of the version asked for.
/// <para>
/// Each shard keeps two generations: new and touched entries go to the young one; when it fills half the shard's
/// budget the old generation is dropped and the young one becomes old. That approximates LRU at the cost of a
/// dictionary swap, and memory never exceeds the budget by more than one node per shard.
/// </para>
/// </summary>
internal sealed class NodeCache
{
    private const int ShardCount = 16;

    private readonly Shard[] _shards;

    public NodeCache(long capacityBytes)
    {
        CapacityBytes = Math.Max(0, capacityBytes);
        _shards = new Shard[ShardCount];
        for (var i = 0; i < ShardCount; i++) _shards[i] = new Shard(CapacityBytes / ShardCount);
    }

    public long CapacityBytes { get; }

    public long EstimatedBytes
    {
        get
        {
            long total = 0;
            foreach (var shard in _shards) total += shard.EstimatedBytes;
            return total;
        }
    }

    public bool TryGet(in NodeKey key, out TreeNode node) => ShardOf(key.Path).TryGet(key, out node);

    /// <summary>Caches <paramref name="node"/> unless a newer version's node holds its position.</summary>
    public void Add(in NodeKey key, TreeNode node)
    {
        if (CapacityBytes == 0) return;
        ShardOf(key.Path).Add(key, node);
    }

    public void Clear()
    {
        foreach (var shard in _shards) shard.Clear();
    }

    private Shard ShardOf(in NibblePath path) => _shards[(path.GetHashCode() & int.MaxValue) % ShardCount];

    private readonly record struct Entry(ulong Version, TreeNode Node);

    private sealed class Shard(long capacityBytes)
    {
        private readonly Lock _lock = new();
        private readonly long _generationBytesMax = Math.Max(1, capacityBytes / 2);
        private Dictionary<NibblePath, Entry> _young = [];
        private Dictionary<NibblePath, Entry> _old = [];
        private long _youngBytes;
        private long _oldBytes;

        public long EstimatedBytes
        {
            get
            {
                lock (_lock) return _youngBytes + _oldBytes;
            }
        }

        public bool TryGet(in NodeKey key, out TreeNode node)
        {
            lock (_lock)
            {
                if (_young.TryGetValue(key.Path, out var entry))
                {
                    node = entry.Node;
                    return entry.Version == key.Version;
                }

                if (!_old.TryGetValue(key.Path, out entry) || entry.Version != key.Version)
                {
                    node = null!;
                    return false;
                }

                _old.Remove(key.Path);
                _oldBytes -= Cost(entry.Node);
                Insert(key.Path, entry);
                node = entry.Node;
                return true;
            }
        }

        public void Add(in NodeKey key, TreeNode node)
        {
            lock (_lock)
            {
                if (_young.TryGetValue(key.Path, out var young))
                {
                    if (young.Version >= key.Version) return;
                    _young[key.Path] = new Entry(key.Version, node);
                    _youngBytes += Cost(node) - Cost(young.Node);
                    return;
                }

                if (_old.Remove(key.Path, out var old))
                {
                    _oldBytes -= Cost(old.Node);
                    if (old.Version > key.Version) node = old.Node;
                }

                Insert(key.Path, new Entry(Math.Max(key.Version, old.Version), node));
            }
        }

        public void Clear()
        {
            lock (_lock)
            {
                _young = [];
                _old = [];
                _youngBytes = 0;
                _oldBytes = 0;
            }
        }

        // The node plus the dictionary entry that holds it.
        private static long Cost(TreeNode node) => node.EstimatedBytes + 72;

        private void Insert(in NibblePath path, Entry entry)
        {
            _young[path] = entry;
            _youngBytes += Cost(entry.Node);
            if (_youngBytes < _generationBytesMax) return;
            _old = _young;
            _oldBytes = _youngBytes;
            _young = new Dictionary<NibblePath, Entry>(_old.Count);
            _youngBytes = 0;
        }
    }
}
