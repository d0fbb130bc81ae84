namespace Custos.Supervision.Index;

/// <summary>
/// Where committed blocks come from. Heights are contiguous from 0 to <see cref="HeadHeight"/> and a committed
/// block never changes, which is what lets the index resume by height and compare hashes.
/// </summary>
public interface ICommittedBlockSource
{
    /// <summary>The highest committed height, or null before the first block.</summary>
    ulong? HeadHeight { get; }

    /// <summary>The committed block at <paramref name="height"/>, or null above the head.</summary>
    IndexedBlock? ReadBlock(ulong height);
}
