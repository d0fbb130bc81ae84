using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity;

namespace Custos.Network.Tls;

/// <summary>
/// Who may complete a TLS handshake with this side: a certificate the <see cref="TrustStore"/> validates (consortium
/// CA, validity, not revoked) with one of <see cref="Roles"/>, then whatever <see cref="Admit"/> adds (the expected
/// node name, membership of the peer list, not banned). Evaluated inside the handshake, so a refused peer never gets
/// an application byte through.
/// </summary>
public sealed class HandshakePolicy
{
    /// <summary>The roles that may use the client API: everyone but nodes.</summary>
    public static readonly IReadOnlyCollection<CertificateRole> ClientRoles =
        [CertificateRole.Client, CertificateRole.Admin, CertificateRole.Regulator, CertificateRole.Registrar];

    public HandshakePolicy(TrustStore trust, IReadOnlyCollection<CertificateRole> roles, Func<ValidatedIdentity, CustosError?>? admit = null)
    {
        if (roles.Count == 0) throw new CustosException(ErrorCode.InvalidField, "a handshake policy names at least one role");
        Trust = trust;
        Roles = roles;
        Admit = admit;
    }

    public TrustStore Trust { get; }

    public IReadOnlyCollection<CertificateRole> Roles { get; }

    /// <summary>Extra checks after the certificate validated; null admits.</summary>
    public Func<ValidatedIdentity, CustosError?>? Admit { get; }

    /// <summary>A node certificate for exactly <paramref name="expectedName"/> (what a dialling node expects of the peer it dials).</summary>
    public static HandshakePolicy ForNode(TrustStore trust, string expectedName) =>
        new(trust, [CertificateRole.Node], identity => identity.CommonName == expectedName
            ? null
            : new CustosError(ErrorCode.NotAuthorised, $"expected node {expectedName}, the certificate is for {identity.CommonName}"));

    /// <summary>A node certificate for one of the names <paramref name="admit"/> accepts (a node's P2P listener).</summary>
    public static HandshakePolicy ForNodes(TrustStore trust, Func<ValidatedIdentity, CustosError?> admit) => new(trust, [CertificateRole.Node], admit);

    /// <summary>Any client, admin, regulator or registrar certificate (the client API listener).</summary>
    public static HandshakePolicy ForClients(TrustStore trust) => new(trust, ClientRoles);

    public bool TryAdmit(ReadOnlySpan<byte> der, out ValidatedIdentity identity, out CustosError error)
    {
        if (!Trust.TryValidate(der, Roles, out identity, out error)) return false;
        if (Admit?.Invoke(identity) is { } refusal)
        {
            error = refusal;
            identity = null!;
            return false;
        }

        return true;
    }
}
