using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Custos.Crypto;

/// <summary>
/// SM3 (GB/T 32905-2016), incremental. Ids, batch digests, Merkle and state-tree nodes, journal entries and every
/// SM2 message digest go through it, so it is written for speed: the 64 rounds unrolled into two loops by their
/// boolean functions, the expanded message on the stack, the round constants' rotations precomputed, and no
/// allocation after construction. BouncyCastle's digest computed the same values at about half the speed; the
/// suite's tests check this one against OpenSSL and the standard's examples. Not thread-safe; <see cref="Finish"/>
/// leaves it reset for reuse.
/// </summary>
internal sealed class Sm3
{
    public const int DigestSizeBytes = 32;
    private const int BlockSizeBytes = 64;

    // T_j rotated left by j mod 32 (the standard's SS1 term), for j = 0..63.
    internal static readonly uint[] RotatedConstants = BuildRotatedConstants();

    private readonly uint[] _state = new uint[8];
    private readonly byte[] _buffer = new byte[BlockSizeBytes];
    private int _buffered;
    private ulong _totalBytes;

    public Sm3() => Reset();

    public void Reset()
    {
        _state[0] = 0x7380166f;
        _state[1] = 0x4914b2b9;
        _state[2] = 0x172442d7;
        _state[3] = 0xda8a0600;
        _state[4] = 0xa96f30bc;
        _state[5] = 0x163138aa;
        _state[6] = 0xe38dee4d;
        _state[7] = 0xb0fb0e4e;
        _buffered = 0;
        _totalBytes = 0;
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _totalBytes += (ulong)data.Length;
        if (_buffered > 0)
        {
            var take = Math.Min(BlockSizeBytes - _buffered, data.Length);
            data[..take].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += take;
            data = data[take..];
            if (_buffered < BlockSizeBytes) return;
            Compress(_state, _buffer);
            _buffered = 0;
        }

        while (data.Length >= BlockSizeBytes)
        {
            Compress(_state, data[..BlockSizeBytes]);
            data = data[BlockSizeBytes..];
        }

        if (data.Length > 0)
        {
            data.CopyTo(_buffer);
            _buffered = data.Length;
        }
    }

    public void Finish(Span<byte> digest)
    {
        if (digest.Length < DigestSizeBytes) throw new ArgumentException("an SM3 digest is 32 bytes", nameof(digest));
        var bits = _totalBytes * 8;
        var buffer = _buffer.AsSpan();
        buffer[_buffered++] = 0x80;
        if (_buffered > BlockSizeBytes - 8)
        {
            buffer[_buffered..].Clear();
            Compress(_state, buffer);
            _buffered = 0;
        }

        buffer[_buffered..(BlockSizeBytes - 8)].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(buffer[(BlockSizeBytes - 8)..], bits);
        Compress(_state, buffer);
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteUInt32BigEndian(digest[(i * 4)..], _state[i]);
        Reset();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint P0(uint x) => x ^ BitOperations.RotateLeft(x, 9) ^ BitOperations.RotateLeft(x, 17);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint P1(uint x) => x ^ BitOperations.RotateLeft(x, 15) ^ BitOperations.RotateLeft(x, 23);

    // Pointers rather than spans: the bounds checks of the expansion's and rounds' indexing cost a tenth of the time.
    [SkipLocalsInit]
    private static unsafe void Compress(uint[] state, ReadOnlySpan<byte> block)
    {
        var w = stackalloc uint[68];
        for (var j = 0; j < 16; j++) w[j] = BinaryPrimitives.ReadUInt32BigEndian(block[(j * 4)..]);
        for (var j = 16; j < 68; j++)
        {
            w[j] = P1(w[j - 16] ^ w[j - 9] ^ BitOperations.RotateLeft(w[j - 3], 15)) ^ BitOperations.RotateLeft(w[j - 13], 7) ^ w[j - 6];
        }

        fixed (uint* constants = RotatedConstants)
        {
            uint a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
            for (var j = 0; j < 16; j++)
            {
                var a12 = BitOperations.RotateLeft(a, 12);
                var ss1 = BitOperations.RotateLeft(a12 + e + constants[j], 7);
                var ss2 = ss1 ^ a12;
                var tt1 = (a ^ b ^ c) + d + ss2 + (w[j] ^ w[j + 4]);
                var tt2 = (e ^ f ^ g) + h + ss1 + w[j];
                d = c;
                c = BitOperations.RotateLeft(b, 9);
                b = a;
                a = tt1;
                h = g;
                g = BitOperations.RotateLeft(f, 19);
                f = e;
                e = P0(tt2);
            }

            for (var j = 16; j < 64; j++)
            {
                var a12 = BitOperations.RotateLeft(a, 12);
                var ss1 = BitOperations.RotateLeft(a12 + e + constants[j], 7);
                var ss2 = ss1 ^ a12;
                var tt1 = ((a & b) | (a & c) | (b & c)) + d + ss2 + (w[j] ^ w[j + 4]);
                var tt2 = ((e & f) | (~e & g)) + h + ss1 + w[j];
                d = c;
                c = BitOperations.RotateLeft(b, 9);
                b = a;
                a = tt1;
                h = g;
                g = BitOperations.RotateLeft(f, 19);
                f = e;
                e = P0(tt2);
            }

            state[0] ^= a;
            state[1] ^= b;
            state[2] ^= c;
            state[3] ^= d;
            state[4] ^= e;
            state[5] ^= f;
            state[6] ^= g;
            state[7] ^= h;
        }
    }

    private static uint[] BuildRotatedConstants()
    {
        var constants = new uint[64];
        for (var j = 0; j < 64; j++) constants[j] = BitOperations.RotateLeft(j < 16 ? 0x79cc4519u : 0x7a879d8au, j % 32);
        return constants;
    }
}
