using System.Globalization;
using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Node.Wire;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Node;

/// <summary>
/// The committed ledger as consensus reads it (to serve catch-up) and as the node names its entries: each block's
/// certificates are kept as configuration entries beside it, written in the block's own atomic batch.
/// </summary>
internal sealed class StoredChain(LedgerStore store) : ICommittedChain
{
    public const string HeadQc = "consensus/head-qc";
    public const string HeadCommitQc = "consensus/head-commit-qc";
    public const string GenesisEntry = "genesis";
    public const string NodeNamesEntry = "node-names";

    public static string CertificatesEntry(ulong height) => "consensus/certificates/" + height.ToString(CultureInfo.InvariantCulture);

    public static string ValidatorSetEntry(ulong epoch) => "consensus/validator-set/" + epoch.ToString(CultureInfo.InvariantCulture);

    public static string EpochEndingEntry(ulong epoch) => "consensus/epoch-ending/" + epoch.ToString(CultureInfo.InvariantCulture);

    /// <summary>Configuration entries that record a committed block's certificates (and make them the head's).</summary>
    public static IEnumerable<KeyValuePair<string, ReadOnlyMemory<byte>>> CertificateEntries(ulong height, QuorumCertificate? qc, QuorumCertificate? commitQc)
    {
        var certificates = new BlockCertificates();
        if (qc is not null) certificates.Qc = qc.ToByteString();
        if (commitQc is not null) certificates.CommitQc = commitQc.ToByteString();
        yield return new(CertificatesEntry(height), certificates.ToByteArray());
        if (qc is not null) yield return new(HeadQc, qc.ToByteArray());
        if (commitQc is not null) yield return new(HeadCommitQc, commitQc.ToByteArray());
    }

    public (QuorumCertificate? Qc, QuorumCertificate? CommitQc) ReadCertificates(ulong height)
    {
        var bytes = store.ReadConfiguration(CertificatesEntry(height));
        if (bytes is null) return (null, null);
        BlockCertificates certificates;
        try
        {
            certificates = BlockCertificates.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"the certificates of block {height} do not decode");
        }

        return (Decode(certificates.Qc, height), Decode(certificates.CommitQc, height));
    }

    public bool TryGetBlock(ulong height, out CommittedBlock block)
    {
        block = null!;
        var stored = store.ReadBlock(height);
        if (stored is null) return false;
        var (qc, commitQc) = ReadCertificates(height);
        block = new CommittedBlock(BlockRecord.Decode(stored.Block.Encoded.Span, store.Suite), qc, commitQc);
        return true;
    }

    public bool TryGetEpochEnding(ulong epoch, out EpochEndingProof proof)
    {
        proof = null!;
        var bytes = store.ReadConfiguration(EpochEndingEntry(epoch));
        if (bytes is null) return false;
        try
        {
            proof = EpochEndingProof.Parser.ParseFrom(bytes);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    private static QuorumCertificate? Decode(ByteString bytes, ulong height)
    {
        if (bytes.IsEmpty) return null;
        if (!Decoders.TryDecodeQuorumCertificate(bytes.Span, out var qc, out _, out var error))
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"a certificate of block {height} does not decode: {error.Message}");
        }

        return qc;
    }
}
