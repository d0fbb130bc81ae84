using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;

namespace Custos.Crypto;

/// <summary>
/// SM4 for counter modes (GCM's keystream): BouncyCastle's GCM asks its block cipher for one counter block at a time,
/// and the counter only ever steps by one in its last 32 bits. On a processor with vector instructions for it this
/// engine answers a counter block by encrypting it and the next fifteen together, and serves the following requests
/// from them while each is exactly the counter that comes next; any other input, and every decryption, goes through
/// the table engine (<see cref="Sm4Engine"/>) unchanged. The vector paths compute the S-box with AES's or Galois-field
/// instructions instead of tables, so they are also constant-time.
/// </summary>
/// <remarks>
/// The S-box is S(x) = A·inv(A·x ⊕ c) ⊕ c with the inversion modulo SM4's polynomial. AES's instructions invert modulo
/// AES's, so the input is first mapped into AES's field by an isomorphism M (a linear map) and the inverse mapped back:
/// S(x) = (A·M⁻¹)·inv_AES((M·A)·x ⊕ M·c) ⊕ c. Two paths, the first the processor has:
/// <list type="bullet">
/// <item>GFNI and AVX-512 (<see cref="GaloisSBox"/>): sixteen blocks to a 512-bit vector; one affine transform and one
/// affine-inverse transform (GF2P8AFFINEINVQB) per 64 bytes.</item>
/// <item>AES-NI and AVX2 (<see cref="AesNiSBox"/>): eight blocks to a 256-bit vector, twice; the affine maps by nibble
/// table lookups (PSHUFB), the inversion by AESENCLAST with a zero round key, whose own affine map and ShiftRows are
/// undone afterwards (folded into the outgoing affine map, and one more byte shuffle).</item>
/// </list>
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
    private readonly VectorPath _path;
    private int _served = Lanes;
    private bool _vectorised;

    /// <summary>How the sixteen counter blocks are encrypted.</summary>
    public enum VectorPath
    {
        /// <summary>No vector path on this processor: every block through the table engine.</summary>
        None,

        /// <summary>AES-NI and AVX2, eight blocks at a time (<see cref="AesNiSBox"/>).</summary>
        AesNi,

        /// <summary>GFNI and AVX-512, sixteen blocks at a time (<see cref="GaloisSBox"/>).</summary>
        Galois,
    }

    /// <summary>The fastest path this processor has whose S-box matched the table at start.</summary>
    public static VectorPath Preferred { get; } =
        GaloisSBox.IsAvailable ? VectorPath.Galois : AesNiSBox.IsAvailable ? VectorPath.AesNi : VectorPath.None;

    /// <summary>True where a sixteen-block path runs.</summary>
    public static bool IsVectorised => Preferred != VectorPath.None;

    public Sm4CounterEngine()
        : this(Preferred)
    {
    }

    /// <summary>An engine on a given path (tests run each path the processor has, not only the preferred one).</summary>
    internal Sm4CounterEngine(VectorPath path)
    {
        var available = path switch
        {
            VectorPath.None => true,
            VectorPath.AesNi => AesNiSBox.IsAvailable,
            VectorPath.Galois => GaloisSBox.IsAvailable,
            _ => false,
        };
        if (!available) throw new PlatformNotSupportedException($"the SM4 {path} path is not available on this processor");
        _path = path;
    }

    public string AlgorithmName => "SM4";

    public int GetBlockSize() => BlockSize;

    public void Init(bool forEncryption, ICipherParameters parameters)
    {
        _tables.Init(forEncryption, parameters);
        _served = Lanes;
        Array.Clear(_keystream);
        _vectorised = forEncryption && _path != VectorPath.None;
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
            if (_path == VectorPath.Galois) EncryptCounters(input[..BlockSize]);
            else EncryptCountersByAesNi(input[..BlockSize]);
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
        WriteBlocks(words, Lanes, _keystream);
    }

    /// <summary>
    /// Writes <paramref name="lanes"/> blocks from their words, lane-major: words[k·lanes + j] is word k of block j
    /// (x3 first, the reversal R), each big-endian.
    /// </summary>
    private static void WriteBlocks(ReadOnlySpan<uint> words, int lanes, Span<byte> blocks)
    {
        for (var j = 0; j < lanes; j++)
        {
            var block = blocks.Slice(j * BlockSize, BlockSize);
            BinaryPrimitives.WriteUInt32BigEndian(block, words[j]);
            BinaryPrimitives.WriteUInt32BigEndian(block[4..], words[lanes + j]);
            BinaryPrimitives.WriteUInt32BigEndian(block[8..], words[2 * lanes + j]);
            BinaryPrimitives.WriteUInt32BigEndian(block[12..], words[3 * lanes + j]);
        }
    }

    /// <summary>As <see cref="EncryptCounters"/>, in two passes of eight blocks.</summary>
    [SkipLocalsInit]
    private void EncryptCountersByAesNi(ReadOnlySpan<byte> first)
    {
        const int lanes = AesNiSBox.Lanes;
        var w0 = BinaryPrimitives.ReadUInt32BigEndian(first);
        var w1 = BinaryPrimitives.ReadUInt32BigEndian(first[4..]);
        var w2 = BinaryPrimitives.ReadUInt32BigEndian(first[8..]);
        var w3 = BinaryPrimitives.ReadUInt32BigEndian(first[12..]);
        var rk = _roundKeys;
        Span<uint> words = stackalloc uint[4 * lanes];
        var keystream = _keystream.AsSpan();
        for (var pass = 0; pass < Lanes / lanes; pass++)
        {
            var x0 = Vector256.Create(w0);
            var x1 = Vector256.Create(w1);
            var x2 = Vector256.Create(w2);
            var x3 = Vector256.Create(w3 + (uint)(pass * lanes)) + Vector256<uint>.Indices;
            for (var i = 0; i < Rounds; i += 4)
            {
                x0 ^= AesNiSBox.Round(x1 ^ x2 ^ x3 ^ Vector256.Create(rk[i]));
                x1 ^= AesNiSBox.Round(x2 ^ x3 ^ x0 ^ Vector256.Create(rk[i + 1]));
                x2 ^= AesNiSBox.Round(x3 ^ x0 ^ x1 ^ Vector256.Create(rk[i + 2]));
                x3 ^= AesNiSBox.Round(x0 ^ x1 ^ x2 ^ Vector256.Create(rk[i + 3]));
            }

            x3.CopyTo(words);
            x2.CopyTo(words[lanes..]);
            x1.CopyTo(words[(2 * lanes)..]);
            x0.CopyTo(words[(3 * lanes)..]);
            WriteBlocks(words, lanes, keystream[(pass * lanes * BlockSize)..]);
        }
    }

    /// <summary>
    /// The byte maps on either side of the inversion in AES's field, derived from the fields rather than written out:
    /// M maps SM4's field (modulo x^8+x^7+x^6+x^5+x^4+x^2+1) onto AES's (modulo x^8+x^4+x^3+x+1) by sending x to a root
    /// of SM4's polynomial in AES's field; S(x) = outOf[inv_AES(into[x])].
    /// </summary>
    internal static (byte[] Into, byte[] OutOf) FieldMaps()
    {
        const int sm4Polynomial = Sm4Engine.Sm4Polynomial;
        byte root = 0;
        for (var candidate = 2; candidate < 256 && root == 0; candidate++)
        {
            // p(β) = β^8 + β^7 + β^6 + β^5 + β^4 + β^2 + 1 in AES's field.
            var value = 0;
            var power = 1;
            for (var degree = 0; degree <= 8; degree++)
            {
                if (((sm4Polynomial >> degree) & 1) != 0) value ^= power;
                power = Sm4Engine.FieldMultiply(power, candidate, AesPolynomial);
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
                power = Sm4Engine.FieldMultiply(power, root, AesPolynomial);
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

        return (into, outOf);
    }

    /// <summary>AES's field polynomial, x^8+x^4+x^3+x+1.</summary>
    private const int AesPolynomial = 0x11B;

    /// <summary>Whether an S-box computed 64 bytes at a time gives the table's value for every byte.</summary>
    private static bool MatchesTable(Func<byte[], byte[]> substitute64)
    {
        var substituted = new byte[256];
        for (var offset = 0; offset < 256; offset += 64)
        {
            var input = new byte[64];
            for (var i = 0; i < 64; i++) input[i] = (byte)(offset + i);
            substitute64(input).CopyTo(substituted, offset);
        }

        return substituted.AsSpan().SequenceEqual(Sm4Engine.SBoxTable);
    }

    /// <summary>
    /// The round function T = L∘τ on eight words at once, τ by AES-NI: AESENCLAST(v, 0) is ShiftRows(S_AES(v)) with
    /// S_AES(v) = B·inv_AES(v) ⊕ 0x63, so the outgoing map is SM4's composed with B's inverse, and a byte shuffle puts
    /// the bytes ShiftRows moved (between the four words of each 128-bit half, that is between blocks) back.
    /// </summary>
    internal static class AesNiSBox
    {
        /// <summary>Blocks encrypted together: one 32-bit word of each in the eight lanes of a 256-bit vector.</summary>
        public const int Lanes = 8;

        private static readonly Vector256<byte> IntoLow;
        private static readonly Vector256<byte> IntoHigh;
        private static readonly Vector256<byte> OutOfLow;
        private static readonly Vector256<byte> OutOfHigh;
        private static readonly Vector256<byte> UndoShiftRows;
        private static readonly Vector256<byte> RotateLeft8;
        private static readonly Vector256<byte> RotateLeft16;
        private static readonly Vector256<byte> RotateLeft24;
        private static readonly Vector256<byte> LowNibbles = Vector256.Create((byte)0x0F);

        public static bool IsAvailable { get; }

        static AesNiSBox()
        {
            var (into, outOf) = FieldMaps();
            var afterAes = new byte[256];
            for (var z = 0; z < 256; z++) afterAes[AesAffine((byte)z)] = outOf[z];
            (IntoLow, IntoHigh) = NibbleTables(into);
            (OutOfLow, OutOfHigh) = NibbleTables(afterAes);

            // ShiftRows sends state byte r + 4((c + r) mod 4) to position r + 4c (row r, column c).
            var undo = new byte[16];
            for (var r = 0; r < 4; r++)
            {
                for (var c = 0; c < 4; c++) undo[r + 4 * ((c + r) % 4)] = (byte)(r + 4 * c);
            }

            UndoShiftRows = Repeated(undo);
            RotateLeft8 = Repeated(WordRotation(1));
            RotateLeft16 = Repeated(WordRotation(2));
            RotateLeft24 = Repeated(WordRotation(3));
            IsAvailable = Aes.IsSupported && Avx2.IsSupported && MatchesTable(input =>
            {
                var output = new byte[64];
                Substitute(Vector256.Create<byte>(input)).CopyTo(output);
                Substitute(Vector256.Create<byte>(input.AsSpan(32))).CopyTo(output, 32);
                return output;
            });
        }

        /// <summary>The S-box applied to every byte.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Substitute(Vector256<byte> x)
        {
            var mapped = Affine(x, IntoLow, IntoHigh);
            var inverted = Vector256.Create(
                Aes.EncryptLast(mapped.GetLower(), Vector128<byte>.Zero),
                Aes.EncryptLast(mapped.GetUpper(), Vector128<byte>.Zero));
            return Affine(Avx2.Shuffle(inverted, UndoShiftRows), OutOfLow, OutOfHigh);
        }

        /// <summary>
        /// T(x) = L(τ(x)) with L(B) = B ⊕ (B ⋘ 2) ⊕ (B ⋘ 10) ⊕ (B ⋘ 18) ⊕ (B ⋘ 24)
        /// = B ⊕ ((B ⊕ (B ⋘ 8) ⊕ (B ⋘ 16)) ⋘ 2) ⊕ (B ⋘ 24): the rotations by whole bytes are byte shuffles.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Round(Vector256<uint> x)
        {
            var b = Substitute(x.AsByte());
            var t = (b ^ Avx2.Shuffle(b, RotateLeft8) ^ Avx2.Shuffle(b, RotateLeft16)).AsUInt32();
            return b.AsUInt32() ^ Avx2.ShiftLeftLogical(t, 2) ^ Avx2.ShiftRightLogical(t, 30) ^ Avx2.Shuffle(b, RotateLeft24).AsUInt32();
        }

        /// <summary>An affine byte map as two 16-entry tables, one per nibble: f(x) = low[x &amp; 15] ⊕ high[x &gt;&gt; 4].</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<byte> Affine(Vector256<byte> x, Vector256<byte> low, Vector256<byte> high) =>
            Avx2.Shuffle(low, x & LowNibbles) ^ Avx2.Shuffle(high, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & LowNibbles);

        private static (Vector256<byte> Low, Vector256<byte> High) NibbleTables(byte[] affine)
        {
            var low = new byte[16];
            var high = new byte[16];
            for (var n = 0; n < 16; n++)
            {
                low[n] = affine[n];
                high[n] = (byte)(affine[n << 4] ^ affine[0]);
            }

            return (Repeated(low), Repeated(high));
        }

        /// <summary>AES's S-box affine map: z ⊕ (z ⋘ 1) ⊕ (z ⋘ 2) ⊕ (z ⋘ 3) ⊕ (z ⋘ 4) ⊕ 0x63 on bytes.</summary>
        private static byte AesAffine(byte z)
        {
            var result = z ^ 0x63;
            for (var shift = 1; shift <= 4; shift++) result ^= (z << shift) | (z >> (8 - shift));
            return (byte)result;
        }

        /// <summary>The byte shuffle rotating each little-endian 32-bit word left by <paramref name="bytes"/> bytes.</summary>
        private static byte[] WordRotation(int bytes)
        {
            var shuffle = new byte[16];
            for (var i = 0; i < 16; i++) shuffle[i] = (byte)((i & ~3) | ((i - bytes) & 3));
            return shuffle;
        }

        private static Vector256<byte> Repeated(byte[] sixteen)
        {
            var half = Vector128.Create<byte>(sixteen);
            return Vector256.Create(half, half);
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
            IsAvailable = Gfni.V512.IsSupported && Avx512F.IsSupported && MatchesTable(input =>
            {
                var output = new byte[64];
                Substitute(Vector512.Create<byte>(input)).CopyTo(output);
                return output;
            });
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

        /// <summary>The affine transforms' GF2P8AFFINE matrices, from the byte maps of <see cref="FieldMaps"/>.</summary>
        internal static (ulong Into, byte IntoConstant, ulong OutOf) Matrices()
        {
            var (into, outOf) = FieldMaps();
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
