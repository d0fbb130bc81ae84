using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Core.Tests;

/// <summary>
/// Fixed, structurally valid wire objects. The golden tests freeze their encodings and the decoder tests start
/// from them, so every field is set to a recognisable non-default value. Signatures and keys are filler bytes: the
/// decoders check only their lengths, and a real signature would make the golden encodings random.
/// </summary>
internal static class WireSamples
{
    public const string ChainId = "custos-test";

    public static byte[] Filled(int length, byte value)
    {
        var bytes = new byte[length];
        Array.Fill(bytes, value);
        return bytes;
    }

    public static ByteString Bytes(params byte[] bytes) => ByteString.CopyFrom(bytes);

    public static ByteString FilledBytes(int length, byte value) => ByteString.CopyFrom(Filled(length, value));

    public static byte[] SenderBytes => [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f];

    /// <summary>SEC1 uncompressed shape (0x04 || X || Y); not a point on any curve, which the decoders do not check.</summary>
    public static byte[] PublicKeyFiller => [0x04, .. Filled(64, 0x11)];

    public static TransactionBody Body() => new()
    {
        ChainId = ChainId,
        Sender = ByteString.CopyFrom(SenderBytes),
        Nonce = 7,
        ExpiryHeight = 1000,
        Contract = "token",
        ContractVersion = 1,
        Method = "transfer",
        Arguments = Bytes(0x01, 0x02, 0x03, 0x04, 0x05),
        Suite = CryptoSuiteId.Gm,
        GasLimit = 50_000,
    };

    public static TransactionEnvelope Envelope(TransactionBody body) => Envelope(body.ToByteArray());

    public static TransactionEnvelope Envelope(byte[] bodyBytes) => new()
    {
        Body = ByteString.CopyFrom(bodyBytes),
        PublicKey = ByteString.CopyFrom(PublicKeyFiller),
        Signature = FilledBytes(64, 0x22),
    };

    public static TransactionEnvelope Envelope() => Envelope(Body());

    public static VoteData VoteData() => new()
    {
        ChainId = ChainId,
        Epoch = 1,
        Round = 5,
        Height = 4,
        BlockHash = FilledBytes(32, 0xbb),
        ParentRound = 4,
        ParentHash = FilledBytes(32, 0xaa),
    };

    public static Vote Vote() => new()
    {
        Data = VoteData().ToByteString(),
        Voter = 2,
        Signature = FilledBytes(64, 0x33),
    };

    /// <summary>Signed by validators 0, 1 and 3 (bitmap 0b1011).</summary>
    public static QuorumCertificate QuorumCertificate()
    {
        var qc = new QuorumCertificate { VoteData = VoteData().ToByteString(), Signers = Bytes(0x0b) };
        qc.Signatures.Add(FilledBytes(64, 0x40));
        qc.Signatures.Add(FilledBytes(64, 0x41));
        qc.Signatures.Add(FilledBytes(64, 0x43));
        return qc;
    }

    public static TimeoutData TimeoutData() => new()
    {
        ChainId = ChainId,
        Epoch = 1,
        Round = 6,
        HighQcRound = 5,
    };

    public static RoundTimeout Timeout() => new()
    {
        Data = TimeoutData().ToByteString(),
        Author = 3,
        Signature = FilledBytes(64, 0x60),
        HighQc = QuorumCertificate(),
    };

    /// <summary>Timeouts of validators 0, 1 and 3 for round 6.</summary>
    public static TimeoutCertificate TimeoutCertificate()
    {
        var tc = new TimeoutCertificate { Epoch = 1, Round = 6 };
        foreach (var author in new uint[] { 0, 1, 3 })
        {
            tc.Signatures.Add(new TimeoutSignature
            {
                Author = author,
                Data = TimeoutData().ToByteString(),
                Signature = FilledBytes(64, (byte)(0x50 + author)),
            });
        }

        return tc;
    }

    /// <summary>Block 5 of round 6, extending the block certified by <see cref="QuorumCertificate"/>.</summary>
    public static BlockHeader BlockHeader() => new()
    {
        ChainId = ChainId,
        Epoch = 1,
        Height = 5,
        Round = 6,
        ParentHash = FilledBytes(32, 0xbb),
        TransactionRoot = FilledBytes(32, 0xcc),
        StateRoot = FilledBytes(32, 0xdd),
        TimestampMs = 1_767_225_600_000,
        Proposer = 1,
        ParentQc = QuorumCertificate(),
    };

    /// <summary>Height 0, no certificates: the only header that may lack a parent QC.</summary>
    public static BlockHeader GenesisHeader() => new()
    {
        ChainId = ChainId,
        ParentHash = FilledBytes(32, 0x00),
        TransactionRoot = FilledBytes(32, 0xcc),
        StateRoot = FilledBytes(32, 0xdd),
        TimestampMs = 1_767_225_600_000,
    };

    public static Block Block()
    {
        var block = new Block { Header = BlockHeader().ToByteString() };
        block.Transactions.Add(Envelope().ToByteString());
        return block;
    }
}
