using System.Net;
using System.Text.Json;
using Custos.Crypto;
using Custos.Execution.Wire;
using Custos.Identity;
using Custos.Network.Tls;
using Custos.Node.Api;
using static Custos.Supervision.Tests.Chain;

namespace Custos.Supervision.Tests;

public sealed class SupervisionAlertsApiTests : IAsyncLifetime
{
    private static readonly Lazy<Consortium> SharedConsortium = new(Consortium.Create);
    private readonly TempDirectory _directory = new();
    private readonly AlertFeed _feed = new();
    private readonly HttpClient _http = new();
    private AlertStore _store = null!;
    private LocalServer _server = null!;

    private static Consortium Parties => SharedConsortium.Value;

    /// <summary>One organisation's CA with a regulator and a client certificate, and the trust store that knows it.</summary>
    private sealed record Consortium(TrustStore Trust, SoftwareKey RegulatorKey, ConsortiumCertificate Regulator, SoftwareKey ClientKey, ConsortiumCertificate Client)
    {
        public static Consortium Create()
        {
            var suite = CryptoSuites.Intl;
            var authority = CertificateAuthority.CreateRoot("regulator-org", suite.GenerateKey(), suite, TimeSpan.FromDays(1));
            var regulatorKey = suite.GenerateKey();
            var clientKey = suite.GenerateKey();
            var regulator = authority.Issue(new CertificateRequest("auditor@regulator-org", CertificateRole.Regulator, regulatorKey.PublicKey));
            var client = authority.Issue(new CertificateRequest("client@regulator-org", CertificateRole.Client, clientKey.PublicKey));
            return new Consortium(new TrustStore(new CertificateValidator(suite, [authority.Certificate])), regulatorKey, regulator, clientKey, client);
        }
    }

    public async ValueTask InitializeAsync()
    {
        _store = AlertStore.Open(_directory.Path);
        _store.Persist(0, []);
        _store.Persist(1, [NewAlert(1, 1, subject: 1, counterparty: 2)]);
        _store.Persist(2, [NewAlert(2, 1, subject: 3)]);
        var access = new SupervisionAccess(new RequestSignature(Parties.Trust, TimeProvider.System), Parties.Trust);
        // A stream queue of two alerts, so that a burst makes a stream fall behind and read the store again.
        _server = await LocalServer.StartAsync(app => app.MapSupervisionAlerts(_store, _feed, access, streamQueueCapacity: 2));
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _http.Dispose();
        _store.Dispose();
        _directory.Dispose();
    }

    private static Alert NewAlert(ulong height, ulong n, ulong subject, ulong counterparty = 0)
    {
        var alert = new Alert
        {
            Id = Tx((height * 100) + n).ToByteString(),
            RuleId = "watch",
            Kind = SupervisionRuleKind.WatchedAccount,
            Severity = AlertSeverity.Critical,
            Height = height,
            SubjectAccount = Account(subject).ToByteString(),
            Amount = 10,
        };
        if (counterparty != 0) alert.Counterparty = Account(counterparty).ToByteString();
        return alert;
    }

    private HttpRequestMessage Get(string pathAndQuery, SoftwareKey? key, ConsortiumCertificate? certificate)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_server.Address, pathAndQuery));
        if (key is not null && certificate is not null)
        {
            foreach (var (name, value) in RequestSignature.Sign(key, certificate.Der, "GET", pathAndQuery, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))
            {
                request.Headers.Add(name, value);
            }
        }

        return request;
    }

    private HttpRequestMessage AsRegulator(string pathAndQuery) => Get(pathAndQuery, Parties.RegulatorKey, Parties.Regulator);

    private static async Task<(HttpStatusCode Status, string Body)> Send(HttpClient http, HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Regulator_reads_alerts_from_a_height()
    {
        var (status, body) = await Send(_http, AsRegulator("/v1/supervision/alerts?fromHeight=2"));

        Assert.Equal(HttpStatusCode.OK, status);
        var page = AlertPage.Parser.ParseJson(body);
        Assert.Equal([2UL], page.Alerts.Select(a => a.Height));
        Assert.Equal(3UL, page.NextHeight);
        Assert.False(page.More);
    }

    [Fact]
    public async Task Regulator_reads_alerts_about_an_account()
    {
        var (status, body) = await Send(_http, AsRegulator($"/v1/supervision/alerts?account={Account(2)}"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(NewAlert(1, 1, 1, 2), AlertPage.Parser.ParseJson(body).Alerts.Single());
    }

    [Fact]
    public async Task Certificate_of_another_role_is_forbidden()
    {
        var (status, body) = await Send(_http, Get("/v1/supervision/alerts", Parties.ClientKey, Parties.Client));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("CertificateWrongRole", JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Unsigned_request_is_unauthorised()
    {
        var (status, _) = await Send(_http, Get("/v1/supervision/alerts", null, null));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task Stream_is_refused_to_other_roles_too()
    {
        var (status, _) = await Send(_http, Get("/v1/supervision/alerts/stream", Parties.ClientKey, Parties.Client));

        Assert.Equal(HttpStatusCode.Forbidden, status);
    }

    [Theory]
    [InlineData("fromHeight=abc", "InvalidField")]
    [InlineData("fromHeight=-1", "InvalidField")]
    [InlineData("limit=0", "InvalidField")]
    [InlineData("account=zz", "InvalidLength")]
    public async Task Malformed_query_is_a_typed_bad_request(string query, string code)
    {
        var (status, body) = await Send(_http, AsRegulator($"/v1/supervision/alerts?{query}"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(code, JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Stream_sends_stored_alerts_then_new_ones_as_server_sent_events()
    {
        var cancel = TestContext.Current.CancellationToken;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var response = await _http.SendAsync(AsRegulator("/v1/supervision/alerts/stream?fromHeight=2"), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var stored = await NextEventAsync(reader, timeout.Token);
        var fresh = NewAlert(3, 1, subject: 4);
        _store.Persist(3, [fresh]);
        _feed.Publish([fresh]);
        var live = await NextEventAsync(reader, timeout.Token);

        Assert.Equal(NewAlert(2, 1, 3), stored.Alert);
        Assert.Equal(Tx(201).ToString(), stored.Id);
        Assert.Equal(fresh, live.Alert);
        Assert.Equal(Tx(301).ToString(), live.Id);
    }

    [Fact]
    public async Task Stream_that_falls_behind_still_sends_every_alert_once_in_order()
    {
        var cancel = TestContext.Current.CancellationToken;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var response = await _http.SendAsync(AsRegulator("/v1/supervision/alerts/stream?fromHeight=3"), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        // Nothing is stored from block 3 yet: wait until the server is following the feed.
        while (_feed.SubscriberCount == 0) await Task.Delay(10, timeout.Token);

        var burst = new List<Alert>();
        for (ulong h = 3; h < 9; h++)
        {
            var alerts = new List<Alert> { NewAlert(h, 1, subject: 5), NewAlert(h, 2, subject: 6) };
            _store.Persist(h, alerts);
            burst.AddRange(alerts);
        }

        // One publication of twelve alerts into a queue of two.
        _feed.Publish(burst);
        var received = new List<Alert>();
        while (received.Count < burst.Count) received.Add((await NextEventAsync(reader, timeout.Token)).Alert);

        Assert.Equal(burst, received);
    }

    private static async Task<(string Id, Alert Alert)> NextEventAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        string? id = null, data = null, name = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            else if (line.Length == 0 && data is not null)
            {
                Assert.Equal("alert", name);
                return (id!, Alert.Parser.ParseJson(data));
            }
        }

        throw new EndOfStreamException("the stream ended");
    }
}
