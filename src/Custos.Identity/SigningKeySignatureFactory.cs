using Custos.Crypto;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Math;

namespace Custos.Identity;

/// <summary>
/// Lets BouncyCastle's X.509 builders sign with any <see cref="ISigningKey"/> (key file or HSM). The key produces
/// r||s over the to-be-signed bytes (SM2 with the default user id, or ECDSA over SHA-256), which is exactly what
/// SM2-with-SM3 and ecdsa-with-SHA256 certificate signatures are, DER-encoded as SEQUENCE { r, s }. SM2 signatures
/// use the CA's chosen <see cref="X509SignerIdentity"/>.
/// </summary>
internal sealed class SigningKeySignatureFactory(ISigningKey key, ICryptoSuite suite, X509SignerIdentity signerIdentity) : ISignatureFactory
{
    public object AlgorithmDetails { get; } = new AlgorithmIdentifier(new DerObjectIdentifier(suite.SignatureAlgorithmOid));

    public IStreamCalculator<IBlockResult> CreateCalculator() => new Calculator(key, signerIdentity);

    internal static byte[] EncodeDer(ReadOnlySpan<byte> rs) =>
        new DerSequence(new DerInteger(new BigInteger(1, rs[..32])), new DerInteger(new BigInteger(1, rs[32..]))).GetEncoded(Asn1Encodable.Der);

    /// <summary>DER SEQUENCE { r, s } to 64-byte r||s; false for anything else (negative, oversize, trailing data).</summary>
    internal static bool TryDecodeDer(byte[] der, out byte[] rs)
    {
        rs = [];
        try
        {
            var sequence = Asn1Sequence.GetInstance(Asn1Object.FromByteArray(der));
            if (sequence.Count != 2 || !sequence.GetDerEncoded().AsSpan().SequenceEqual(der)) return false;
            var r = DerInteger.GetInstance(sequence[0]).Value;
            var s = DerInteger.GetInstance(sequence[1]).Value;
            if (r.SignValue <= 0 || s.SignValue <= 0 || r.BitLength > 256 || s.BitLength > 256) return false;
            rs = new byte[64];
            var rBytes = r.ToByteArrayUnsigned();
            var sBytes = s.ToByteArrayUnsigned();
            rBytes.CopyTo(rs, 32 - rBytes.Length);
            sBytes.CopyTo(rs, 64 - sBytes.Length);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>Verifies an X.509 signature (DER r,s over the to-be-signed bytes) under any accepted signer identity.</summary>
    internal static bool Verify(ICryptoSuite suite, PublicKey issuerKey, byte[] toBeSigned, byte[] derSignature)
    {
        if (!TryDecodeDer(derSignature, out var rs)) return false;
        foreach (var identity in X509SignerIdentities.Accepted)
        {
            if (suite.Verify(issuerKey, identity.Bytes(), toBeSigned, rs)) return true;
        }

        return false;
    }

    private sealed class Calculator(ISigningKey key, X509SignerIdentity signerIdentity) : IStreamCalculator<IBlockResult>
    {
        private readonly MemoryStream _buffer = new();

        public Stream Stream => _buffer;

        public IBlockResult GetResult()
        {
            var signature = new byte[64];
            key.Sign(_buffer.ToArray(), signerIdentity.Bytes(), signature);
            return new SimpleBlockResult(EncodeDer(signature));
        }
    }
}
