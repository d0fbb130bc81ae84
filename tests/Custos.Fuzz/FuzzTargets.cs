using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Google.Protobuf;
using SharpFuzz;

namespace Custos.Fuzz;

/// <summary>
/// Fuzz targets: each feeds arbitrary bytes to one decoder of untrusted input. Nothing here catches anything:
/// an exception thrown by a decoder escapes, and that escape is the crash the fuzzer looks for. On top of "never
/// throws", each target checks the decoder's contract and throws <see cref="DecoderContractException"/> when it is
/// broken: a refusal must carry a real error code, and an accepted input must be exactly the canonical encoding of
/// what was decoded (one object, one encoding).
/// </summary>
public static class FuzzTargets
{
    /// <summary>
    /// Every target by the name given on the command line. This table is the one place to register a target: to
    /// add one (for example <c>Certificate</c> for X.509 decoding in Custos.Identity), write a
    /// <c>public static void Certificate(ReadOnlySpan&lt;byte&gt; data)</c> below, add a line here, and add a
    /// corpus/Certificate folder with a few valid encodings; the smoke tests pick it up from this table.
    /// </summary>
    public static IReadOnlyDictionary<string, ReadOnlySpanAction> All { get; } = new Dictionary<string, ReadOnlySpanAction>(StringComparer.Ordinal)
    {
        [nameof(Transaction)] = Transaction,
        [nameof(Block)] = Block,
        [nameof(BlockHeader)] = BlockHeader,
        [nameof(Vote)] = Vote,
        [nameof(VoteData)] = VoteData,
        [nameof(QuorumCertificate)] = QuorumCertificate,
        [nameof(Timeout)] = Timeout,
        [nameof(TimeoutData)] = TimeoutData,
        [nameof(TimeoutCertificate)] = TimeoutCertificate,
        [nameof(PublicKeyGm)] = PublicKeyGm,
        [nameof(PublicKeyIntl)] = PublicKeyIntl,
        [nameof(Certificate)] = Certificate,
        [nameof(ConsensusFuzzTargets.ConsensusMessage)] = ConsensusFuzzTargets.ConsensusMessage,
    };

    /// <summary>
    /// X.509 decoding and validation (Custos.Identity): DER structure, suite, key, role extension, then the whole
    /// validation path against the fuzzing consortium's CA, whose certificate is the first seed.
    /// </summary>
    public static void Certificate(ReadOnlySpan<byte> data)
    {
        if (!ConsortiumCertificate.TryDecode(data, CryptoSuites.Gm, out var certificate, out var error))
        {
            RequireError(error);
            return;
        }

        if (!certificate.Der.SequenceEqual(data)) throw new DecoderContractException("accepted certificate is not its own DER encoding");
        if (!SeedCorpus.FuzzingConsortium.TryValidate(certificate, certificate.NotBefore.AddSeconds(1), [], out _, out error)) RequireError(error);
    }

    public static void Transaction(ReadOnlySpan<byte> data)
    {
        if (!Decoders.TryDecodeTransaction(data, out var transaction, out var error))
        {
            RequireError(error);
            return;
        }

        RequireCanonical(data, transaction.Wire, "transaction envelope");
        RequireCanonical(transaction.BodyBytes.Span, transaction.Body, "transaction body");
        transaction.ComputeId(CryptoSuites.Gm);
    }

    public static void Block(ReadOnlySpan<byte> data)
    {
        if (!Decoders.TryDecodeBlock(data, out var block, out var error))
        {
            RequireError(error);
            return;
        }

        var wire = new Block { Header = ByteString.CopyFrom(block.HeaderBytes.Span) };
        foreach (var transaction in block.Transactions)
        {
            wire.Transactions.Add(ByteString.CopyFrom(transaction.Envelope.Span));
            RequireCanonical(transaction.Envelope.Span, transaction.Wire, "block transaction envelope");
            RequireCanonical(transaction.BodyBytes.Span, transaction.Body, "block transaction body");
        }

        RequireCanonical(data, wire, "block");
        RequireCanonical(block.HeaderBytes.Span, block.Header, "block header");
        block.ComputeHash(CryptoSuites.Gm);
        block.ComputeTransactionRoot(CryptoSuites.Gm);
    }

    public static void BlockHeader(ReadOnlySpan<byte> data)
    {
        if (Decoders.TryDecodeBlockHeader(data, out var header, out var error)) RequireCanonical(data, header, "block header");
        else RequireError(error);
    }

    public static void Vote(ReadOnlySpan<byte> data)
    {
        if (!Decoders.TryDecodeVote(data, out var vote, out var voteData, out var error))
        {
            RequireError(error);
            return;
        }

        RequireCanonical(data, vote, "vote");
        RequireCanonical(vote.Data.Span, voteData, "vote data");
    }

    public static void VoteData(ReadOnlySpan<byte> data)
    {
        if (Decoders.TryDecodeVoteData(data, out var voteData, out var error)) RequireCanonical(data, voteData, "vote data");
        else RequireError(error);
    }

    public static void QuorumCertificate(ReadOnlySpan<byte> data)
    {
        if (!Decoders.TryDecodeQuorumCertificate(data, out var qc, out var voteData, out var error))
        {
            RequireError(error);
            return;
        }

        RequireCanonical(data, qc, "quorum certificate");
        RequireCanonical(qc.VoteData.Span, voteData, "quorum certificate vote data");
    }

    public static void Timeout(ReadOnlySpan<byte> data)
    {
        if (!Decoders.TryDecodeTimeout(data, out var timeout, out var timeoutData, out var error))
        {
            RequireError(error);
            return;
        }

        RequireCanonical(data, timeout, "timeout");
        RequireCanonical(timeout.Data.Span, timeoutData, "timeout data");
    }

    public static void TimeoutData(ReadOnlySpan<byte> data)
    {
        if (Decoders.TryDecodeTimeoutData(data, out var timeoutData, out var error)) RequireCanonical(data, timeoutData, "timeout data");
        else RequireError(error);
    }

    public static void TimeoutCertificate(ReadOnlySpan<byte> data)
    {
        if (Decoders.TryDecodeTimeoutCertificate(data, out var tc, out var error)) RequireCanonical(data, tc, "timeout certificate");
        else RequireError(error);
    }

    /// <summary>First 65 bytes: an SM2 public key; the rest: a message followed by (up to) a 64-byte signature.</summary>
    public static void PublicKeyGm(ReadOnlySpan<byte> data) => PublicKey(CryptoSuites.Gm, CryptoSuites.Intl, data);

    /// <summary>First 65 bytes: a P-256 public key; the rest: a message followed by (up to) a 64-byte signature.</summary>
    public static void PublicKeyIntl(ReadOnlySpan<byte> data) => PublicKey(CryptoSuites.Intl, CryptoSuites.Gm, data);

    private static void PublicKey(ICryptoSuite suite, ICryptoSuite otherSuite, ReadOnlySpan<byte> data)
    {
        var encoded = data[..Math.Min(WireLimits.PublicKeySizeBytes, data.Length)];
        if (!suite.TryDecodePublicKey(encoded, out var key, out var error))
        {
            RequireError(error);
            return;
        }

        if (!key.Encoded.SequenceEqual(encoded)) throw new DecoderContractException($"{suite.Name} public key does not re-encode to its input");

        var rest = data[encoded.Length..];
        var signatureLength = Math.Min(WireLimits.SignatureSizeBytes, rest.Length);
        var message = rest[..^signatureLength];
        var signature = rest[^signatureLength..];

        // Whatever they return, verification of garbage must return rather than throw.
        suite.Verify(key, message, signature);
        suite.VerifyObject(key, ObjectType.Transaction, message, signature);

        if (otherSuite.Verify(key, message, signature) || otherSuite.VerifyObject(key, ObjectType.Transaction, message, signature))
        {
            throw new DecoderContractException($"a {suite.Name} key verified a signature under the {otherSuite.Name} suite");
        }
    }

    private static void RequireError(CustosError? error)
    {
        if (error is null || error.Code == ErrorCode.Ok || string.IsNullOrEmpty(error.Message))
        {
            throw new DecoderContractException($"decoder refused its input without a typed error ({error?.ToString() ?? "null"})");
        }
    }

    private static void RequireCanonical(ReadOnlySpan<byte> carried, IMessage decoded, string what)
    {
        if (!decoded.ToByteArray().AsSpan().SequenceEqual(carried))
        {
            throw new DecoderContractException($"accepted {what} is not the canonical encoding of what was decoded");
        }
    }
}

/// <summary>A decoder returned normally but broke its contract. Thrown so that the fuzzer records a crash.</summary>
public sealed class DecoderContractException(string message) : Exception(message);
