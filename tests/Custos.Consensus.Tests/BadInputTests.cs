using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;
using CsCheck;

namespace Custos.Consensus.Tests;

/// <summary>Invariant 8: whatever arrives, the engine refuses it with a typed reason and never throws.</summary>
public sealed class BadInputTests
{
    private readonly TestChain _chain = new();

    [Fact]
    public void Random_bytes_are_rejected_with_a_typed_reason_and_never_throw()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            var before = node.Journal.Records.Count;
            node.Receive(new NodeId(2), bytes);
            Assert.Empty(node.Halts);
            if (ConsensusMessages.TryDecode(bytes, out _, out _)) return; // rare: random bytes that form a valid, harmless message
            Assert.Equal(before + 1, node.Journal.Records.Count);
            var entry = JournalEntry.Parser.ParseFrom(node.Journal.Records[^1].Payload);
            Assert.Equal(JournalEntryKind.Rejected, entry.Kind);
            Assert.NotEmpty(entry.Reason);
        }, iter: 2_000, threads: 1);
    }

    [Fact]
    public void Valid_messages_with_bytes_flipped_never_throw()
    {
        var b1 = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2);
        byte[][] valid =
        [
            _chain.SignProposal(2, b1, new SyncInfo { HighestQc = _chain.GenesisQc }),
            ConsensusMessages.Encode(new VoteMessage { Vote = _chain.SignVote(0, _chain.VoteDataFor(b1, 0)) }),
            ConsensusMessages.Encode(new TimeoutMessage { Timeout = _chain.SignTimeout(3, 1, _chain.GenesisQc, 0) }),
            ConsensusMessages.Encode(new SyncRequest { Epoch = 1, CommittedHeight = 0 }),
        ];
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Int[0, 1_000_000], Gen.Byte[1, 255]).Sample((which, position, mask) =>
        {
            var node = new TestNode(_chain, 1);
            node.Start();
            var bytes = (byte[])valid[which].Clone();
            bytes[position % bytes.Length] ^= mask;
            node.Receive(new NodeId(2), bytes);
            return node.Halts.Count == 0;
        }, iter: 300);
    }

    [Fact]
    public void Message_larger_than_the_limit_is_refused_before_parsing()
    {
        Assert.False(ConsensusMessages.TryDecode(new byte[ConsensusLimits.MessageSizeBytesMax + 1], out _, out var error));
        Assert.Equal(Core.Wire.ErrorCode.TooLarge, error.Code);
    }

    [Fact]
    public void Message_with_no_body_or_unknown_fields_is_malformed()
    {
        Assert.False(ConsensusMessages.TryDecode([], out _, out var error));
        Assert.Equal(Core.Wire.ErrorCode.Malformed, error.Code);
        var request = ConsensusMessages.Encode(new SyncRequest { Epoch = 1 });
        Assert.False(ConsensusMessages.TryDecode([.. request, 0x78, 0x01], out _, out error));
        Assert.Equal(Core.Wire.ErrorCode.Malformed, error.Code);
    }

    [Fact]
    public void Vote_signed_by_one_validator_under_anothers_index_is_rejected()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var b1 = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2);
        var vote = _chain.SignVote(0, _chain.VoteDataFor(b1, 0));
        vote.Voter = 3;
        node.Receive(new NodeId(0), ConsensusMessages.Encode(new VoteMessage { Vote = vote }));
        Assert.StartsWith("SIGNATURE_INVALID", node.JournalEntries().Last().Reason);
        Assert.Empty(node.Evidence);
    }

    [Fact]
    public void Sync_info_with_a_tc_below_the_quorum_is_rejected()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var tc = _chain.MakeTc(5, [(0, 0)]);
        node.Receive(new NodeId(0), ConsensusMessages.Encode(new SyncInfo { HighestTc = tc }));
        Assert.StartsWith("QUORUM_INVALID", node.JournalEntries().Last().Reason);
        Assert.Equal(1UL, node.Engine.CurrentRound);
    }

    [Fact]
    public void Message_of_a_later_epoch_makes_the_node_ask_for_blocks()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        node.Receive(new NodeId(2), ConsensusMessages.Encode(new TimeoutMessage { Timeout = _chain.SignTimeout(2, 1, _chain.GenesisQc, 0, epoch: 2) }));
        Assert.Contains(node.Sent, s => s.To == new NodeId(2) && TestNode.Decode(s.Message).BodyCase == ConsensusMessage.BodyOneofCase.SyncRequest);
    }
}
