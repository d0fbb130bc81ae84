using System.Globalization;
using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Google.Protobuf;

namespace Custos.Simulation;

/// <summary>A signed statement a message carries at its top level: a proposal's header, a vote's or a timeout's data.</summary>
internal readonly record struct Statement(SignedKind Kind, string ChainId, ulong Epoch, ulong Round, uint Author, ByteString Data, ByteString Signature);

/// <summary>Short, deterministic descriptions of messages and actions for the trace, and statement extraction for the checkers.</summary>
internal static class TraceText
{
    public static bool TryStatement(byte[] bytes, IHashFunction hash, out Statement statement)
    {
        statement = default;
        if (!ConsensusMessages.TryDecode(bytes, out var message, out _)) return false;
        switch (message.BodyCase)
        {
            case ConsensusMessage.BodyOneofCase.Proposal:
                if (!BlockRecord.TryDecode(message.Proposal.Block.Span, hash, out var block, out _)) return false;
                statement = new Statement(SignedKind.Proposal, block.Header.ChainId, block.Epoch, block.Round, block.Header.Proposer, block.HeaderByteString, message.Proposal.Signature);
                return true;
            case ConsensusMessage.BodyOneofCase.Vote:
                if (message.Vote.Vote is null || !Decoders.TryDecodeVote(message.Vote.Vote.ToByteArray(), out var vote, out var voteData, out _)) return false;
                statement = new Statement(SignedKind.Vote, voteData.ChainId, voteData.Epoch, voteData.Round, vote.Voter, vote.Data, vote.Signature);
                return true;
            case ConsensusMessage.BodyOneofCase.Timeout:
                if (message.Timeout.Timeout is null || !Decoders.TryDecodeTimeout(message.Timeout.Timeout.ToByteArray(), out var timeout, out var timeoutData, out _)) return false;
                statement = new Statement(SignedKind.Timeout, timeoutData.ChainId, timeoutData.Epoch, timeoutData.Round, timeout.Author, timeout.Data, timeout.Signature);
                return true;
            default:
                return false;
        }
    }

    public static string Describe(byte[] bytes)
    {
        if (!ConsensusMessages.TryDecode(bytes, out var message, out var error)) return $"undecodable ({bytes.Length} bytes, {ErrorCodes.Name(error.Code)})";
        return message.BodyCase switch
        {
            ConsensusMessage.BodyOneofCase.Proposal => DescribeProposal(message.Proposal),
            ConsensusMessage.BodyOneofCase.Vote => message.Vote.Vote is { } v && Decoders.TryDecodeVoteData(v.Data.Span, out var d, out _)
                ? F($"vote v{v.Voter} e{d.Epoch} r{d.Round} h{d.Height} {Short(d.BlockHash)}")
                : "vote (malformed)",
            ConsensusMessage.BodyOneofCase.Timeout => message.Timeout.Timeout is { } t && Decoders.TryDecodeTimeoutData(t.Data.Span, out var td, out _)
                ? F($"timeout v{t.Author} e{td.Epoch} r{td.Round} hq{td.HighQcRound}")
                : "timeout (malformed)",
            ConsensusMessage.BodyOneofCase.SyncInfo => "sync-info",
            ConsensusMessage.BodyOneofCase.SyncRequest => F($"sync-request e{message.SyncRequest.Epoch} from h{message.SyncRequest.CommittedHeight}"),
            ConsensusMessage.BodyOneofCase.SyncResponse => F($"sync-response e{message.SyncResponse.Epoch} {message.SyncResponse.Blocks.Count} blocks{(message.SyncResponse.EpochEnding is null ? "" : " +ending")}"),
            _ => "empty",
        };
    }

    public static string Describe(ConsensusAction action) => action switch
    {
        SendMessage send => F($"-> {send.To} {Describe(send.Message)}"),
        BroadcastMessage broadcast => $"-> all {Describe(broadcast.Message)}",
        RequestBlocks request => F($"-> {request.Peer} {Describe(request.Message)}"),
        PersistSafetyState persist => F($"persist safety #{persist.Sequence}"),
        CommitBlock commit => F($"commit h{commit.Block.Height} e{commit.Block.Block.Epoch} r{commit.Block.Block.Round} {commit.Block.Hash.ToShortString()}"),
        PersistEpochEnding ending => F($"epoch {ending.Proof.Epoch} ends at h{ending.Proof.EndingHeight}; next set {string.Join(",", ending.Next.Members.Select(m => m.Node))}"),
        ScheduleTimer timer => F($"timer e{timer.Epoch} r{timer.Round} at {timer.AtMs % 10_000_000}"),
        EmitEvidence evidence => F($"evidence {evidence.Evidence.First.Kind} v{evidence.Evidence.Culprit} e{evidence.Evidence.Epoch} r{evidence.Evidence.Round}"),
        JournalAppend journal => F($"journal {journal.Payload.Length} bytes"),
        Halt halt => $"HALT {halt.Reason}",
        _ => action.GetType().Name,
    };

    private static string DescribeProposal(Proposal proposal) =>
        Decoders.TryDecodeBlockHeader(HeaderOf(proposal), out var header, out _)
            ? F($"proposal v{header.Proposer} e{header.Epoch} r{header.Round} h{header.Height}{(header.TimeoutCertificate is null ? "" : " +tc")}")
            : "proposal (malformed)";

    private static ReadOnlySpan<byte> HeaderOf(Proposal proposal)
    {
        try
        {
            return Core.Wire.Block.Parser.ParseFrom(proposal.Block).Header.Span;
        }
        catch (InvalidProtocolBufferException)
        {
            return [];
        }
    }

    private static string Short(ByteString hash) => hash.Length >= 6 ? Convert.ToHexStringLower(hash.Span[..6]) : "?";

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
