using Custos.Core;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// Parses protobuf from outside the process the way Core's decoders do: size bound first, then parsing, then a
/// canonical-encoding check, so that a credential has exactly one encoding and its id cannot be changed by
/// re-encoding it. Never throws on bad input.
/// </summary>
internal static class CanonicalMessage
{
    public static bool TryParse<T>(MessageParser<T> parser, ReadOnlySpan<byte> bytes, int sizeBytesMax, string what, out T message, out CustosError error)
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
            error = new CustosError(ErrorCode.Malformed, $"{what} is not in canonical encoding (unknown fields, field order, or explicit defaults)");
            return false;
        }

        error = null!;
        return true;
    }

    public static MessageParser<T> Strict<T>(MessageParser<T> parser) where T : IMessage<T> => parser.WithDiscardUnknownFields(true);
}
