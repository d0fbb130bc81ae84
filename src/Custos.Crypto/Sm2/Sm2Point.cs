using System.Runtime.CompilerServices;

namespace Custos.Crypto.Sm2;

/// <summary>A point (x, y) on sm2p256v1 with coordinates in Montgomery form; never the point at infinity.</summary>
internal struct Sm2AffinePoint
{
    public Sm2FieldElement X;
    public Sm2FieldElement Y;

    public Sm2AffinePoint(in Sm2FieldElement x, in Sm2FieldElement y)
    {
        X = x;
        Y = y;
    }
}

/// <summary>
/// A point in Jacobian coordinates, (X, Y, Z) standing for (X/Z², Y/Z³); Z = 0 is the point at infinity.
/// </summary>
internal struct Sm2JacobianPoint
{
    public Sm2FieldElement X;
    public Sm2FieldElement Y;
    public Sm2FieldElement Z;

    public static Sm2JacobianPoint Infinity => new() { X = Sm2Field.One, Y = Sm2Field.One };

    public readonly bool IsInfinity => Z.IsZero;

    public static Sm2JacobianPoint FromAffine(in Sm2AffinePoint point) => new() { X = point.X, Y = point.Y, Z = Sm2Field.One };
}

/// <summary>
/// The group law of sm2p256v1: y² = x³ − 3x + b over the SM2 prime, order n, cofactor 1. Variable-time formulas
/// (a = −3 doubling, mixed Jacobian-affine addition) that branch on the exceptional cases, for verification only.
/// </summary>
internal static class Sm2Curve
{
    /// <summary>b in Montgomery form.</summary>
    public static readonly Sm2FieldElement B = Decode("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");

    /// <summary>The base point G of GB/T 32918.5.</summary>
    public static readonly Sm2AffinePoint G = new(
        Decode("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"),
        Decode("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"));

    private static Sm2FieldElement Decode(string hex)
    {
        if (!Sm2Field.TryDecode(Convert.FromHexString(hex), out var element)) throw new InvalidOperationException("curve constant not below p");
        return element;
    }

    /// <summary>True if (x, y) satisfies y² = x³ − 3x + b.</summary>
    public static bool IsOnCurve(in Sm2AffinePoint point)
    {
        Sm2Field.Square(point.Y, out var left);
        Sm2Field.Square(point.X, out var right);
        Sm2Field.Multiply(right, point.X, out right);
        Sm2Field.Double(point.X, out var threeX);
        Sm2Field.Add(threeX, point.X, out threeX);
        Sm2Field.Subtract(right, threeX, out right);
        Sm2Field.Add(right, B, out right);
        return left.Equals(right);
    }

    /// <summary>
    /// r = 2p with the a = −3 formula (dbl-2001-b, 3M + 5S): alpha = 3(X − Z²)(X + Z²). Infinity doubles to infinity;
    /// no point of a prime-order group other than infinity has y = 0. <paramref name="r"/> may be <paramref name="p"/>.
    /// </summary>
    public static void Double(in Sm2JacobianPoint p, out Sm2JacobianPoint r)
    {
        Sm2Field.Square(p.Z, out var delta);
        Sm2Field.Square(p.Y, out var gamma);
        Sm2Field.Multiply(p.X, gamma, out var beta);
        Sm2Field.Subtract(p.X, delta, out var t0);
        Sm2Field.Add(p.X, delta, out var t1);
        Sm2Field.Multiply(t0, t1, out var alpha);
        Sm2Field.Double(alpha, out t0);
        Sm2Field.Add(alpha, t0, out alpha);

        // Z3 = (Y + Z)² − gamma − delta = 2YZ, computed as a product: a multiplication costs about a squaring here.
        Sm2Field.Multiply(p.Y, p.Z, out var z3);
        Sm2Field.Double(z3, out z3);

        // X3 = alpha² − 8·beta.
        Sm2Field.Double(beta, out beta);
        Sm2Field.Double(beta, out beta);
        Sm2Field.Square(alpha, out var x3);
        Sm2Field.Double(beta, out t0);
        Sm2Field.Subtract(x3, t0, out x3);

        // Y3 = alpha·(4·beta − X3) − 8·gamma².
        Sm2Field.Square(gamma, out var gamma2);
        Sm2Field.Double(gamma2, out gamma2);
        Sm2Field.Double(gamma2, out gamma2);
        Sm2Field.Double(gamma2, out gamma2);
        Sm2Field.Subtract(beta, x3, out t0);
        Sm2Field.Multiply(alpha, t0, out var y3);
        Sm2Field.Subtract(y3, gamma2, out y3);

        r.X = x3;
        r.Y = y3;
        r.Z = z3;
    }

    /// <summary>
    /// r = p + q for affine q (8M + 3S). Handles p = infinity, p = q (doubles) and p = −q (infinity).
    /// <paramref name="r"/> may be <paramref name="p"/>.
    /// </summary>
    public static void AddAffine(in Sm2JacobianPoint p, in Sm2AffinePoint q, out Sm2JacobianPoint r)
    {
        if (p.IsInfinity)
        {
            r = Sm2JacobianPoint.FromAffine(q);
            return;
        }

        Sm2Field.Square(p.Z, out var z1z1);
        Sm2Field.Multiply(q.X, z1z1, out var u2);
        Sm2Field.Multiply(p.Z, z1z1, out var z1Cubed);
        Sm2Field.Multiply(q.Y, z1Cubed, out var s2);
        Sm2Field.Subtract(u2, p.X, out var h);
        Sm2Field.Subtract(s2, p.Y, out var rr);
        if (h.IsZero)
        {
            if (rr.IsZero)
            {
                Double(Sm2JacobianPoint.FromAffine(q), out r);
            }
            else
            {
                r = Sm2JacobianPoint.Infinity;
            }

            return;
        }

        Finish(p.X, p.Y, p.Z, h, rr, out r);
    }

    /// <summary>r = p + q for Jacobian p and q (12M + 4S), with the same exceptional cases as <see cref="AddAffine"/>.</summary>
    public static void Add(in Sm2JacobianPoint p, in Sm2JacobianPoint q, out Sm2JacobianPoint r)
    {
        if (p.IsInfinity)
        {
            r = q;
            return;
        }

        if (q.IsInfinity)
        {
            r = p;
            return;
        }

        Sm2Field.Square(q.Z, out var z2z2);
        Sm2Field.Multiply(p.X, z2z2, out var u1);
        Sm2Field.Multiply(q.Z, z2z2, out var z2Cubed);
        Sm2Field.Multiply(p.Y, z2Cubed, out var s1);
        Sm2Field.Square(p.Z, out var z1z1);
        Sm2Field.Multiply(q.X, z1z1, out var u2);
        Sm2Field.Multiply(p.Z, z1z1, out var z1Cubed);
        Sm2Field.Multiply(q.Y, z1Cubed, out var s2);
        Sm2Field.Subtract(u2, u1, out var h);
        Sm2Field.Subtract(s2, s1, out var rr);
        if (h.IsZero)
        {
            if (rr.IsZero)
            {
                Double(p, out r);
            }
            else
            {
                r = Sm2JacobianPoint.Infinity;
            }

            return;
        }

        Sm2Field.Multiply(p.Z, q.Z, out var z1z2);
        Finish(u1, s1, z1z2, h, rr, out r);
    }

    /// <summary>The common tail of both additions: X3 = R² − H³ − 2·U1·H², Y3 = R·(U1·H² − X3) − S1·H³, Z3 = Z·H.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(in Sm2FieldElement u1, in Sm2FieldElement s1, in Sm2FieldElement z, in Sm2FieldElement h, in Sm2FieldElement rr, out Sm2JacobianPoint r)
    {
        Sm2Field.Square(h, out var hh);
        Sm2Field.Multiply(hh, h, out var hhh);
        Sm2Field.Multiply(u1, hh, out var v);
        Sm2Field.Square(rr, out var x3);
        Sm2Field.Subtract(x3, hhh, out x3);
        Sm2Field.Double(v, out var t);
        Sm2Field.Subtract(x3, t, out x3);
        Sm2Field.Subtract(v, x3, out t);
        Sm2Field.Multiply(rr, t, out var y3);
        Sm2Field.Multiply(s1, hhh, out t);
        Sm2Field.Subtract(y3, t, out y3);
        Sm2Field.Multiply(z, h, out var z3);
        r.X = x3;
        r.Y = y3;
        r.Z = z3;
    }

    /// <summary>
    /// Affine forms of Jacobian points with one inversion (Montgomery's trick). None may be infinity.
    /// </summary>
    public static void ToAffine(ReadOnlySpan<Sm2JacobianPoint> points, Span<Sm2AffinePoint> affine)
    {
        if (points.Length == 0) return;
        var prefix = new Sm2FieldElement[points.Length];
        prefix[0] = points[0].Z;
        for (var i = 1; i < points.Length; i++) Sm2Field.Multiply(prefix[i - 1], points[i].Z, out prefix[i]);
        Sm2Field.Invert(prefix[^1], out var inverse);
        for (var i = points.Length - 1; i >= 0; i--)
        {
            Sm2FieldElement zInverse;
            if (i > 0)
            {
                Sm2Field.Multiply(inverse, prefix[i - 1], out zInverse);
                Sm2Field.Multiply(inverse, points[i].Z, out inverse);
            }
            else
            {
                zInverse = inverse;
            }

            Sm2Field.Square(zInverse, out var z2);
            Sm2Field.Multiply(z2, zInverse, out var z3);
            Sm2Field.Multiply(points[i].X, z2, out affine[i].X);
            Sm2Field.Multiply(points[i].Y, z3, out affine[i].Y);
        }
    }
}
