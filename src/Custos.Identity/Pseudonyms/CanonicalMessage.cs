using Custos.Core;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// Parses protobuf from outside the process with Core's canonical decoding (<see cref="Decoders.TryParseCanonical"/>),
/// so that a credential has exactly one encoding and its id cannot be changed by re-encoding it.
/// </summary>
internal static class CanonicalMessage
{
    public static bool TryParse<T>(MessageParser<T> parser, ReadOnlySpan<byte> bytes, int sizeBytesMax, string what, out T message, out CustosError error)
        where T : IMessage<T> => Decoders.TryParseCanonical(parser, bytes, sizeBytesMax, what, out message, out error);

    public static MessageParser<T> Strict<T>(MessageParser<T> parser) where T : IMessage<T> => parser.WithDiscardUnknownFields(true);
}
