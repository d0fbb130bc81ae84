using Custos.Crypto;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// Who holds an escrowed identity and how many must cooperate to open it: t of the n authorities. On a chain the
/// regulator sets it (system.supervision's escrow policy), so that a registrar cannot pick authorities of its own.
/// </summary>
public sealed record IdentityEscrowPolicy(uint Threshold, IReadOnlyList<EscrowAuthority> Authorities)
{
    public static IdentityEscrowPolicy Of(uint threshold, params IEnumerable<(string Name, PublicKey PublicKey)> authorities) =>
        new(threshold, authorities.Select(a => new EscrowAuthority { Name = a.Name, PublicKey = ByteString.CopyFrom(a.PublicKey.Encoded) }).ToArray());
}

/// <summary>
/// The block heights at which a credential is valid: <c>FromHeight &lt;= h &lt; UntilHeight</c>; an
/// <see cref="UntilHeight"/> of 0 means it does not expire. Heights rather than wall-clock time, so every node
/// decides validity alike.
/// </summary>
public readonly record struct CredentialValidity(ulong FromHeight, ulong UntilHeight)
{
    public static CredentialValidity Unbounded => new(0, 0);
}
