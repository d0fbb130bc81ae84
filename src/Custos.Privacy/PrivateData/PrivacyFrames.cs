using Custos.Core;
using Custos.Core.Wire;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.PrivateData;

/// <summary>
/// The encoding of the one node-network frame kind privacy uses (<see cref="PrivacyFrame"/>: a replica, a request,
/// or a purge notice). The decoder refuses oversize input before parsing and never throws on bad input.
/// </summary>
public static class PrivacyFrames
{
    /// <summary>A replica of the largest value plus its metadata, with room to spare.</summary>
    public const int FrameSizeBytesMax = PrivateDataStore.ValueSizeBytesMax + 64 * 1024;

    public static byte[] Encode(PrivacyFrame frame)
    {
        var bytes = frame.ToByteArray();
        if (bytes.Length > FrameSizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"a privacy frame is at most {FrameSizeBytesMax} bytes");
        return bytes;
    }

    public static byte[] Encode(PrivateDataReplica replica) => Encode(new PrivacyFrame { Replica = replica });

    public static byte[] Encode(PrivateDataRequest request) => Encode(new PrivacyFrame { Request = request });

    public static byte[] Encode(PrivateDataPurgeNotice notice) => Encode(new PrivacyFrame { Purge = notice });

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out PrivacyFrame frame, out CustosError error)
    {
        frame = null!;
        if (bytes.Length > FrameSizeBytesMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"a privacy frame is at most {FrameSizeBytesMax} bytes");
            return false;
        }

        try
        {
            frame = PrivacyFrame.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            error = new CustosError(ErrorCode.Malformed, "the privacy frame does not decode");
            return false;
        }

        if (frame.KindCase == PrivacyFrame.KindOneofCase.None)
        {
            error = new CustosError(ErrorCode.Malformed, "the privacy frame carries nothing");
            return false;
        }

        error = null!;
        return true;
    }
}
