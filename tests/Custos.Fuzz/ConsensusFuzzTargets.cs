using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Fuzz;

/// <summary>
/// The consensus message decoder (<see cref="ConsensusMessages.TryDecode"/>): the first thing a validator does with a
/// peer's bytes. Same contract as <see cref="FuzzTargets"/>: nothing is caught, a refusal carries a typed error, an
/// accepted message is its own canonical encoding. An accepted message then goes through the structural decoders the
/// engine applies to what it carries (blocks, votes, timeouts, certificates), which must refuse with typed errors too.
/// </summary>
public static class ConsensusFuzzTargets
{
    public static void ConsensusMessage(ReadOnlySpan<byte> data)
    {
        if (!ConsensusMessages.TryDecode(data, out var message, out var error))
        {
            RequireError(error);
            return;
        }

        if (!message.ToByteArray().AsSpan().SequenceEqual(data)) throw new DecoderContractException("accepted consensus message is not its own canonical encoding");
        switch (message.BodyCase)
        {
            case Consensus.Wire.ConsensusMessage.BodyOneofCase.Proposal:
                Block(message.Proposal.Block);
                SyncInfo(message.Proposal.SyncInfo);
                break;
            case Consensus.Wire.ConsensusMessage.BodyOneofCase.Vote:
                if (message.Vote.Vote is { } vote && !Decoders.TryDecodeVote(vote.ToByteArray(), out _, out _, out error)) RequireError(error);
                break;
            case Consensus.Wire.ConsensusMessage.BodyOneofCase.Timeout:
                if (message.Timeout.Timeout is { } timeout && !Decoders.TryDecodeTimeout(timeout.ToByteArray(), out _, out _, out error)) RequireError(error);
                SyncInfo(message.Timeout.SyncInfo);
                break;
            case Consensus.Wire.ConsensusMessage.BodyOneofCase.SyncInfo:
                SyncInfo(message.SyncInfo);
                break;
            case Consensus.Wire.ConsensusMessage.BodyOneofCase.SyncResponse:
                foreach (var block in message.SyncResponse.Blocks) Block(block);
                SyncInfo(message.SyncResponse.SyncInfo);
                if (message.SyncResponse.EpochEnding is { } ending)
                {
                    Certificate(ending.RootQc);
                    Certificate(ending.CommitQc);
                }

                break;
        }
    }

    /// <summary>Valid consensus messages of every kind, built around the other targets' seeds.</summary>
    public static IReadOnlyList<byte[]> Seeds(Block block, Vote vote, RoundTimeout timeout, QuorumCertificate qc, TimeoutCertificate tc)
    {
        var signature = ByteString.CopyFrom(Enumerable.Repeat((byte)0x5a, WireLimits.SignatureSizeBytes).ToArray());
        var blockHash = ByteString.CopyFrom(Enumerable.Repeat((byte)0x4c, Hash32.SizeBytes).ToArray());
        return
        [
            ConsensusMessages.Encode(new Proposal { Block = block.ToByteString(), Signature = signature, SyncInfo = new SyncInfo { HighestQc = qc } }),
            ConsensusMessages.Encode(new VoteMessage { Vote = vote }),
            ConsensusMessages.Encode(new TimeoutMessage { Timeout = timeout, SyncInfo = new SyncInfo { HighestQc = qc, HighestTc = tc } }),
            ConsensusMessages.Encode(new SyncInfo { HighestQc = qc, HighestTc = tc }),
            ConsensusMessages.Encode(new SyncRequest { Epoch = 3, CommittedHeight = 40, TargetBlockHash = blockHash }),
            ConsensusMessages.Encode(new SyncResponse
            {
                Epoch = 3,
                Blocks = { block.ToByteString() },
                SyncInfo = new SyncInfo { HighestQc = qc },
                EpochEnding = new EpochEndingProof { Epoch = 3, EndingBlockHash = blockHash, EndingHeight = 40, EndingRound = 41, RootQc = qc, CommitQc = qc },
            }),
        ];
    }

    private static void Block(ByteString bytes)
    {
        if (!BlockRecord.TryDecode(bytes.Span, CryptoSuites.Gm, out _, out var error)) RequireError(error);
    }

    private static void SyncInfo(SyncInfo? syncInfo)
    {
        if (syncInfo is null) return;
        Certificate(syncInfo.HighestQc);
        if (syncInfo.HighestTc is { } tc && !CertificateVerifier.TryDecode(tc, out _, out var error)) RequireError(error);
    }

    private static void Certificate(QuorumCertificate? qc)
    {
        if (qc is not null && !CertificateVerifier.TryDecode(qc, out _, out var error)) RequireError(error);
    }

    private static void RequireError(CustosError? error)
    {
        if (error is null || error.Code == ErrorCode.Ok || string.IsNullOrEmpty(error.Message))
        {
            throw new DecoderContractException($"consensus decoder refused its input without a typed error ({error?.ToString() ?? "null"})");
        }
    }
}
