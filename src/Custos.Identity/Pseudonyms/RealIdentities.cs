using System.Buffers.Binary;
using System.Globalization;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// The rules a <see cref="RealIdentity"/> must follow, and its padded plaintext form: a 2-byte big-endian length,
/// the identity's canonical encoding, then zeros up to <see cref="CredentialLimits.SealedIdentityPlaintextSizeBytes"/>.
/// Padding to one size keeps the sealed identity's length from telling people apart.
/// </summary>
public static class RealIdentities
{
    private const int LengthPrefixSizeBytes = 2;

    private static readonly MessageParser<RealIdentity> Parser = CanonicalMessage.Strict(RealIdentity.Parser);

    public static CustosError? Validate(RealIdentity identity)
    {
        if (identity.LegalName.Length is 0 or > CredentialLimits.LegalNameLengthMax
            || identity.LegalName.Any(char.IsControl) || identity.LegalName.Trim().Length != identity.LegalName.Length)
        {
            return Invalid($"legal name must be 1 to {CredentialLimits.LegalNameLengthMax} characters, without control characters or outer spaces");
        }

        if (identity.DocumentType == IdentityDocumentType.Unspecified || !Enum.IsDefined(identity.DocumentType))
        {
            return Invalid("document type must be one of the known kinds");
        }

        if (identity.DocumentNumber.Length is 0 or > CredentialLimits.DocumentNumberLengthMax
            || !identity.DocumentNumber.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return Invalid($"document number must be 1 to {CredentialLimits.DocumentNumberLengthMax} ASCII letters, digits or '-'");
        }

        if (identity.IssuingCountry.Length != 2 || !identity.IssuingCountry.All(char.IsAsciiLetterUpper))
        {
            return Invalid("issuing country must be an ISO 3166-1 alpha-2 code such as CN");
        }

        if (!DateOnly.TryParseExact(identity.DateOfBirth, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            return Invalid("date of birth must be a date written YYYY-MM-DD");
        }

        if (identity.CustomerReference.Length is 0 or > CredentialLimits.CustomerReferenceLengthMax
            || !identity.CustomerReference.All(c => c is > ' ' and <= '~'))
        {
            return Invalid($"customer reference must be 1 to {CredentialLimits.CustomerReferenceLengthMax} printable ASCII characters without spaces");
        }

        return null;
    }

    /// <summary>The fixed-size plaintext that gets sealed. The identity must be valid (its encoding then fits).</summary>
    internal static byte[] Pad(RealIdentity identity)
    {
        var encoded = identity.ToByteArray();
        if (encoded.Length > CredentialLimits.SealedIdentityPlaintextSizeBytes - LengthPrefixSizeBytes)
        {
            throw new CustosException(ErrorCode.InvalidField, "real identity does not fit its sealed size");
        }

        var padded = new byte[CredentialLimits.SealedIdentityPlaintextSizeBytes];
        BinaryPrimitives.WriteUInt16BigEndian(padded, (ushort)encoded.Length);
        encoded.CopyTo(padded.AsSpan(LengthPrefixSizeBytes));
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(encoded);
        return padded;
    }

    internal static bool TryUnpad(ReadOnlySpan<byte> padded, out RealIdentity identity, out CustosError error)
    {
        identity = null!;
        if (padded.Length != CredentialLimits.SealedIdentityPlaintextSizeBytes)
        {
            error = new CustosError(ErrorCode.CredentialInvalid, "sealed identity has the wrong plaintext size");
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(padded);
        var end = LengthPrefixSizeBytes + length;
        if (end > padded.Length || padded[end..].ContainsAnyExcept((byte)0))
        {
            error = new CustosError(ErrorCode.CredentialInvalid, "sealed identity is not padded as the format requires");
            return false;
        }

        if (!CanonicalMessage.TryParse(Parser, padded[LengthPrefixSizeBytes..end], CredentialLimits.SealedIdentityPlaintextSizeBytes, "sealed identity", out identity, out error))
        {
            error = new CustosError(ErrorCode.CredentialInvalid, $"sealed identity: {error.Message}");
            return false;
        }

        if (Validate(identity) is { } invalid)
        {
            identity = null!;
            error = new CustosError(ErrorCode.CredentialInvalid, $"sealed identity: {invalid.Message}");
            return false;
        }

        return true;
    }

    private static CustosError Invalid(string message) => new(ErrorCode.InvalidField, $"real identity: {message}");
}
