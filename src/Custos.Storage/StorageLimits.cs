using Custos.Core;

namespace Custos.Storage;

/// <summary>Upper bounds Storage checks before it writes or allocates.</summary>
public static class StorageLimits
{
    /// <summary>A state key (an account id, a contract's storage slot name, ...).</summary>
    public const int StateKeySizeBytesMax = 1024;

    /// <summary>A state value (an account record, contract code).</summary>
    public const int StateValueSizeBytesMax = 4 * 1024 * 1024;

    /// <summary>State writes of one version (one block).</summary>
    public const int StateWritesPerVersionMax = 1_000_000;

    /// <summary>A consensus-journal payload: a proposal may carry a whole block.</summary>
    public const int JournalPayloadSizeBytesMax = WireLimits.BlockSizeBytesMax + 1024 * 1024;

    /// <summary>Journal entries returned by one read.</summary>
    public const int JournalReadEntriesMax = 100_000;

    /// <summary>The consensus safety record (highest voted round, locked QC, ...).</summary>
    public const int SafetyRecordSizeBytesMax = 1024 * 1024;

    /// <summary>A receipt or an event of one transaction.</summary>
    public const int ReceiptSizeBytesMax = 1024 * 1024;

    /// <summary>A configuration entry (the genesis document is the largest).</summary>
    public const int ConfigEntrySizeBytesMax = 16 * 1024 * 1024;

    public const int ConfigNameLengthMax = 128;

    /// <summary>A state proof: at most 64 levels of 15 siblings, and a leaf.</summary>
    public const int StateProofSizeBytesMax = 64 * (8 + 15 * 34) + 128;
}
