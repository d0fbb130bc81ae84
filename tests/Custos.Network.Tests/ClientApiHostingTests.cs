using System.Net;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Custos.Network.Hosting;
using Custos.Network.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Custos.Network.Tests;

/// <summary>The secured listener and client handler the client API, the SDK and the CLI reuse.</summary>
public sealed class ClientApiHostingTests
{
    [Theory]
    [InlineData("gm", "TLS_SM4_GCM_SM3")]
    [InlineData("intl", "TLS_AES")]
    public async Task The_client_api_listener_tells_endpoints_the_callers_role_and_refuses_node_certificates(string suiteName, string suitePrefix)
    {
        var suite = CryptoSuites.Parse(suiteName);
        var consortium = new TestConsortium(suite, "org1");
        var trust = consortium.Trust();
        await using var listener = await SecureListener.StartAsync(new SecureListenerOptions
        {
            Endpoint = new IPEndPoint(IPAddress.Loopback, 0),
            Stack = TlsStack.For(suite, consortium.Issue("node-api")),
            Policy = HandshakePolicy.ForClients(trust),
            Configure = app => app.MapGet("/whoami", (HttpContext context) =>
            {
                var caller = context.GetSecurePeer()!;
                return $"{caller.Role}:{caller.Peer.CommonName}:{caller.Channel.CipherSuite}";
            }),
        }, TestContext.Current.CancellationToken);
        var serverPolicy = HandshakePolicy.ForNode(trust, "node-api");

        foreach (var (name, role) in new[] { ("alice", CertificateRole.Client), ("root", CertificateRole.Admin), ("pboc", CertificateRole.Regulator) })
        {
            using var http = SecureHttpHandler.CreateHttpClient(TlsStack.For(suite, consortium.Issue(name, role)), serverPolicy, "127.0.0.1", listener.Endpoint.Port);
            var answer = await http.GetStringAsync(new Uri("/whoami", UriKind.Relative), TestContext.Current.CancellationToken);
            Assert.StartsWith($"{role}:{name}:{suitePrefix}", answer, StringComparison.Ordinal);
        }

        using var asNode = SecureHttpHandler.CreateHttpClient(TlsStack.For(suite, consortium.Issue("b")), serverPolicy, "127.0.0.1", listener.Endpoint.Port);
        await Assert.ThrowsAsync<HttpRequestException>(() => asNode.GetStringAsync(new Uri("/whoami", UriKind.Relative), TestContext.Current.CancellationToken));
        Assert.True(await Wait.UntilAsync(() => listener.RecentRefusals.Any(r => r.Error.Code == ErrorCode.CertificateWrongRole)));
    }

    [Theory]
    [InlineData("gm")]
    [InlineData("intl")]
    public async Task An_api_listener_can_serve_http1_over_the_same_tls(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        var consortium = new TestConsortium(suite, "org1");
        var trust = consortium.Trust();
        await using var listener = await SecureListener.StartAsync(new SecureListenerOptions
        {
            Endpoint = new IPEndPoint(IPAddress.Loopback, 0),
            Stack = TlsStack.For(suite, consortium.Issue("node-api")),
            Policy = HandshakePolicy.ForClients(trust),
            Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
            Configure = app => app.MapGet("/version", (HttpContext context) => $"{context.Request.Protocol} {context.GetSecurePeer()!.Peer.CommonName}"),
        }, TestContext.Current.CancellationToken);
        var client = TlsStack.For(suite, consortium.Issue("alice", CertificateRole.Client));
        using var http = new HttpClient(SecureHttpHandler.Create(client, HandshakePolicy.ForNode(trust, "node-api")))
        {
            BaseAddress = SecureHttpHandler.BaseAddress("127.0.0.1", listener.Endpoint.Port),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        var answer = await http.GetStringAsync(new Uri("/version", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal("HTTP/1.1 alice", answer);
    }
}
