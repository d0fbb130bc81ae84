using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Pseudonyms;
using Custos.Privacy.Classification;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Envelopes;

/// <summary>Where an envelope's value lives: chain, contract, state key and class, all bound to the ciphertext.</summary>
public sealed record EnvelopeAddress(string ChainId, string Contract, byte[] Key, DataClass Class);

/// <summary>An envelope whose structure and writer signature checked out; anyone can produce one without any key.</summary>
/// <remarks><see cref="Supervisor"/> is the encoded key the supervisor grant names; compare it with the chain's escrow key.</remarks>
public sealed record VerifiedEnvelope(EnvelopeBody Body, Hash32 Hash, PublicKey Writer, Hash32 Commitment, ReadOnlyMemory<byte> Supervisor)
{
    public EnvelopeAddress Address => new(Body.ChainId, Body.Contract, Body.Key.ToByteArray(), Body.DataClass);
}

/// <summary>
/// The "encrypted but verifiable" strategy (§14.3.3, PRI-2). A value is sealed with SM4-GCM (AES-256-GCM on intl)
/// under a fresh data key and nonce; the associated data binds chain id, contract, key, class and commitment, so a
/// ciphertext moved to another record does not open. The data key is SM2-encrypted to each entitled party and to the
/// supervision escrow key. The body carries a salted commitment to the value and is signed by the writer.
/// Anyone checks the envelope's hash, structure and signature (<see cref="TryVerify(ICryptoSuite, PrivateEnvelope, PublicKey?, out VerifiedEnvelope, out CustosError)"/>);
/// only a party or the supervisor opens it (<see cref="TryOpen"/>), which also checks the commitment.
/// </summary>
public static class PrivacyEnvelope
{
    public const uint FormatVersion = 1;
    public const int EnvelopeSizeBytesMax = 256 * 1024;
    public const int ValueSizeBytesMax = 64 * 1024;
    public const int KeySizeBytesMax = 256;
    public const int NameLengthMax = 128;
    public const int PartiesMax = 16;
    public const int NonceSizeBytes = 12;
    private const int PublicKeySizeBytes = 65;
    private const int TagSizeBytes = 16;

    // Unknown fields are dropped, so that the canonical-encoding check below refuses bodies that carry any.
    private static readonly MessageParser<EnvelopeBody> BodyParser = EnvelopeBody.Parser.WithDiscardUnknownFields(true);

    /// <summary>
    /// Seals <paramref name="value"/> for <paramref name="parties"/> and the supervisor, signed by
    /// <paramref name="writer"/>. Duplicate recipients are granted once; the supervisor always keeps its own grant.
    /// </summary>
    public static PrivateEnvelope Seal(ICryptoSuite suite, ISigningKey writer, EnvelopeAddress address, ReadOnlySpan<byte> value,
        IReadOnlyList<PublicKey> parties, PublicKey supervisor)
    {
        if (!TryCheckAddress(address.ChainId, address.Contract, address.Key, address.Class, out var error)) throw error.ToException();
        if (value.Length > ValueSizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"a private value is at most {ValueSizeBytesMax} bytes");
        if (parties.Count == 0) throw new CustosException(ErrorCode.InvalidField, "an envelope names at least one party");
        if (parties.Count > PartiesMax) throw new CustosException(ErrorCode.LimitExceeded, $"an envelope names at most {PartiesMax} parties");
        if (writer.Suite != suite.Id || supervisor.Suite != suite.Id || parties.Any(p => p.Suite != suite.Id))
        {
            throw new CustosException(ErrorCode.SuiteMismatch, $"every key of an envelope belongs to the chain's suite {suite.Name}");
        }

        var salt = Commitment.NewSalt();
        var commitment = Commitment.Compute(suite, salt, value);
        var dataKey = RandomNumberGenerator.GetBytes(suite.AeadKeySizeBytes);
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSizeBytes);
            var plaintext = new EnvelopePlaintext { Salt = ByteString.CopyFrom(salt), Value = ByteString.CopyFrom(value) }.ToByteArray();
            var associatedData = AssociatedData(address.ChainId, address.Contract, address.Key, address.Class, commitment);
            var body = new EnvelopeBody
            {
                FormatVersion = FormatVersion,
                ChainId = address.ChainId,
                Contract = address.Contract,
                Key = ByteString.CopyFrom(address.Key),
                DataClass = address.Class,
                Commitment = commitment.ToByteString(),
                Nonce = ByteString.CopyFrom(nonce),
                Ciphertext = ByteString.CopyFrom(suite.AeadEncrypt(dataKey, nonce, plaintext, associatedData)),
                WriterPublicKey = ByteString.CopyFrom(writer.PublicKey.Encoded),
            };
            CryptographicOperations.ZeroMemory(plaintext);

            var granted = new HashSet<PublicKey> { supervisor };
            body.Grants.Add(Grant(suite, supervisor, RecipientRole.Supervisor, dataKey));
            foreach (var party in parties)
            {
                if (granted.Add(party)) body.Grants.Add(Grant(suite, party, RecipientRole.Party, dataKey));
            }

            var bodyBytes = body.ToByteArray();
            return new PrivateEnvelope
            {
                Body = UnsafeByteOperations.UnsafeWrap(bodyBytes),
                Signature = UnsafeByteOperations.UnsafeWrap(writer.Sign(SignedMessage(bodyBytes))),
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>The envelope's hash, H(domain ‖ body ‖ signature), as the chain records it.</summary>
    public static Hash32 Hash(IHashFunction hash, PrivateEnvelope envelope) =>
        Hash(hash, envelope.Body.Span, envelope.Signature.Span);

    /// <summary>Decodes an envelope of at most <see cref="EnvelopeSizeBytesMax"/> bytes and verifies it.</summary>
    public static bool TryVerify(ICryptoSuite suite, ReadOnlySpan<byte> encoded, PublicKey? expectedSupervisor, out VerifiedEnvelope verified, out CustosError error)
    {
        verified = null!;
        if (encoded.Length > EnvelopeSizeBytesMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"an envelope is at most {EnvelopeSizeBytesMax} bytes");
            return false;
        }

        PrivateEnvelope envelope;
        try
        {
            envelope = PrivateEnvelope.Parser.ParseFrom(encoded);
        }
        catch (InvalidProtocolBufferException)
        {
            error = new CustosError(ErrorCode.Malformed, "the envelope does not decode");
            return false;
        }

        return TryVerify(suite, envelope, expectedSupervisor, out verified, out error);
    }

    /// <summary>
    /// What anyone can check without a key: the body decodes canonically, every field is well formed, exactly one
    /// grant goes to the supervisor (to <paramref name="expectedSupervisor"/> when given), and the writer's signature
    /// covers it all. A valid signature by an unexpected writer still passes here: callers compare
    /// <see cref="VerifiedEnvelope.Writer"/> with who they expect (the transaction's sender).
    /// </summary>
    public static bool TryVerify(ICryptoSuite suite, PrivateEnvelope envelope, PublicKey? expectedSupervisor, out VerifiedEnvelope verified, out CustosError error)
    {
        verified = null!;
        if (envelope.Body.Length > EnvelopeSizeBytesMax)
        {
            error = new CustosError(ErrorCode.TooLarge, $"an envelope is at most {EnvelopeSizeBytesMax} bytes");
            return false;
        }

        EnvelopeBody body;
        try
        {
            body = BodyParser.ParseFrom(envelope.Body.Span);
        }
        catch (InvalidProtocolBufferException)
        {
            return Fail(ErrorCode.Malformed, "the envelope body does not decode", out error);
        }

        // Signed bytes must be the one encoding of the body, so that no two byte strings carry the same meaning.
        if (!body.ToByteString().Span.SequenceEqual(envelope.Body.Span)) return Fail(ErrorCode.Malformed, "the envelope body is not canonically encoded", out error);
        if (body.FormatVersion != FormatVersion) return Fail(ErrorCode.UnsupportedVersion, $"envelope format {body.FormatVersion} is not {FormatVersion}", out error);
        if (!TryCheckAddress(body.ChainId, body.Contract, body.Key.Span, body.DataClass, out error)) return false;
        if (!Hash32.TryCreate(body.Commitment.Span, out var commitment)) return Fail(ErrorCode.InvalidLength, "the commitment is not 32 bytes", out error);
        if (body.Nonce.Length != NonceSizeBytes) return Fail(ErrorCode.InvalidLength, $"the nonce is not {NonceSizeBytes} bytes", out error);
        if (body.Ciphertext.Length < TagSizeBytes) return Fail(ErrorCode.InvalidLength, "the ciphertext is shorter than its tag", out error);
        if (!suite.TryDecodePublicKey(body.WriterPublicKey.Span, out var writer, out _)) return Fail(ErrorCode.EnvelopeInvalid, "the writer key is not a valid key", out error);
        if (body.Grants.Count < 2 || body.Grants.Count > PartiesMax + 1) return Fail(ErrorCode.EnvelopeInvalid, $"an envelope grants the supervisor and 1 to {PartiesMax} parties", out error);

        // Recipient keys are checked for shape only: decoding a point costs about two signature verifications, and a
        // grant to a key that is not on the curve is merely one nobody can use. The supervisor's key is compared by bytes.
        ByteString? supervisor = null;
        var recipients = new HashSet<ByteString>();
        foreach (var grant in body.Grants)
        {
            var recipient = grant.RecipientPublicKey;
            if (recipient.Length != PublicKeySizeBytes || recipient.Span[0] != 0x04) return Fail(ErrorCode.EnvelopeInvalid, "a recipient key is not an uncompressed point", out error);
            if (!recipients.Add(recipient)) return Fail(ErrorCode.EnvelopeInvalid, "a recipient is granted twice", out error);
            if (grant.WrappedKey.IsEmpty) return Fail(ErrorCode.EnvelopeInvalid, "a grant carries no wrapped key", out error);
            switch (grant.Role)
            {
                case RecipientRole.Supervisor when supervisor is null:
                    supervisor = recipient;
                    break;
                case RecipientRole.Supervisor:
                    return Fail(ErrorCode.EnvelopeInvalid, "more than one supervisor grant", out error);
                case RecipientRole.Party:
                    break;
                default:
                    return Fail(ErrorCode.EnvelopeInvalid, "a grant has no role", out error);
            }
        }

        if (supervisor is null) return Fail(ErrorCode.EnvelopeInvalid, "the supervision escrow key is not granted", out error);
        if (expectedSupervisor is not null && !supervisor.Span.SequenceEqual(expectedSupervisor.Encoded)) return Fail(ErrorCode.EnvelopeInvalid, "the supervisor grant is not to the chain's escrow key", out error);
        if (envelope.Signature.Length != WireLimits.SignatureSizeBytes || !suite.Verify(writer, SignedMessage(envelope.Body.Span), envelope.Signature.Span))
        {
            return Fail(ErrorCode.SignatureInvalid, "the writer's signature does not verify", out error);
        }

        verified = new VerifiedEnvelope(body, Hash(suite, envelope), writer, commitment, supervisor.Memory);
        error = null!;
        return true;
    }

    /// <summary>
    /// Opens the envelope with a recipient's key: verifies it, unwraps the data key granted to
    /// <paramref name="recipient"/>, decrypts, and checks the value against the commitment. A key with no grant
    /// gets <see cref="ErrorCode.NotAuthorised"/>.
    /// </summary>
    public static bool TryOpen(ICryptoSuite suite, PrivateEnvelope envelope, IDecryptionKey recipient, out byte[] value, out CustosError error)
    {
        value = [];
        if (!TryVerify(suite, envelope, expectedSupervisor: null, out var verified, out error)) return false;
        var body = verified.Body;
        var grant = body.Grants.FirstOrDefault(g => g.RecipientPublicKey.Span.SequenceEqual(recipient.PublicKey.Encoded));
        if (grant is null) return Fail(ErrorCode.NotAuthorised, "the envelope grants nothing to this key", out error);
        if (!recipient.TryDecrypt(grant.WrappedKey.Span, out var dataKey)) return Fail(ErrorCode.EnvelopeInvalid, "the wrapped data key does not decrypt", out error);
        try
        {
            if (dataKey.Length != suite.AeadKeySizeBytes) return Fail(ErrorCode.EnvelopeInvalid, "the wrapped data key has the wrong size", out error);
            var associatedData = AssociatedData(body.ChainId, body.Contract, body.Key.Span, body.DataClass, verified.Commitment);
            if (!suite.TryAeadDecrypt(dataKey, body.Nonce.Span, body.Ciphertext.Span, associatedData, out var plaintext))
            {
                return Fail(ErrorCode.EnvelopeInvalid, "the ciphertext does not decrypt under its data key", out error);
            }

            EnvelopePlaintext sealedValue;
            try
            {
                sealedValue = EnvelopePlaintext.Parser.ParseFrom(plaintext);
            }
            catch (InvalidProtocolBufferException)
            {
                return Fail(ErrorCode.EnvelopeInvalid, "the decrypted content does not decode", out error);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }

            if (!Commitment.Matches(suite, verified.Commitment, sealedValue.Salt.Span, sealedValue.Value.Span))
            {
                return Fail(ErrorCode.CommitmentMismatch, "the decrypted value does not match the envelope's commitment", out error);
            }

            value = sealedValue.Value.ToByteArray();
            error = null!;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    internal static Hash32 Hash(IHashFunction hash, ReadOnlySpan<byte> body, ReadOnlySpan<byte> signature)
    {
        var framed = new LengthPrefixedWriter().Add(body).Add(signature).ToArray();
        using var accumulator = hash.Begin();
        accumulator.Append(PrivacyDomains.EnvelopeHash);
        accumulator.Append(framed);
        return accumulator.Finish();
    }

    private static KeyGrant Grant(ICryptoSuite suite, PublicKey recipient, RecipientRole role, byte[] dataKey) => new()
    {
        RecipientPublicKey = ByteString.CopyFrom(recipient.Encoded),
        Role = role,
        WrappedKey = UnsafeByteOperations.UnsafeWrap(suite.Encrypt(recipient, dataKey)),
    };

    private static byte[] SignedMessage(ReadOnlySpan<byte> body)
    {
        var domain = PrivacyDomains.EnvelopeSignature;
        var message = new byte[domain.Length + body.Length];
        domain.CopyTo(message);
        body.CopyTo(message.AsSpan(domain.Length));
        return message;
    }

    private static byte[] AssociatedData(string chainId, string contract, ReadOnlySpan<byte> key, DataClass dataClass, Hash32 commitment) =>
        new LengthPrefixedWriter()
            .Add(PrivacyDomains.EnvelopeAssociatedData)
            .Add(FormatVersion)
            .Add(chainId)
            .Add(contract)
            .Add(key)
            .Add((ulong)dataClass)
            .Add(commitment.ToArray())
            .ToArray();

    private static bool TryCheckAddress(string chainId, string contract, ReadOnlySpan<byte> key, DataClass dataClass, out CustosError error)
    {
        if (string.IsNullOrEmpty(chainId) || chainId.Length > NameLengthMax) return Fail(ErrorCode.InvalidField, $"the chain id has 1 to {NameLengthMax} characters", out error);
        if (string.IsNullOrEmpty(contract) || contract.Length > NameLengthMax) return Fail(ErrorCode.InvalidField, $"the contract name has 1 to {NameLengthMax} characters", out error);
        if (key.IsEmpty || key.Length > KeySizeBytesMax) return Fail(ErrorCode.InvalidLength, $"the key has 1 to {KeySizeBytesMax} bytes", out error);
        if (!DataClasses.IsDefined(dataClass)) return Fail(ErrorCode.InvalidField, "the data class is not C1, C2 or C3", out error);
        error = null!;
        return true;
    }

    private static bool Fail(ErrorCode code, string message, out CustosError error)
    {
        error = new CustosError(code, message);
        return false;
    }
}
