using System.Buffers.Binary;
using System.Numerics;

namespace Custos.Supervision;

/// <summary>
/// The on-disk format of the alert store (format version 1, frozen by tests). <c>alerts.log</c> starts with the
/// 8-byte magic <c>CSALRT01</c>, then one frame per block that raised alerts: payload length (u32, big-endian),
/// CRC-32C of the payload (u32, big-endian), payload (an encoded <c>AlertBatch</c>). <c>progress</c> holds two
/// 16-byte slots, written alternately: next height to evaluate (u64), CRC-32C of those 8 bytes (u32), zero (u32);
/// the larger valid slot wins, so a torn write of one slot leaves the other.
/// </summary>
internal static class AlertLogFormat
{
    public const string LogFileName = "alerts.log";
    public const string ProgressFileName = "progress";
    public const int FrameHeaderBytes = 8;
    public const int ProgressSlotBytes = 16;

    /// <summary>The largest batch a frame may carry; a length above it can only be damage.</summary>
    public const int FramePayloadBytesMax = 64 * 1024 * 1024;

    public static ReadOnlySpan<byte> Magic => "CSALRT01"u8;

    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var frame = new byte[FrameHeaderBytes + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), Crc32C(payload));
        payload.CopyTo(frame.AsSpan(FrameHeaderBytes));
        return frame;
    }

    public static byte[] ProgressSlot(ulong nextHeight)
    {
        var slot = new byte[ProgressSlotBytes];
        BinaryPrimitives.WriteUInt64BigEndian(slot, nextHeight);
        BinaryPrimitives.WriteUInt32BigEndian(slot.AsSpan(8), Crc32C(slot.AsSpan(0, 8)));
        return slot;
    }

    public static bool TryReadProgressSlot(ReadOnlySpan<byte> slot, out ulong nextHeight)
    {
        nextHeight = 0;
        if (slot.Length < ProgressSlotBytes) return false;
        if (Crc32C(slot[..8]) != BinaryPrimitives.ReadUInt32BigEndian(slot[8..])) return false;
        nextHeight = BinaryPrimitives.ReadUInt64BigEndian(slot);
        return true;
    }

    public static uint Crc32C(ReadOnlySpan<byte> bytes)
    {
        var crc = uint.MaxValue;
        var at = 0;
        for (; at + 8 <= bytes.Length; at += 8) crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(bytes[at..]));
        for (; at < bytes.Length; at++) crc = BitOperations.Crc32C(crc, bytes[at]);
        return ~crc;
    }
}
