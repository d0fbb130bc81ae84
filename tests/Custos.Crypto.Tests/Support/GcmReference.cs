using System.Buffers.Binary;
using Custos.Crypto.Reference;

namespace Custos.Crypto.Tests.Support;

/// <summary>
/// SM4-GCM rebuilt from NIST SP 800-38D out of OpenSSL's SM4 block and counter modes, because OpenSSL 3.0 has no
/// SM4-GCM of its own. GHASH is the specification's bit-by-bit Algorithm 1: slow, short and obviously faithful.
/// </summary>
internal static class GcmReference
{
    /// <summary>Ciphertext followed by the 16-byte tag, for a 12-byte nonce.</summary>
    public static byte[] Sm4GcmEncrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        if (nonce.Length != 12) throw new ArgumentException("the reference takes 12-byte nonces only", nameof(nonce));
        var hashKey = OpenSslLibCrypto.Sm4Ecb(encrypt: true, key, new byte[16]);
        var counter = new byte[16];
        nonce.CopyTo(counter);
        counter[15] = 1;
        var tagMask = OpenSslLibCrypto.Sm4Ecb(encrypt: true, key, counter);
        counter[15] = 2;
        var ciphertext = OpenSslLibCrypto.Sm4Ctr(key, counter, plaintext);

        var s = Ghash(hashKey, associatedData, ciphertext);
        var output = new byte[ciphertext.Length + 16];
        ciphertext.CopyTo(output, 0);
        for (var i = 0; i < 16; i++) output[ciphertext.Length + i] = (byte)(s[i] ^ tagMask[i]);
        return output;
    }

    private static byte[] Ghash(ReadOnlySpan<byte> hashKey, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext)
    {
        var h = (BinaryPrimitives.ReadUInt64BigEndian(hashKey), BinaryPrimitives.ReadUInt64BigEndian(hashKey[8..]));
        (ulong Hi, ulong Lo) y = (0, 0);
        y = Absorb(y, h, associatedData);
        y = Absorb(y, h, ciphertext);
        Span<byte> lengths = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(lengths, (ulong)associatedData.Length * 8);
        BinaryPrimitives.WriteUInt64BigEndian(lengths[8..], (ulong)ciphertext.Length * 8);
        y = Absorb(y, h, lengths);
        var result = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(result, y.Hi);
        BinaryPrimitives.WriteUInt64BigEndian(result.AsSpan(8), y.Lo);
        return result;
    }

    /// <summary>Folds data zero-padded to whole blocks into the GHASH state.</summary>
    private static (ulong Hi, ulong Lo) Absorb((ulong Hi, ulong Lo) y, (ulong Hi, ulong Lo) h, ReadOnlySpan<byte> data)
    {
        Span<byte> block = stackalloc byte[16];
        for (var offset = 0; offset < data.Length; offset += 16)
        {
            block.Clear();
            data.Slice(offset, Math.Min(16, data.Length - offset)).CopyTo(block);
            y = Multiply((y.Hi ^ BinaryPrimitives.ReadUInt64BigEndian(block), y.Lo ^ BinaryPrimitives.ReadUInt64BigEndian(block[8..])), h);
        }

        return y;
    }

    /// <summary>Multiplication in GF(2^128) with GCM's bit order (SP 800-38D §6.3, Algorithm 1).</summary>
    private static (ulong Hi, ulong Lo) Multiply((ulong Hi, ulong Lo) x, (ulong Hi, ulong Lo) y)
    {
        (ulong Hi, ulong Lo) z = (0, 0);
        var v = y;
        for (var i = 0; i < 128; i++)
        {
            var bit = i < 64 ? (x.Hi >> (63 - i)) & 1 : (x.Lo >> (127 - i)) & 1;
            if (bit == 1) z = (z.Hi ^ v.Hi, z.Lo ^ v.Lo);
            var carry = v.Lo & 1;
            v = (v.Hi >> 1, (v.Lo >> 1) | (v.Hi << 63));
            if (carry == 1) v.Hi ^= 0xE100000000000000UL;
        }

        return z;
    }
}
