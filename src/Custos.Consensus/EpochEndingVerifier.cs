using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;

namespace Custos.Consensus;

/// <summary>
/// Checks an <see cref="EpochEndingProof"/> with the ending epoch's validator set alone (docs/consensus.md,
/// section 7): the root QC certifies the ending block, the suffix headers chain up from it by hash, and the commit
/// QC certifies a child of the last of them in the next round, which commits the ending block. Pure.
/// </summary>
public static class EpochEndingVerifier
{
    public static bool TryVerify(EpochEndingProof proof, string chainId, ValidatorSet set, ICryptoSuite suite, out CustosError error)
    {
        ArgumentNullException.ThrowIfNull(proof);
        error = Check(proof, chainId, set, suite)!;
        return error is null;
    }

    private static CustosError? Check(EpochEndingProof proof, string chainId, ValidatorSet set, ICryptoSuite suite)
    {
        if (proof.Epoch != set.Epoch) return new CustosError(ErrorCode.EpochMismatch, $"proof ends epoch {proof.Epoch}, validators are of epoch {set.Epoch}");
        if (proof.RootQc is null || proof.CommitQc is null) return new CustosError(ErrorCode.InvalidField, "epoch-ending proof lacks a certificate");
        if (!Hash32.TryCreate(proof.EndingBlockHash.Span, out var endingHash)) return new CustosError(ErrorCode.InvalidLength, "ending block hash is not 32 bytes");
        if (!CertificateVerifier.TryVerify(proof.RootQc, chainId, set, suite, out var root, out var error)) return error with { Message = $"root QC: {error.Message}" };
        if (root.BlockHash != endingHash || root.Height != proof.EndingHeight || root.Round != proof.EndingRound)
        {
            return new CustosError(ErrorCode.InvalidField, "root QC does not certify the ending block");
        }

        var (lastHash, lastRound, lastHeight) = (endingHash, proof.EndingRound, proof.EndingHeight);
        foreach (var headerBytes in proof.SuffixHeaders)
        {
            if (!Decoders.TryDecodeBlockHeader(headerBytes.Span, out var header, out error)) return error;
            if (header.ChainId != chainId || header.Epoch != proof.Epoch || new Hash32(header.ParentHash.Span) != lastHash || header.Height != lastHeight + 1 || header.Round <= lastRound)
            {
                return new CustosError(ErrorCode.InvalidField, $"suffix header at height {header.Height} does not extend the block below it in epoch {proof.Epoch}");
            }

            (lastHash, lastRound, lastHeight) = (BlockRecord.HashOfHeader(suite, headerBytes.Span), header.Round, header.Height);
        }

        if (!CertificateVerifier.TryVerify(proof.CommitQc, chainId, set, suite, out var commit, out error)) return error with { Message = $"commit QC: {error.Message}" };
        if (commit.ParentHash != lastHash || commit.ParentRound != lastRound || !commit.CommitsParent)
        {
            return new CustosError(ErrorCode.InvalidField, "commit QC does not certify a child of the last suffix block in the next round");
        }

        if (!proof.CommitBlockHeader.IsEmpty && BlockRecord.HashOfHeader(suite, proof.CommitBlockHeader.Span) != commit.BlockHash)
        {
            return new CustosError(ErrorCode.InvalidField, "the commit block header is not the block the commit QC certifies");
        }

        return null;
    }

    /// <summary>
    /// The state root after the ending block, as the header right above it carries it (the first suffix header, or
    /// the commit block's header when there is no suffix). Only for a proof that <see cref="TryVerify"/> accepted;
    /// false when the proof carries neither header.
    /// </summary>
    public static bool TryGetPostStateRoot(EpochEndingProof proof, out Hash32 root, out CustosError error)
    {
        root = Hash32.Zero;
        var above = proof.SuffixHeaders.Count > 0 ? proof.SuffixHeaders[0] : proof.CommitBlockHeader;
        if (above.IsEmpty)
        {
            error = new CustosError(ErrorCode.NotFound, $"the proof ending epoch {proof.Epoch} carries no header above the ending block");
            return false;
        }

        if (!Decoders.TryDecodeBlockHeader(above.Span, out var header, out error)) return false;
        if (header.Height != proof.EndingHeight + 1 || !Hash32.TryCreate(header.StateRoot.Span, out root))
        {
            error = new CustosError(ErrorCode.InvalidField, "the header above the ending block does not carry its state root");
            return false;
        }

        error = null!;
        return true;
    }
}
