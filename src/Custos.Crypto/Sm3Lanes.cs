using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Custos.Crypto;

/// <summary>
/// SM3 of up to sixteen messages at once, one message to each 32-bit lane of vectors: the same rounds as
/// <see cref="Sm3"/> on vectors, sixteen lanes to an AVX-512 vector or, on processors with AVX2 only, eight lanes to
/// each of two 256-bit ones. For the many short messages of equal length a node hashes together: the leaves and
/// nodes of a Merkle tree level, the transactions of a batch. Every message must pad to the same number of blocks.
/// </summary>
internal static class Sm3Lanes
{
    public const int Width = 16;

    private const int HalfWidth = Width / 2;

    private const int BlockSizeBytes = 64;

    public static bool IsSupported => Avx512F.IsSupported || Avx2.IsSupported;

    /// <summary>Whether the sixteen lanes are one AVX-512 vector (else two AVX2 ones).</summary>
    public static bool IsWide => Avx512F.IsSupported;

    /// <summary>The number of 64-byte blocks SM3 compresses for a message of <paramref name="length"/> bytes.</summary>
    public static int BlocksFor(int length) => (length + 8) / BlockSizeBytes + 1;

    /// <summary>
    /// digests[32·i ..] = SM3(prefix ‖ messages[i]) for up to <see cref="Width"/> messages whose prefixed lengths pad
    /// to the same number of blocks.
    /// </summary>
    public static void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<ReadOnlyMemory<byte>> messages, Span<byte> digests) =>
        Hash(prefix, messages, digests, IsWide);

    /// <summary>As the other overload, on AVX-512 or on AVX2 (tests run both where the processor has both).</summary>
    [SkipLocalsInit]
    internal static void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<ReadOnlyMemory<byte>> messages, Span<byte> digests, bool wide)
    {
        if (wide ? !Avx512F.IsSupported : !Avx2.IsSupported) throw new PlatformNotSupportedException($"SM3 lanes need {(wide ? "AVX-512" : "AVX2")}");
        var lanes = messages.Length;
        if (lanes is 0 or > Width) throw new ArgumentOutOfRangeException(nameof(messages), $"1 to {Width} messages at once");
        if (digests.Length < lanes * Sm3.DigestSizeBytes) throw new ArgumentException("too small for the digests", nameof(digests));
        var blocks = BlocksFor(prefix.Length + messages[0].Length);
        for (var lane = 1; lane < lanes; lane++)
        {
            if (BlocksFor(prefix.Length + messages[lane].Length) != blocks) throw new ArgumentException("the messages must pad to the same number of blocks", nameof(messages));
        }

        // Each lane's padded message, laid out one after the other.
        var paddedLength = blocks * BlockSizeBytes;
        var padded = ArrayPool<byte>.Shared.Rent(paddedLength * lanes);
        try
        {
            for (var lane = 0; lane < lanes; lane++)
            {
                var target = padded.AsSpan(lane * paddedLength, paddedLength);
                prefix.CopyTo(target);
                var message = messages[lane].Span;
                message.CopyTo(target[prefix.Length..]);
                var length = prefix.Length + message.Length;
                target[length] = 0x80;
                target[(length + 1)..(paddedLength - 8)].Clear();
                BinaryPrimitives.WriteUInt64BigEndian(target[(paddedLength - 8)..], (ulong)length * 8);
            }

            var state = wide ? new StateVectors() : default;
            var low = wide ? default : new NarrowStateVectors();
            var high = low;
            Span<uint> words = stackalloc uint[16 * Width];
            for (var block = 0; block < blocks; block++)
            {
                // Word j of every lane's block, lane-major in the vector: words[j·16 + lane]. Unused lanes hash zeros.
                if (lanes < Width) words.Clear();
                for (var lane = 0; lane < lanes; lane++)
                {
                    var source = padded.AsSpan(lane * paddedLength + block * BlockSizeBytes, BlockSizeBytes);
                    for (var j = 0; j < 16; j++) words[j * Width + lane] = BinaryPrimitives.ReadUInt32BigEndian(source[(j * 4)..]);
                }

                if (wide)
                {
                    Compress(ref state, words);
                }
                else
                {
                    Compress(ref low, words, 0);
                    if (lanes > HalfWidth) Compress(ref high, words, HalfWidth);
                }
            }

            Span<uint> output = stackalloc uint[8 * Width];
            if (wide)
            {
                state.CopyTo(output);
            }
            else
            {
                low.CopyTo(output, 0);
                high.CopyTo(output, HalfWidth);
            }

            for (var lane = 0; lane < lanes; lane++)
            {
                var digest = digests.Slice(lane * Sm3.DigestSizeBytes, Sm3.DigestSizeBytes);
                for (var i = 0; i < 8; i++) BinaryPrimitives.WriteUInt32BigEndian(digest[(i * 4)..], output[i * Width + lane]);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(padded);
        }
    }

    private struct StateVectors
    {
        public Vector512<uint> A, B, C, D, E, F, G, H;

        public StateVectors()
        {
            A = Vector512.Create(0x7380166fu);
            B = Vector512.Create(0x4914b2b9u);
            C = Vector512.Create(0x172442d7u);
            D = Vector512.Create(0xda8a0600u);
            E = Vector512.Create(0xa96f30bcu);
            F = Vector512.Create(0x163138aau);
            G = Vector512.Create(0xe38dee4du);
            H = Vector512.Create(0xb0fb0e4eu);
        }

        /// <summary>Word i of lane k to output[i·16 + k].</summary>
        public readonly void CopyTo(Span<uint> output)
        {
            A.CopyTo(output);
            B.CopyTo(output[Width..]);
            C.CopyTo(output[(2 * Width)..]);
            D.CopyTo(output[(3 * Width)..]);
            E.CopyTo(output[(4 * Width)..]);
            F.CopyTo(output[(5 * Width)..]);
            G.CopyTo(output[(6 * Width)..]);
            H.CopyTo(output[(7 * Width)..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Xor3(Vector512<uint> a, Vector512<uint> b, Vector512<uint> c) => Avx512F.TernaryLogic(a, b, c, 0x96);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> P0(Vector512<uint> x) => Xor3(x, Avx512F.RotateLeft(x, 9), Avx512F.RotateLeft(x, 17));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> P1(Vector512<uint> x) => Xor3(x, Avx512F.RotateLeft(x, 15), Avx512F.RotateLeft(x, 23));

    [SkipLocalsInit]
    private static unsafe void Compress(ref StateVectors state, ReadOnlySpan<uint> words)
    {
        var w = stackalloc Vector512<uint>[68];
        for (var j = 0; j < 16; j++) w[j] = Vector512.Create(words.Slice(j * Width, Width));
        for (var j = 16; j < 68; j++)
        {
            w[j] = Xor3(P1(Xor3(w[j - 16], w[j - 9], Avx512F.RotateLeft(w[j - 3], 15))), Avx512F.RotateLeft(w[j - 13], 7), w[j - 6]);
        }

        var constants = Sm3.RotatedConstants;
        Vector512<uint> a = state.A, b = state.B, c = state.C, d = state.D, e = state.E, f = state.F, g = state.G, h = state.H;
        for (var j = 0; j < 64; j++)
        {
            var a12 = Avx512F.RotateLeft(a, 12);
            var ss1 = Avx512F.RotateLeft(a12 + e + Vector512.Create(constants[j]), 7);
            var ss2 = ss1 ^ a12;
            // FF and GG: parity for the first 16 rounds; then majority, and e ? f : g.
            var ff = j < 16 ? Xor3(a, b, c) : Avx512F.TernaryLogic(a, b, c, 0xE8);
            var gg = j < 16 ? Xor3(e, f, g) : Avx512F.TernaryLogic(e, f, g, 0xCA);
            var tt1 = ff + d + ss2 + (w[j] ^ w[j + 4]);
            var tt2 = gg + h + ss1 + w[j];
            d = c;
            c = Avx512F.RotateLeft(b, 9);
            b = a;
            a = tt1;
            h = g;
            g = Avx512F.RotateLeft(f, 19);
            f = e;
            e = P0(tt2);
        }

        state.A ^= a;
        state.B ^= b;
        state.C ^= c;
        state.D ^= d;
        state.E ^= e;
        state.F ^= f;
        state.G ^= g;
        state.H ^= h;
    }

    /// <summary>Eight lanes' state, for AVX2.</summary>
    private struct NarrowStateVectors
    {
        public Vector256<uint> A, B, C, D, E, F, G, H;

        public NarrowStateVectors()
        {
            A = Vector256.Create(0x7380166fu);
            B = Vector256.Create(0x4914b2b9u);
            C = Vector256.Create(0x172442d7u);
            D = Vector256.Create(0xda8a0600u);
            E = Vector256.Create(0xa96f30bcu);
            F = Vector256.Create(0x163138aau);
            G = Vector256.Create(0xe38dee4du);
            H = Vector256.Create(0xb0fb0e4eu);
        }

        /// <summary>Word i of lane k to output[i·16 + first + k].</summary>
        public readonly void CopyTo(Span<uint> output, int first)
        {
            A.CopyTo(output[first..]);
            B.CopyTo(output[(Width + first)..]);
            C.CopyTo(output[(2 * Width + first)..]);
            D.CopyTo(output[(3 * Width + first)..]);
            E.CopyTo(output[(4 * Width + first)..]);
            F.CopyTo(output[(5 * Width + first)..]);
            G.CopyTo(output[(6 * Width + first)..]);
            H.CopyTo(output[(7 * Width + first)..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> RotateLeft(Vector256<uint> x, int count) => (x << count) | (x >>> (32 - count));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> P0(Vector256<uint> x) => x ^ RotateLeft(x, 9) ^ RotateLeft(x, 17);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> P1(Vector256<uint> x) => x ^ RotateLeft(x, 15) ^ RotateLeft(x, 23);

    /// <summary>The sixteen-lane compression on the eight lanes from <paramref name="first"/>, with AVX2.</summary>
    [SkipLocalsInit]
    private static unsafe void Compress(ref NarrowStateVectors state, ReadOnlySpan<uint> words, int first)
    {
        var w = stackalloc Vector256<uint>[68];
        for (var j = 0; j < 16; j++) w[j] = Vector256.Create(words.Slice(j * Width + first, HalfWidth));
        for (var j = 16; j < 68; j++)
        {
            w[j] = P1(w[j - 16] ^ w[j - 9] ^ RotateLeft(w[j - 3], 15)) ^ RotateLeft(w[j - 13], 7) ^ w[j - 6];
        }

        var constants = Sm3.RotatedConstants;
        Vector256<uint> a = state.A, b = state.B, c = state.C, d = state.D, e = state.E, f = state.F, g = state.G, h = state.H;
        for (var j = 0; j < 64; j++)
        {
            var a12 = RotateLeft(a, 12);
            var ss1 = RotateLeft(a12 + e + Vector256.Create(constants[j]), 7);
            var ss2 = ss1 ^ a12;
            // FF and GG: parity for the first 16 rounds; then majority, and e ? f : g.
            var ff = j < 16 ? a ^ b ^ c : (a & b) | (c & (a | b));
            var gg = j < 16 ? e ^ f ^ g : g ^ (e & (f ^ g));
            var tt1 = ff + d + ss2 + (w[j] ^ w[j + 4]);
            var tt2 = gg + h + ss1 + w[j];
            d = c;
            c = RotateLeft(b, 9);
            b = a;
            a = tt1;
            h = g;
            g = RotateLeft(f, 19);
            f = e;
            e = P0(tt2);
        }

        state.A ^= a;
        state.B ^= b;
        state.C ^= c;
        state.D ^= d;
        state.E ^= e;
        state.F ^= f;
        state.G ^= g;
        state.H ^= h;
    }
}
