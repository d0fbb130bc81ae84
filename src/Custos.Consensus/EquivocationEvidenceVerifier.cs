using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;

namespace Custos.Consensus;

/// <summary>
/// Checks <see cref="EquivocationEvidence"/> with nothing but the epoch's validator set: anyone (another validator,
/// the regulator, an auditor) can confirm that the culprit signed two different statements of one kind for one
/// (epoch, round). Pure and thread-safe.
/// </summary>
public static class EquivocationEvidenceVerifier
{
    public static bool TryVerify(EquivocationEvidence evidence, ValidatorSet set, ICryptoSuite suite, out CustosError error)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        error = Check(evidence, set, suite)!;
        return error is null;
    }

    private static CustosError? Check(EquivocationEvidence evidence, ValidatorSet set, ICryptoSuite suite)
    {
        if (evidence.Epoch != set.Epoch)
        {
            return new CustosError(ErrorCode.EpochMismatch, $"evidence of epoch {evidence.Epoch} checked against the validators of epoch {set.Epoch}");
        }

        if (evidence.Culprit >= set.Count)
        {
            return new CustosError(ErrorCode.NotAValidator, $"culprit index {evidence.Culprit} is not a validator of epoch {set.Epoch}");
        }

        if (evidence.First is null || evidence.Second is null || evidence.First.Kind != evidence.Second.Kind || evidence.First.Kind == SignedKind.Unspecified)
        {
            return new CustosError(ErrorCode.InvalidField, "evidence must hold two statements of one kind");
        }

        if (evidence.First.Data.Equals(evidence.Second.Data))
        {
            return new CustosError(ErrorCode.InvalidField, "the two statements are the same; signing one statement twice is not equivocation");
        }

        string? chainId = null;
        foreach (var statement in new[] { evidence.First, evidence.Second })
        {
            var error = CheckNames(statement, evidence, out var statementChainId);
            if (error is not null) return error;
            chainId ??= statementChainId;
            if (statementChainId != chainId) return new CustosError(ErrorCode.ChainIdMismatch, "the two statements are for different chains");
            if (!CertificateVerifier.VerifyStatement(set, evidence.Culprit, statement.Kind, statement.Data.Span, statement.Signature.Span, suite))
            {
                return new CustosError(ErrorCode.SignatureInvalid, $"a {statement.Kind} signature does not verify under validator {evidence.Culprit}'s key");
            }
        }

        return null;
    }

    /// <summary>The statement must decode and name the evidence's epoch and round (and, for a proposal, the culprit as proposer).</summary>
    private static CustosError? CheckNames(SignedStatement statement, EquivocationEvidence evidence, out string chainId)
    {
        chainId = "";
        ulong epoch, round;
        CustosError error;
        switch (statement.Kind)
        {
            case SignedKind.Proposal:
                if (!Decoders.TryDecodeBlockHeader(statement.Data.Span, out var header, out error)) return error;
                if (header.Proposer != evidence.Culprit) return new CustosError(ErrorCode.InvalidField, $"proposal names proposer {header.Proposer}, not the culprit");
                (chainId, epoch, round) = (header.ChainId, header.Epoch, header.Round);
                break;
            case SignedKind.Vote:
                if (!Decoders.TryDecodeVoteData(statement.Data.Span, out var vote, out error)) return error;
                (chainId, epoch, round) = (vote.ChainId, vote.Epoch, vote.Round);
                break;
            case SignedKind.Timeout:
                if (!Decoders.TryDecodeTimeoutData(statement.Data.Span, out var timeout, out error)) return error;
                (chainId, epoch, round) = (timeout.ChainId, timeout.Epoch, timeout.Round);
                break;
            default:
                return new CustosError(ErrorCode.InvalidField, $"unknown statement kind {(int)statement.Kind}");
        }

        return epoch == evidence.Epoch && round == evidence.Round
            ? null
            : new CustosError(ErrorCode.InvalidField, $"a statement names epoch {epoch} round {round}, the evidence epoch {evidence.Epoch} round {evidence.Round}");
    }
}
