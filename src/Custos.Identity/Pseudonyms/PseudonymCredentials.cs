using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// Decodes and verifies pseudonym credentials. Decoding checks structure only (sizes, canonical encoding, key
/// points, threshold and authority count); verifying also checks the chain and the registrar's signature over the
/// exact body bytes, which is what binds the escrow to the pseudonym key. Neither throws on bad bytes: failures are
/// typed (<see cref="ErrorCode.Malformed"/> and <see cref="ErrorCode.TooLarge"/> for bytes that are not a credential,
/// <see cref="ErrorCode.UnsupportedVersion"/>, <see cref="ErrorCode.SuiteMismatch"/>,
/// <see cref="ErrorCode.ChainIdMismatch"/>, and <see cref="ErrorCode.CredentialInvalid"/> for every other defect).
/// Deterministic: every node gives the same answer for the same bytes.
/// </summary>
public static class PseudonymCredentials
{
    private static readonly MessageParser<PseudonymCredential> EnvelopeParser = CanonicalMessage.Strict(PseudonymCredential.Parser);
    private static readonly MessageParser<PseudonymCredentialBody> BodyParser = CanonicalMessage.Strict(PseudonymCredentialBody.Parser);

    /// <summary>Structure only: the registrar's signature is not checked.</summary>
    public static bool TryDecode(ICryptoSuite suite, ReadOnlySpan<byte> bytes, out DecodedCredential credential, out CustosError error)
    {
        credential = null!;
        if (!CanonicalMessage.TryParse(EnvelopeParser, bytes, CredentialLimits.CredentialSizeBytesMax, "pseudonym credential", out var envelope, out error)) return false;
        if (!CanonicalMessage.TryParse(BodyParser, envelope.Body.Span, CredentialLimits.CredentialSizeBytesMax, "pseudonym credential body", out var body, out error)) return false;
        if (envelope.Signature.Length != WireLimits.SignatureSizeBytes)
        {
            error = Invalid($"registrar signature is {envelope.Signature.Length} bytes, expected {WireLimits.SignatureSizeBytes}");
            return false;
        }

        error = CheckBody(suite, body)!;
        if (error is not null) return false;
        var id = suite.HashObject(ObjectType.PseudonymCredential, envelope.Body.Span);
        credential = new DecodedCredential(bytes.ToArray(), envelope, body, id, EscrowSharePlaintext.ComputeContext(suite, body));
        return true;
    }

    /// <summary>Structure, chain, and the signature of the registrar whose key is given.</summary>
    public static bool TryVerify(ICryptoSuite suite, ReadOnlySpan<byte> bytes, PublicKey registrarKey, string chainId, out DecodedCredential credential, out CustosError error)
    {
        if (!TryDecode(suite, bytes, out credential, out error)) return false;
        CustosError? failure = null;
        if (credential.ChainId != chainId)
        {
            failure = new CustosError(ErrorCode.ChainIdMismatch, $"credential is for chain '{credential.ChainId}', not '{chainId}'");
        }
        else if (registrarKey.Suite != suite.Id)
        {
            failure = new CustosError(ErrorCode.SuiteMismatch, "registrar key is of another crypto suite");
        }
        else if (!suite.VerifyObject(registrarKey, ObjectType.PseudonymCredential, credential.BodyBytes.Span, credential.Wire.Signature.Span))
        {
            failure = Invalid("registrar signature does not verify (the credential was altered or signed by another key)");
        }

        if (failure is null) return true;
        credential = null!;
        error = failure;
        return false;
    }

    /// <summary>As above, with the registrar's key as SEC1 bytes (as execution holds it); a bad key is PUBLIC_KEY_INVALID.</summary>
    public static bool TryVerify(ICryptoSuite suite, ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> registrarPublicKey, string chainId, out DecodedCredential credential, out CustosError error)
    {
        credential = null!;
        if (!suite.TryDecodePublicKey(registrarPublicKey, out var registrarKey, out error)) return false;
        return TryVerify(suite, bytes, registrarKey, chainId, out credential, out error);
    }

    /// <summary>Null when the credential is valid at <paramref name="height"/>; otherwise why not.</summary>
    public static CustosError? CheckValidAt(DecodedCredential credential, ulong height) =>
        credential.IsValidAt(height)
            ? null
            : Invalid(height < credential.ValidFromHeight
                ? $"credential is valid from height {credential.ValidFromHeight}, not at {height}"
                : $"credential expired at height {credential.ValidUntilHeight}");

    private static CustosError? CheckBody(ICryptoSuite suite, PseudonymCredentialBody body)
    {
        if (body.FormatVersion != CredentialLimits.FormatVersion)
        {
            return new CustosError(ErrorCode.UnsupportedVersion, $"credential format version {body.FormatVersion} is not {CredentialLimits.FormatVersion}");
        }

        if (body.Suite != suite.Id) return new CustosError(ErrorCode.SuiteMismatch, $"credential is for suite {body.Suite}, the chain runs {suite.Id}");
        if (Decoders.CheckChainId(body.ChainId) is { } chainError) return Invalid(chainError.Message);
        if (CheckName(body.RegistrarOrganisation, CredentialLimits.OrganisationLengthMax, "registrar organisation") is { } nameError) return nameError;
        if (!IsPublicKey(suite, body.PseudonymPublicKey)) return Invalid("pseudonym public key is not a point of the suite's curve (65-byte SEC1)");
        if (body.ValidUntilHeight != 0 && body.ValidUntilHeight <= body.ValidFromHeight)
        {
            return Invalid($"validity ends at height {body.ValidUntilHeight}, not after it starts at {body.ValidFromHeight}");
        }

        return body.Escrow is null ? Invalid("credential carries no escrow") : CheckEscrow(suite, body.Escrow);
    }

    private static CustosError? CheckEscrow(ICryptoSuite suite, IdentityEscrow escrow)
    {
        var n = escrow.Authorities.Count;
        if (n is 0 or > CredentialLimits.AuthoritiesMax) return Invalid($"escrow names {n} authorities, 1 to {CredentialLimits.AuthoritiesMax} allowed");
        if (escrow.Threshold == 0 || escrow.Threshold > n) return Invalid($"escrow threshold {escrow.Threshold} is not between 1 and {n}");
        if (escrow.Shares.Count != n) return Invalid($"escrow carries {escrow.Shares.Count} shares for {n} authorities");
        if (escrow.Nonce.Length != CredentialLimits.AeadNonceSizeBytes) return Invalid($"escrow nonce is {escrow.Nonce.Length} bytes, expected {CredentialLimits.AeadNonceSizeBytes}");
        const int sealedSizeBytes = CredentialLimits.SealedIdentityPlaintextSizeBytes + CredentialLimits.AeadTagSizeBytes;
        if (escrow.SealedIdentity.Length != sealedSizeBytes) return Invalid($"sealed identity is {escrow.SealedIdentity.Length} bytes, expected {sealedSizeBytes}");

        var keys = new HashSet<ByteString>();
        for (var i = 0; i < n; i++)
        {
            var authority = escrow.Authorities[i];
            if (CheckName(authority.Name, CredentialLimits.AuthorityNameLengthMax, $"escrow authority {i} name") is { } nameError) return nameError;
            if (!IsPublicKey(suite, authority.PublicKey)) return Invalid($"escrow authority {i} public key is not a point of the suite's curve");
            if (!keys.Add(authority.PublicKey)) return Invalid($"escrow authority {i} repeats another authority's key");
            var share = escrow.Shares[i];
            if (share.Commitment.Length != Hash32.SizeBytes) return Invalid($"share {i} commitment is {share.Commitment.Length} bytes, expected {Hash32.SizeBytes}");
            if (share.Ciphertext.Length is 0 or > CredentialLimits.ShareCiphertextSizeBytesMax)
            {
                return Invalid($"share {i} ciphertext is {share.Ciphertext.Length} bytes, 1 to {CredentialLimits.ShareCiphertextSizeBytesMax} allowed");
            }
        }

        return null;
    }

    internal static CustosError? CheckName(string name, int lengthMax, string what) =>
        name.Length == 0 || name.Length > lengthMax || name.Any(char.IsControl)
            ? Invalid($"{what} must be 1 to {lengthMax} characters without control characters")
            : null;

    private static bool IsPublicKey(ICryptoSuite suite, ByteString encoded) =>
        encoded.Length == WireLimits.PublicKeySizeBytes && suite.TryDecodePublicKey(encoded.Span, out _, out _);

    private static CustosError Invalid(string message) => new(ErrorCode.CredentialInvalid, message);
}
