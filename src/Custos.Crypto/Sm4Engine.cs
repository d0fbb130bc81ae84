using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;

namespace Custos.Crypto;

/// <summary>
/// The SM4 block cipher (GB/T 32907-2016) with one 32-bit lookup table that folds the S-box and the linear transform L
/// together, so a round is four lookups, three rotations and XORs instead of four S-box lookups and four rotations
/// of the combined word. It implements BouncyCastle's <see cref="IBlockCipher"/>, so GCM and the GM TLS stack run on it
/// (BouncyCastle's own engine took most of the time of a TLS record). Like BouncyCastle's engine and OpenSSL's generic
/// one it indexes tables with secret-dependent bytes: it is not constant-time against an attacker who shares the
/// machine's caches.
/// </summary>
public sealed class Sm4Engine : IBlockCipher
{
    public const int BlockSizeBytes = 16;

    private const int Rounds = 32;

    /// <summary>The S-box, built from its definition: an affine map, inversion in GF(2^8), the same affine map.</summary>
    private static readonly byte[] SBox = BuildSBox();

    /// <summary>T0[a] = L(S[a] &lt;&lt; 24); the other byte positions are rotations of it.</summary>
    private static readonly uint[] Table = BuildTable(SBox);

    private static readonly uint[] FamilyKey = [0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc];

    private readonly uint[] _roundKeys = new uint[Rounds];
    private bool _initialised;

    public string AlgorithmName => "SM4";

    public int GetBlockSize() => BlockSizeBytes;

    public void Init(bool forEncryption, ICipherParameters parameters)
    {
        if (parameters is not KeyParameter key) throw new ArgumentException("SM4 needs a KeyParameter", nameof(parameters));
        var bytes = key.GetKey();
        if (bytes.Length != BlockSizeBytes) throw new ArgumentException($"an SM4 key is 16 bytes, got {bytes.Length}", nameof(parameters));
        ExpandKey(bytes, _roundKeys);
        if (!forEncryption) Array.Reverse(_roundKeys);
        _initialised = true;
    }

    /// <summary>The S-box, for engines that compute it another way to check themselves against.</summary>
    internal static ReadOnlySpan<byte> SBoxTable => SBox;

    /// <summary>The round keys in the order this engine applies them (reversed for decryption).</summary>
    internal void CopyRoundKeys(Span<uint> destination)
    {
        if (!_initialised) throw new InvalidOperationException("SM4 engine not initialised");
        _roundKeys.CopyTo(destination);
    }

    public int ProcessBlock(byte[] inBuf, int inOff, byte[] outBuf, int outOff) =>
        ProcessBlock(inBuf.AsSpan(inOff, BlockSizeBytes), outBuf.AsSpan(outOff, BlockSizeBytes));

    public int ProcessBlock(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (!_initialised) throw new InvalidOperationException("SM4 engine not initialised");
        if (input.Length < BlockSizeBytes) throw new DataLengthException("input buffer too short");
        if (output.Length < BlockSizeBytes) throw new OutputLengthException("output buffer too short");

        var x0 = BinaryPrimitives.ReadUInt32BigEndian(input);
        var x1 = BinaryPrimitives.ReadUInt32BigEndian(input[4..]);
        var x2 = BinaryPrimitives.ReadUInt32BigEndian(input[8..]);
        var x3 = BinaryPrimitives.ReadUInt32BigEndian(input[12..]);
        var rk = _roundKeys;
        ref var t = ref MemoryMarshal.GetArrayDataReference(Table);
        // Four rounds per pass, so the words never move between variables.
        for (var i = 0; i < Rounds; i += 4)
        {
            x0 ^= Round(ref t, x1 ^ x2 ^ x3 ^ rk[i]);
            x1 ^= Round(ref t, x2 ^ x3 ^ x0 ^ rk[i + 1]);
            x2 ^= Round(ref t, x3 ^ x0 ^ x1 ^ rk[i + 2]);
            x3 ^= Round(ref t, x0 ^ x1 ^ x2 ^ rk[i + 3]);
        }

        // The output is the last four words in reverse order (the transform R).
        BinaryPrimitives.WriteUInt32BigEndian(output, x3);
        BinaryPrimitives.WriteUInt32BigEndian(output[4..], x2);
        BinaryPrimitives.WriteUInt32BigEndian(output[8..], x1);
        BinaryPrimitives.WriteUInt32BigEndian(output[12..], x0);
        return BlockSizeBytes;
    }

    /// <summary>T(x) = L(τ(x)); L is linear and commutes with rotation, so each byte's share is T0 rotated.</summary>
    // The table has 256 entries and every index is a byte, so the lookups go without bounds checks.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Round(ref uint t, uint x) =>
        Unsafe.Add(ref t, (int)(x >> 24)) ^ BitOperations.RotateRight(Unsafe.Add(ref t, (byte)(x >> 16)), 8)
        ^ BitOperations.RotateRight(Unsafe.Add(ref t, (byte)(x >> 8)), 16) ^ BitOperations.RotateRight(Unsafe.Add(ref t, (byte)x), 24);

    private static void ExpandKey(ReadOnlySpan<byte> key, uint[] roundKeys)
    {
        Span<uint> k = stackalloc uint[4];
        for (var i = 0; i < 4; i++) k[i] = BinaryPrimitives.ReadUInt32BigEndian(key[(4 * i)..]) ^ FamilyKey[i];
        for (var i = 0; i < Rounds; i++)
        {
            // CK_i's bytes are (4i + j) × 7 mod 256.
            var ck = 0u;
            for (var j = 0; j < 4; j++) ck = (ck << 8) | (byte)((4 * i + j) * 7);
            var next = k[i % 4] ^ KeyTransform(k[(i + 1) % 4] ^ k[(i + 2) % 4] ^ k[(i + 3) % 4] ^ ck);
            k[i % 4] = next;
            roundKeys[i] = next;
        }
    }

    /// <summary>T'(x) = L'(τ(x)) with L'(B) = B ⊕ (B ⋘ 13) ⊕ (B ⋘ 23).</summary>
    private static uint KeyTransform(uint x)
    {
        var b = Substitute(x);
        return b ^ BitOperations.RotateLeft(b, 13) ^ BitOperations.RotateLeft(b, 23);
    }

    private static uint Substitute(uint x) =>
        ((uint)SBox[x >> 24] << 24) | ((uint)SBox[(byte)(x >> 16)] << 16) | ((uint)SBox[(byte)(x >> 8)] << 8) | SBox[(byte)x];

    private static uint Linear(uint b) =>
        b ^ BitOperations.RotateLeft(b, 2) ^ BitOperations.RotateLeft(b, 10) ^ BitOperations.RotateLeft(b, 18) ^ BitOperations.RotateLeft(b, 24);

    private static uint[] BuildTable(byte[] sbox)
    {
        var table = new uint[256];
        for (var a = 0; a < 256; a++) table[a] = Linear((uint)sbox[a] << 24);
        return table;
    }

    /// <summary>The S-box's affine map A·x ⊕ 0xD3 (used on both sides of the inversion).</summary>
    internal static byte Affine(byte x)
    {
        var result = 0;
        for (var i = 0; i < 8; i++)
        {
            var row = (byte)((0xD3 >> i) | (0xD3 << (8 - i)));
            result = (result << 1) | (BitOperations.PopCount((uint)(row & x)) & 1);
        }

        return (byte)(result ^ 0xD3);
    }

    /// <summary>SM4's field polynomial, x^8+x^7+x^6+x^5+x^4+x^2+1.</summary>
    internal const int Sm4Polynomial = 0x1F5;

    /// <summary>a·b in GF(2^8) modulo <paramref name="modulus"/> (a degree-8 polynomial with its x^8 bit).</summary>
    internal static int FieldMultiply(int a, int b, int modulus)
    {
        var product = 0;
        while (b != 0)
        {
            if ((b & 1) != 0) product ^= a;
            b >>= 1;
            a <<= 1;
            if ((a & 0x100) != 0) a ^= modulus;
        }

        return product;
    }

    private static byte[] BuildSBox()
    {
        // GB/T 32907's S-box is S(x) = A·(A·x ⊕ C)⁻¹ ⊕ C in GF(2^8) modulo x^8+x^7+x^6+x^5+x^4+x^2+1, with A the
        // circulant bit matrix whose rows are rotations of 0xD3 and C = 0xD3; the tests check it against the standard's
        // example and BouncyCastle's table.
        var inverse = new byte[256];
        for (var a = 1; a < 256; a++)
        {
            for (var b = 1; b < 256; b++)
            {
                if (FieldMultiply(a, b, Sm4Polynomial) != 1) continue;
                inverse[a] = (byte)b;
                break;
            }
        }

        var sbox = new byte[256];
        for (var x = 0; x < 256; x++) sbox[x] = Affine(inverse[Affine((byte)x)]);
        return sbox;
    }
}
