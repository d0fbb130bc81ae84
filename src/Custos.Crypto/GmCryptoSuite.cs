using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto.Sm2;
using Org.BouncyCastle.Asn1.GM;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Agreement;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Math.EC;
using Org.BouncyCastle.Math.EC.Multiplier;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Utilities;

namespace Custos.Crypto;

/// <summary>
/// The national-standard suite: SM2 signatures with the Z_A user digest, SM2 encryption (C1||C3||C2) and key
/// exchange (GB/T 32918), SM3 (GB/T 32905), SM4-GCM and SM4-CBC (GB/T 32907). Private-key operations are
/// BouncyCastle's. Verification on sm2p256v1 runs on the specialised variable-time engine in <c>Sm2/</c> (it handles
/// public data only), with the decoded point, its odd multiples and the Z_A digest cached in each <see cref="PublicKey"/>;
/// BouncyCastle's curve arithmetic remains for other domains (the standard's test curve) and as a reference.
/// </summary>
public sealed class GmCryptoSuite : ICryptoSuite
{
    /// <summary>The default SM2 user identity "1234567812345678" (GB/T 35276), also used by OpenSSL and X.509.</summary>
    public static ReadOnlySpan<byte> DefaultUserId => "1234567812345678"u8;

    // BouncyCastle's specialised sm2p256v1 curve: same parameters as GMNamedCurves, several times faster.
    internal static readonly X9ECParameters CurveParameters = CustomNamedCurves.GetByOid(GMObjectIdentifiers.sm2p256v1);
    internal static readonly ECDomainParameters Domain = new ECNamedDomainParameters(GMObjectIdentifiers.sm2p256v1, CurveParameters);

    private readonly SecureRandom _random;

    public GmCryptoSuite()
        : this(new SecureRandom())
    {
    }

    /// <summary>Tests pass a fixed random source to reproduce the standard's examples.</summary>
    internal GmCryptoSuite(SecureRandom random) => _random = random;

    public CryptoSuiteId Id => CryptoSuiteId.Gm;

    public string Name => "gm";

    public string SignatureAlgorithmOid => "1.2.156.10197.1.501";

    public string SignatureAlgorithmName => "SM3WITHSM2";

    public string CurveOid => GMObjectIdentifiers.sm2p256v1.Id;

    public int AeadKeySizeBytes => 16;

    public IHashAccumulator Begin() => new Sm3Accumulator();

    /// <summary>Messages that pad to the same number of blocks go sixteen (at least four) to a vector; the rest one at a time.</summary>
    public void HashEach(ReadOnlySpan<byte> prefix, IReadOnlyList<ReadOnlyMemory<byte>> messages, Span<Hash32> digests)
    {
        const int lanesWorthIt = 4;
        if (digests.Length < messages.Count) throw new ArgumentException("a digest for every message", nameof(digests));
        Span<byte> output = stackalloc byte[Sm3Lanes.Width * Sm3.DigestSizeBytes];
        if (!Sm3Lanes.IsSupported || messages.Count < lanesWorthIt)
        {
            for (var i = 0; i < messages.Count; i++) digests[i] = HashOne(prefix, messages[i].Span, output);
            return;
        }

        // Indices in order of their block counts, so that equal counts form runs.
        var order = new int[messages.Count];
        var blocks = new int[messages.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
            blocks[i] = Sm3Lanes.BlocksFor(prefix.Length + messages[i].Length);
        }

        Array.Sort(blocks, order);
        var lane = new ReadOnlyMemory<byte>[Sm3Lanes.Width];
        for (var start = 0; start < order.Length;)
        {
            var count = 1;
            while (start + count < order.Length && count < Sm3Lanes.Width && blocks[start + count] == blocks[start]) count++;
            if (count < lanesWorthIt)
            {
                for (var k = 0; k < count; k++) digests[order[start + k]] = HashOne(prefix, messages[order[start + k]].Span, output);
            }
            else
            {
                for (var k = 0; k < count; k++) lane[k] = messages[order[start + k]];
                Sm3Lanes.Hash(prefix, lane.AsSpan(0, count), output);
                for (var k = 0; k < count; k++) digests[order[start + k]] = new Hash32(output.Slice(k * Sm3.DigestSizeBytes, Sm3.DigestSizeBytes));
            }

            start += count;
        }
    }

    private static Hash32 HashOne(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> message, Span<byte> output)
    {
        var digest = ThreadDigest();
        digest.Append(prefix);
        digest.Append(message);
        digest.Finish(output);
        return new Hash32(output[..Sm3.DigestSizeBytes]);
    }

    public SoftwareKey GenerateKey()
    {
        var generator = new ECKeyPairGenerator();
        generator.Init(new ECKeyGenerationParameters(Domain, _random));
        var pair = generator.GenerateKeyPair();
        var d = ((ECPrivateKeyParameters)pair.Private).D;
        return new GmSoftwareKey(this, d, _random);
    }

    public bool TryImportPrivateKey(ReadOnlySpan<byte> scalar, out SoftwareKey key, out CustosError error)
    {
        key = null!;
        var d = new BigInteger(1, scalar.ToArray());
        // GB/T 32918.1 §6.1: d in [1, n-2].
        if (scalar.Length != 32 || d.SignValue <= 0 || d.CompareTo(Domain.N.Subtract(BigInteger.One)) >= 0)
        {
            error = new CustosError(ErrorCode.PrivateKeyInvalid, "an SM2 private key is a 32-byte scalar in [1, n-2]");
            return false;
        }

        key = new GmSoftwareKey(this, d, _random);
        error = null!;
        return true;
    }

    public bool TryDecodePublicKey(ReadOnlySpan<byte> encoded, out PublicKey key, out CustosError error)
    {
        key = null!;
        // Both BouncyCastle and the verification engine must accept the point: each checks it lies on the curve.
        if (!TryDecodePoint(encoded, out var point) || !Sm2VerificationKey.TryCreate(encoded[1..], out var verificationKey))
        {
            error = new CustosError(ErrorCode.PublicKeyInvalid, "not an uncompressed SM2 point on sm2p256v1");
            return false;
        }

        key = CreatePublicKey(point, verificationKey);
        error = null!;
        return true;
    }

    internal PublicKey CreatePublicKey(ECPoint point, Sm2VerificationKey? verificationKey = null)
    {
        point = point.Normalize();
        var encoded = point.GetEncoded(compressed: false);
        verificationKey ??= Sm2VerificationKey.Create(encoded.AsSpan(1));
        return new PublicKey(CryptoSuiteId.Gm, encoded, new Sm2PreparedKey(point, ComputeZa(point, DefaultUserId), verificationKey));
    }

    internal static bool TryDecodePoint(ReadOnlySpan<byte> encoded, out ECPoint point)
    {
        point = null!;
        if (encoded.Length != 65 || encoded[0] != 0x04) return false;
        try
        {
            // DecodePoint checks the coordinates are field elements and the point lies on the curve.
            point = Domain.Curve.DecodePoint(encoded.ToArray()).Normalize();
        }
        catch (ArgumentException)
        {
            return false;
        }

        // The cofactor is 1, so a point on the curve other than infinity is in the prime-order group.
        return !point.IsInfinity && point.IsValid();
    }

    public bool Verify(PublicKey key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (key.Suite != CryptoSuiteId.Gm || key.Prepared is not Sm2PreparedKey prepared || signature.Length != 64) return false;
        var digest = ThreadDigest();
        digest.Append(prepared.Za);
        digest.Append(message);
        return VerifyPrehashed(prepared.VerificationKey, digest, signature);
    }

    /// <summary>
    /// SM2 verification on any prime-curve domain (tests run the standard's examples on its test curve): the fast
    /// engine on sm2p256v1, BouncyCastle elsewhere. Builds the key's table on each call; the suite's own paths reuse it.
    /// </summary>
    internal static bool VerifyWith(ECDomainParameters domain, ECPoint q, byte[] za, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (!ReferenceEquals(domain, Domain)) return VerifyWithBouncyCastle(domain, q, za, message, signature);
        if (signature.Length != 64) return false;
        var encoded = q.Normalize().GetEncoded(compressed: false);
        if (!Sm2VerificationKey.TryCreate(encoded.AsSpan(1), out var key)) return false;
        var digest = ThreadDigest();
        digest.Append(za);
        digest.Append(message);
        return VerifyPrehashed(key, digest, signature);
    }

    /// <summary>SM2 verification by BouncyCastle's curve arithmetic alone: the reference the fast engine is compared with.</summary>
    internal static bool VerifyWithBouncyCastle(ECDomainParameters domain, ECPoint q, byte[] za, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 64) return false;
        var digest = new SM3Digest();
        digest.BlockUpdate(za);
        digest.BlockUpdate(message);
        return VerifyPrehashedWithBouncyCastle(domain, q, digest, signature);
    }

    public bool Verify(PublicKey key, ReadOnlySpan<byte> signerId, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (key.Suite != CryptoSuiteId.Gm || key.Prepared is not Sm2PreparedKey prepared || signature.Length != 64 || signerId.Length >= 8192) return false;
        var za = signerId.SequenceEqual(DefaultUserId) ? prepared.Za : ComputeZa(prepared.Point, signerId);
        var digest = ThreadDigest();
        digest.Append(za);
        digest.Append(message);
        return VerifyPrehashed(prepared.VerificationKey, digest, signature);
    }

    public bool VerifyObject(PublicKey key, ObjectType type, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature)
    {
        if (key.Suite != CryptoSuiteId.Gm || key.Prepared is not Sm2PreparedKey prepared || signature.Length != 64) return false;
        var digest = ThreadDigest();
        digest.Append(prepared.Za);
        digest.Append(SigningDomain.Prefix(type));
        digest.Append(payload);
        return VerifyPrehashed(prepared.VerificationKey, digest, signature);
    }

    // One SM3 state per thread, so that verification allocates nothing; Finish leaves it reset for the next use.
    [ThreadStatic]
    private static Sm3? _threadDigest;

    private static Sm3 ThreadDigest()
    {
        var digest = _threadDigest ??= new Sm3();
        digest.Reset();
        return digest;
    }

    /// <summary>GB/T 32918.2 §7.1 B1-B7 on sm2p256v1 with e = SM3(Z_A || M) already absorbed by <paramref name="digest"/>.</summary>
    private static bool VerifyPrehashed(Sm2VerificationKey key, Sm3 digest, ReadOnlySpan<byte> signature)
    {
        Span<byte> e = stackalloc byte[32];
        digest.Finish(e);
        return Sm2Verifier.Verify(key, e, signature);
    }

    /// <summary>GB/T 32918.2 §7.1 B1-B7 by BouncyCastle on any domain.</summary>
    private static bool VerifyPrehashedWithBouncyCastle(ECDomainParameters domain, ECPoint q, SM3Digest digest, ReadOnlySpan<byte> signature)
    {
        Span<byte> e = stackalloc byte[32];
        digest.DoFinal(e);
        return VerifyDigestWithBouncyCastle(domain, q, e, signature);
    }

    /// <summary>B3-B7 by BouncyCastle for a given e (tests build signatures for chosen digests).</summary>
    internal static bool VerifyDigestWithBouncyCastle(ECDomainParameters domain, ECPoint q, ReadOnlySpan<byte> e, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 64) return false;
        var n = domain.N;
        var r = new BigInteger(1, signature[..32]);
        var s = new BigInteger(1, signature[32..]);
        if (r.SignValue <= 0 || r.CompareTo(n) >= 0 || s.SignValue <= 0 || s.CompareTo(n) >= 0) return false;
        var t = r.Add(s).Mod(n);
        if (t.SignValue == 0) return false;
        var point = ECAlgorithms.SumOfTwoMultiplies(domain.G, s, q, t).Normalize();
        if (point.IsInfinity) return false;
        var expected = new BigInteger(1, e).Add(point.AffineXCoord.ToBigInteger()).Mod(n);
        return expected.Equals(r);
    }

    /// <summary>Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A), GB/T 32918.2 §5.5.</summary>
    internal static byte[] ComputeZa(ECPoint q, ReadOnlySpan<byte> userId) => ComputeZa(Domain, q, userId);

    internal static byte[] ComputeZa(ECDomainParameters domain, ECPoint q, ReadOnlySpan<byte> userId)
    {
        // ENTL is a 16-bit count of bits, so an identity is at most 8,191 bytes.
        if (userId.Length >= 8192) throw new CustosException(ErrorCode.InvalidLength, "an SM2 signer identity is shorter than 8,192 bytes");
        var digest = new SM3Digest();
        var bits = userId.Length * 8;
        digest.Update((byte)(bits >> 8));
        digest.Update((byte)bits);
        digest.BlockUpdate(userId);
        AddFieldElement(digest, domain.Curve.A);
        AddFieldElement(digest, domain.Curve.B);
        AddFieldElement(digest, domain.G.AffineXCoord);
        AddFieldElement(digest, domain.G.AffineYCoord);
        AddFieldElement(digest, q.AffineXCoord);
        AddFieldElement(digest, q.AffineYCoord);
        var za = new byte[32];
        digest.DoFinal(za);
        return za;
    }

    private static void AddFieldElement(SM3Digest digest, ECFieldElement element)
    {
        var bytes = element.GetEncoded();
        digest.BlockUpdate(bytes, 0, bytes.Length);
    }

    public byte[] Encrypt(PublicKey recipient, ReadOnlySpan<byte> plaintext)
    {
        var prepared = PreparedOf(recipient);
        return EncryptWith(new ECPublicKeyParameters(prepared.Point, Domain), plaintext, _random);
    }

    public byte[] AeadEncrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var cipher = CreateGcm(forEncryption: true, key, nonce, associatedData);
        var output = new byte[cipher.GetOutputSize(plaintext.Length)];
        var written = cipher.ProcessBytes(plaintext, output);
        cipher.DoFinal(output.AsSpan(written));
        return output;
    }

    public bool TryAeadDecrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData, out byte[] plaintext)
    {
        plaintext = [];
        if (ciphertextAndTag.Length < 16) return false;
        var cipher = CreateGcm(forEncryption: false, key, nonce, associatedData);
        var output = new byte[cipher.GetOutputSize(ciphertextAndTag.Length)];
        try
        {
            var written = cipher.ProcessBytes(ciphertextAndTag, output);
            written += cipher.DoFinal(output.AsSpan(written));
            plaintext = output[..written];
            return true;
        }
        catch (InvalidCipherTextException)
        {
            Array.Clear(output);
            return false;
        }
    }

    private static GcmBlockCipher CreateGcm(bool forEncryption, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData)
    {
        if (key.Length != 16) throw new CustosException(ErrorCode.InvalidLength, $"an SM4 key is 16 bytes, got {key.Length}");
        if (nonce.Length != 12) throw new CustosException(ErrorCode.InvalidLength, $"a GCM nonce is 12 bytes, got {nonce.Length}");
        var cipher = new GcmBlockCipher(new Sm4CounterEngine());
        cipher.Init(forEncryption, new AeadParameters(new KeyParameter(key), 128, nonce.ToArray(), associatedData.ToArray()));
        return cipher;
    }

    /// <summary>SM4 in CBC mode with PKCS#7 padding (GB/T 32907 with GB/T 17964), for interoperating with systems that use it.</summary>
    public static byte[] Sm4CbcEncrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> plaintext) =>
        Sm4Cbc(forEncryption: true, key, iv, plaintext);

    public static bool TrySm4CbcDecrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext, out byte[] plaintext)
    {
        // A padded ciphertext is at least one whole block; BouncyCastle would decrypt an empty one to an empty plaintext.
        if (ciphertext.IsEmpty)
        {
            plaintext = [];
            return false;
        }

        try
        {
            plaintext = Sm4Cbc(forEncryption: false, key, iv, ciphertext);
            return true;
        }
        catch (InvalidCipherTextException)
        {
            plaintext = [];
            return false;
        }
        catch (DataLengthException)
        {
            plaintext = [];
            return false;
        }
    }

    private static byte[] Sm4Cbc(bool forEncryption, ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> input)
    {
        if (key.Length != 16 || iv.Length != 16) throw new CustosException(ErrorCode.InvalidLength, "SM4-CBC takes a 16-byte key and a 16-byte IV");
        var cipher = new Org.BouncyCastle.Crypto.Paddings.PaddedBufferedBlockCipher(new CbcBlockCipher(new Sm4Engine()), new Org.BouncyCastle.Crypto.Paddings.Pkcs7Padding());
        cipher.Init(forEncryption, new ParametersWithIV(new KeyParameter(key), iv));
        return cipher.DoFinal(input.ToArray());
    }

    public byte[] DeriveKeyFromPassphrase(ReadOnlySpan<char> passphrase, ReadOnlySpan<byte> salt, int iterations, int lengthBytes)
    {
        var generator = new Pkcs5S2ParametersGenerator(new SM3Digest());
        var password = Encoding.UTF8.GetBytes(passphrase.ToArray());
        try
        {
            generator.Init(password, salt.ToArray(), iterations);
            return ((KeyParameter)generator.GenerateDerivedMacParameters(lengthBytes * 8)).GetKey();
        }
        finally
        {
            Array.Clear(password);
        }
    }

    public byte[] AgreeKey(SoftwareKey ownStatic, SoftwareKey ownEphemeral, PublicKey peerStatic, PublicKey peerEphemeral,
        bool initiator, ReadOnlySpan<byte> ownId, ReadOnlySpan<byte> peerId, int lengthBytes)
    {
        return AgreeKeyWith(
            GmSoftwareKey.Of(ownStatic).PrivateParameters, GmSoftwareKey.Of(ownEphemeral).PrivateParameters,
            new ECPublicKeyParameters(PreparedOf(peerStatic).Point, Domain), new ECPublicKeyParameters(PreparedOf(peerEphemeral).Point, Domain),
            initiator, ownId, peerId, lengthBytes);
    }

    /// <summary>SM2 key exchange (GB/T 32918.3 §6) on the domain the keys carry (tests run the standard's example on its test curve).</summary>
    internal static byte[] AgreeKeyWith(ECPrivateKeyParameters ownStatic, ECPrivateKeyParameters ownEphemeral, ECPublicKeyParameters peerStatic,
        ECPublicKeyParameters peerEphemeral, bool initiator, ReadOnlySpan<byte> ownId, ReadOnlySpan<byte> peerId, int lengthBytes)
    {
        var exchange = new SM2KeyExchange(new SM3Digest());
        exchange.Init(new ParametersWithID(new SM2KeyExchangePrivateParameters(initiator, ownStatic, ownEphemeral), ownId.ToArray()));
        return exchange.CalculateKey(lengthBytes * 8, new ParametersWithID(new SM2KeyExchangePublicParameters(peerStatic, peerEphemeral), peerId.ToArray()));
    }

    private static Sm2PreparedKey PreparedOf(PublicKey key) =>
        key.Prepared as Sm2PreparedKey ?? throw new CustosException(ErrorCode.SuiteMismatch, "the key is not an SM2 key");

    /// <summary>SM2 signing (GB/T 32918.2 §6) by BouncyCastle's constant-time signer; r||s, 32 bytes each.</summary>
    internal static byte[] SignWith(ECPrivateKeyParameters key, ReadOnlySpan<byte> userId, ReadOnlySpan<byte> message, SecureRandom random)
    {
        var signer = new SM2Signer(PlainDsaEncoding.Instance, new SM3Digest());
        signer.Init(true, new ParametersWithID(new ParametersWithRandom(key, random), userId.ToArray()));
        signer.BlockUpdate(message);
        return signer.GenerateSignature();
    }

    /// <summary>SM2 encryption (GB/T 32918.4 §6) on any domain; the output order is C1||C3||C2 as the 2016 standard requires.</summary>
    internal static byte[] EncryptWith(ECPublicKeyParameters recipient, ReadOnlySpan<byte> plaintext, SecureRandom random, SM2Engine.Mode mode = SM2Engine.Mode.C1C3C2)
    {
        // GB/T 32918.4 A5 draws again while the key stream t is all zero, which an empty t always is.
        if (plaintext.IsEmpty) throw new CustosException(ErrorCode.InvalidLength, "SM2 encryption needs at least one byte of plaintext");
        var engine = new SM2Engine(new SM3Digest(), mode);
        engine.Init(true, new ParametersWithRandom(recipient, random));
        var input = plaintext.ToArray();
        return engine.ProcessBlock(input, 0, input.Length);
    }

    /// <summary>What an SM2 public key caches: BouncyCastle's point (signing, encryption, PKCS#11), Z_A for the default id, and the verification engine's tables.</summary>
    internal sealed record Sm2PreparedKey(ECPoint Point, byte[] Za, Sm2VerificationKey VerificationKey);

    private sealed class Sm3Accumulator : IHashAccumulator
    {
        private readonly Sm3 _digest = new();

        public void Append(ReadOnlySpan<byte> data) => _digest.Append(data);

        public Hash32 Finish()
        {
            Span<byte> output = stackalloc byte[32];
            _digest.Finish(output);
            return new Hash32(output);
        }

        public void Dispose()
        {
        }
    }

    private sealed class GmSoftwareKey : SoftwareKey
    {
        private readonly SecureRandom _random;

        private readonly BigInteger _d;
        private readonly BigInteger _inverseOfOnePlusD;

        public GmSoftwareKey(GmCryptoSuite suite, BigInteger d, SecureRandom random)
            : base(CryptoSuiteId.Gm, d.ToByteArrayUnsigned().AsSpan().ToArray().PadLeft(32), suite.CreatePublicKey(new FixedPointCombMultiplier().Multiply(Domain.G, d)))
        {
            _random = random;
            _d = d;
            // Fixed per key: BouncyCastle's SM2Signer recomputes it, and the public key and Z_A, on every signature.
            _inverseOfOnePlusD = BigIntegers.ModOddInverse(Domain.N, d.Add(BigInteger.One));
            PrivateParameters = new ECPrivateKeyParameters(d, Domain);
        }

        public ECPrivateKeyParameters PrivateParameters { get; }

        public static GmSoftwareKey Of(SoftwareKey key) =>
            key as GmSoftwareKey ?? throw new CustosException(ErrorCode.SuiteMismatch, "the key is not an SM2 software key");

        public override void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
        {
            _ = Scalar; // throws if disposed
            SignPrepared(((Sm2PreparedKey)PublicKey.Prepared!).Za, message, signature);
        }

        public override void Sign(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signerId, Span<byte> signature)
        {
            _ = Scalar;
            var za = signerId.SequenceEqual(DefaultUserId) ? ((Sm2PreparedKey)PublicKey.Prepared!).Za : ComputeZa(((Sm2PreparedKey)PublicKey.Prepared!).Point, signerId);
            SignPrepared(za, message, signature);
        }

        /// <summary>
        /// GB/T 32918.2 §6.1 A1–A7, the same steps and the same constant-time fixed-point comb for [k]G as BouncyCastle's
        /// SM2Signer, with Z_A and (1 + d)^-1 computed once per key instead of once per signature.
        /// </summary>
        private void SignPrepared(byte[] za, ReadOnlySpan<byte> message, Span<byte> signature)
        {
            if (signature.Length < 64) throw new ArgumentException("an SM2 signature needs 64 bytes", nameof(signature));
            var digest = new SM3Digest();
            digest.BlockUpdate(za);
            digest.BlockUpdate(message);
            var hash = new byte[32];
            digest.DoFinal(hash, 0);
            var e = new BigInteger(1, hash);
            var n = Domain.N;
            var multiplier = new FixedPointCombMultiplier();
            while (true)
            {
                var k = BigIntegers.CreateRandomInRange(BigInteger.One, n.Subtract(BigInteger.One), _random);
                var x1 = multiplier.Multiply(Domain.G, k).Normalize().AffineXCoord.ToBigInteger();
                var r = e.Add(x1).Mod(n);
                if (r.SignValue == 0 || r.Add(k).Equals(n)) continue;
                var s = _inverseOfOnePlusD.Multiply(k.Subtract(r.Multiply(_d)).Mod(n)).Mod(n);
                if (s.SignValue == 0) continue;
                BigIntegers.AsUnsignedByteArray(r).AsSpan().CopyTo(signature[(32 - BigIntegers.GetUnsignedByteLength(r))..32]);
                signature[..(32 - BigIntegers.GetUnsignedByteLength(r))].Clear();
                BigIntegers.AsUnsignedByteArray(s).AsSpan().CopyTo(signature[(64 - BigIntegers.GetUnsignedByteLength(s))..64]);
                signature[32..(64 - BigIntegers.GetUnsignedByteLength(s))].Clear();
                return;
            }
        }

        public override bool TryDecrypt(ReadOnlySpan<byte> ciphertext, out byte[] plaintext)
        {
            plaintext = [];
            _ = Scalar;
            // C1 (65) + C3 (32) at least. C1 is always written uncompressed; BouncyCastle would also take a hybrid
            // encoding, and throws FormatException (not ArgumentException) on an unknown prefix.
            if (ciphertext.Length < 97 || ciphertext[0] != 0x04) return false;
            var engine = new SM2Engine(new SM3Digest(), SM2Engine.Mode.C1C3C2);
            engine.Init(false, PrivateParameters);
            try
            {
                var input = ciphertext.ToArray();
                plaintext = engine.ProcessBlock(input, 0, input.Length);
                return true;
            }
            catch (Exception e) when (e is InvalidCipherTextException or ArgumentException)
            {
                return false;
            }
        }
    }
}

internal static class ByteArrayPadding
{
    public static byte[] PadLeft(this byte[] bytes, int length)
    {
        if (bytes.Length == length) return bytes;
        if (bytes.Length > length) throw new ArgumentException("value longer than its field", nameof(bytes));
        var padded = new byte[length];
        bytes.CopyTo(padded, length - bytes.Length);
        Array.Clear(bytes);
        return padded;
    }
}
