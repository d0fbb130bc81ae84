using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Consensus;

/// <summary>Bounds on consensus messages, checked before parsing.</summary>
public static class ConsensusLimits
{
    /// <summary>A proposal carries one block; a catch-up answer is cut to fit too.</summary>
    public const int MessageSizeBytesMax = WireLimits.BlockSizeBytesMax + 1024 * 1024;

    /// <summary>Safety state: small counters plus one vote, one timeout, one QC and one TC.</summary>
    public const int SafetyStateSizeBytesMax = 2 * WireLimits.TimeoutSizeBytesMax + WireLimits.QuorumCertificateSizeBytesMax + WireLimits.TimeoutCertificateSizeBytesMax + 4096;
}

/// <summary>Encoding and canonical decoding of <see cref="ConsensusMessage"/> and <see cref="SafetyState"/>.</summary>
public static class ConsensusMessages
{
    private static readonly MessageParser<ConsensusMessage> MessageParser = ConsensusMessage.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<SafetyState> SafetyParser = SafetyState.Parser.WithDiscardUnknownFields(true);

    public static byte[] Encode(ConsensusMessage message) => message.ToByteArray();

    public static byte[] Encode(Proposal proposal) => Encode(new ConsensusMessage { Proposal = proposal });

    public static byte[] Encode(VoteMessage vote) => Encode(new ConsensusMessage { Vote = vote });

    public static byte[] Encode(TimeoutMessage timeout) => Encode(new ConsensusMessage { Timeout = timeout });

    public static byte[] Encode(SyncInfo syncInfo) => Encode(new ConsensusMessage { SyncInfo = syncInfo });

    public static byte[] Encode(SyncRequest request) => Encode(new ConsensusMessage { SyncRequest = request });

    public static byte[] Encode(SyncResponse response) => Encode(new ConsensusMessage { SyncResponse = response });

    /// <summary>Size bound, protobuf parse, canonical encoding, exactly one body. Never throws on bad input.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out ConsensusMessage message, out CustosError error)
    {
        if (!TryParse(MessageParser, bytes, ConsensusLimits.MessageSizeBytesMax, "consensus message", out message, out error)) return false;
        if (message.BodyCase == ConsensusMessage.BodyOneofCase.None)
        {
            error = new CustosError(ErrorCode.Malformed, "consensus message has no body");
            return false;
        }

        return true;
    }

    public static bool TryDecodeSafetyState(ReadOnlySpan<byte> bytes, out SafetyState state, out CustosError error) =>
        TryParse(SafetyParser, bytes, ConsensusLimits.SafetyStateSizeBytesMax, "safety state", out state, out error);

    private static bool TryParse<T>(MessageParser<T> parser, ReadOnlySpan<byte> bytes, int sizeBytesMax, string what, out T message, out CustosError error)
        where T : IMessage<T>
    {
        message = default!;
        if (bytes.Length > sizeBytesMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"{what} is {bytes.Length} bytes, at most {sizeBytesMax} allowed");
            return false;
        }

        try
        {
            message = parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            error = new CustosError(ErrorCode.Malformed, $"{what} is not valid protobuf: {e.Message}");
            return false;
        }

        if (message.CalculateSize() != bytes.Length || !message.ToByteArray().AsSpan().SequenceEqual(bytes))
        {
            error = new CustosError(ErrorCode.Malformed, $"{what} is not in canonical encoding");
            return false;
        }

        error = null!;
        return true;
    }
}
