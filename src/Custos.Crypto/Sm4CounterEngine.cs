using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;

namespace Custos.Crypto;

/// <summary>
/// SM4 for counter modes (GCM's keystream): BouncyCastle's GCM asks its block cipher for one counter block at a time,
/// and the counter only ever steps by one in its last 32 bits. On a processor with GFNI and AVX-512 this engine
/// answers a counter block by encrypting it and the next fifteen together, sixteen blocks to a vector, and serves the
/// following requests from them while each is exactly the counter that comes next; any other input, and every
/// decryption, goes through the table engine (<see cref="Sm4Engine"/>) unchanged. The vector path computes the S-box
/// with Galois-field instructions instead of tables, so it is also constant-time.
/// </summary>
/// <remarks>
/// The S-box is S(x) = A·inv(A·x ⊕ c) ⊕ c with the inversion modulo SM4's polynomial. GF2P8AFFINEINVQB inverts modulo
/// AES's, so the input is first mapped into AES's field by an isomorphism M (a linear map) and the inverse mapped back:
/// S(x) = (A·M⁻¹)·inv_AES((M·A)·x ⊕ M·c) ⊕ c, one affine transform and one affine-inverse transform per 64 bytes.
/// </remarks>
public sealed class Sm4CounterEngine : IBlockCipher
{
    private const int BlockSize = Sm4Engine.BlockSizeBytes;

    /// <summary>Blocks encrypted together: one 32-bit word of each in the sixteen lanes of a 512-bit vector.</summary>
    public const int Lanes = 16;

    private const int Rounds = 32;

    private readonly Sm4Engine _tables = new();
    private readonly uint[] _roundKeys = new uint[Rounds];
    private readonly byte[] _keystream = new byte[Lanes * BlockSize];
    private readonly byte[] _nextCounter = new byte[BlockSize];
    private int _served = Lanes;
    private bool _vectorised;

    /// <summary>True where the sixteen-block path runs (GFNI and AVX-512 present, and its S-box checked at start).</summary>
    public static bool IsVectorised { get; } = GaloisSBox.IsAvailable;

    public string AlgorithmName => "SM4";

    public int GetBlockSize() => BlockSize;

    public void Init(bool forEncryption, ICipherParameters parameters)
    {
        _tables.Init(forEncryption, parameters);
        _served = Lanes;
        Array.Clear(_keystream);
        _vectorised = forEncryption && IsVectorised;
        if (_vectorised) _tables.CopyRoundKeys(_roundKeys);
    }

    public int ProcessBlock(byte[] inBuf, int inOff, byte[] outBuf, int outOff) =>
        ProcessBlock(inBuf.AsSpan(inOff, BlockSize), outBuf.AsSpan(outOff, BlockSize));

    public int ProcessBlock(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (!_vectorised) return _tables.ProcessBlock(input, output);
        if (input.Length < BlockSize) throw new DataLengthException("input buffer too short");
        if (output.Length < BlockSize) throw new OutputLengthException("output buffer too short");

        if (_served == Lanes || !input[..BlockSize].SequenceEqual(_nextCounter))
        {
            EncryptCounters(input[..BlockSize]);
            _served = 0;
        }

        _keystream.AsSpan(_served * BlockSize, BlockSize).CopyTo(output);
        _served++;
        input[..BlockSize].CopyTo(_nextCounter);
        BinaryPrimitives.WriteUInt32BigEndian(_nextCounter.AsSpan(12), BinaryPrimitives.ReadUInt32BigEndian(input[12..]) + 1);
        return BlockSize;
    }

    /// <summary>Encrypts <paramref name="first"/> and the fifteen blocks after it (last word + 1, …, + 15, modulo 2^32).</summary>
    [SkipLocalsInit]
    private void EncryptCounters(ReadOnlySpan<byte> first)
    {
        var x0 = Vector512.Create(BinaryPrimitives.ReadUInt32BigEndian(first));
        var x1 = Vector512.Create(BinaryPrimitives.ReadUInt32BigEndian(first[4..]));
        var x2 = Vector512.Create(BinaryPrimitives.ReadUInt32BigEndian(first[8..]));
        var x3 = Vector512.Create(BinaryPrimitives.ReadUInt32BigEndian(first[12..])) + Vector512<uint>.Indices;
        var rk = _roundKeys;
        for (var i = 0; i < Rounds; i += 4)
        {
            x0 ^= GaloisSBox.Round(Avx512F.TernaryLogic(x1, x2, x3, 0x96) ^ Vector512.Create(rk[i]));
            x1 ^= GaloisSBox.Round(Avx512F.TernaryLogic(x2, x3, x0, 0x96) ^ Vector512.Create(rk[i + 1]));
            x2 ^= GaloisSBox.Round(Avx512F.TernaryLogic(x3, x0, x1, 0x96) ^ Vector512.Create(rk[i + 2]));
            x3 ^= GaloisSBox.Round(Avx512F.TernaryLogic(x0, x1, x2, 0x96) ^ Vector512.Create(rk[i + 3]));
        }

        // Block j is x3[j] x2[j] x1[j] x0[j], big-endian (the reversal R).
        Span<uint> words = stackalloc uint[4 * Lanes];
        x3.CopyTo(words);
        x2.CopyTo(words[Lanes..]);
        x1.CopyTo(words[(2 * Lanes)..]);
        x0.CopyTo(words[(3 * Lanes)..]);
        var keystream = _keystream.AsSpan();
        for (var j = 0; j < Lanes; j++)
        {
            var block = keystream.Slice(j * BlockSize, BlockSize);
            BinaryPrimitives.WriteUInt32BigEndian(block, words[j]);
            BinaryPrimitives.WriteUInt32BigEndian(block[4..], words[Lanes + j]);
            BinaryPrimitives.WriteUInt32BigEndian(block[8..], words[2 * Lanes + j]);
            BinaryPrimitives.WriteUInt32BigEndian(block[12..], words[3 * Lanes + j]);
        }
    }

    /// <summary>The round function T = L∘τ on sixteen words at once, τ by GFNI.</summary>
    internal static class GaloisSBox
    {
        private static readonly Vector512<byte> IntoAesField;
        private static readonly Vector512<byte> IntoAesFieldConstant;
        private static readonly Vector512<byte> OutOfAesField;

        public static bool IsAvailable { get; }

        static GaloisSBox()
        {
            var (into, intoConstant, outOf) = Matrices();
            IntoAesField = Vector512.Create(into).AsByte();
            IntoAesFieldConstant = Vector512.Create(intoConstant);
            OutOfAesField = Vector512.Create(outOf).AsByte();
            IsAvailable = Gfni.V512.IsSupported && Avx512F.IsSupported && SBoxMatchesTable();
        }

        /// <summary>The S-box applied to every byte.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> Substitute(Vector512<byte> x)
        {
            var mapped = Gfni.V512.GaloisFieldAffineTransform(x, IntoAesField, 0) ^ IntoAesFieldConstant;
            return Gfni.V512.GaloisFieldAffineTransformInverse(mapped, OutOfAesField, 0xD3);
        }

        /// <summary>T(x) = L(τ(x)) with L(B) = B ⊕ (B ⋘ 2) ⊕ (B ⋘ 10) ⊕ (B ⋘ 18) ⊕ (B ⋘ 24).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Round(Vector512<uint> x)
        {
            var b = Substitute(x.AsByte()).AsUInt32();
            var left = Avx512F.TernaryLogic(b, Avx512F.RotateLeft(b, 2), Avx512F.RotateLeft(b, 10), 0x96);
            return Avx512F.TernaryLogic(left, Avx512F.RotateLeft(b, 18), Avx512F.RotateLeft(b, 24), 0x96);
        }

        private static bool SBoxMatchesTable()
        {
            Span<byte> all = stackalloc byte[256];
            for (var i = 0; i < 256; i++) all[i] = (byte)i;
            Span<byte> substituted = stackalloc byte[256];
            for (var offset = 0; offset < 256; offset += 64)
            {
                Substitute(Vector512.Create<byte>(all.Slice(offset, 64))).CopyTo(substituted[offset..]);
            }

            return substituted.SequenceEqual(Sm4Engine.SBoxTable);
        }

        /// <summary>
        /// The affine transforms' matrices, derived from the fields rather than written out: M maps SM4's field
        /// (modulo x^8+x^7+x^6+x^5+x^4+x^2+1) onto AES's (modulo x^8+x^4+x^3+x+1) by sending x to a root of SM4's
        /// polynomial in AES's field.
        /// </summary>
        internal static (ulong Into, byte IntoConstant, ulong OutOf) Matrices()
        {
            const int sm4Polynomial = Sm4Engine.Sm4Polynomial, aesPolynomial = 0x11B;
            byte root = 0;
            for (var candidate = 2; candidate < 256 && root == 0; candidate++)
            {
                // p(β) = β^8 + β^7 + β^6 + β^5 + β^4 + β^2 + 1 in AES's field.
                var value = 0;
                var power = 1;
                for (var degree = 0; degree <= 8; degree++)
                {
                    if (((sm4Polynomial >> degree) & 1) != 0) value ^= power;
                    power = Sm4Engine.FieldMultiply(power, candidate, aesPolynomial);
                }

                if (value == 0) root = (byte)candidate;
            }

            Span<byte> map = stackalloc byte[256];
            Span<byte> unmap = stackalloc byte[256];
            for (var y = 0; y < 256; y++)
            {
                var image = 0;
                var power = 1;
                for (var bit = 0; bit < 8; bit++)
                {
                    if (((y >> bit) & 1) != 0) image ^= power;
                    power = Sm4Engine.FieldMultiply(power, root, aesPolynomial);
                }

                map[y] = (byte)image;
                unmap[image] = (byte)y;
            }

            var into = new byte[256];
            var outOf = new byte[256];
            for (var x = 0; x < 256; x++)
            {
                into[x] = map[Sm4Engine.Affine((byte)x)];
                outOf[x] = Sm4Engine.Affine(unmap[x]);
            }

            return (MatrixOf(into), into[0], MatrixOf(outOf));
        }

        /// <summary>
        /// The GF2P8AFFINE matrix of the linear part of an affine byte map: output bit i is the parity of byte 7 − i of
        /// the matrix AND the input, so that byte holds, at bit j, bit i of the image of input bit j.
        /// </summary>
        private static ulong MatrixOf(byte[] affine)
        {
            var matrix = 0UL;
            for (var i = 0; i < 8; i++)
            {
                var row = 0;
                for (var j = 0; j < 8; j++) row |= (((affine[1 << j] ^ affine[0]) >> i) & 1) << j;
                matrix |= (ulong)row << (8 * (7 - i));
            }

            return matrix;
        }
    }
}
