namespace Custos.Storage;

/// <summary>How many old state versions a store keeps.</summary>
public readonly record struct StateRetention
{
    private StateRetention(ulong? versionsKept) => VersionsKept = versionsKept;

    /// <summary>Keep every version: proofs at any height, forever.</summary>
    public static StateRetention Archive => new(null);

    /// <summary>Keep the latest <paramref name="versions"/> versions; older tree nodes are deleted after each persist.</summary>
    public static StateRetention KeepLast(ulong versions) =>
        versions == 0 ? throw new ArgumentOutOfRangeException(nameof(versions), "at least the latest version is kept") : new(versions);

    /// <summary>Null in archive mode.</summary>
    public ulong? VersionsKept { get; }

    public bool IsArchive => VersionsKept is null;

    public override string ToString() => IsArchive ? "archive" : $"keep last {VersionsKept}";
}

/// <summary>
/// Tuning of a <see cref="LedgerStore"/>. Every cache and buffer has a bound, so memory does not grow with the
/// amount of data: block cache + memtables + node cache, plus RocksDB's small fixed overheads.
/// </summary>
public sealed record StoreOptions
{
    public StateRetention Retention { get; init; } = StateRetention.Archive;

    /// <summary>RocksDB block cache shared by all families; index and filter blocks are charged to it too.</summary>
    public long BlockCacheBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Decoded, verified tree nodes kept in memory.</summary>
    public long NodeCacheBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Total memtable budget across families (RocksDB's write buffer manager).</summary>
    public long WriteBufferBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Table files kept open; bounds file handles and their index memory.</summary>
    public int OpenFilesMax { get; init; } = 1024;

    public static StoreOptions Default { get; } = new();
}
