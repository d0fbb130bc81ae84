namespace Custos.Crypto.Sm2;

/// <summary>
/// The affine odd multiples of P, 2^64·P, 2^128·P and 2^192·P, for multiplying P by a 256-bit scalar split into four
/// 64-bit quarters: [k]P = Σ [k_i](2^(64i)·P). The four quarters share 64 doublings instead of one scalar's 256.
/// </summary>
internal static class Sm2SplitTable
{
    public const int Quarters = 4;
    public const int QuarterBits = 64;

    /// <summary>
    /// <paramref name="perQuarter"/> odd multiples for each quarter, quarter-major: entry (q·perQuarter + i) is
    /// (2i + 1)·2^(64q)·P. One inversion in all (Montgomery's trick).
    /// </summary>
    public static Sm2AffinePoint[] Build(in Sm2AffinePoint point, int perQuarter)
    {
        var jacobian = new Sm2JacobianPoint[Quarters * perQuarter];
        var baseOfQuarter = Sm2JacobianPoint.FromAffine(point);
        for (var quarter = 0; quarter < Quarters; quarter++)
        {
            if (quarter > 0)
            {
                for (var i = 0; i < QuarterBits; i++) Sm2Curve.Double(baseOfQuarter, out baseOfQuarter);
            }

            var offset = quarter * perQuarter;
            jacobian[offset] = baseOfQuarter;
            Sm2Curve.Double(baseOfQuarter, out var twice);
            for (var i = 1; i < perQuarter; i++) Sm2Curve.Add(jacobian[offset + i - 1], twice, out jacobian[offset + i]);
        }

        var affine = new Sm2AffinePoint[jacobian.Length];
        Sm2Curve.ToAffine(jacobian, affine);
        return affine;
    }
}
