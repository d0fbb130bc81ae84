using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Cli.Audit;

/// <summary>
/// Counts the distinct timeout certificates a window of the consensus journal holds: in the headers of proposals,
/// committed blocks and sync answers, and in every sync info, of the messages the node accepted or sent (refused
/// messages prove nothing). Each TC counts once however often it was relayed. The audit has verified them already;
/// this only counts, for the report's journal summary.
/// </summary>
internal static class TimeoutCertificateCensus
{
    public static ulong Count(IReadOnlyList<JournalRecord> journal, IHashFunction hash)
    {
        ArgumentNullException.ThrowIfNull(journal);
        var seen = new HashSet<Hash32>();

        void Add(TimeoutCertificate? tc)
        {
            if (tc is not null) seen.Add(hash.Hash(tc.ToByteArray()));
        }

        void FromSyncInfo(SyncInfo? syncInfo) => Add(syncInfo?.HighestTc);

        void FromHeader(ReadOnlySpan<byte> headerBytes)
        {
            if (Decoders.TryDecodeBlockHeader(headerBytes, out var header, out _)) Add(header.TimeoutCertificate);
        }

        void FromBlock(ByteString block)
        {
            if (Decoders.TryDecodeBlock(block.Span, out var decoded, out _)) Add(decoded.Header.TimeoutCertificate);
        }

        foreach (var record in journal)
        {
            JournalEntry entry;
            try
            {
                entry = JournalEntry.Parser.ParseFrom(record.Payload);
            }
            catch (InvalidProtocolBufferException)
            {
                continue;
            }

            switch (entry.Kind)
            {
                case JournalEntryKind.Commit:
                    FromHeader(entry.BlockHeader.Span);
                    break;
                case JournalEntryKind.Received or JournalEntryKind.Sent when ConsensusMessages.TryDecode(entry.Message.Span, out var message, out _):
                    switch (message.BodyCase)
                    {
                        case ConsensusMessage.BodyOneofCase.Proposal:
                            FromBlock(message.Proposal.Block);
                            FromSyncInfo(message.Proposal.SyncInfo);
                            break;
                        case ConsensusMessage.BodyOneofCase.Timeout:
                            FromSyncInfo(message.Timeout.SyncInfo);
                            break;
                        case ConsensusMessage.BodyOneofCase.SyncInfo:
                            FromSyncInfo(message.SyncInfo);
                            break;
                        case ConsensusMessage.BodyOneofCase.SyncResponse:
                            foreach (var block in message.SyncResponse.Blocks) FromBlock(block);
                            FromSyncInfo(message.SyncResponse.SyncInfo);
                            break;
                    }

                    break;
            }
        }

        return (ulong)seen.Count;
    }
}
