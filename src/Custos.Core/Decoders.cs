using System.Numerics;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Core;

/// <summary>
/// Decoders for everything that arrives from outside: size bound first, then protobuf parsing, then a canonical
/// encoding check (re-encoding must give back the same bytes, so each object has exactly one encoding and unknown
/// fields cannot ride along), then field validation. They never throw on bad input; they return a typed error.
/// </summary>
public static class Decoders
{
    private static readonly MessageParser<TransactionEnvelope> EnvelopeParser = TransactionEnvelope.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<TransactionBody> BodyParser = TransactionBody.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<Block> BlockParser = Block.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<BlockHeader> HeaderParser = BlockHeader.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<Vote> VoteParser = Vote.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<VoteData> VoteDataParser = VoteData.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<QuorumCertificate> QcParser = QuorumCertificate.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<RoundTimeout> TimeoutParser = RoundTimeout.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<TimeoutData> TimeoutDataParser = TimeoutData.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<TimeoutCertificate> TcParser = TimeoutCertificate.Parser.WithDiscardUnknownFields(true);

    public static bool TryDecodeTransaction(ReadOnlySpan<byte> bytes, out Transaction transaction, out CustosError error)
    {
        transaction = null!;
        if (!TryParseCanonical(EnvelopeParser, bytes, WireLimits.TransactionSizeBytesMax, "transaction", out var envelope, out error)) return false;
        if (!TryParseCanonical(BodyParser, envelope.Body.Span, WireLimits.TransactionSizeBytesMax, "transaction body", out var body, out error)) return false;
        error = ValidateBody(body) ?? ValidateKeyAndSignature(envelope.PublicKey, envelope.Signature, "transaction")!;
        if (error is not null) return false;
        transaction = new Transaction(bytes.ToArray(), envelope, body);
        return true;
    }

    public static bool TryDecodeBlockHeader(ReadOnlySpan<byte> bytes, out BlockHeader header, out CustosError error)
    {
        if (!TryParseCanonical(HeaderParser, bytes, WireLimits.BlockHeaderSizeBytesMax, "block header", out header, out error)) return false;
        error = ValidateHeader(header)!;
        return error is null;
    }

    public static bool TryDecodeBlock(ReadOnlySpan<byte> bytes, out DecodedBlock block, out CustosError error)
    {
        block = null!;
        if (!TryParseCanonical(BlockParser, bytes, WireLimits.BlockSizeBytesMax, "block", out var wire, out error)) return false;
        if (wire.Transactions.Count > WireLimits.BlockTransactionsMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"block has {wire.Transactions.Count} transactions, at most {WireLimits.BlockTransactionsMax} allowed");
            return false;
        }

        if (!TryDecodeBlockHeader(wire.Header.Span, out var header, out error)) return false;
        var transactions = new Transaction[wire.Transactions.Count];
        for (var i = 0; i < transactions.Length; i++)
        {
            if (!TryDecodeTransaction(wire.Transactions[i].Span, out transactions[i], out var inner))
            {
                error = inner with { Message = $"transaction {i}: {inner.Message}" };
                return false;
            }

            if (transactions[i].ChainId != header.ChainId)
            {
                error = new CustosError(ErrorCode.ChainIdMismatch, $"transaction {i} is for chain '{transactions[i].ChainId}', the block for '{header.ChainId}'");
                return false;
            }
        }

        block = new DecodedBlock(bytes.ToArray(), header, wire.Header.Memory, transactions);
        return true;
    }

    /// <summary>
    /// Builds a block from an encoded header and transactions this node already decoded (a proposal rebuilt from
    /// batches, or its own proposal), with the same checks as <see cref="TryDecodeBlock"/> and the same canonical
    /// encoding, without decoding or hashing the transactions again: they keep their remembered ids.
    /// </summary>
    public static bool TryAssembleBlock(ReadOnlySpan<byte> headerBytes, IReadOnlyList<Transaction> transactions, out DecodedBlock block, out CustosError error)
    {
        block = null!;
        if (transactions.Count > WireLimits.BlockTransactionsMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"block has {transactions.Count} transactions, at most {WireLimits.BlockTransactionsMax} allowed");
            return false;
        }

        if (!TryDecodeBlockHeader(headerBytes, out var header, out error)) return false;

        // The encoding of Block { header = 1; repeated transactions = 2 }, as the protobuf library writes it: both are
        // length-delimited (wire type 2) and written in field order.
        const byte headerTag = (1 << 3) | 2, transactionTag = (2 << 3) | 2;
        long size = headerBytes.Length == 0 ? 0 : 1 + CodedOutputStream.ComputeLengthSize(headerBytes.Length) + headerBytes.Length;
        for (var i = 0; i < transactions.Count; i++)
        {
            var transaction = transactions[i];
            if (transaction.ChainId != header.ChainId)
            {
                error = new CustosError(ErrorCode.ChainIdMismatch, $"transaction {i} is for chain '{transaction.ChainId}', the block for '{header.ChainId}'");
                return false;
            }

            size += 1 + CodedOutputStream.ComputeLengthSize(transaction.Envelope.Length) + transaction.Envelope.Length;
        }

        if (size > WireLimits.BlockSizeBytesMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"block is {size} bytes, at most {WireLimits.BlockSizeBytesMax} allowed");
            return false;
        }

        var encoded = new byte[size];
        var at = 0;
        var headerAt = 0;
        if (headerBytes.Length > 0)
        {
            at = WriteLengthDelimited(encoded, at, headerTag, headerBytes);
            headerAt = at - headerBytes.Length;
        }

        for (var i = 0; i < transactions.Count; i++) at = WriteLengthDelimited(encoded, at, transactionTag, transactions[i].Envelope.Span);
        block = new DecodedBlock(encoded, header, encoded.AsMemory(headerAt, headerBytes.Length), transactions.ToArray());
        error = null!;
        return true;
    }

    private static int WriteLengthDelimited(byte[] into, int at, byte tag, ReadOnlySpan<byte> value)
    {
        into[at++] = tag;
        for (var length = (uint)value.Length; ; length >>= 7)
        {
            if (length < 0x80)
            {
                into[at++] = (byte)length;
                break;
            }

            into[at++] = (byte)(length | 0x80);
        }

        value.CopyTo(into.AsSpan(at));
        return at + value.Length;
    }

    public static bool TryDecodeVote(ReadOnlySpan<byte> bytes, out Vote vote, out VoteData data, out CustosError error)
    {
        data = null!;
        if (!TryParseCanonical(VoteParser, bytes, WireLimits.VoteSizeBytesMax, "vote", out vote, out error)) return false;
        if (!TryDecodeVoteData(vote.Data.Span, out data, out error)) return false;
        error = CheckValidatorIndex(vote.Voter, "voter") ?? CheckSignature(vote.Signature, "vote")!;
        return error is null;
    }

    public static bool TryDecodeVoteData(ReadOnlySpan<byte> bytes, out VoteData data, out CustosError error)
    {
        if (!TryParseCanonical(VoteDataParser, bytes, WireLimits.VoteSizeBytesMax, "vote data", out data, out error)) return false;
        error = CheckChainId(data.ChainId)
            ?? CheckHash(data.BlockHash, "vote data block_hash")
            ?? CheckHash(data.ParentHash, "vote data parent_hash")
            ?? (data.ParentRound >= data.Round && data.Round != 0
                ? new CustosError(ErrorCode.InvalidField, $"vote data parent round {data.ParentRound} is not below round {data.Round}")
                : null)!;
        return error is null;
    }

    public static bool TryDecodeQuorumCertificate(ReadOnlySpan<byte> bytes, out QuorumCertificate qc, out VoteData data, out CustosError error)
    {
        data = null!;
        if (!TryParseCanonical(QcParser, bytes, WireLimits.QuorumCertificateSizeBytesMax, "quorum certificate", out qc, out error)) return false;
        error = ValidateQuorumCertificate(qc, out data)!;
        return error is null;
    }

    public static bool TryDecodeTimeout(ReadOnlySpan<byte> bytes, out RoundTimeout timeout, out TimeoutData data, out CustosError error)
    {
        data = null!;
        if (!TryParseCanonical(TimeoutParser, bytes, WireLimits.TimeoutSizeBytesMax, "timeout", out timeout, out error)) return false;
        if (!TryDecodeTimeoutData(timeout.Data.Span, out data, out error)) return false;
        error = CheckValidatorIndex(timeout.Author, "timeout author") ?? CheckSignature(timeout.Signature, "timeout")!;
        if (error is not null) return false;
        if (timeout.HighQc is not null)
        {
            error = ValidateQuorumCertificate(timeout.HighQc, out var qcData)!;
            if (error is null && qcData.Round != data.HighQcRound)
            {
                error = new CustosError(ErrorCode.InvalidField, $"timeout reports high QC round {data.HighQcRound} but carries a QC of round {qcData.Round}");
            }
            else if (error is null)
            {
                error = CheckSameChain(qcData.ChainId, qcData.Epoch, data.ChainId, data.Epoch, "timeout's high QC")!;
            }
        }
        else if (data.HighQcRound != 0)
        {
            error = new CustosError(ErrorCode.InvalidField, "timeout reports a high QC round but carries no QC");
        }

        return error is null;
    }

    public static bool TryDecodeTimeoutData(ReadOnlySpan<byte> bytes, out TimeoutData data, out CustosError error)
    {
        if (!TryParseCanonical(TimeoutDataParser, bytes, WireLimits.VoteSizeBytesMax, "timeout data", out data, out error)) return false;
        error = CheckChainId(data.ChainId)
            ?? (data.HighQcRound >= data.Round
                ? new CustosError(ErrorCode.InvalidField, $"timeout high QC round {data.HighQcRound} is not below round {data.Round}")
                : null)!;
        return error is null;
    }

    public static bool TryDecodeTimeoutCertificate(ReadOnlySpan<byte> bytes, out TimeoutCertificate tc, out CustosError error)
    {
        if (!TryParseCanonical(TcParser, bytes, WireLimits.TimeoutCertificateSizeBytesMax, "timeout certificate", out tc, out error)) return false;
        error = ValidateTimeoutCertificate(tc, chainId: null)!;
        return error is null;
    }

    /// <summary>
    /// Parses a message from outside the process: size bound first, then parsing, then a canonical-encoding check
    /// (one object, one encoding). Typed errors (TOO_LARGE, MALFORMED); never throws on bad input.
    /// </summary>
    public static bool TryParseCanonical<T>(MessageParser<T> parser, ReadOnlySpan<byte> bytes, int sizeBytesMax, string what, out T message, out CustosError error)
        where T : IMessage<T>
    {
        message = default!;
        if (bytes.Length > sizeBytesMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"{what} is {bytes.Length} bytes, at most {sizeBytesMax} allowed");
            return false;
        }

        try
        {
            message = parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            error = new CustosError(ErrorCode.Malformed, $"{what} is not valid protobuf: {e.Message}");
            return false;
        }

        // Canonical form: one object, one encoding. Cheap compared with the signature check that follows; the
        // re-encoding goes to a pooled buffer, since every transaction a node receives passes here.
        if (message.CalculateSize() != bytes.Length || !EncodesTo(message, bytes))
        {
            error = new CustosError(ErrorCode.Malformed, $"{what} is not in canonical encoding (unknown fields, field order, or explicit defaults)");
            return false;
        }

        error = null!;
        return true;
    }

    private static bool EncodesTo<T>(T message, ReadOnlySpan<byte> bytes)
        where T : IMessage<T>
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(bytes.Length);
        try
        {
            var encoded = buffer.AsSpan(0, bytes.Length);
            message.WriteTo(encoded);
            return encoded.SequenceEqual(bytes);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static CustosError? ValidateBody(TransactionBody body) =>
        CheckChainId(body.ChainId)
        ?? (body.Sender.Length != AccountId.SizeBytes
            ? new CustosError(ErrorCode.InvalidLength, $"sender account id is {body.Sender.Length} bytes, expected {AccountId.SizeBytes}")
            : null)
        ?? (body.ExpiryHeight == 0 ? new CustosError(ErrorCode.InvalidField, "expiry_height must be set (replay protection)") : null)
        ?? CheckName(body.Contract, WireLimits.ContractNameLengthMax, "contract")
        ?? CheckName(body.Method, WireLimits.MethodNameLengthMax, "method")
        ?? (body.Arguments.Length > WireLimits.TransactionArgumentsSizeBytesMax
            ? new CustosError(ErrorCode.TooLarge, $"arguments are {body.Arguments.Length} bytes, at most {WireLimits.TransactionArgumentsSizeBytesMax} allowed")
            : null)
        ?? (body.Suite is CryptoSuiteId.Gm or CryptoSuiteId.Intl
            ? null
            : new CustosError(ErrorCode.SuiteMismatch, $"unknown crypto suite {(int)body.Suite}"));

    private static CustosError? ValidateHeader(BlockHeader header)
    {
        var error = CheckChainId(header.ChainId)
            ?? CheckHash(header.ParentHash, "parent_hash")
            ?? CheckHash(header.TransactionRoot, "transaction_root")
            ?? CheckHash(header.StateRoot, "state_root")
            ?? CheckValidatorIndex(header.Proposer, "proposer");
        if (error is not null) return error;
        if (header.Height == 0)
        {
            return header.ParentQc is null && header.TimeoutCertificate is null
                ? null
                : new CustosError(ErrorCode.InvalidField, "the genesis block carries no certificates");
        }

        if (header.ParentQc is null) return new CustosError(ErrorCode.InvalidField, $"block {header.Height} lacks its parent's quorum certificate");
        error = ValidateQuorumCertificate(header.ParentQc, out var parent);
        if (error is not null) return error with { Message = $"parent QC: {error.Message}" };
        if (parent.Round >= header.Round || parent.Height + 1 != header.Height)
        {
            return new CustosError(ErrorCode.InvalidField, $"parent QC (round {parent.Round}, height {parent.Height}) does not precede block (round {header.Round}, height {header.Height})");
        }

        if (!parent.BlockHash.Span.SequenceEqual(header.ParentHash.Span))
        {
            return new CustosError(ErrorCode.InvalidField, "parent QC certifies a block other than parent_hash");
        }

        error = CheckSameChain(parent.ChainId, parent.Epoch, header.ChainId, header.Epoch, "parent QC");
        if (error is not null) return error;

        if (header.TimeoutCertificate is not null)
        {
            if (header.TimeoutCertificate.Epoch != header.Epoch)
            {
                return new CustosError(ErrorCode.EpochMismatch, $"timeout certificate of epoch {header.TimeoutCertificate.Epoch} in a block of epoch {header.Epoch}");
            }

            error = ValidateTimeoutCertificate(header.TimeoutCertificate, header.ChainId);
            if (error is not null) return error with { Message = $"timeout certificate: {error.Message}" };
            if (header.TimeoutCertificate.Round + 1 != header.Round)
            {
                return new CustosError(ErrorCode.InvalidField, $"timeout certificate of round {header.TimeoutCertificate.Round} does not justify round {header.Round}");
            }
        }

        return null;
    }

    private static CustosError? ValidateQuorumCertificate(QuorumCertificate qc, out VoteData data)
    {
        data = null!;
        if (!TryDecodeVoteData(qc.VoteData.Span, out data, out var error)) return error;
        if (qc.Signers.Length == 0 || qc.Signers.Length > (WireLimits.ValidatorsMax + 7) / 8)
        {
            return new CustosError(ErrorCode.InvalidLength, $"signer bitmap is {qc.Signers.Length} bytes");
        }

        // Trailing zero bytes would give one signer set several encodings, which anyone relaying the certificate
        // could change without touching a signature; and a bitmap of zeros would certify with no signer at all.
        if (qc.Signers.Span[^1] == 0)
        {
            return new CustosError(ErrorCode.Malformed, "signer bitmap ends in a zero byte (not canonical, or names no signer)");
        }

        var signers = 0;
        foreach (var b in qc.Signers.Span) signers += BitOperations.PopCount(b);
        if (signers != qc.Signatures.Count)
        {
            return new CustosError(ErrorCode.InvalidField, $"signer bitmap names {signers} validators but {qc.Signatures.Count} signatures are carried");
        }

        foreach (var signature in qc.Signatures)
        {
            error = CheckSignature(signature, "quorum certificate");
            if (error is not null) return error;
        }

        return null;
    }

    /// <summary>A certificate carried inside another object must be of the same chain and not of a later epoch.</summary>
    private static CustosError? CheckSameChain(string innerChainId, ulong innerEpoch, string outerChainId, ulong outerEpoch, string what)
    {
        if (innerChainId != outerChainId)
        {
            return new CustosError(ErrorCode.ChainIdMismatch, $"{what} is for chain '{innerChainId}', not '{outerChainId}'");
        }

        return innerEpoch > outerEpoch
            ? new CustosError(ErrorCode.EpochMismatch, $"{what} is of epoch {innerEpoch}, later than {outerEpoch}")
            : null;
    }

    private static CustosError? ValidateTimeoutCertificate(TimeoutCertificate tc, string? chainId)
    {
        if (tc.Signatures.Count == 0 || tc.Signatures.Count > WireLimits.ValidatorsMax)
        {
            return new CustosError(ErrorCode.InvalidField, $"timeout certificate carries {tc.Signatures.Count} signatures");
        }

        var previous = -1L;
        foreach (var entry in tc.Signatures)
        {
            var error = CheckValidatorIndex(entry.Author, "timeout certificate author") ?? CheckSignature(entry.Signature, "timeout certificate");
            if (error is not null) return error;
            if (entry.Author <= previous)
            {
                return new CustosError(ErrorCode.InvalidField, "timeout certificate authors are not in strictly increasing order");
            }

            previous = entry.Author;
            if (!TryDecodeTimeoutData(entry.Data.Span, out var data, out error)) return error;
            if (data.Round != tc.Round || data.Epoch != tc.Epoch)
            {
                return new CustosError(ErrorCode.InvalidField, $"timeout of author {entry.Author} is for epoch {data.Epoch} round {data.Round}, not the certificate's");
            }

            // All timeouts of one certificate are for one chain: the carrying header's, or the first entry's.
            chainId ??= data.ChainId;
            if (data.ChainId != chainId)
            {
                return new CustosError(ErrorCode.ChainIdMismatch, $"timeout of author {entry.Author} is for chain '{data.ChainId}', not '{chainId}'");
            }
        }

        return null;
    }

    private static CustosError? ValidateKeyAndSignature(ByteString publicKey, ByteString signature, string what)
    {
        if (publicKey.Length != WireLimits.PublicKeySizeBytes || publicKey[0] != 0x04)
        {
            return new CustosError(ErrorCode.PublicKeyInvalid, $"{what} public key must be an uncompressed point of {WireLimits.PublicKeySizeBytes} bytes");
        }

        return CheckSignature(signature, what);
    }

    private static CustosError? CheckSignature(ByteString signature, string what) =>
        signature.Length == WireLimits.SignatureSizeBytes
            ? null
            : new CustosError(ErrorCode.InvalidLength, $"{what} signature is {signature.Length} bytes, expected {WireLimits.SignatureSizeBytes}");

    private static CustosError? CheckValidatorIndex(uint index, string what) =>
        index < WireLimits.ValidatorsMax ? null : new CustosError(ErrorCode.InvalidField, $"{what} index {index} is out of range");

    private static CustosError? CheckHash(ByteString hash, string what) =>
        hash.Length == Hash32.SizeBytes ? null : new CustosError(ErrorCode.InvalidLength, $"{what} is {hash.Length} bytes, expected {Hash32.SizeBytes}");

    /// <summary>Chain id rules: 1 to 64 ASCII letters, digits, '-', '_' or '.'.</summary>
    public static CustosError? CheckChainId(string chainId)
    {
        if (chainId.Length == 0 || chainId.Length > WireLimits.ChainIdLengthMax)
        {
            return new CustosError(ErrorCode.InvalidField, $"chain id must be 1 to {WireLimits.ChainIdLengthMax} characters");
        }

        foreach (var c in chainId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return new CustosError(ErrorCode.InvalidField, "chain id may hold only ASCII letters, digits, '-', '_' and '.'");
            }
        }

        return null;
    }

    private static CustosError? CheckName(string name, int lengthMax, string what)
    {
        if (name.Length == 0 || name.Length > lengthMax)
        {
            return new CustosError(ErrorCode.InvalidField, $"{what} name must be 1 to {lengthMax} characters");
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return new CustosError(ErrorCode.InvalidField, $"{what} name may hold only ASCII letters, digits, '_', '.' and '-'");
            }
        }

        return null;
    }
}
