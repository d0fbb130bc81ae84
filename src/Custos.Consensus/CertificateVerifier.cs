using System.Numerics;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Consensus;

/// <summary>A structurally valid quorum certificate with its decoded vote data and signer indices. Immutable.</summary>
public sealed class QuorumCertificateView
{
    internal QuorumCertificateView(QuorumCertificate wire, byte[] encoded, VoteData data, uint[] signers)
    {
        Wire = wire;
        Encoded = encoded;
        Data = data;
        Signers = signers;
        BlockHash = new Hash32(data.BlockHash.Span);
        ParentHash = new Hash32(data.ParentHash.Span);
    }

    public QuorumCertificate Wire { get; }

    /// <summary>The certificate's canonical bytes (what a cache of verified certificates is keyed by).</summary>
    public byte[] Encoded { get; }

    public VoteData Data { get; }

    /// <summary>Validator indices that signed, increasing.</summary>
    public IReadOnlyList<uint> Signers { get; }

    public string ChainId => Data.ChainId;

    public ulong Epoch => Data.Epoch;

    public ulong Round => Data.Round;

    public ulong Height => Data.Height;

    public Hash32 BlockHash { get; }

    public ulong ParentRound => Data.ParentRound;

    public Hash32 ParentHash { get; }

    /// <summary>True when the certified block's round directly follows its parent's: the QC then commits the parent.</summary>
    public bool CommitsParent => Data.Round != 0 && Data.ParentRound + 1 == Data.Round;

    public override string ToString() => $"QC(epoch {Epoch}, round {Round}, height {Height}, {BlockHash.ToShortString()})";
}

/// <summary>A structurally valid timeout certificate with the highest lock it reports. Immutable.</summary>
public sealed class TimeoutCertificateView
{
    internal TimeoutCertificateView(TimeoutCertificate wire, byte[] encoded, ulong maxHighQcRound, TimeoutData[] data)
    {
        Wire = wire;
        Encoded = encoded;
        MaxHighQcRound = maxHighQcRound;
        Data = data;
    }

    public TimeoutCertificate Wire { get; }

    public byte[] Encoded { get; }

    public ulong Epoch => Wire.Epoch;

    public ulong Round => Wire.Round;

    /// <summary>The largest high_qc_round any signer reported: a block justified by this TC must extend a QC at least this high.</summary>
    public ulong MaxHighQcRound { get; }

    /// <summary>Each signer's decoded timeout, in the certificate's order.</summary>
    public IReadOnlyList<TimeoutData> Data { get; }

    public override string ToString() => $"TC(epoch {Epoch}, round {Round}, max high QC {MaxHighQcRound})";
}

/// <summary>
/// Verifies certificates and signed statements against one epoch's validator set with the chain's suite. Pure and
/// thread-safe: the engine, the evidence verifier and the auditor all use it, so they accept exactly the same things.
/// </summary>
public static class CertificateVerifier
{
    public static ObjectType ObjectTypeOf(SignedKind kind) => kind switch
    {
        SignedKind.Proposal => ObjectType.Proposal,
        SignedKind.Vote => ObjectType.Vote,
        SignedKind.Timeout => ObjectType.Timeout,
        _ => ObjectType.Unspecified,
    };

    /// <summary>Decodes a QC's structure (canonical form, bitmap, vote data) without checking signatures.</summary>
    public static bool TryDecode(QuorumCertificate qc, out QuorumCertificateView view, out CustosError error)
    {
        view = null!;
        var encoded = qc.ToByteArray();
        if (!Decoders.TryDecodeQuorumCertificate(encoded, out var wire, out var data, out error)) return false;
        var signers = new uint[wire.Signatures.Count];
        var next = 0;
        var bitmap = wire.Signers.Span;
        for (var i = 0; i < bitmap.Length; i++)
        {
            var bits = bitmap[i];
            while (bits != 0)
            {
                var bit = BitOperations.TrailingZeroCount(bits);
                signers[next++] = (uint)(i * 8 + bit);
                bits &= (byte)(bits - 1);
            }
        }

        view = new QuorumCertificateView(wire, encoded, data, signers);
        return true;
    }

    /// <summary>Decodes a TC's structure (canonical form, sorted distinct authors, one epoch and round) without checking signatures.</summary>
    public static bool TryDecode(TimeoutCertificate tc, out TimeoutCertificateView view, out CustosError error)
    {
        view = null!;
        var encoded = tc.ToByteArray();
        if (!Decoders.TryDecodeTimeoutCertificate(encoded, out var wire, out error)) return false;
        var data = new TimeoutData[wire.Signatures.Count];
        var max = 0UL;
        for (var i = 0; i < data.Length; i++)
        {
            if (!Decoders.TryDecodeTimeoutData(wire.Signatures[i].Data.Span, out data[i], out error)) return false;
            max = Math.Max(max, data[i].HighQcRound);
        }

        view = new TimeoutCertificateView(wire, encoded, max, data);
        return true;
    }

    public static bool TryVerify(QuorumCertificate qc, string chainId, ValidatorSet set, ICryptoSuite suite, out QuorumCertificateView view, out CustosError error) =>
        TryDecode(qc, out view, out error) && TryVerify(view, chainId, set, suite, out error);

    /// <summary>Checks a decoded QC: chain, epoch, a quorum of this set's validators, and every signature.</summary>
    public static bool TryVerify(QuorumCertificateView view, string chainId, ValidatorSet set, ICryptoSuite suite, out CustosError error)
    {
        if (view.ChainId != chainId)
        {
            error = new CustosError(ErrorCode.ChainIdMismatch, $"{view} is for chain '{view.ChainId}'");
            return false;
        }

        if (view.Epoch != set.Epoch)
        {
            error = new CustosError(ErrorCode.EpochMismatch, $"{view} checked against the validators of epoch {set.Epoch}");
            return false;
        }

        if (view.Signers.Count < set.Quorum || view.Signers[^1] >= set.Count)
        {
            error = new CustosError(ErrorCode.QuorumInvalid, $"{view} has {view.Signers.Count} signers (highest index {view.Signers[^1]}); epoch {set.Epoch} needs {set.Quorum} of {set.Count}");
            return false;
        }

        for (var i = 0; i < view.Signers.Count; i++)
        {
            if (!suite.VerifyObject(set.KeyOf(view.Signers[i]), ObjectType.Vote, view.Wire.VoteData.Span, view.Wire.Signatures[i].Span))
            {
                error = new CustosError(ErrorCode.SignatureInvalid, $"{view}: signature of validator {view.Signers[i]} does not verify");
                return false;
            }
        }

        error = null!;
        return true;
    }

    public static bool TryVerify(TimeoutCertificate tc, string chainId, ValidatorSet set, ICryptoSuite suite, out TimeoutCertificateView view, out CustosError error) =>
        TryDecode(tc, out view, out error) && TryVerify(view, chainId, set, suite, out error);

    /// <summary>Checks a decoded TC: chain, epoch, a quorum of this set's validators, and every signature.</summary>
    public static bool TryVerify(TimeoutCertificateView view, string chainId, ValidatorSet set, ICryptoSuite suite, out CustosError error)
    {
        if (view.Epoch != set.Epoch)
        {
            error = new CustosError(ErrorCode.EpochMismatch, $"{view} checked against the validators of epoch {set.Epoch}");
            return false;
        }

        var entries = view.Wire.Signatures;
        if (entries.Count < set.Quorum || entries[^1].Author >= set.Count)
        {
            error = new CustosError(ErrorCode.QuorumInvalid, $"{view} has {entries.Count} signers; epoch {set.Epoch} needs {set.Quorum} of {set.Count}");
            return false;
        }

        for (var i = 0; i < entries.Count; i++)
        {
            if (view.Data[i].ChainId != chainId)
            {
                error = new CustosError(ErrorCode.ChainIdMismatch, $"{view}: timeout of validator {entries[i].Author} is for chain '{view.Data[i].ChainId}'");
                return false;
            }

            if (!suite.VerifyObject(set.KeyOf(entries[i].Author), ObjectType.Timeout, entries[i].Data.Span, entries[i].Signature.Span))
            {
                error = new CustosError(ErrorCode.SignatureInvalid, $"{view}: signature of validator {entries[i].Author} does not verify");
                return false;
            }
        }

        error = null!;
        return true;
    }

    /// <summary>Verifies one signed statement (proposal header, vote data or timeout data) of validator <paramref name="author"/>.</summary>
    public static bool VerifyStatement(ValidatorSet set, uint author, SignedKind kind, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature, ICryptoSuite suite)
    {
        var type = ObjectTypeOf(kind);
        return type != ObjectType.Unspecified && author < set.Count && suite.VerifyObject(set.KeyOf(author), type, data, signature);
    }
}
