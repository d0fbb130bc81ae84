namespace Custos.Crypto.Sm2;

/// <summary>
/// The base point's precomputed multiples: for each 64-bit quarter of the scalar, the odd multiples
/// (1, 3, …, 127)·2^(64q)·G in affine form (256 points, 16 KiB), for a width-8 wNAF of each quarter: about 28 mixed
/// additions per verification, and no doublings of its own since the quarters of both scalars share them.
/// Built once per process (about 450 group operations and one inversion).
/// </summary>
internal static class Sm2BasePointTable
{
    public const int WindowWidth = 8;

    public const int PerQuarter = 1 << (WindowWidth - 2);

    /// <summary>Entry (q·<see cref="PerQuarter"/> + i) is (2i + 1)·2^(64q)·G.</summary>
    public static readonly Sm2AffinePoint[] OddMultiples = Sm2SplitTable.Build(Sm2Curve.G, PerQuarter);
}
