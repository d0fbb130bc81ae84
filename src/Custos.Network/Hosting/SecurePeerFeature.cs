using System.Net;
using Custos.Identity;
using Custos.Network.Tls;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace Custos.Network.Hosting;

/// <summary>
/// The authenticated peer of a connection accepted by a <see cref="SecureListener"/>, set as a connection feature, so
/// gRPC services and HTTP endpoints see who called and with which role:
/// <c>httpContext.Features.Get&lt;ISecurePeerFeature&gt;()</c> or <see cref="SecurePeerHttpContextExtensions.GetSecurePeer"/>.
/// </summary>
public interface ISecurePeerFeature
{
    /// <summary>The peer's validated certificate: organisation, name, role.</summary>
    ValidatedIdentity Peer { get; }

    CertificateRole Role { get; }

    /// <summary>The TLS session (negotiated suite, key updates).</summary>
    SecureChannel Channel { get; }

    EndPoint? RemoteEndPoint { get; }

    /// <summary>Closes the whole connection at once (used to cut a banned or revoked peer).</summary>
    void Abort(string reason);
}

internal sealed class SecurePeerFeature(SecureChannel channel, ConnectionContext connection) : ISecurePeerFeature
{
    public ValidatedIdentity Peer => channel.Peer;

    public CertificateRole Role => channel.Peer.Role;

    public SecureChannel Channel => channel;

    public EndPoint? RemoteEndPoint => connection.RemoteEndPoint;

    public string ConnectionId => connection.ConnectionId;

    public void Abort(string reason) => connection.Abort(new ConnectionAbortedException(reason));
}

public static class SecurePeerHttpContextExtensions
{
    /// <summary>The authenticated peer of the request's connection, or null outside a <see cref="SecureListener"/>.</summary>
    public static ISecurePeerFeature? GetSecurePeer(this HttpContext context) => context.Features.Get<ISecurePeerFeature>();
}
