using Custos.Core;
using Custos.Identity.Wire;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// A structurally valid pseudonym credential (see <see cref="PseudonymCredentials"/>). It keeps the exact bytes it
/// was decoded from: the registrar's signature is over <see cref="BodyBytes"/> and the id is their hash, so neither
/// depends on re-encoding. Whether the registrar's signature verifies is known only after
/// <see cref="PseudonymCredentials.TryVerify(Custos.Crypto.ICryptoSuite, ReadOnlySpan{byte}, Custos.Crypto.PublicKey, string, out DecodedCredential, out CustosError)"/>.
/// </summary>
public sealed class DecodedCredential
{
    internal DecodedCredential(byte[] bytes, PseudonymCredential wire, PseudonymCredentialBody body, Hash32 id, Hash32 escrowContext)
    {
        Bytes = bytes;
        Wire = wire;
        Body = body;
        Id = id;
        EscrowContext = escrowContext;
        AuthorityPublicKeys = body.Escrow.Authorities.Select(a => a.PublicKey.ToByteArray()).ToArray();
    }

    /// <summary>The encoded <see cref="PseudonymCredential"/>, as registered on chain.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    public PseudonymCredential Wire { get; }

    public PseudonymCredentialBody Body { get; }

    /// <summary>The signed bytes.</summary>
    public ReadOnlyMemory<byte> BodyBytes => Wire.Body.Memory;

    /// <summary>Suite hash of SigningDomain(PSEUDONYM_CREDENTIAL) || body bytes.</summary>
    public Hash32 Id { get; }

    public string ChainId => Body.ChainId;

    public string RegistrarOrganisation => Body.RegistrarOrganisation;

    /// <summary>SEC1 uncompressed, 65 bytes.</summary>
    public byte[] PseudonymPublicKey => Body.PseudonymPublicKey.ToByteArray();

    /// <summary>t: how many authorities must release their shares to open the identity.</summary>
    public uint Threshold => Body.Escrow.Threshold;

    /// <summary>The n authorities' public keys, in the order of their shares (authority index 0 first).</summary>
    public IReadOnlyList<byte[]> AuthorityPublicKeys { get; }

    public ulong ValidFromHeight => Body.ValidFromHeight;

    /// <summary>First height at which the credential is no longer valid; 0 means it does not expire.</summary>
    public ulong ValidUntilHeight => Body.ValidUntilHeight;

    public bool IsValidAt(ulong height) => height >= ValidFromHeight && (ValidUntilHeight == 0 || height < ValidUntilHeight);

    /// <summary>Hash binding the escrow to this pseudonym (see <see cref="EscrowSharePlaintext"/>).</summary>
    internal Hash32 EscrowContext { get; }
}
