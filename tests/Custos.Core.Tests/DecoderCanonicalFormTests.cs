using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Core.Tests;

/// <summary>What every decoder does, whatever it decodes: bound, parse, canonical form.</summary>
public sealed class DecoderCanonicalFormTests
{
    public static TheoryData<string> DecoderNames => DecoderCases.Names;

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Valid_object_is_accepted_and_reencodes_to_the_same_bytes(string decoder)
    {
        var @case = DecoderCases.Get(decoder);
        var outcome = @case.Decode(@case.Valid);
        Assert.True(outcome.Accepted, outcome.Error?.ToString());
        Assert.Null(outcome.Error);
        Assert.NotEmpty(outcome.Carried);
        Assert.Equal(@case.Valid, outcome.Carried[0].Carried);
        foreach (var (carried, reencoded) in outcome.Carried)
        {
            Assert.Equal(carried, reencoded);
        }
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Input_over_the_size_bound_is_refused_as_TooLarge_before_parsing(string decoder)
    {
        // 0xff is not a valid tag, so had the decoder parsed first it would have reported Malformed.
        var @case = DecoderCases.Get(decoder);
        var outcome = @case.Decode(WireSamples.Filled(@case.SizeBytesMax + 1, 0xff));
        Assert.False(outcome.Accepted);
        Assert.Equal(ErrorCode.TooLarge, outcome.Error!.Code);
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Input_at_the_size_bound_is_parsed_rather_than_refused_for_size(string decoder)
    {
        var @case = DecoderCases.Get(decoder);
        var outcome = @case.Decode(WireSamples.Filled(@case.SizeBytesMax, 0xff));
        Assert.False(outcome.Accepted);
        Assert.Equal(ErrorCode.Malformed, outcome.Error!.Code);
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Truncated_encoding_is_refused_as_Malformed(string decoder)
    {
        var @case = DecoderCases.Get(decoder);
        var outcome = @case.Decode(@case.Valid[..^1]);
        Assert.False(outcome.Accepted);
        Assert.Equal(ErrorCode.Malformed, outcome.Error!.Code);
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Bytes_that_are_not_protobuf_are_refused_as_Malformed(string decoder)
    {
        var @case = DecoderCases.Get(decoder);
        byte[][] garbage =
        [
            [0x00, 0x01], // tag with field number zero
            [0x0a, 0x05, 0x01], // length runs past the end
            [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // negative length
            [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // varint longer than ten bytes
            [0x0c], // end-group without a start
        ];
        foreach (var bytes in garbage)
        {
            var outcome = @case.Decode(bytes);
            Assert.False(outcome.Accepted);
            Assert.Equal(ErrorCode.Malformed, outcome.Error!.Code);
        }
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Explicitly_encoded_default_value_is_refused_as_Malformed(string decoder)
    {
        var @case = DecoderCases.Get(decoder);
        var outcome = @case.Decode(@case.WithExplicitDefault);
        Assert.False(outcome.Accepted);
        Assert.Equal(ErrorCode.Malformed, outcome.Error!.Code);
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Fields_out_of_order_are_refused_as_Malformed(string decoder)
    {
        var @case = DecoderCases.Get(decoder);
        var fields = RawField.Split(@case.Valid);
        (fields[0], fields[1]) = (fields[1], fields[0]);
        var outcome = @case.Decode(RawField.Join(fields));
        Assert.False(outcome.Accepted);
        Assert.Equal(ErrorCode.Malformed, outcome.Error!.Code);
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Unknown_field_is_refused_as_Malformed(string decoder)
    {
        var @case = DecoderCases.Get(decoder);
        byte[] unknown = [.. RawField.Varint(99 << 3), 0x01];
        var outcome = @case.Decode([.. @case.Valid, .. unknown]);
        Assert.False(outcome.Accepted);
        Assert.Equal(ErrorCode.Malformed, outcome.Error!.Code);
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Duplicated_field_is_refused_as_Malformed(string decoder)
    {
        // Protobuf keeps the last of two singular fields, so the duplicate parses; only the canonical check sees it.
        var @case = DecoderCases.Get(decoder);
        var fields = RawField.Split(@case.Valid);
        fields.Insert(1, fields[0]);
        var outcome = @case.Decode(RawField.Join(fields));
        Assert.False(outcome.Accepted);
        Assert.Equal(ErrorCode.Malformed, outcome.Error!.Code);
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Empty_input_is_refused_with_a_typed_error(string decoder)
    {
        var outcome = DecoderCases.Get(decoder).Decode([]);
        Assert.False(outcome.Accepted);
        Assert.NotEqual(ErrorCode.Ok, outcome.Error!.Code);
    }

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void Invalid_utf8_in_a_string_is_refused_as_Malformed(string decoder)
    {
        // Every decoded object reaches a chain_id string; replace the sample's with bytes that are not UTF-8.
        var @case = DecoderCases.Get(decoder);
        var invalid = ReplaceChainId(@case.Name, [0x63, 0xff, 0xfe]);
        var outcome = @case.Decode(invalid);
        Assert.False(outcome.Accepted);
        Assert.Equal(ErrorCode.Malformed, outcome.Error!.Code);
    }

    private static byte[] ReplaceChainId(string decoder, byte[] chainId)
    {
        byte[] WithChainId(IMessage message)
        {
            var fields = RawField.Split(message.ToByteArray());
            fields[0] = new RawField(1, [0x0a, (byte)chainId.Length, .. chainId]);
            return RawField.Join(fields);
        }

        return decoder switch
        {
            "Transaction" => WireSamples.Envelope(WithChainId(WireSamples.Body())).ToByteArray(),
            "Block" => new Block { Header = ByteString.CopyFrom(WithChainId(WireSamples.BlockHeader())) }.ToByteArray(),
            "BlockHeader" => WithChainId(WireSamples.BlockHeader()),
            "Vote" => new Vote(WireSamples.Vote()) { Data = ByteString.CopyFrom(WithChainId(WireSamples.VoteData())) }.ToByteArray(),
            "VoteData" => WithChainId(WireSamples.VoteData()),
            "QuorumCertificate" => new QuorumCertificate(WireSamples.QuorumCertificate()) { VoteData = ByteString.CopyFrom(WithChainId(WireSamples.VoteData())) }.ToByteArray(),
            "Timeout" => new RoundTimeout(WireSamples.Timeout()) { Data = ByteString.CopyFrom(WithChainId(WireSamples.TimeoutData())) }.ToByteArray(),
            "TimeoutData" => WithChainId(WireSamples.TimeoutData()),
            "TimeoutCertificate" => TimeoutCertificateWithEntryData(WithChainId(WireSamples.TimeoutData())),
            _ => throw new ArgumentOutOfRangeException(nameof(decoder), decoder, "no chain id to replace"),
        };
    }

    private static byte[] TimeoutCertificateWithEntryData(byte[] data)
    {
        var tc = WireSamples.TimeoutCertificate();
        tc.Signatures[0].Data = ByteString.CopyFrom(data);
        return tc.ToByteArray();
    }
}
