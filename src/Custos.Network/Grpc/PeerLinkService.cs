using Custos.Identity;
using Custos.Network.Hosting;
using Grpc.AspNetCore.Server;
using Grpc.Core;

namespace Custos.Network.Grpc;

/// <summary>
/// The server end of peer links: admits a link only from a configured peer whose node certificate passed the
/// handshake, then runs every frame through the inbound gate. Bound by <see cref="BindService"/>, which gRPC finds
/// through the attribute.
/// </summary>
[BindServiceMethod(typeof(PeerLinkService), nameof(BindService))]
#pragma warning disable CA1852 // gRPC finds the handler only if it is virtual, which needs an unsealed class.
public class PeerLinkService
#pragma warning restore CA1852
{
    private readonly GrpcPeerNetwork _network;

    internal PeerLinkService(GrpcPeerNetwork network) => _network = network;

    public static void BindService(ServiceBinderBase binder, PeerLinkService? service) =>
        binder.AddMethod(PeerLinkProtocol.Exchange, service is null ? null : service.Exchange);

    /// <summary>The handler of <c>custos.v1.PeerLink/Exchange</c>; gRPC finds it by name and requires it to be virtual.</summary>
    public virtual async Task Exchange(IAsyncStreamReader<PeerLinkFrame> requestStream, IServerStreamWriter<PeerLinkFrame> responseStream, ServerCallContext context)
    {
        var peer = context.GetHttpContext().GetSecurePeer();
        if (peer is null || peer.Role != CertificateRole.Node)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "peer links need a node certificate"));
        }

        await _network.ServeInboundAsync(peer, requestStream, context).ConfigureAwait(false);
    }
}
