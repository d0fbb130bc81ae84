using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// An escrow authority's side of an opening: it takes its own share out of a credential, checks it against the
/// commitment the registrar signed, and re-encrypts it to the requester of one case. The released plaintext names
/// the credential, the case, the authority slot and the requester, so a share released for one case cannot be
/// presented for another. Whether the case is lawful is decided before (on chain: system.supervision's opening
/// request); this code only makes sure that what is released is the right share, for that case, to that requester.
/// </summary>
public static class ShareRelease
{
    private static readonly MessageParser<ReleasedShare> Parser = CanonicalMessage.Strict(ReleasedShare.Parser);

    /// <summary>
    /// Releases the share of the authority holding <paramref name="authorityKey"/>. A key that is not one of the
    /// credential's authorities gives <see cref="ErrorCode.NotAuthorised"/>; a share that does not decrypt, does not
    /// match its commitment or belongs to another credential gives <see cref="ErrorCode.CredentialInvalid"/>.
    /// Nothing is released on any error. The credential should be one the chain registered (or that passed
    /// <see cref="PseudonymCredentials.TryVerify(ICryptoSuite, ReadOnlySpan{byte}, PublicKey, string, out DecodedCredential, out CustosError)"/>):
    /// this method checks the share against the credential, not the credential against its registrar.
    /// </summary>
    public static bool TryRelease(ICryptoSuite suite, IDecryptionKey authorityKey, DecodedCredential credential, string caseReference,
        PublicKey requesterKey, out ReleasedShare released, out CustosError error)
    {
        released = null!;
        error = CheckRequest(suite, credential, caseReference, requesterKey)!;
        if (error is not null) return false;

        var index = IndexOf(credential, authorityKey.PublicKey);
        if (index < 0)
        {
            error = new CustosError(ErrorCode.NotAuthorised, "this key is not one of the credential's escrow authorities");
            return false;
        }

        var share = credential.Body.Escrow.Shares[index];
        if (!authorityKey.TryDecrypt(share.Ciphertext.Span, out var plaintext))
        {
            error = new CustosError(ErrorCode.CredentialInvalid, $"share {index} does not decrypt with this authority's key");
            return false;
        }

        try
        {
            error = CheckSharePlaintext(suite, credential, index, plaintext)!;
            if (error is not null) return false;

            var content = new ReleasedShareContent
            {
                CredentialId = credential.Id.ToByteString(),
                CaseReference = caseReference,
                AuthorityIndex = (uint)index,
                RequesterPublicKey = ByteString.CopyFrom(requesterKey.Encoded),
                SharePlaintext = ByteString.CopyFrom(plaintext),
            };
            var sealedContent = SigningDomain.Wrap(ObjectType.ReleasedShare, content.ToByteArray());
            released = new ReleasedShare
            {
                CredentialId = content.CredentialId,
                CaseReference = caseReference,
                AuthorityIndex = (uint)index,
                Ciphertext = UnsafeByteOperations.UnsafeWrap(suite.Encrypt(requesterKey, sealedContent)),
            };
            CryptographicOperations.ZeroMemory(sealedContent);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Structure of an encoded <see cref="ReleasedShare"/> (size, canonical encoding, field sizes); no decryption.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out ReleasedShare released, out CustosError error)
    {
        if (!CanonicalMessage.TryParse(Parser, bytes, CredentialLimits.ReleasedShareSizeBytesMax, "released share", out released, out error)) return false;
        var failure = CheckFields(released);
        if (failure is null) return true;
        released = null!;
        error = new CustosError(ErrorCode.ApprovalInvalid, $"released share: {failure}");
        return false;
    }

    private static string? CheckFields(ReleasedShare released)
    {
        if (released.CredentialId.Length != Hash32.SizeBytes) return "credential id is not 32 bytes";
        if (CheckCaseReference(released.CaseReference) is { } caseError) return caseError.Message;
        if (released.AuthorityIndex >= CredentialLimits.AuthoritiesMax) return $"authority index {released.AuthorityIndex} is out of range";
        return released.Ciphertext.IsEmpty ? "ciphertext is empty" : null;
    }

    /// <summary>Case references: 1 to 128 printable ASCII characters without spaces.</summary>
    public static CustosError? CheckCaseReference(string caseReference) =>
        caseReference.Length is 0 or > CredentialLimits.CaseReferenceLengthMax || !caseReference.All(c => c is > ' ' and <= '~')
            ? new CustosError(ErrorCode.InvalidField, $"case reference must be 1 to {CredentialLimits.CaseReferenceLengthMax} printable ASCII characters without spaces")
            : null;

    /// <summary>
    /// Null when <paramref name="plaintext"/> is the share of authority <paramref name="index"/> of this credential:
    /// its hash is the signed commitment, and it names this credential's escrow context and that slot.
    /// </summary>
    internal static CustosError? CheckSharePlaintext(ICryptoSuite suite, DecodedCredential credential, int index, ReadOnlySpan<byte> plaintext)
    {
        if (!suite.Hash(plaintext).ToByteString().Span.SequenceEqual(credential.Body.Escrow.Shares[index].Commitment.Span))
        {
            return new CustosError(ErrorCode.CredentialInvalid, $"share {index} does not match its commitment");
        }

        if (!EscrowSharePlaintext.TryDecode(plaintext, out var share) || share.Context != credential.EscrowContext || share.AuthorityIndex != index)
        {
            return new CustosError(ErrorCode.CredentialInvalid, $"share {index} was made for another credential or slot (escrow copied from elsewhere)");
        }

        return null;
    }

    private static CustosError? CheckRequest(ICryptoSuite suite, DecodedCredential credential, string caseReference, PublicKey requesterKey)
    {
        if (credential.Body.Suite != suite.Id) return new CustosError(ErrorCode.SuiteMismatch, "the credential is of another crypto suite");
        if (requesterKey.Suite != suite.Id) return new CustosError(ErrorCode.SuiteMismatch, "the requester's key is of another crypto suite");
        return CheckCaseReference(caseReference);
    }

    private static int IndexOf(DecodedCredential credential, PublicKey key)
    {
        var authorities = credential.Body.Escrow.Authorities;
        for (var i = 0; i < authorities.Count; i++)
        {
            if (authorities[i].PublicKey.Span.SequenceEqual(key.Encoded)) return i;
        }

        return -1;
    }
}
