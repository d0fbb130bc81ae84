using System.Numerics;
using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Pseudonyms;

/// <summary>A released share that was not used, and why (to report the authority or relay that sent it).</summary>
public sealed record RejectedShare(int Position, CustosError Error);

/// <summary>The outcome of an opening: the identity, which authorities' shares opened it, and what was refused.</summary>
public sealed record OpenedIdentity(RealIdentity Identity, IReadOnlyList<uint> AuthorityIndices, IReadOnlyList<RejectedShare> Rejected);

/// <summary>
/// The requester's side of an opening: it reads the shares released to it for one case, keeps those that are valid
/// (released for this credential and this case, to this requester, and matching the commitment the registrar
/// signed), and with t of them distinct rebuilds the data key and unseals the identity.
/// <para>
/// Policy for bad shares: a share that fails any check is set aside with <see cref="ErrorCode.ApprovalInvalid"/> in
/// <see cref="OpenedIdentity.Rejected"/> and the opening goes on with the others, so one faulty or hostile authority
/// cannot block a lawful opening. With fewer than t valid shares nothing is revealed: the error is
/// <see cref="ErrorCode.ApprovalInvalid"/> (naming the first refused share) when some share was refused, else
/// <see cref="ErrorCode.ApprovalsInsufficient"/>. A credential whose valid shares do not unseal its identity (a
/// registrar that escrowed inconsistent shares) gives <see cref="ErrorCode.CredentialInvalid"/>.
/// </para>
/// </summary>
public static class IdentityOpening
{
    /// <summary>More released shares than this in one call is refused (each costs a decryption).</summary>
    public const int ReleasedSharesMax = 4 * CredentialLimits.AuthoritiesMax;

    private static readonly MessageParser<ReleasedShareContent> ContentParser = CanonicalMessage.Strict(ReleasedShareContent.Parser);

    /// <summary>Opens from encoded <see cref="ReleasedShare"/> messages (as recorded on chain with the approvals).</summary>
    public static bool TryOpen(ICryptoSuite suite, IDecryptionKey requesterKey, DecodedCredential credential, string caseReference,
        IEnumerable<ReadOnlyMemory<byte>> releasedShares, out OpenedIdentity opened, out CustosError error)
    {
        var decoded = new List<Candidate>();
        foreach (var bytes in releasedShares)
        {
            if (decoded.Count == ReleasedSharesMax) return TooMany(out opened, out error);
            decoded.Add(ShareRelease.TryDecode(bytes.Span, out var released, out var decodeError)
                ? new Candidate(released, null)
                : new Candidate(null, $"is not a well-formed released share ({decodeError.Message})"));
        }

        return TryOpen(suite, requesterKey, credential, caseReference, decoded, out opened, out error);
    }

    public static bool TryOpen(ICryptoSuite suite, IDecryptionKey requesterKey, DecodedCredential credential, string caseReference,
        IEnumerable<ReleasedShare> releasedShares, out OpenedIdentity opened, out CustosError error) =>
        TryOpen(suite, requesterKey, credential, caseReference, releasedShares.Take(ReleasedSharesMax + 1).Select(r => new Candidate(r, null)).ToList(), out opened, out error);

    private static bool TryOpen(ICryptoSuite suite, IDecryptionKey requesterKey, DecodedCredential credential, string caseReference,
        List<Candidate> releasedShares, out OpenedIdentity opened, out CustosError error)
    {
        opened = null!;
        if (releasedShares.Count > ReleasedSharesMax) return TooMany(out opened, out error);
        if (credential.Body.Suite != suite.Id || requesterKey.PublicKey.Suite != suite.Id)
        {
            error = new CustosError(ErrorCode.SuiteMismatch, "the credential or the requester's key is of another crypto suite");
            return false;
        }

        if (ShareRelease.CheckCaseReference(caseReference) is { } caseError)
        {
            error = caseError;
            return false;
        }

        var valid = new SortedDictionary<int, BigInteger>();
        var rejected = new List<RejectedShare>();
        for (var position = 0; position < releasedShares.Count; position++)
        {
            var index = 0;
            var value = BigInteger.Zero;
            var candidate = releasedShares[position];
            var failure = candidate.Share is { } released
                ? Check(suite, requesterKey, credential, caseReference, released, out index, out value)
                : candidate.DecodeFailure ?? "is missing";
            if (failure is null)
            {
                // A second valid share of one slot is the same share (the commitment binds it), so it adds nothing.
                valid.TryAdd(index, value);
            }
            else
            {
                rejected.Add(new RejectedShare(position, new CustosError(ErrorCode.ApprovalInvalid, $"released share {position} {failure}")));
            }
        }

        var threshold = (int)credential.Threshold;
        if (valid.Count < threshold)
        {
            error = rejected.Count > 0
                ? rejected[0].Error with { Message = $"{rejected[0].Error.Message}; {valid.Count} valid of {threshold} needed" }
                : new CustosError(ErrorCode.ApprovalsInsufficient, $"{valid.Count} distinct valid shares, {threshold} needed");
            return false;
        }

        var used = valid.Take(threshold).ToArray();
        if (!TryUnseal(suite, credential, used.Select(p => ((BigInteger)(p.Key + 1), p.Value)).ToArray(), out var identity, out error)) return false;
        opened = new OpenedIdentity(identity, used.Select(p => (uint)p.Key).ToArray(), rejected);
        return true;
    }

    /// <summary>Null if the share is valid for this credential, case and requester; otherwise what is wrong with it.</summary>
    private static string? Check(ICryptoSuite suite, IDecryptionKey requesterKey, DecodedCredential credential, string caseReference,
        ReleasedShare released, out int index, out BigInteger value)
    {
        index = (int)Math.Min(released.AuthorityIndex, int.MaxValue);
        value = BigInteger.Zero;
        if (!released.CredentialId.Span.SequenceEqual(credential.Id.ToArray())) return "was released for another credential";
        if (released.CaseReference != caseReference) return $"was released for case '{released.CaseReference}', not '{caseReference}'";
        if (released.AuthorityIndex >= credential.AuthorityPublicKeys.Count) return $"names authority {released.AuthorityIndex}, the credential has {credential.AuthorityPublicKeys.Count}";
        if (!requesterKey.TryDecrypt(released.Ciphertext.Span, out var sealedContent)) return "does not decrypt with the requester's key";
        try
        {
            var prefix = SigningDomain.Prefix(ObjectType.ReleasedShare);
            if (!sealedContent.AsSpan().StartsWith(prefix)
                || !CanonicalMessage.TryParse(ContentParser, sealedContent.AsSpan(prefix.Length), CredentialLimits.ReleasedShareSizeBytesMax, "released share content", out var content, out _))
            {
                return "does not hold a released share's content";
            }

            if (!content.CredentialId.Equals(released.CredentialId) || content.CaseReference != released.CaseReference || content.AuthorityIndex != released.AuthorityIndex)
            {
                return "carries content for another credential, case or authority than it claims";
            }

            if (!content.RequesterPublicKey.Span.SequenceEqual(requesterKey.PublicKey.Encoded)) return "was released to another requester";
            var plaintext = content.SharePlaintext.Span;
            if (ShareRelease.CheckSharePlaintext(suite, credential, index, plaintext) is { } shareError) return $"is not authority {index}'s share: {shareError.Message}";
            if (!EscrowSharePlaintext.TryDecode(plaintext, out var share)) return "holds no share value";
            value = share.Value;
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sealedContent);
        }
    }

    private static bool TryUnseal(ICryptoSuite suite, DecodedCredential credential, (BigInteger X, BigInteger Y)[] points, out RealIdentity identity, out CustosError error)
    {
        identity = null!;
        var secret = Shamir.InterpolateAt(points, BigInteger.Zero);
        var keySizeBytes = suite.AeadKeySizeBytes;
        if (secret.GetByteCount(isUnsigned: true) > keySizeBytes)
        {
            error = new CustosError(ErrorCode.CredentialInvalid, "the shares do not rebuild a data key (the escrow is inconsistent)");
            return false;
        }

        var dataKey = new byte[keySizeBytes];
        var length = secret.GetByteCount(isUnsigned: true);
        secret.TryWriteBytes(dataKey.AsSpan(keySizeBytes - length), out _, isUnsigned: true, isBigEndian: true);
        var escrow = credential.Body.Escrow;
        try
        {
            if (!suite.TryAeadDecrypt(dataKey, escrow.Nonce.Span, escrow.SealedIdentity.Span, credential.EscrowContext.ToArray(), out var padded))
            {
                error = new CustosError(ErrorCode.CredentialInvalid, "the rebuilt data key does not unseal the identity (inconsistent shares, or an identity sealed for another pseudonym)");
                return false;
            }

            try
            {
                return RealIdentities.TryUnpad(padded, out identity, out error);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(padded);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>A released share as given, or why its bytes did not decode.</summary>
    private sealed record Candidate(ReleasedShare? Share, string? DecodeFailure);

    private static bool TooMany(out OpenedIdentity opened, out CustosError error)
    {
        opened = null!;
        error = new CustosError(ErrorCode.TooLarge, $"more than {ReleasedSharesMax} released shares");
        return false;
    }
}
