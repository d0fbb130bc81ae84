using System.Buffers;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Network.Wire;
using Google.Protobuf;
using Grpc.Core;

namespace Custos.Network.Grpc;

/// <summary>
/// One frame as the peer link carries it. Decoding never throws: a frame that does not decode carries its
/// <see cref="Error"/>, and the receiver bans the sender for it instead of failing the transport.
/// </summary>
public sealed class PeerLinkFrame
{
    internal PeerLinkFrame(FrameKind kind, ReadOnlyMemory<byte> payload, CustosError? error = null)
    {
        Kind = kind;
        Payload = payload;
        Error = error;
    }

    public FrameKind Kind { get; }

    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Why the frame did not decode; null for a well-formed frame.</summary>
    public CustosError? Error { get; }
}

/// <summary>
/// The <c>custos.v1.PeerLink/Exchange</c> method of network.proto, bound by hand so that decoding is under Custos'
/// control: the envelope must be canonical protobuf (no unknown fields, nothing left over), which keeps one encoding
/// per frame. The size was already checked by gRPC against <c>MaxReceiveMessageSize</c> from the 5-byte message
/// header, before the message was buffered.
/// </summary>
internal static class PeerLinkProtocol
{
    public const string ServiceName = "custos.v1.PeerLink";

    public static readonly Marshaller<PeerLinkFrame> Marshaller = Marshallers.Create<PeerLinkFrame>(Serialize, Deserialize);

    public static readonly Method<PeerLinkFrame, PeerLinkFrame> Exchange =
        new(MethodType.DuplexStreaming, ServiceName, "Exchange", Marshaller, Marshaller);

    /// <summary>The largest encoded message for a payload limit.</summary>
    public static int MessageSizeMax(int payloadLimit) => payloadLimit + NetworkLimits.FrameEnvelopeOverheadBytesMax;

    private static void Serialize(PeerLinkFrame frame, SerializationContext context)
    {
        var message = new Frame { Kind = frame.Kind, Payload = UnsafeByteOperations.UnsafeWrap(frame.Payload) };
        context.SetPayloadLength(message.CalculateSize());
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }

    private static PeerLinkFrame Deserialize(DeserializationContext context) => Decode(context.PayloadAsReadOnlySequence());

    /// <summary>Decodes one message; never throws. The length was bounded by gRPC before the bytes were buffered.</summary>
    internal static PeerLinkFrame Decode(ReadOnlySequence<byte> bytes)
    {
        Frame message;
        try
        {
            message = Frame.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            return Malformed($"frame does not decode: {e.Message}");
        }

        // Re-encoding only the known fields must give back every byte: unknown, repeated or default-valued fields
        // written out are refused, so each frame has exactly one encoding.
        var canonical = new Frame { Kind = message.Kind, Payload = message.Payload };
        if (canonical.CalculateSize() != bytes.Length) return Malformed("frame is not in canonical form (unknown, repeated or default fields)");
        return new PeerLinkFrame(message.Kind, message.Payload.Memory);
    }

    /// <summary>Encodes one message as <see cref="Serialize"/> puts it on the wire.</summary>
    internal static byte[] Encode(FrameKind kind, ReadOnlySpan<byte> payload) =>
        new Frame { Kind = kind, Payload = ByteString.CopyFrom(payload) }.ToByteArray();

    private static PeerLinkFrame Malformed(string message) =>
        new(FrameKind.Unspecified, ReadOnlyMemory<byte>.Empty, new CustosError(ErrorCode.Malformed, message));
}
