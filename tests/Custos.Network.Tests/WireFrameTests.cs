using System.Buffers;
using CsCheck;
using Custos.Core.Wire;
using Custos.Network.Grpc;
using Custos.Network.Wire;
using Google.Protobuf;

namespace Custos.Network.Tests;

/// <summary>The peer link's frame decoder, and what a node does with frames that do not decode.</summary>
public sealed class WireFrameTests
{
    [Fact]
    public void Decoding_arbitrary_bytes_never_throws_and_yields_a_frame_or_a_malformed_error()
    {
        Gen.Byte.Array[0, 512].Sample(bytes =>
        {
            var frame = PeerLinkProtocol.Decode(new ReadOnlySequence<byte>(bytes));
            if (frame.Error is { } error)
            {
                Assert.Equal(ErrorCode.Malformed, error.Code);
                Assert.True(frame.Payload.IsEmpty);
            }
            else
            {
                Assert.Equal(bytes, PeerLinkProtocol.Encode(frame.Kind, frame.Payload.Span));
            }
        });
    }

    [Fact]
    public void Every_encoded_frame_decodes_to_its_kind_and_payload()
    {
        Gen.Select(Gen.Int[1, 6], Gen.Byte.Array[0, 4096]).Sample((kind, payload) =>
        {
            var frame = PeerLinkProtocol.Decode(new ReadOnlySequence<byte>(PeerLinkProtocol.Encode((FrameKind)kind, payload)));
            Assert.Null(frame.Error);
            Assert.Equal((FrameKind)kind, frame.Kind);
            Assert.Equal(payload, frame.Payload.ToArray());
        });
    }

    [Fact]
    public void A_frame_with_an_unknown_field_is_malformed()
    {
        var encoded = PeerLinkProtocol.Encode(FrameKind.Consensus, [1, 2, 3]).Concat(UnknownField()).ToArray();

        var frame = PeerLinkProtocol.Decode(new ReadOnlySequence<byte>(encoded));

        Assert.Equal(ErrorCode.Malformed, frame.Error?.Code);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("unknown-field")]
    [InlineData("truncated")]
    public async Task A_peer_sending_a_frame_that_does_not_decode_is_banned_and_the_node_keeps_serving_others(string defect)
    {
        await using var cluster = (GrpcCluster)TestCluster.Create("gm", ["a", "b", "c"]);
        await cluster.StartAsync();
        await cluster.WaitConnectedAsync();
        var valid = PeerLinkProtocol.Encode(FrameKind.Consensus, new byte[100]);
        byte[] message = defect switch
        {
            "garbage" => [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            "unknown-field" => [.. valid, .. UnknownField()],
            _ => valid[..^10],
        };

        await cluster.InjectRawAsync("b", "a", message);

        Assert.True(await Wait.UntilAsync(() => cluster["a"].Peer("b").State == PeerState.Banned), cluster.Describe(["a"]));
        Assert.Contains("MALFORMED", cluster["a"].Peer("b").BanReason);
        Assert.True(await Wait.UntilAsync(() => !cluster["a"].Peer("b").InboundConnected));
        Assert.True(cluster["c"].TrySend("a", FrameKind.Consensus, new byte[] { 9 }, out _));
        Assert.Equal("c", Assert.Single(await cluster["a"].ReceiveAsync(1)).Peer);

        // While banned, b cannot even complete a handshake.
        await cluster.InjectAsync("b", "a", FrameKind.Consensus, [1]);
        // The listener records the refusal on its own task: wait for it (bounded) rather than race it.
        Assert.True(await Wait.UntilAsync(() => cluster.Node("a").Listener!.RecentRefusals
            .Any(r => r.Error.Code == ErrorCode.NotAuthorised && r.Error.Message.Contains("banned", StringComparison.Ordinal))), cluster.Describe(["a"]));
        Assert.Empty(await cluster["a"].DrainAsync(TimeSpan.FromMilliseconds(200)));
    }

    private static byte[] UnknownField()
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(15, WireFormat.WireType.Varint);
        output.WriteUInt32(1);
        output.Flush();
        return stream.ToArray();
    }
}
