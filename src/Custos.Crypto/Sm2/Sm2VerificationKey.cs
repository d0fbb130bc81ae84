using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto.Sm2;

/// <summary>
/// What verification precomputes once per SM2 public key: the odd multiples (1, 3, …, 15)·2^(64q)·Q of the point
/// for each quarter q of the scalar, in affine form, so that a verification needs only 64 doublings and each window
/// of the public-key scalar costs one mixed addition. 32 points, 2 KiB; building them costs 192 doublings, 28
/// additions and one inversion. Immutable and thread-safe once built. Callers bound how many they keep (the node
/// caches decoded keys in a bounded map).
/// </summary>
internal sealed class Sm2VerificationKey
{
    /// <summary>wNAF width for each quarter of the public-key scalar: 2^(width−2) = 8 table points per quarter.</summary>
    public const int WindowWidth = 5;

    public const int PerQuarter = 1 << (WindowWidth - 2);

    private Sm2VerificationKey(in Sm2AffinePoint point)
    {
        Point = point;
        OddMultiples = Sm2SplitTable.Build(point, PerQuarter);
    }

    public Sm2AffinePoint Point { get; }

    /// <summary>Entry (q·<see cref="PerQuarter"/> + i) is (2i + 1)·2^(64q)·Q.</summary>
    public Sm2AffinePoint[] OddMultiples { get; }

    /// <summary>
    /// The key for a 64-byte x || y (big-endian coordinates); false unless both are below p and the point lies on the
    /// curve. Infinity has no such encoding, and the cofactor is 1, so every accepted point generates the whole group.
    /// </summary>
    public static bool TryCreate(ReadOnlySpan<byte> coordinates, out Sm2VerificationKey key)
    {
        key = null!;
        if (coordinates.Length != 64) return false;
        if (!Sm2Field.TryDecode(coordinates[..32], out var x) || !Sm2Field.TryDecode(coordinates[32..], out var y)) return false;
        var point = new Sm2AffinePoint(x, y);
        if (!Sm2Curve.IsOnCurve(point)) return false;
        key = new Sm2VerificationKey(point);
        return true;
    }

    /// <summary>The key for coordinates already validated elsewhere; a point off the curve is a broken invariant.</summary>
    public static Sm2VerificationKey Create(ReadOnlySpan<byte> coordinates) =>
        TryCreate(coordinates, out var key) ? key : throw new CustosException(ErrorCode.PublicKeyInvalid, "not a point on sm2p256v1");
}
