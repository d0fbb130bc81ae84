using System.Text;
using Custos.Consensus.Wire;
using Google.Protobuf.Reflection;

namespace Custos.Consensus.Tests;

/// <summary>
/// Freezes the consensus wire and storage format (protos/custos/v1/consensus.proto) and the journal's hash domain.
/// Changing any of these is a format change: nodes would stop understanding each other and journals would stop
/// verifying.
/// </summary>
public sealed class ConsensusFormatTests
{
    public static TheoryData<string, string> Fields() => new()
    {
        { "SyncInfo", "highest_qc=1 highest_tc=2" },
        { "Proposal", "block=1 signature=2 sync_info=3" },
        { "VoteMessage", "vote=1" },
        { "TimeoutMessage", "timeout=1 sync_info=2" },
        { "SyncRequest", "epoch=1 committed_height=2 target_block_hash=3" },
        { "SyncResponse", "epoch=1 blocks=2 sync_info=3 epoch_ending=4" },
        { "ConsensusMessage", "proposal=1 vote=2 timeout=3 sync_info=4 sync_request=5 sync_response=6" },
        { "SafetyState", "epoch=1 highest_voted_round=2 highest_proposed_round=3 highest_qc_round=4 last_timeout=5 last_vote=6 highest_qc=7 highest_tc=8" },
        { "EpochEndingProof", "epoch=1 ending_block_hash=2 ending_height=3 ending_round=4 root_qc=5 suffix_headers=6 commit_qc=7 commit_block_header=8" },
        { "SignedStatement", "kind=1 data=2 signature=3" },
        { "EquivocationEvidence", "epoch=1 round=2 culprit=3 first=4 second=5" },
        { "ValidatorSetRecord", "epoch=1 public_keys=2" },
        { "JournalEntry", "kind=1 time_ms=2 peer=3 message=4 reason=5 block_header=6 commit_qc=7 validators=8 evidence=9 epoch_ending=10" },
    };

    [Theory]
    [MemberData(nameof(Fields))]
    public void Field_numbers_are_frozen(string message, string fields)
    {
        var descriptor = ConsensusReflection.Descriptor.FindTypeByName<MessageDescriptor>(message);
        Assert.NotNull(descriptor);
        Assert.Equal(fields, string.Join(" ", descriptor.Fields.InFieldNumberOrder().Select(f => $"{f.Name}={f.FieldNumber}")));
    }

    [Fact]
    public void Enum_values_are_frozen()
    {
        Assert.Equal([0, 1, 2, 3], Enum.GetValues<SignedKind>().Select(v => (int)v));
        Assert.Equal([SignedKind.Unspecified, SignedKind.Proposal, SignedKind.Vote, SignedKind.Timeout], Enum.GetValues<SignedKind>());
        Assert.Equal(
            [JournalEntryKind.Unspecified, JournalEntryKind.Received, JournalEntryKind.Sent, JournalEntryKind.Rejected, JournalEntryKind.Commit, JournalEntryKind.Epoch, JournalEntryKind.Evidence],
            Enum.GetValues<JournalEntryKind>().OrderBy(v => (int)v));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], Enum.GetValues<JournalEntryKind>().Select(v => (int)v).Order());
    }

    [Fact]
    public void Journal_hash_domain_is_frozen()
    {
        Assert.Equal("custos/v1/consensus_journal\0", Encoding.ASCII.GetString(JournalChain.Domain));
    }

    [Fact]
    public void Safety_state_encoding_of_a_known_vector_is_frozen()
    {
        var state = new SafetyState { Epoch = 2, HighestVotedRound = 300, HighestProposedRound = 299, HighestQcRound = 298 };
        Assert.Equal("080210ac0218ab0220aa02", Convert.ToHexStringLower(Google.Protobuf.MessageExtensions.ToByteArray(state)));
    }
}
