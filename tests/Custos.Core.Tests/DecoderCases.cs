using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Core.Tests;

/// <summary>
/// What a decoder said about some bytes. When it accepted them, <see cref="Carried"/> pairs each byte string it
/// consumed (the input, and every nested encoding it decoded) with the re-encoding of the object it produced.
/// </summary>
internal sealed record DecodeOutcome(bool Accepted, CustosError? Error, IReadOnlyList<(byte[] Carried, byte[] Reencoded)> Carried)
{
    public static DecodeOutcome Refused(CustosError error) => new(false, error, []);
}

/// <summary>One public decoder with a valid sample and a canonical-encoding violation that only it can express.</summary>
internal sealed record DecoderCase(string Name, int SizeBytesMax, byte[] Valid, byte[] WithExplicitDefault, Func<byte[], DecodeOutcome> Decode)
{
    public override string ToString() => Name;
}

internal static class DecoderCases
{
    public static readonly IReadOnlyList<DecoderCase> All =
    [
        new("Transaction", WireLimits.TransactionSizeBytesMax, WireSamples.Envelope().ToByteArray(), TransactionWithExplicitDefault(), DecodeTransaction),
        new("Block", WireLimits.BlockSizeBytesMax, WireSamples.Block().ToByteArray(), BlockWithExplicitDefault(), DecodeBlock),
        new("BlockHeader", WireLimits.BlockHeaderSizeBytesMax, WireSamples.BlockHeader().ToByteArray(), HeaderWithExplicitDefault(), DecodeBlockHeader),
        new("Vote", WireLimits.VoteSizeBytesMax, WireSamples.Vote().ToByteArray(), VoteWithExplicitDefault(), DecodeVote),
        new("VoteData", WireLimits.VoteSizeBytesMax, WireSamples.VoteData().ToByteArray(), VoteDataWithExplicitDefault(), DecodeVoteData),
        new("QuorumCertificate", WireLimits.QuorumCertificateSizeBytesMax, WireSamples.QuorumCertificate().ToByteArray(), QuorumCertificateWithExplicitDefault(), DecodeQuorumCertificate),
        new("Timeout", WireLimits.TimeoutSizeBytesMax, WireSamples.Timeout().ToByteArray(), TimeoutWithExplicitDefault(), DecodeTimeout),
        new("TimeoutData", WireLimits.VoteSizeBytesMax, WireSamples.TimeoutData().ToByteArray(), TimeoutDataWithExplicitDefault(), DecodeTimeoutData),
        new("TimeoutCertificate", WireLimits.TimeoutCertificateSizeBytesMax, WireSamples.TimeoutCertificate().ToByteArray(), TimeoutCertificateWithExplicitDefault(), DecodeTimeoutCertificate),
    ];

    public static TheoryData<string> Names => new(All.Select(c => c.Name));

    public static DecoderCase Get(string name) => All.Single(c => c.Name == name);

    public static DecodeOutcome DecodeTransaction(byte[] bytes)
    {
        if (!Decoders.TryDecodeTransaction(bytes, out var transaction, out var error)) return DecodeOutcome.Refused(error);
        return new DecodeOutcome(true, null, [(bytes, transaction.Wire.ToByteArray()), (transaction.BodyBytes.ToArray(), transaction.Body.ToByteArray())]);
    }

    public static DecodeOutcome DecodeBlock(byte[] bytes)
    {
        if (!Decoders.TryDecodeBlock(bytes, out var block, out var error)) return DecodeOutcome.Refused(error);
        var wire = new Block { Header = ByteString.CopyFrom(block.HeaderBytes.Span) };
        wire.Transactions.AddRange(block.Transactions.Select(t => ByteString.CopyFrom(t.Envelope.Span)));
        var carried = new List<(byte[], byte[])>
        {
            (bytes, wire.ToByteArray()),
            (block.HeaderBytes.ToArray(), block.Header.ToByteArray()),
        };
        foreach (var transaction in block.Transactions)
        {
            carried.Add((transaction.Envelope.ToArray(), transaction.Wire.ToByteArray()));
            carried.Add((transaction.BodyBytes.ToArray(), transaction.Body.ToByteArray()));
        }

        return new DecodeOutcome(true, null, carried);
    }

    public static DecodeOutcome DecodeBlockHeader(byte[] bytes) =>
        Decoders.TryDecodeBlockHeader(bytes, out var header, out var error)
            ? new DecodeOutcome(true, null, [(bytes, header.ToByteArray())])
            : DecodeOutcome.Refused(error);

    public static DecodeOutcome DecodeVote(byte[] bytes) =>
        Decoders.TryDecodeVote(bytes, out var vote, out var data, out var error)
            ? new DecodeOutcome(true, null, [(bytes, vote.ToByteArray()), (vote.Data.ToByteArray(), data.ToByteArray())])
            : DecodeOutcome.Refused(error);

    public static DecodeOutcome DecodeVoteData(byte[] bytes) =>
        Decoders.TryDecodeVoteData(bytes, out var data, out var error)
            ? new DecodeOutcome(true, null, [(bytes, data.ToByteArray())])
            : DecodeOutcome.Refused(error);

    public static DecodeOutcome DecodeQuorumCertificate(byte[] bytes) =>
        Decoders.TryDecodeQuorumCertificate(bytes, out var qc, out var data, out var error)
            ? new DecodeOutcome(true, null, [(bytes, qc.ToByteArray()), (qc.VoteData.ToByteArray(), data.ToByteArray())])
            : DecodeOutcome.Refused(error);

    public static DecodeOutcome DecodeTimeout(byte[] bytes) =>
        Decoders.TryDecodeTimeout(bytes, out var timeout, out var data, out var error)
            ? new DecodeOutcome(true, null, [(bytes, timeout.ToByteArray()), (timeout.Data.ToByteArray(), data.ToByteArray())])
            : DecodeOutcome.Refused(error);

    public static DecodeOutcome DecodeTimeoutData(byte[] bytes) =>
        Decoders.TryDecodeTimeoutData(bytes, out var data, out var error)
            ? new DecodeOutcome(true, null, [(bytes, data.ToByteArray())])
            : DecodeOutcome.Refused(error);

    public static DecodeOutcome DecodeTimeoutCertificate(byte[] bytes) =>
        Decoders.TryDecodeTimeoutCertificate(bytes, out var tc, out var error)
            ? new DecodeOutcome(true, null, [(bytes, tc.ToByteArray())])
            : DecodeOutcome.Refused(error);

    // Each variant writes one zero-valued scalar explicitly, where a canonical encoder would leave it out.
    private static byte[] TransactionWithExplicitDefault()
    {
        var body = WireSamples.Body();
        body.GasLimit = 0;
        return WireSamples.Envelope(RawField.InsertInOrder(body.ToByteArray(), RawField.ExplicitZero(TransactionBody.GasLimitFieldNumber))).ToByteArray();
    }

    private static byte[] HeaderWithExplicitDefault()
    {
        var header = WireSamples.BlockHeader();
        header.Proposer = 0;
        return RawField.InsertInOrder(header.ToByteArray(), RawField.ExplicitZero(BlockHeader.ProposerFieldNumber));
    }

    private static byte[] BlockWithExplicitDefault()
    {
        var block = WireSamples.Block();
        block.Header = ByteString.CopyFrom(HeaderWithExplicitDefault());
        return block.ToByteArray();
    }

    private static byte[] VoteDataWithExplicitDefault()
    {
        var data = WireSamples.VoteData();
        data.Epoch = 0;
        return RawField.InsertInOrder(data.ToByteArray(), RawField.ExplicitZero(VoteData.EpochFieldNumber));
    }

    private static byte[] VoteWithExplicitDefault()
    {
        var vote = WireSamples.Vote();
        vote.Voter = 0;
        return RawField.InsertInOrder(vote.ToByteArray(), RawField.ExplicitZero(Vote.VoterFieldNumber));
    }

    private static byte[] QuorumCertificateWithExplicitDefault()
    {
        var qc = WireSamples.QuorumCertificate();
        qc.VoteData = ByteString.CopyFrom(VoteDataWithExplicitDefault());
        return qc.ToByteArray();
    }

    private static byte[] TimeoutDataWithExplicitDefault()
    {
        var data = WireSamples.TimeoutData();
        data.Epoch = 0;
        return RawField.InsertInOrder(data.ToByteArray(), RawField.ExplicitZero(TimeoutData.EpochFieldNumber));
    }

    private static byte[] TimeoutWithExplicitDefault()
    {
        var timeout = WireSamples.Timeout();
        timeout.Author = 0;
        return RawField.InsertInOrder(timeout.ToByteArray(), RawField.ExplicitZero(RoundTimeout.AuthorFieldNumber));
    }

    private static byte[] TimeoutCertificateWithExplicitDefault()
    {
        // The first entry is validator 0's, whose author field a canonical encoder omits; write it inside the
        // nested TimeoutSignature message.
        var fields = RawField.Split(WireSamples.TimeoutCertificate().ToByteArray());
        var first = fields.FindIndex(f => f.Number == TimeoutCertificate.SignaturesFieldNumber);
        var entry = WireSamples.TimeoutCertificate().Signatures[0].ToByteArray();
        byte[] explicitEntry = [.. RawField.ExplicitZero(TimeoutSignature.AuthorFieldNumber), .. entry];
        fields[first] = new RawField(TimeoutCertificate.SignaturesFieldNumber,
            [.. RawField.Varint((TimeoutCertificate.SignaturesFieldNumber << 3) | 2), .. RawField.Varint((ulong)explicitEntry.Length), .. explicitEntry]);
        return RawField.Join(fields);
    }
}
