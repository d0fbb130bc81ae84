using System.Net;
using System.Text.Json;
using Custos.Core;
using Custos.Network.Tls;
using Custos.Node.Api;
using Custos.Node.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Custos.Node.Tests;

/// <summary>
/// The private data REST endpoints of n1 (org1) over a real listener, with signed requests from the consortium's
/// clients: payer@org1 (this node's organisation) and payee@org2. n2 (org2) is its peer; the policy entitles both
/// organisations to dcep/kyc.
/// </summary>
public sealed class PrivateDataApiTests : IAsyncLifetime
{
    private const string Record = "/v1/private/dcep/kyc/00c0ffee";
    private static readonly byte[] Key = [0x00, 0xC0, 0xFF, 0xEE];
    private readonly TestConsortium _consortium = TestConsortium.Intl;
    private readonly PrivacyCluster _cluster = new(("n1", "org1"), ("n2", "org2"));
    private readonly HttpClient _http = new();
    private WebApplication? _app;

    private TestUser Org1Client => _consortium.Payer;

    private TestUser Org2Client => _consortium.Payee;

    public async ValueTask InitializeAsync()
    {
        _cluster.State.SetPolicy(("dcep", "kyc", ["org1", "org2"]));
        await _cluster.StartAsync();
        var trust = new TrustStore(_consortium.Genesis.CreateValidator(), TimeProvider.System);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapPrivateData(_cluster["n1"], new PrivateDataAccess(new RequestSignature(trust, TimeProvider.System), trust));
        await _app.StartAsync();
        _http.BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _http.Dispose();
        await _cluster.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string pathAndQuery, TestUser? user, byte[]? body = null, bool signValue = true)
    {
        if (method == HttpMethod.Put && body is not null && signValue) pathAndQuery += "&valueHash=" + PrivacyCluster.Suite.Hash(body);
        using var request = new HttpRequestMessage(method, pathAndQuery);
        if (body is not null) request.Content = new ByteArrayContent(body);
        if (user is not null)
        {
            var headers = RequestSignature.Sign(user.Key, user.Certificate.Der, method.Method, pathAndQuery, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            foreach (var (name, value) in headers) request.Headers.Add(name, value);
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task A_client_of_the_nodes_organisation_writes_reads_with_a_verified_proof_and_the_peer_gets_the_replica()
    {
        var value = "李四|6222021234567890123"u8.ToArray();

        var (status, put) = await SendAsync(HttpMethod.Put, Record + "?purpose=onboarding", Org1Client, value);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(JsonValueKind.Null, put.GetProperty("previousCommitment").ValueKind);
        Assert.Equal("n2", Assert.Single(put.GetProperty("sentTo").EnumerateArray()).GetString());
        var commitment = new Core.Hash32(Convert.FromHexString(put.GetProperty("commitment").GetString()!));
        Assert.True(await PrivacyCluster.Eventually(() => _cluster.Store("n2").TryGetCommitment("dcep", "kyc", Key, out _, out _)));

        // Before the client commits, the read works but does not verify against the chain; after, it does.
        var (_, unverified) = await SendAsync(HttpMethod.Get, Record + "?purpose=review", Org1Client);
        Assert.False(unverified.GetProperty("verified").GetBoolean());
        _cluster.State.Commit("dcep", "kyc", Key, commitment, "org1");
        var (readStatus, read) = await SendAsync(HttpMethod.Get, Record + "?purpose=review", Org1Client);
        Assert.Equal(HttpStatusCode.OK, readStatus);
        Assert.Equal(value, Convert.FromBase64String(read.GetProperty("value").GetString()!));
        Assert.True(read.GetProperty("verified").GetBoolean());
        Assert.Equal(commitment.ToString(), read.GetProperty("onChainCommitment").GetString());
    }

    [Fact]
    public async Task A_client_of_another_organisation_may_not_write_read_or_purge_at_this_node()
    {
        await SendAsync(HttpMethod.Put, Record + "?purpose=onboarding", Org1Client, [1, 2, 3]);

        foreach (var (method, path) in new[] { (HttpMethod.Put, Record + "?purpose=x"), (HttpMethod.Get, Record + "?purpose=x"), (HttpMethod.Post, Record + "/purge?reason=x") })
        {
            var (status, body) = await SendAsync(method, path, Org2Client, method == HttpMethod.Get ? null : [9]);
            Assert.Equal(HttpStatusCode.Forbidden, status);
            Assert.Equal("NotEntitled", body.GetProperty("code").GetString());
        }

        // The commitment is for any consortium client; who purged and why only for this organisation's.
        var (commitmentStatus, commitment) = await SendAsync(HttpMethod.Get, Record + "/commitment", Org2Client);
        Assert.Equal(HttpStatusCode.OK, commitmentStatus);
        Assert.Equal(JsonValueKind.String, commitment.GetProperty("held").ValueKind);
    }

    [Fact]
    public async Task A_purged_record_reads_as_a_conflict_and_its_commitment_stays()
    {
        var (_, put) = await SendAsync(HttpMethod.Put, Record + "?purpose=onboarding", Org1Client, [1, 2, 3]);
        var (missingReason, _) = await SendAsync(HttpMethod.Post, Record + "/purge", Org1Client, []);
        Assert.Equal(HttpStatusCode.BadRequest, missingReason);

        var (purgeStatus, purge) = await SendAsync(HttpMethod.Post, Record + "/purge?reason=customer%20request", Org1Client, []);

        Assert.Equal(HttpStatusCode.OK, purgeStatus);
        Assert.Equal("customer request", purge.GetProperty("reason").GetString());
        var (readStatus, read) = await SendAsync(HttpMethod.Get, Record + "?purpose=review", Org1Client);
        Assert.Equal(HttpStatusCode.Conflict, readStatus);
        Assert.Equal("PrivateDataPurged", read.GetProperty("code").GetString());
        var (_, commitment) = await SendAsync(HttpMethod.Get, Record + "/commitment", Org1Client);
        Assert.Equal(put.GetProperty("commitment").GetString(), commitment.GetProperty("held").GetString());
        Assert.True(commitment.GetProperty("purged").GetBoolean());
        Assert.Equal("customer request", commitment.GetProperty("purgeReason").GetString());
    }

    [Fact]
    public async Task Unsigned_requests_and_bad_keys_are_refused()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, Record + "?purpose=x", user: null)).Status);
        var (status, body) = await SendAsync(HttpMethod.Get, "/v1/private/dcep/kyc/zz?purpose=x", Org1Client);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Malformed", body.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, Record + "?purpose=x", Org1Client)).Status);
    }

    [Fact]
    public async Task A_write_whose_body_is_not_the_value_the_signed_query_names_is_refused_and_stores_nothing()
    {
        var signedFor = "王五"u8.ToArray();
        var pathAndQuery = Record + "?purpose=onboarding&valueHash=" + PrivacyCluster.Suite.Hash(signedFor);

        var (status, body) = await SendAsync(HttpMethod.Put, pathAndQuery, Org1Client, "someone else"u8.ToArray(), signValue: false);
        var (unsigned, _) = await SendAsync(HttpMethod.Put, Record + "?purpose=onboarding", Org1Client, signedFor, signValue: false);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("InvalidField", body.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, unsigned);
        Assert.False(_cluster.Store("n1").TryGetCommitment("dcep", "kyc", Key, out _, out _));
    }

    [Fact]
    public async Task An_administrators_export_is_sealed_to_the_recipient_and_a_client_may_not_export()
    {
        var value = "张三|110101199001011234"u8.ToArray();
        await SendAsync(HttpMethod.Put, Record + "?purpose=onboarding", Org1Client, value);
        var admin = _consortium.Users.First(u => u.Certificate.Organisation == "org1" && u.Certificate.Role == Identity.CertificateRole.Admin);
        using var recipient = PrivacyCluster.Suite.GenerateKey();
        using var stranger = PrivacyCluster.Suite.GenerateKey();
        var path = $"/v1/private/export?recipient={Convert.ToHexString(recipient.PublicKey.Encoded)}&purpose=nightly-backup";

        var (clientStatus, _) = await SendAsync(HttpMethod.Post, path, Org1Client);
        var (otherOrganisation, _) = await SendAsync(HttpMethod.Post, path, _consortium.Users.First(u => u.Certificate.Organisation == "org2" && u.Certificate.Role == Identity.CertificateRole.Admin));
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        foreach (var (name, header) in RequestSignature.Sign(admin.Key, admin.Certificate.Der, "POST", path, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())) request.Headers.Add(name, header);
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        var sealedExport = await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, clientStatus);
        Assert.Equal(HttpStatusCode.Forbidden, otherOrganisation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(Privacy.Export.PrivacyExport.TryOpen(PrivacyCluster.Suite, sealedExport, new Identity.Pseudonyms.SoftwareDecryptionKey(recipient), out var contents, out _));
        var exported = Assert.Single(contents.Records);
        Assert.Equal(value, exported.Value.ToByteArray());
        Assert.False(Privacy.Export.PrivacyExport.TryOpen(PrivacyCluster.Suite, sealedExport, new Identity.Pseudonyms.SoftwareDecryptionKey(stranger), out _, out _));
    }
}
