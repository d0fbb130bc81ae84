using System.Numerics;
using Custos.Crypto.Sm2;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;
using BcPoint = Org.BouncyCastle.Math.EC.ECPoint;

namespace Custos.Crypto.Tests.Support;

/// <summary>
/// Conversions between the fast SM2 engine's limbs and ordinary big integers and BouncyCastle points, and a
/// plain double-and-add multiplication over the engine's group law, for tests that check one against the other.
/// </summary>
internal static class Sm2EngineReference
{
    public static readonly BigInteger P = BigInteger.Parse("0FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", System.Globalization.NumberStyles.HexNumber);

    public static readonly BigInteger N = BigInteger.Parse("0FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", System.Globalization.NumberStyles.HexNumber);

    /// <summary>The Montgomery form of <paramref name="value"/> mod p.</summary>
    public static Sm2FieldElement Element(BigInteger value)
    {
        var reduced = BigInteger.Remainder(value, P);
        if (reduced.Sign < 0) reduced += P;
        Assert.True(Sm2Field.TryDecode(BigEndian(reduced), out var element));
        return element;
    }

    public static BigInteger Value(in Sm2FieldElement element)
    {
        Span<byte> bytes = stackalloc byte[32];
        Sm2Field.Encode(element, bytes);
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }

    public static byte[] BigEndian(BigInteger value)
    {
        var bytes = new byte[32];
        Assert.True(value.TryWriteBytes(bytes.AsSpan(32 - value.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true));
        return bytes;
    }

    public static Sm2Scalar Scalar(BigInteger value) => Sm2Scalar.ReadBigEndian(BigEndian(value));

    public static BigInteger Value(in Sm2Scalar scalar)
    {
        var bytes = new byte[32];
        scalar.WriteBigEndian(bytes);
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }

    /// <summary>The affine coordinates as plain integers, or null for infinity.</summary>
    public static (BigInteger X, BigInteger Y)? Affine(in Sm2JacobianPoint point)
    {
        if (point.IsInfinity) return null;
        Sm2Field.Invert(point.Z, out var zInverse);
        Sm2Field.Square(zInverse, out var z2);
        Sm2Field.Multiply(z2, zInverse, out var z3);
        Sm2Field.Multiply(point.X, z2, out var x);
        Sm2Field.Multiply(point.Y, z3, out var y);
        return (Value(x), Value(y));
    }

    public static (BigInteger X, BigInteger Y)? Affine(BcPoint point)
    {
        var normal = point.Normalize();
        if (normal.IsInfinity) return null;
        return (ToBig(normal.AffineXCoord.ToBigInteger()), ToBig(normal.AffineYCoord.ToBigInteger()));
    }

    public static Sm2AffinePoint FromBouncyCastle(BcPoint point)
    {
        var normal = point.Normalize();
        return new Sm2AffinePoint(Element(ToBig(normal.AffineXCoord.ToBigInteger())), Element(ToBig(normal.AffineYCoord.ToBigInteger())));
    }

    public static BigInteger ToBig(BcBigInteger value) => new(value.ToByteArrayUnsigned(), isUnsigned: true, isBigEndian: true);

    public static BcBigInteger ToBc(BigInteger value) => new(1, BigEndian(value));

    /// <summary>[k]P by plain left-to-right double-and-add over the engine's Double and Add (any k ≥ 0).</summary>
    public static Sm2JacobianPoint Multiply(in Sm2JacobianPoint point, BigInteger k)
    {
        var result = Sm2JacobianPoint.Infinity;
        for (var bit = (int)k.GetBitLength() - 1; bit >= 0; bit--)
        {
            Sm2Curve.Double(result, out result);
            if (!(k >> bit).IsEven) Sm2Curve.Add(result, point, out result);
        }

        return result;
    }

    /// <summary>The same point with its Jacobian coordinates scaled by λ: (λ²X, λ³Y, λZ).</summary>
    public static Sm2JacobianPoint Rescale(in Sm2JacobianPoint point, BigInteger lambda)
    {
        var l = Element(lambda);
        Sm2Field.Square(l, out var l2);
        Sm2Field.Multiply(l2, l, out var l3);
        var scaled = point;
        Sm2Field.Multiply(point.X, l2, out scaled.X);
        Sm2Field.Multiply(point.Y, l3, out scaled.Y);
        Sm2Field.Multiply(point.Z, l, out scaled.Z);
        return scaled;
    }
}
