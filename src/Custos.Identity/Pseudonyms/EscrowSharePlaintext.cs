using System.Numerics;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// What an authority's share travels in, encrypted to the authority:
/// <c>SigningDomain(ESCROW_SHARE) || escrow context (32) || authority index (1) || salt (32) || f(index + 1) (66)</c>.
/// Its suite hash is the share's commitment in the credential body, so the commitment hides the share (the salt is
/// secret) and binds it to one credential's escrow context and one authority slot. The escrow context ties the share
/// to the pseudonym: a share copied into another credential names the wrong context and is refused.
/// </summary>
internal sealed record EscrowSharePlaintext(Hash32 Context, int AuthorityIndex, byte[] Salt, BigInteger Value)
{
    private static readonly int PrefixSizeBytes = SigningDomain.Prefix(ObjectType.EscrowShare).Length;

    public static int SizeBytes => PrefixSizeBytes + Hash32.SizeBytes + 1 + CredentialLimits.SaltSizeBytes + Shamir.ElementSizeBytes;

    public byte[] Encode()
    {
        var bytes = new byte[SizeBytes];
        var span = bytes.AsSpan();
        SigningDomain.Prefix(ObjectType.EscrowShare).CopyTo(span);
        span = span[PrefixSizeBytes..];
        Context.CopyTo(span);
        span[Hash32.SizeBytes] = checked((byte)AuthorityIndex);
        span = span[(Hash32.SizeBytes + 1)..];
        Salt.CopyTo(span);
        Shamir.Encode(Value, span[CredentialLimits.SaltSizeBytes..]);
        return bytes;
    }

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out EscrowSharePlaintext plaintext)
    {
        plaintext = null!;
        if (bytes.Length != SizeBytes || !bytes.StartsWith(SigningDomain.Prefix(ObjectType.EscrowShare))) return false;
        var span = bytes[PrefixSizeBytes..];
        var context = new Hash32(span[..Hash32.SizeBytes]);
        int index = span[Hash32.SizeBytes];
        span = span[(Hash32.SizeBytes + 1)..];
        var salt = span[..CredentialLimits.SaltSizeBytes].ToArray();
        if (!Shamir.TryDecode(span[CredentialLimits.SaltSizeBytes..], out var value)) return false;
        plaintext = new EscrowSharePlaintext(context, index, salt, value);
        return true;
    }

    /// <summary>The escrow context of a credential body: its hash under the PSEUDONYM_ESCROW domain.</summary>
    public static Hash32 ComputeContext(ICryptoSuite suite, PseudonymCredentialBody body) =>
        suite.HashObject(ObjectType.PseudonymEscrow, new EscrowContext
        {
            FormatVersion = body.FormatVersion,
            Suite = body.Suite,
            ChainId = body.ChainId,
            RegistrarOrganisation = body.RegistrarOrganisation,
            PseudonymPublicKey = body.PseudonymPublicKey,
        }.ToByteArray());
}
