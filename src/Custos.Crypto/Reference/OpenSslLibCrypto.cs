using System.Runtime.InteropServices;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto.Reference;

/// <summary>
/// A second implementation of the algorithms Custos uses, independent of BouncyCastle: the system's OpenSSL 3
/// libcrypto through P/Invoke. Tests compare the suites against it and benchmarks measure against it; the node
/// never uses it. SM4-GCM is absent because OpenSSL 3.0 has no SM4-GCM (it arrived in 3.2): SM4-ECB, SM4-CBC
/// and SM4-CTR are offered, from which tests rebuild GCM. Thread-safe: every call builds its own OpenSSL contexts
/// and keys (<see cref="OpenSslKey"/>) are read-only once imported.
/// </summary>
internal static partial class OpenSslLibCrypto
{
    public const string LibraryName = "libcrypto.so.3";

    private static readonly Lazy<string?> Unavailability = new(Probe);

    /// <summary>True if libcrypto 3 loads and offers SM2, SM3 and SM4 (some distributions build it without them).</summary>
    public static bool IsAvailable => Unavailability.Value is null;

    /// <summary>Why <see cref="IsAvailable"/> is false, for skip messages; null when it is available.</summary>
    public static string? UnavailableReason => Unavailability.Value;

    public static byte[] Sm3(ReadOnlySpan<byte> data) => Digest(Fetched.Sm3, data);

    public static byte[] Sha256(ReadOnlySpan<byte> data) => Digest(Fetched.Sha256, data);

    private static unsafe byte[] Digest(nint md, ReadOnlySpan<byte> data)
    {
        var output = new byte[32];
        uint size = 32;
        fixed (byte* input = data)
        fixed (byte* digest = output)
        {
            Check(Native.EVP_Digest(input, (nuint)data.Length, digest, &size, md, 0), "EVP_Digest");
        }

        return size == 32 ? output : throw Failure("EVP_Digest returned an unexpected length");
    }

    /// <summary>SM4-ECB without padding; <paramref name="input"/> is whole 16-byte blocks.</summary>
    public static byte[] Sm4Ecb(bool encrypt, ReadOnlySpan<byte> key, ReadOnlySpan<byte> input) =>
        Cipher(Fetched.Sm4Ecb, encrypt, padding: false, key, [], input) ?? throw Failure("SM4-ECB input is not whole blocks");

    /// <summary>SM4-CBC with PKCS#7 padding.</summary>
    public static byte[] Sm4CbcEncrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> plaintext) =>
        Cipher(Fetched.Sm4Cbc, encrypt: true, padding: true, key, iv, plaintext) ?? throw Failure("SM4-CBC encryption failed");

    /// <summary>Inverse of <see cref="Sm4CbcEncrypt"/>; false on a length that is not whole blocks or on bad padding.</summary>
    public static bool TrySm4CbcDecrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext, out byte[] plaintext)
    {
        var result = Cipher(Fetched.Sm4Cbc, encrypt: false, padding: true, key, iv, ciphertext);
        plaintext = result ?? [];
        return result is not null;
    }

    /// <summary>SM4-CTR with a 128-bit big-endian counter starting at <paramref name="counterBlock"/>.</summary>
    public static byte[] Sm4Ctr(ReadOnlySpan<byte> key, ReadOnlySpan<byte> counterBlock, ReadOnlySpan<byte> input) =>
        Cipher(Fetched.Sm4Ctr, encrypt: true, padding: false, key, counterBlock, input) ?? throw Failure("SM4-CTR failed");

    private static unsafe byte[]? Cipher(nint cipher, bool encrypt, bool padding, ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> input)
    {
        if (key.Length != 16) throw new CustosException(ErrorCode.InvalidLength, "an SM4 key is 16 bytes");
        if (iv.Length is not (0 or 16)) throw new CustosException(ErrorCode.InvalidLength, "an SM4 IV or counter block is 16 bytes");
        var output = new byte[input.Length + 16];
        var context = Native.EVP_CIPHER_CTX_new();
        if (context == 0) throw Failure("EVP_CIPHER_CTX_new");
        try
        {
            fixed (byte* k = key)
            fixed (byte* v = iv)
            fixed (byte* i = input)
            fixed (byte* o = output)
            {
                Check(Native.EVP_CipherInit_ex(context, cipher, 0, k, iv.IsEmpty ? null : v, encrypt ? 1 : 0), "EVP_CipherInit_ex");
                Check(Native.EVP_CIPHER_CTX_set_padding(context, padding ? 1 : 0), "EVP_CIPHER_CTX_set_padding");
                int written = 0, last = 0;
                // An empty input pins to a null pointer and has nothing to update; the final call alone pads or checks.
                if (!input.IsEmpty && Native.EVP_CipherUpdate(context, o, &written, i, input.Length) != 1) return null;
                if (Native.EVP_CipherFinal_ex(context, o + written, &last) != 1) return null;
                return output[..(written + last)];
            }
        }
        finally
        {
            Native.EVP_CIPHER_CTX_free(context);
            Native.ERR_clear_error();
        }
    }

    /// <summary>PBKDF2 (RFC 8018) with HMAC over SM3 or SHA-256.</summary>
    public static unsafe byte[] Pbkdf2(bool sm3, ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, int iterations, int lengthBytes)
    {
        var output = new byte[lengthBytes];
        // An empty span pins to a null pointer; give OpenSSL a real address with a zero length instead.
        Span<byte> empty = stackalloc byte[1];
        fixed (byte* p = password.IsEmpty ? empty : password)
        fixed (byte* s = salt.IsEmpty ? empty : salt)
        fixed (byte* o = output)
        {
            Check(Native.PKCS5_PBKDF2_HMAC(p, password.Length, s, salt.Length, iterations, sm3 ? Fetched.Sm3 : Fetched.Sha256, lengthBytes, o), "PKCS5_PBKDF2_HMAC");
        }

        return output;
    }

    /// <summary>An SM2 or P-256 key from its 32-byte private scalar; OpenSSL derives the public point itself.</summary>
    public static OpenSslKey ImportPrivateKey(OpenSslCurve curve, ReadOnlySpan<byte> scalar) =>
        TryImport(curve, scalar, publicPoint: null, out var key) ? key : throw Failure($"OpenSSL rejected the {curve} private key");

    /// <summary>A public key from its 65-byte SEC1 uncompressed point; false where OpenSSL rejects the point.</summary>
    public static bool TryImportPublicKey(OpenSslCurve curve, ReadOnlySpan<byte> point, out OpenSslKey key) =>
        TryImport(curve, [], point.ToArray(), out key);

    public static OpenSslKey ImportPublicKey(OpenSslCurve curve, ReadOnlySpan<byte> point) =>
        TryImportPublicKey(curve, point, out var key) ? key : throw Failure($"OpenSSL rejected the {curve} public key");

    /// <summary>One-shot verification of a 64-byte r||s signature (SM2 with the default user id, or ECDSA-SHA256).</summary>
    public static bool Verify(OpenSslCurve curve, ReadOnlySpan<byte> publicPoint, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (!TryImportPublicKey(curve, publicPoint, out var key)) return false;
        using (key)
        {
            return key.Verify(message, signature);
        }
    }

    /// <summary>One-shot signature (r||s) with a private scalar.</summary>
    public static byte[] Sign(OpenSslCurve curve, ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> message)
    {
        using var key = ImportPrivateKey(curve, scalar);
        return key.Sign(message);
    }

    private static unsafe bool TryImport(OpenSslCurve curve, ReadOnlySpan<byte> scalar, byte[]? publicPoint, out OpenSslKey key)
    {
        key = null!;
        var isPrivate = publicPoint is null;
        nint builder = 0, parameters = 0, privateValue = 0, context = 0, pkey = 0;
        try
        {
            if (isPrivate)
            {
                if (scalar.Length != 32) return false;
                fixed (byte* s = scalar)
                {
                    privateValue = Native.BN_bin2bn(s, scalar.Length, 0);
                }

                if (privateValue == 0 || !TryDerivePublicPoint(curve, privateValue, out publicPoint)) return false;
            }

            builder = Native.OSSL_PARAM_BLD_new();
            if (builder == 0) throw Failure("OSSL_PARAM_BLD_new");
            // The builder keeps pointers to keys and values until OSSL_PARAM_BLD_to_param, and the parameters it
            // returns keep pointing at the key names: hence static UTF-8 literals and one pin over the whole build.
            fixed (byte* groupKey = "group\0"u8)
            fixed (byte* group = curve == OpenSslCurve.Sm2 ? "SM2\0"u8 : "prime256v1\0"u8)
            fixed (byte* publicKey = "pub\0"u8)
            fixed (byte* privateKey = "priv\0"u8)
            fixed (byte* point = publicPoint)
            {
                Check(Native.OSSL_PARAM_BLD_push_utf8_string(builder, groupKey, group, 0), "push group");
                Check(Native.OSSL_PARAM_BLD_push_octet_string(builder, publicKey, point, (nuint)publicPoint!.Length), "push pub");
                if (isPrivate) Check(Native.OSSL_PARAM_BLD_push_BN(builder, privateKey, privateValue), "push priv");
                parameters = Native.OSSL_PARAM_BLD_to_param(builder);
            }

            if (parameters == 0) throw Failure("OSSL_PARAM_BLD_to_param");
            // The context keeps the key type name pointer too.
            fixed (byte* keyType = curve == OpenSslCurve.Sm2 ? "SM2\0"u8 : "EC\0"u8)
            {
                context = Native.EVP_PKEY_CTX_new_from_name(0, keyType, null);
            }

            if (context == 0) throw Failure("EVP_PKEY_CTX_new_from_name");
            Check(Native.EVP_PKEY_fromdata_init(context), "EVP_PKEY_fromdata_init");
            if (Native.EVP_PKEY_fromdata(context, &pkey, isPrivate ? KeyPairSelection : PublicKeySelection, parameters) != 1 || pkey == 0) return false;
            key = new OpenSslKey(curve, new EvpPkeyHandle(pkey), publicPoint!, isPrivate);
            pkey = 0;
            return true;
        }
        finally
        {
            if (pkey != 0) Native.EVP_PKEY_free(pkey);
            if (context != 0) Native.EVP_PKEY_CTX_free(context);
            if (parameters != 0) Native.OSSL_PARAM_free(parameters);
            if (builder != 0) Native.OSSL_PARAM_BLD_free(builder);
            if (privateValue != 0) Native.BN_clear_free(privateValue);
            Native.ERR_clear_error();
        }
    }

    // EVP_PKEY_PUBLIC_KEY and EVP_PKEY_KEYPAIR: all domain parameters plus the public (and private) key.
    private const int PublicKeySelection = 0x86;
    private const int KeyPairSelection = 0x87;

    /// <summary>[d]G with OpenSSL's own group arithmetic, so a public key never comes from the code under test.</summary>
    private static unsafe bool TryDerivePublicPoint(OpenSslCurve curve, nint scalar, out byte[]? point)
    {
        point = null;
        var group = Native.EC_GROUP_new_by_curve_name(Native.OBJ_sn2nid(curve == OpenSslCurve.Sm2 ? "SM2" : "prime256v1"));
        if (group == 0) throw Failure("EC_GROUP_new_by_curve_name");
        var product = Native.EC_POINT_new(group);
        try
        {
            if (product == 0) throw Failure("EC_POINT_new");
            if (Native.EC_POINT_mul(group, product, scalar, 0, 0, 0) != 1) return false;
            var encoded = new byte[65];
            fixed (byte* e = encoded)
            {
                // 4 is POINT_CONVERSION_UNCOMPRESSED; infinity (d = 0 or n) encodes to one byte and is refused here.
                if (Native.EC_POINT_point2oct(group, product, 4, e, 65, 0) != 65) return false;
            }

            point = encoded;
            return true;
        }
        finally
        {
            if (product != 0) Native.EC_POINT_free(product);
            Native.EC_GROUP_free(group);
        }
    }

    /// <summary>DER SEQUENCE { INTEGER r, INTEGER s } from 64-byte r||s, canonical (minimal) as OpenSSL insists.</summary>
    public static byte[] DerFromRs(ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 64) throw new CustosException(ErrorCode.InvalidLength, "an r||s signature is 64 bytes");
        var r = DerInteger(signature[..32]);
        var s = DerInteger(signature[32..]);
        // Content is at most 2 * 35 bytes, so the short length form always applies.
        var der = new byte[2 + r.Length + s.Length];
        der[0] = 0x30;
        der[1] = (byte)(r.Length + s.Length);
        r.CopyTo(der, 2);
        s.CopyTo(der, 2 + r.Length);
        return der;
    }

    private static byte[] DerInteger(ReadOnlySpan<byte> unsigned)
    {
        var start = 0;
        while (start < unsigned.Length - 1 && unsigned[start] == 0) start++;
        var magnitude = unsigned[start..];
        var pad = (magnitude[0] & 0x80) != 0 ? 1 : 0;
        var encoded = new byte[2 + pad + magnitude.Length];
        encoded[0] = 0x02;
        encoded[1] = (byte)(pad + magnitude.Length);
        magnitude.CopyTo(encoded.AsSpan(2 + pad));
        return encoded;
    }

    /// <summary>64-byte r||s from the DER OpenSSL writes; false if it is not a SEQUENCE of two non-negative INTEGERs that fit.</summary>
    public static bool TryRsFromDer(ReadOnlySpan<byte> der, out byte[] signature)
    {
        signature = [];
        if (der.Length < 8 || der[0] != 0x30 || der[1] != der.Length - 2) return false;
        var output = new byte[64];
        var rest = der[2..];
        if (!TryReadInteger(ref rest, output.AsSpan(0, 32)) || !TryReadInteger(ref rest, output.AsSpan(32, 32)) || !rest.IsEmpty) return false;
        signature = output;
        return true;
    }

    private static bool TryReadInteger(ref ReadOnlySpan<byte> input, Span<byte> destination)
    {
        if (input.Length < 3 || input[0] != 0x02 || input[1] > input.Length - 2 || input[1] == 0) return false;
        var value = input.Slice(2, input[1]);
        input = input[(2 + value.Length)..];
        if ((value[0] & 0x80) != 0) return false;
        if (value.Length > 1 && value[0] == 0) value = value[1..];
        if (value.Length > destination.Length) return false;
        destination.Clear();
        value.CopyTo(destination[(destination.Length - value.Length)..]);
        return true;
    }

    private static unsafe bool KeyManagementExists()
    {
        fixed (byte* name = "SM2\0"u8)
        {
            var context = Native.EVP_PKEY_CTX_new_from_name(0, name, null);
            if (context == 0) return false;
            Native.EVP_PKEY_CTX_free(context);
            return true;
        }
    }

    internal static void Check(int result, string operation)
    {
        if (result != 1) throw Failure($"{operation} failed");
    }

    internal static CustosException Failure(string operation)
    {
        var code = Native.ERR_get_error();
        Native.ERR_clear_error();
        return new CustosException(ErrorCode.Malformed, $"OpenSSL reference: {operation} (OpenSSL error 0x{code:x})");
    }

    private static string? Probe()
    {
        try
        {
            if (!NativeLibrary.TryLoad(LibraryName, out _)) return $"{LibraryName} cannot be loaded";
            var md = Native.EVP_MD_fetch(0, "SM3", null);
            if (md == 0) return $"{LibraryName} has no SM3";
            Native.EVP_MD_free(md);

            foreach (var name in new[] { "SM4-ECB", "SM4-CBC", "SM4-CTR" })
            {
                var cipher = Native.EVP_CIPHER_fetch(0, name, null);
                if (cipher == 0) return $"{LibraryName} has no {name}";
                Native.EVP_CIPHER_free(cipher);
            }

            return KeyManagementExists() ? null : $"{LibraryName} has no SM2";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return $"{LibraryName} is not OpenSSL 3: {e.Message}";
        }
        finally
        {
            try
            {
                Native.ERR_clear_error();
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            {
                // Nothing to clear when the library is not there.
            }
        }
    }

    /// <summary>
    /// Algorithms fetched once for the life of the process. OpenSSL 3.0 looks an algorithm up under a global lock each
    /// time a legacy EVP_sm3()-style object is used; an explicitly fetched one skips that, which matters on many threads.
    /// </summary>
    internal static class Fetched
    {
        public static readonly nint Sm3 = Native.EVP_MD_fetch(0, "SM3", null);
        public static readonly nint Sha256 = Native.EVP_MD_fetch(0, "SHA256", null);
        public static readonly nint Sm4Ecb = Native.EVP_CIPHER_fetch(0, "SM4-ECB", null);
        public static readonly nint Sm4Cbc = Native.EVP_CIPHER_fetch(0, "SM4-CBC", null);
        public static readonly nint Sm4Ctr = Native.EVP_CIPHER_fetch(0, "SM4-CTR", null);
    }

    /// <summary>The libcrypto entry points used, with the C signatures of OpenSSL 3.0.</summary>
    internal static unsafe partial class Native
    {
        [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint EVP_MD_fetch(nint libraryContext, string algorithm, string? properties);
        [LibraryImport(LibraryName)] internal static partial void EVP_MD_free(nint md);
        [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint EVP_CIPHER_fetch(nint libraryContext, string algorithm, string? properties);
        [LibraryImport(LibraryName)] internal static partial void EVP_CIPHER_free(nint cipher);

        [LibraryImport(LibraryName)] internal static partial int EVP_Digest(byte* data, nuint count, byte* md, uint* size, nint type, nint engine);

        [LibraryImport(LibraryName)] internal static partial nint EVP_CIPHER_CTX_new();
        [LibraryImport(LibraryName)] internal static partial void EVP_CIPHER_CTX_free(nint context);
        [LibraryImport(LibraryName)] internal static partial int EVP_CipherInit_ex(nint context, nint cipher, nint engine, byte* key, byte* iv, int encrypt);
        [LibraryImport(LibraryName)] internal static partial int EVP_CIPHER_CTX_set_padding(nint context, int padding);
        [LibraryImport(LibraryName)] internal static partial int EVP_CipherUpdate(nint context, byte* output, int* outputLength, byte* input, int inputLength);
        [LibraryImport(LibraryName)] internal static partial int EVP_CipherFinal_ex(nint context, byte* output, int* outputLength);

        [LibraryImport(LibraryName)] internal static partial int PKCS5_PBKDF2_HMAC(byte* password, int passwordLength, byte* salt, int saltLength, int iterations, nint digest, int keyLength, byte* output);

        [LibraryImport(LibraryName)] internal static partial nint BN_bin2bn(byte* bytes, int length, nint result);
        [LibraryImport(LibraryName)] internal static partial void BN_clear_free(nint value);

        [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)] internal static partial int OBJ_sn2nid(string shortName);
        [LibraryImport(LibraryName)] internal static partial nint EC_GROUP_new_by_curve_name(int nid);
        [LibraryImport(LibraryName)] internal static partial void EC_GROUP_free(nint group);
        [LibraryImport(LibraryName)] internal static partial nint EC_POINT_new(nint group);
        [LibraryImport(LibraryName)] internal static partial void EC_POINT_free(nint point);
        [LibraryImport(LibraryName)] internal static partial int EC_POINT_mul(nint group, nint result, nint generatorScalar, nint point, nint pointScalar, nint bnContext);
        [LibraryImport(LibraryName)] internal static partial nuint EC_POINT_point2oct(nint group, nint point, int form, byte* buffer, nuint length, nint bnContext);

        [LibraryImport(LibraryName)] internal static partial nint OSSL_PARAM_BLD_new();
        [LibraryImport(LibraryName)] internal static partial void OSSL_PARAM_BLD_free(nint builder);
        [LibraryImport(LibraryName)] internal static partial int OSSL_PARAM_BLD_push_utf8_string(nint builder, byte* key, byte* value, nuint length);
        [LibraryImport(LibraryName)] internal static partial int OSSL_PARAM_BLD_push_octet_string(nint builder, byte* key, byte* value, nuint length);
        [LibraryImport(LibraryName)] internal static partial int OSSL_PARAM_BLD_push_BN(nint builder, byte* key, nint value);
        [LibraryImport(LibraryName)] internal static partial nint OSSL_PARAM_BLD_to_param(nint builder);
        [LibraryImport(LibraryName)] internal static partial void OSSL_PARAM_free(nint parameters);

        [LibraryImport(LibraryName)] internal static partial nint EVP_PKEY_CTX_new_from_name(nint libraryContext, byte* name, byte* properties);
        [LibraryImport(LibraryName)] internal static partial void EVP_PKEY_CTX_free(nint context);
        [LibraryImport(LibraryName)] internal static partial int EVP_PKEY_fromdata_init(nint context);
        [LibraryImport(LibraryName)] internal static partial int EVP_PKEY_fromdata(nint context, nint* pkey, int selection, nint parameters);
        [LibraryImport(LibraryName)] internal static partial void EVP_PKEY_free(nint pkey);
        [LibraryImport(LibraryName)] internal static partial int EVP_PKEY_CTX_set1_id(nint context, byte* id, int length);
        [LibraryImport(LibraryName)] internal static partial nint EVP_PKEY_CTX_new_from_pkey(nint libraryContext, EvpPkeyHandle pkey, byte* properties);
        [LibraryImport(LibraryName)] internal static partial int EVP_PKEY_verify_init(nint context);
        [LibraryImport(LibraryName)] internal static partial int EVP_PKEY_verify(nint context, byte* signature, nuint signatureLength, byte* digest, nuint digestLength);

        [LibraryImport(LibraryName)] internal static partial nint EVP_MD_CTX_new();
        [LibraryImport(LibraryName)] internal static partial void EVP_MD_CTX_free(nint context);
        [LibraryImport(LibraryName)] internal static partial int EVP_DigestSignInit(nint context, nint* pkeyContext, nint md, nint engine, EvpPkeyHandle pkey);
        [LibraryImport(LibraryName)] internal static partial int EVP_DigestVerifyInit(nint context, nint* pkeyContext, nint md, nint engine, EvpPkeyHandle pkey);
        [LibraryImport(LibraryName)] internal static partial int EVP_DigestSign(nint context, byte* signature, nuint* signatureLength, byte* message, nuint messageLength);
        [LibraryImport(LibraryName)] internal static partial int EVP_DigestVerify(nint context, byte* signature, nuint signatureLength, byte* message, nuint messageLength);

        [LibraryImport(LibraryName)] internal static partial ulong ERR_get_error();
        [LibraryImport(LibraryName)] internal static partial void ERR_clear_error();
    }
}

/// <summary>The curves the reference can sign and verify on.</summary>
internal enum OpenSslCurve
{
    /// <summary>sm2p256v1 with SM2 signatures over SM3(Z_A || M).</summary>
    Sm2,

    /// <summary>NIST P-256 with ECDSA over SHA-256(M).</summary>
    P256,
}

/// <summary>An OpenSSL EVP_PKEY, freed exactly once even if a call races with Dispose.</summary>
internal sealed class EvpPkeyHandle : SafeHandle
{
    public EvpPkeyHandle(nint pkey)
        : base(0, ownsHandle: true) => SetHandle(pkey);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        OpenSslLibCrypto.Native.EVP_PKEY_free(handle);
        return true;
    }
}

/// <summary>
/// A key imported into OpenSSL once and reused for many signatures or verifications (what a benchmark measures).
/// Thread-safe: OpenSSL 3 allows concurrent operations on one EVP_PKEY that no thread modifies, and each call
/// makes its own digest context.
/// </summary>
internal sealed class OpenSslKey : IDisposable
{
    private readonly EvpPkeyHandle _pkey;
    private readonly byte[] _publicPoint;

    internal OpenSslKey(OpenSslCurve curve, EvpPkeyHandle pkey, byte[] publicPoint, bool hasPrivateKey)
    {
        Curve = curve;
        _pkey = pkey;
        _publicPoint = publicPoint;
        HasPrivateKey = hasPrivateKey;
    }

    public OpenSslCurve Curve { get; }

    public bool HasPrivateKey { get; }

    /// <summary>0x04 || X || Y as OpenSSL computed or accepted it.</summary>
    public ReadOnlySpan<byte> PublicPoint => _publicPoint;

    /// <summary>Verifies a 64-byte r||s signature; SM2 keys use the default user id "1234567812345678".</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        Verify(message, signature, GmCryptoSuite.DefaultUserId);

    /// <summary>Verifies a 64-byte r||s signature; <paramref name="userId"/> is ignored on P-256.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature, ReadOnlySpan<byte> userId) =>
        signature.Length == 64 && VerifyDer(message, OpenSslLibCrypto.DerFromRs(signature), userId);

    /// <summary>Verifies a DER signature exactly as OpenSSL receives it from the wire.</summary>
    public unsafe bool VerifyDer(ReadOnlySpan<byte> message, ReadOnlySpan<byte> der, ReadOnlySpan<byte> userId)
    {
        var context = Begin(sign: false, userId);
        try
        {
            fixed (byte* m = message)
            fixed (byte* s = der)
            {
                return OpenSslLibCrypto.Native.EVP_DigestVerify(context, s, (nuint)der.Length, m, (nuint)message.Length) == 1;
            }
        }
        finally
        {
            OpenSslLibCrypto.Native.EVP_MD_CTX_free(context);
            OpenSslLibCrypto.Native.ERR_clear_error();
        }
    }

    /// <summary>
    /// Verifies r||s against a given 32-byte digest, skipping the hashing: for SM2 the digest is e = SM3(Z_A || M)
    /// itself, which lets tests build signatures for chosen e.
    /// </summary>
    public unsafe bool VerifyDigest(ReadOnlySpan<byte> digest, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 64 || digest.Length != 32) return false;
        var der = OpenSslLibCrypto.DerFromRs(signature);
        var context = OpenSslLibCrypto.Native.EVP_PKEY_CTX_new_from_pkey(0, _pkey, null);
        if (context == 0) throw OpenSslLibCrypto.Failure("EVP_PKEY_CTX_new_from_pkey");
        try
        {
            OpenSslLibCrypto.Check(OpenSslLibCrypto.Native.EVP_PKEY_verify_init(context), "EVP_PKEY_verify_init");
            fixed (byte* d = digest)
            fixed (byte* s = der)
            {
                return OpenSslLibCrypto.Native.EVP_PKEY_verify(context, s, (nuint)der.Length, d, (nuint)digest.Length) == 1;
            }
        }
        finally
        {
            OpenSslLibCrypto.Native.EVP_PKEY_CTX_free(context);
            OpenSslLibCrypto.Native.ERR_clear_error();
        }
    }

    /// <summary>A 64-byte r||s signature; SM2 keys use the default user id.</summary>
    public byte[] Sign(ReadOnlySpan<byte> message) => Sign(message, GmCryptoSuite.DefaultUserId);

    public byte[] Sign(ReadOnlySpan<byte> message, ReadOnlySpan<byte> userId) =>
        OpenSslLibCrypto.TryRsFromDer(SignDer(message, userId), out var signature)
            ? signature
            : throw OpenSslLibCrypto.Failure("decoding OpenSSL's DER signature");

    public unsafe byte[] SignDer(ReadOnlySpan<byte> message, ReadOnlySpan<byte> userId)
    {
        if (!HasPrivateKey) throw new CustosException(ErrorCode.PrivateKeyInvalid, "this OpenSSL key has no private part");
        var context = Begin(sign: true, userId);
        try
        {
            // ECDSA_size for a 256-bit order: SEQUENCE of two 33-byte INTEGERs.
            var der = new byte[72];
            nuint length = (nuint)der.Length;
            fixed (byte* m = message)
            fixed (byte* s = der)
            {
                OpenSslLibCrypto.Check(OpenSslLibCrypto.Native.EVP_DigestSign(context, s, &length, m, (nuint)message.Length), "EVP_DigestSign");
            }

            return der[..(int)length];
        }
        finally
        {
            OpenSslLibCrypto.Native.EVP_MD_CTX_free(context);
            OpenSslLibCrypto.Native.ERR_clear_error();
        }
    }

    /// <summary>A digest context initialised for one operation; the EVP_PKEY_CTX it creates belongs to it.</summary>
    private unsafe nint Begin(bool sign, ReadOnlySpan<byte> userId)
    {
        var context = OpenSslLibCrypto.Native.EVP_MD_CTX_new();
        if (context == 0) throw OpenSslLibCrypto.Failure("EVP_MD_CTX_new");
        try
        {
            nint keyContext = 0;
            var md = Curve == OpenSslCurve.Sm2 ? OpenSslLibCrypto.Fetched.Sm3 : OpenSslLibCrypto.Fetched.Sha256;
            var initialised = sign
                ? OpenSslLibCrypto.Native.EVP_DigestSignInit(context, &keyContext, md, 0, _pkey)
                : OpenSslLibCrypto.Native.EVP_DigestVerifyInit(context, &keyContext, md, 0, _pkey);
            OpenSslLibCrypto.Check(initialised, sign ? "EVP_DigestSignInit" : "EVP_DigestVerifyInit");
            if (Curve == OpenSslCurve.Sm2)
            {
                // The id must be set after init and before the first update: OpenSSL computes Z_A on the first update.
                fixed (byte* id = userId)
                {
                    OpenSslLibCrypto.Check(OpenSslLibCrypto.Native.EVP_PKEY_CTX_set1_id(keyContext, id, userId.Length), "EVP_PKEY_CTX_set1_id");
                }
            }

            return context;
        }
        catch
        {
            OpenSslLibCrypto.Native.EVP_MD_CTX_free(context);
            throw;
        }
    }

    public void Dispose() => _pkey.Dispose();
}
