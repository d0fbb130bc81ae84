using System.Net;
using System.Text.Json;
using Custos.Crypto;
using Custos.Execution.Wire;
using Custos.Identity;
using Custos.Network.Tls;
using Custos.Node;
using Custos.Node.Api;
using Custos.Privacy.Masking;
using static Custos.Supervision.Tests.Chain;

namespace Custos.Supervision.Tests;

public sealed class SupervisionAlertsApiTests : IAsyncLifetime
{
    private static readonly Lazy<Consortium> SharedConsortium = new(Consortium.Create);
    private readonly TempDirectory _directory = new();
    private readonly AlertFeed _feed = new();
    private readonly HttpClient _http = new();
    private readonly StringWriter _logOutput = new() { NewLine = "\n" };
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
        var log = new NodeLog("supervisor", TextWriter.Synchronized(_logOutput), TimeProvider.System);
        var access = new SupervisionAccess(new RequestSignature(Parties.Trust, TimeProvider.System), Parties.Trust, log);
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
            Detail = $"payment from watched account {Account(subject)}",
        };
        if (counterparty != 0) alert.Counterparty = Account(counterparty).ToByteString();
        return alert;
    }

    private HttpRequestMessage Get(string pathAndQuery, SoftwareKey? key, ConsortiumCertificate? certificate, Uri? server = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server ?? _server.Address, pathAndQuery));
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

    // The canonical JSON, with accounts in full, is a recorded reveal with a purpose.
    private const string Reveal = "reveal=true&purpose=case%2017";

    private List<JsonElement> LogLines() =>
        _logOutput.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static async Task<(HttpStatusCode Status, string Body)> Send(HttpClient http, HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Regulator_reads_alerts_from_a_height()
    {
        var (status, body) = await Send(_http, AsRegulator($"/v1/supervision/alerts?fromHeight=2&{Reveal}"));

        Assert.Equal(HttpStatusCode.OK, status);
        var page = AlertPage.Parser.ParseJson(body);
        Assert.Equal([2UL], page.Alerts.Select(a => a.Height));
        Assert.Equal(3UL, page.NextHeight);
        Assert.False(page.More);
    }

    [Fact]
    public async Task Regulator_reads_alerts_about_an_account()
    {
        var (status, body) = await Send(_http, AsRegulator($"/v1/supervision/alerts?account={Account(2)}&{Reveal}"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(NewAlert(1, 1, 1, 2), AlertPage.Parser.ParseJson(body).Alerts.Single());
    }

    [Fact]
    public async Task Alerts_show_accounts_masked_by_default()
    {
        var (status, body) = await Send(_http, AsRegulator("/v1/supervision/alerts?fromHeight=1&toHeight=1"));

        Assert.Equal(HttpStatusCode.OK, status);
        var alert = JsonDocument.Parse(body).RootElement.GetProperty("alerts").EnumerateArray().Single();
        Assert.Equal(IdentifierMask.Account(Account(1)), alert.GetProperty("subjectAccount").GetString());
        Assert.Equal(IdentifierMask.Account(Account(2)), alert.GetProperty("counterparty").GetString());
        Assert.Contains(IdentifierMask.Account(Account(1)), alert.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(IdentifierText.HoldsAccount(body));
        Assert.DoesNotContain(LogLines(), l => l.GetProperty("event").GetString() == "identifier-revealed");
    }

    [Fact]
    public async Task Stream_shows_accounts_masked_by_default()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var response = await _http.SendAsync(AsRegulator("/v1/supervision/alerts/stream?fromHeight=2"), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        string? data = null;
        while (data is null && await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
        }

        Assert.NotNull(data);
        Assert.Equal(IdentifierMask.Account(Account(3)), JsonDocument.Parse(data).RootElement.GetProperty("subjectAccount").GetString());
        Assert.False(IdentifierText.HoldsAccount(data));
    }

    [Fact]
    public async Task Regulator_reveal_shows_accounts_in_full_and_records_who_revealed_what_and_why()
    {
        var (status, body) = await Send(_http, AsRegulator($"/v1/supervision/alerts?fromHeight=1&toHeight=1&{Reveal}"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(NewAlert(1, 1, 1, 2), AlertPage.Parser.ParseJson(body).Alerts.Single());
        var records = LogLines().Where(l => l.GetProperty("event").GetString() == "identifier-revealed").ToList();
        Assert.Equal([IdentifierMask.Account(Account(1)), IdentifierMask.Account(Account(2))], records.Select(r => r.GetProperty("identifier").GetString()));
        Assert.All(records, r =>
        {
            Assert.Equal("auditor@regulator-org", r.GetProperty("by").GetString());
            Assert.Equal("case 17", r.GetProperty("purpose").GetString());
            Assert.Equal("/v1/supervision/alerts", r.GetProperty("path").GetString());
            Assert.Equal(64, r.GetProperty("identifier-hash").GetString()!.Length);
        });
        Assert.False(IdentifierText.HoldsAccount(_logOutput.ToString()));
    }

    [Fact]
    public async Task Reveal_by_a_non_regulator_is_not_authorised_and_reveals_nothing()
    {
        var (status, body) = await Send(_http, Get($"/v1/supervision/alerts?fromHeight=1&{Reveal}", Parties.ClientKey, Parties.Client));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        var refusal = JsonDocument.Parse(body).RootElement;
        Assert.Equal("NotAuthorised", refusal.GetProperty("code").GetString());
        Assert.False(refusal.TryGetProperty("alerts", out _));
        Assert.DoesNotContain(Account(1).ToString(), body, StringComparison.Ordinal);
        Assert.Contains(LogLines(), l => l.GetProperty("event").GetString() == "identifier-reveal-refused" && l.GetProperty("by").GetString() == "client@regulator-org");
        Assert.DoesNotContain(LogLines(), l => l.GetProperty("event").GetString() == "identifier-revealed");
    }

    [Fact]
    public async Task Reveal_without_a_purpose_is_a_typed_bad_request()
    {
        var (status, body) = await Send(_http, AsRegulator("/v1/supervision/alerts?reveal=true"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("InvalidField", JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Audit_api_refuses_a_reveal_to_a_non_regulator_and_logs_queried_accounts_masked()
    {
        // No index behind it: what is checked happens before a query reaches PostgreSQL.
        await using var queries = new Supervision.Index.SupervisionQueries(new Supervision.Index.SupervisionIndexOptions("Host=127.0.0.1;Port=1;Timeout=2"));
        var log = new NodeLog("supervisor", TextWriter.Synchronized(_logOutput), TimeProvider.System);
        var access = new SupervisionAccess(new RequestSignature(Parties.Trust, TimeProvider.System), Parties.Trust, log);
        await using var server = await LocalServer.StartAsync(app => app.MapSupervisionAudit(queries, access, Parties.Trust, log));
        var path = $"/v1/supervision/transactions?account={Account(7)}";

        var (status, body) = await Send(_http, Get($"{path}&{Reveal}", Parties.ClientKey, Parties.Client, server.Address));
        using (await _http.SendAsync(Get(path, Parties.RegulatorKey, Parties.Regulator, server.Address), TestContext.Current.CancellationToken))
        {
        }

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("NotAuthorised", JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
        var query = Assert.Single(LogLines(), l => l.GetProperty("event").GetString() == "supervision-query");
        Assert.Equal($"?account={IdentifierMask.Account(Account(7))}", query.GetProperty("query").GetString());
        Assert.False(IdentifierText.HoldsAccount(_logOutput.ToString()));
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
        using var response = await _http.SendAsync(AsRegulator($"/v1/supervision/alerts/stream?fromHeight=2&{Reveal}"), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
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
        using var response = await _http.SendAsync(AsRegulator($"/v1/supervision/alerts/stream?fromHeight=3&{Reveal}"), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
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
