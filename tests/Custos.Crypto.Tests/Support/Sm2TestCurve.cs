using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Math.EC;

namespace Custos.Crypto.Tests.Support;

/// <summary>
/// The 256-bit prime-field test curve of GB/T 32918 (parts 2 to 5, Annex A), on which the standard's worked
/// examples are computed. It is not sm2p256v1; it exists only to check implementations against those examples.
/// </summary>
internal static class Sm2TestCurve
{
    public static readonly BigInteger P = Hex("8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3");
    public static readonly BigInteger A = Hex("787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498");
    public static readonly BigInteger B = Hex("63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A");
    public static readonly BigInteger N = Hex("8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7");
    public static readonly BigInteger Gx = Hex("421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D");
    public static readonly BigInteger Gy = Hex("0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2");

    public static readonly ECDomainParameters Domain = CreateDomain();

    public static ECPrivateKeyParameters PrivateKey(string hex) => new(Hex(hex), Domain);

    public static ECPublicKeyParameters PublicKeyOf(ECPrivateKeyParameters key) => new(Domain.G.Multiply(key.D).Normalize(), Domain);

    public static BigInteger Hex(string hex) => new(hex, 16);

    private static ECDomainParameters CreateDomain()
    {
        var curve = new FpCurve(P, A, B, N, BigInteger.One);
        return new ECDomainParameters(curve, curve.CreatePoint(Gx, Gy), N, BigInteger.One);
    }
}
