using System.Globalization;
using System.Net;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Cli.Scenarios;

/// <summary>
/// The regulator's view of the supervisor node's alerts (GET /v1/supervision/alerts, signed with the regulator's
/// certificate): the node evaluates the rules on every committed block, so an alert appears a moment after its block.
/// The scenario follows alerts to the accounts they name, so it asks for them in full (a reveal, which the node records
/// with its purpose); without one the node masks them.
/// </summary>
internal sealed class SupervisorAlerts(Uri supervisor, NetworkUser regulator) : IDisposable
{
    private const string AlertsPath = "/v1/supervision/alerts";
    private const int PagesMax = 100;
    private static readonly string Reveal = "&reveal=true&purpose=" + Uri.EscapeDataString("trace alerts to pseudonyms and credentials in the dcep scenario");

    private readonly HttpClient _http = new() { BaseAddress = supervisor, Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Every alert from <paramref name="fromHeight"/> on, page after page; empty when the node refuses.</summary>
    public async Task<(HttpStatusCode Status, IReadOnlyList<Alert> Alerts)> ReadAsync(ulong fromHeight, CancellationToken cancellationToken)
    {
        var alerts = new List<Alert>();
        var next = fromHeight;
        for (var page = 0; page < PagesMax; page++)
        {
            var (status, body) = await GetAsync(regulator, $"{AlertsPath}?fromHeight={next.ToString(CultureInfo.InvariantCulture)}{Reveal}", cancellationToken);
            if (status != HttpStatusCode.OK) return (status, alerts);
            var alertPage = JsonParser.Default.Parse<AlertPage>(body);
            alerts.AddRange(alertPage.Alerts);
            if (!alertPage.More || alertPage.NextHeight <= next) break;
            next = alertPage.NextHeight;
        }

        return (HttpStatusCode.OK, alerts);
    }

    /// <summary>Polls (bounded) until an alert matches; null if none did in time.</summary>
    public async Task<Alert?> WaitForAsync(ulong fromHeight, Func<Alert, bool> match, TimeSpan timeout, CancellationToken cancellationToken)
    {
        for (var deadline = DateTime.UtcNow + timeout; ; await Task.Delay(500, cancellationToken))
        {
            var (_, alerts) = await ReadAsync(fromHeight, cancellationToken);
            if (alerts.FirstOrDefault(match) is { } found) return found;
            if (DateTime.UtcNow > deadline) return null;
        }
    }

    /// <summary>The same request signed by someone else, to show the alerts are the regulator's alone.</summary>
    public async Task<HttpStatusCode> StatusForAsync(NetworkUser user, CancellationToken cancellationToken) =>
        (await GetAsync(user, $"{AlertsPath}?fromHeight=0", cancellationToken)).Status;

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(NetworkUser user, string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        foreach (var (name, value) in Custos.Node.Api.RequestSignature.Sign(user.Key, user.Certificate.Der, "GET", pathAndQuery, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public void Dispose() => _http.Dispose();
}
