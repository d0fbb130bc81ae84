using System.Text;

namespace Custos.Storage;

/// <summary>
/// Prefixes put in front of what Storage hashes, in the style of <c>Custos.Core.SigningDomain</c>
/// (<c>custos/v1/&lt;name&gt;\0</c>) and with names that no object type uses, so a state-tree hash can never equal a
/// block hash, a transaction id or another tree's hash. Part of the format; frozen by golden tests.
/// </summary>
public static class StorageDomains
{
    /// <summary>Key hash: the position of a key in the sparse Merkle tree is H(this ‖ key).</summary>
    public static ReadOnlySpan<byte> StateKey => "custos/v1/state_key\0"u8;

    /// <summary>Value hash: H(this ‖ value).</summary>
    public static ReadOnlySpan<byte> StateValue => "custos/v1/state_value\0"u8;

    /// <summary>Leaf hash: H(this ‖ key hash ‖ value hash).</summary>
    public static ReadOnlySpan<byte> StateLeaf => "custos/v1/state_leaf\0"u8;

    /// <summary>Internal node hash: H(this ‖ child bitmap (u16 BE) ‖ hashes of the present children in nibble order).</summary>
    public static ReadOnlySpan<byte> StateNode => "custos/v1/state_node\0"u8;

    /// <summary>Root of the empty tree: H(this).</summary>
    public static ReadOnlySpan<byte> StateEmpty => "custos/v1/state_empty\0"u8;

    /// <summary>Journal entry hash: H(this ‖ previous entry hash ‖ index (u64 BE) ‖ payload).</summary>
    public static ReadOnlySpan<byte> JournalEntry => "custos/v1/consensus_journal\0"u8;

    /// <summary>Safety record checksum: H(this ‖ record).</summary>
    public static ReadOnlySpan<byte> SafetyRecord => "custos/v1/safety_record\0"u8;

    /// <summary>All domains, for tests that check they are distinct from each other and from the signing domains.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Text(StateKey), Text(StateValue), Text(StateLeaf), Text(StateNode), Text(StateEmpty), Text(JournalEntry), Text(SafetyRecord),
    ];

    private static string Text(ReadOnlySpan<byte> prefix) => Encoding.ASCII.GetString(prefix);
}
