using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Custos.Identity;
using Custos.Network.Tls;
using Custos.Privacy.Audit;
using Custos.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Custos.Node.Api;

/// <summary>
/// Who may read the supervision APIs: a request signed like every REST call (<see cref="RequestSignature"/>) whose
/// certificate carries the regulator role (SUP-6). Other roles are refused with
/// <see cref="ErrorCode.CertificateWrongRole"/>. Identifiers in the responses are masked unless the request asks
/// for a full display (<see cref="IdentifierDisplay"/>); asking is refused with <see cref="ErrorCode.NotAuthorised"/>
/// (HTTP 403) to any role but <see cref="RevealRoles"/>, before anything else is looked at.
/// </summary>
public sealed class SupervisionAccess(RequestSignature signature, TrustStore trust, NodeLog log, PrivacyAuditLog? audit = null)
{
    private static readonly CertificateRole[] Regulator = [CertificateRole.Regulator];

    /// <summary>The roles that may see identifiers in full.</summary>
    public static IReadOnlyCollection<CertificateRole> RevealRoles { get; } = Regulator;

    public CustosError? Check(HttpRequest request)
    {
        if (signature.Check(request) is { } refusal) return refusal;
        return trust.TryValidate(Certificate(request), Regulator, out _, out var error) ? null : error;
    }

    /// <summary>
    /// Admits a request and says how its response shows identifiers; returns the refusal to send instead, if any.
    /// <paramref name="caller"/> is the regulator's identity when admitted.
    /// </summary>
    public IResult? Admit(HttpRequest request, out ValidatedIdentity? caller, out IdentifierDisplay display)
    {
        caller = null;
        display = IdentifierDisplay.Masked;
        if (signature.Check(request) is { } refusal) return SupervisionAlertsApi.Problem(refusal);
        // The signature check accepted any client role and proved the header base64; this finds which role.
        var der = Certificate(request);
        if (!trust.TryValidate(der, HandshakePolicy.ClientRoles, out var identity, out var error)) return SupervisionAlertsApi.Problem(error);
        try
        {
            var reveal = IdentifierDisplay.Requested(request.Query);
            if (reveal && !RevealRoles.Contains(identity.Role))
            {
                log.Warn("identifier-reveal-refused", ("by", identity.CommonName), ("organisation", identity.Organisation), ("role", identity.Role.ToString()),
                    ("path", request.Path.Value));
                return Refusal(new CustosError(ErrorCode.NotAuthorised, $"a full display of identifiers is for the regulator, not the {identity.Role} role"));
            }

            if (!trust.TryValidate(der, Regulator, out _, out var wrongRole)) return SupervisionAlertsApi.Problem(wrongRole);
            caller = identity;
            if (reveal) display = IdentifierDisplay.RevealTo(identity, request, log, trust.Suite, audit);
            return null;
        }
        catch (CustosException e)
        {
            return SupervisionAlertsApi.Problem(e.Error);
        }
    }

    // Refused although authenticated: 403, whatever the code.
    private static IResult Refusal(CustosError error) => Results.Json(new { code = error.Code.ToString(), message = error.Message }, statusCode: 403);

    private static byte[] Certificate(HttpRequest request) => Convert.FromBase64String(request.Headers[RequestSignature.CertificateHeader].ToString());
}

/// <summary>
/// The regulator's view of alerts over REST, mapped on the node's HTTP listener (call it on the application, not on
/// the <c>/v1</c> group: it checks its own access).
/// <list type="bullet">
/// <item><c>GET /v1/supervision/alerts?fromHeight=&amp;toHeight=&amp;account=&amp;limit=</c>: an <c>AlertPage</c> in
/// JSON (protobuf's canonical mapping), whole blocks in height order; page on with <c>next_height</c> while
/// <c>more</c> is set. <c>account</c> (32 hexadecimal digits) matches the subject or the counterparty.</item>
/// <item><c>GET /v1/supervision/alerts/stream?fromHeight=&amp;account=</c>: server-sent events, one
/// <c>event: alert</c> per alert with its hexadecimal id as the event id and the alert's JSON as data: first the
/// stored alerts from <c>fromHeight</c>, then new ones as blocks are evaluated, with a comment line every 15 s of
/// silence to keep proxies from closing the connection.</item>
/// </list>
/// Both mask the accounts they render (<c>subjectAccount</c>, <c>counterparty</c>, and account ids in <c>detail</c>):
/// masked, the fields hold the mask as text, such as <c>"0000************************0001"</c>, which is no longer
/// protobuf JSON for an <c>Alert</c> and must not be parsed as one. With <c>reveal=true&amp;purpose=…</c> the regulator
/// gets the canonical protobuf JSON with every account in full, and each account shown is recorded
/// (<see cref="IdentifierDisplay"/>).
/// </summary>
public static class SupervisionAlertsApi
{
    public const string AlertsPath = "/v1/supervision/alerts";
    public const string StreamPath = "/v1/supervision/alerts/stream";
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    /// <param name="streamQueueCapacity">Alerts a stream may fall behind by before it re-reads the store.</param>
    public static IEndpointRouteBuilder MapSupervisionAlerts(this IEndpointRouteBuilder routes, AlertStore store, AlertFeed feed, SupervisionAccess access,
        int streamQueueCapacity = AlertFeed.SubscriberCapacityDefault)
    {
        routes.MapGet(AlertsPath, (HttpRequest request) =>
        {
            if (access.Admit(request, out _, out var display) is { } refusal) return refusal;
            try
            {
                var query = AlertQuery.Parse(request.Query);
                var page = store.Query(query.FromHeight, query.ToHeight, query.Account, query.Limit);
                return Results.Text(AlertView.Format(page.ToMessage(), display), "application/json");
            }
            catch (CustosException e)
            {
                return Problem(e.Error);
            }
        }).WithName("GetSupervisionAlerts");

        routes.MapGet(StreamPath, async (HttpContext context) =>
        {
            if (access.Admit(context.Request, out _, out var display) is { } refusal)
            {
                await refusal.ExecuteAsync(context).ConfigureAwait(false);
                return;
            }

            AlertQuery query;
            try
            {
                query = AlertQuery.Parse(context.Request.Query);
            }
            catch (CustosException e)
            {
                await Problem(e.Error).ExecuteAsync(context).ConfigureAwait(false);
                return;
            }

            await StreamAsync(context, store, feed, streamQueueCapacity, query, display, context.RequestAborted).ConfigureAwait(false);
        }).WithName("StreamSupervisionAlerts");

        return routes;
    }

    private static async Task StreamAsync(HttpContext context, AlertStore store, AlertFeed feed, int queueCapacity, AlertQuery query, IdentifierDisplay display,
        CancellationToken aborted)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(aborted).ConfigureAwait(false);

        // Alerts of blocks below `next` have been sent, and of block `sentHeight` those in `sentIds`: a restart of
        // the backlog after falling behind resends nothing.
        var next = query.FromHeight;
        var sentHeight = ulong.MaxValue;
        var sentIds = new HashSet<string>(StringComparer.Ordinal);

        async Task SendAsync(Alert alert)
        {
            var id = Convert.ToHexStringLower(alert.Id.Span);
            if (alert.Height != sentHeight)
            {
                sentHeight = alert.Height;
                sentIds.Clear();
            }

            if (!sentIds.Add(id)) return;
            await response.WriteAsync($"id: {id}\nevent: alert\ndata: {AlertView.Format(alert, display)}\n\n", Encoding.UTF8, aborted).ConfigureAwait(false);
        }

        try
        {
            while (!aborted.IsCancellationRequested)
            {
                // Subscribe before reading the backlog: alerts are stored before they are published, so each one is
                // either in the backlog or arrives through the subscription (or both, and is then skipped).
                using var subscription = feed.Subscribe(queueCapacity);
                while (true)
                {
                    var page = store.Query(next, null, query.Account, AlertStore.PageSizeMax);
                    foreach (var alert in page.Alerts) await SendAsync(alert).ConfigureAwait(false);
                    if (page.Alerts.Count > 0) next = page.Alerts[^1].Height;
                    await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    if (!page.More) break;
                    next = page.NextHeight;
                }

                if (!await FollowAsync(subscription).ConfigureAwait(false)) return;
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away.
        }

        // True when the subscription fell behind and the backlog must be read again from `next`.
        async Task<bool> FollowAsync(AlertSubscription subscription)
        {
            var reader = subscription.Reader;
            while (true)
            {
                using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(aborted))
                {
                    quiet.CancelAfter(KeepAliveInterval);
                    try
                    {
                        if (!await reader.WaitToReadAsync(quiet.Token).ConfigureAwait(false)) return subscription.LaggedAt is not null;
                    }
                    catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                    {
                        await response.WriteAsync(": keep-alive\n\n", aborted).ConfigureAwait(false);
                        await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                        continue;
                    }
                    catch (Exception e) when (e is AlertFeedLaggedException or ChannelClosedException && subscription.LaggedAt is not null)
                    {
                        // WaitToReadAsync rethrows the completion exception as it is; ReadAsync would wrap it.
                        return true;
                    }
                }

                while (reader.TryRead(out var alert))
                {
                    if (alert.Height < next || !query.Matches(alert)) continue;
                    await SendAsync(alert).ConfigureAwait(false);
                    next = alert.Height;
                }

                await response.Body.FlushAsync(aborted).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The supervision endpoints' error response: a wrong role is 403, failed authentication 401, the rest 400.</summary>
    internal static IResult Problem(CustosError error) => Results.Json(new { code = error.Code.ToString(), message = error.Message }, statusCode: error.Code switch
    {
        ErrorCode.CertificateWrongRole => 403,
        ErrorCode.NotAuthorised or ErrorCode.SignatureInvalid or ErrorCode.CertificateUntrusted or ErrorCode.CertificateExpired or ErrorCode.CertificateRevoked
            or ErrorCode.CertificateNotYetValid or ErrorCode.CertificateSignatureInvalid or ErrorCode.CertificateMalformed => 401,
        _ => 400,
    });

    private sealed record AlertQuery(ulong FromHeight, ulong? ToHeight, AccountId? Account, int Limit)
    {
        public static AlertQuery Parse(IQueryCollection query)
        {
            var from = Height(query, "fromHeight") ?? 0;
            var to = Height(query, "toHeight");
            AccountId? account = query.TryGetValue("account", out var text) ? AccountId.Parse(text.ToString()) : null;
            var limit = AlertStore.PageSizeMax;
            if (query.TryGetValue("limit", out var limitText)
                && (!int.TryParse(limitText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > AlertStore.PageSizeMax))
            {
                throw new CustosException(ErrorCode.InvalidField, $"limit is 1 to {AlertStore.PageSizeMax}");
            }

            return new AlertQuery(from, to, account, limit);
        }

        public bool Matches(Alert alert) =>
            Account is not { } account || (AccountId.TryCreate(alert.SubjectAccount.Span, out var subject) && subject == account)
            || (AccountId.TryCreate(alert.Counterparty.Span, out var counterparty) && counterparty == account);

        private static ulong? Height(IQueryCollection query, string name)
        {
            if (!query.TryGetValue(name, out var text)) return null;
            return ulong.TryParse(text.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var height)
                ? height
                : throw new CustosException(ErrorCode.InvalidField, $"{name} is a block height (a non-negative integer)");
        }
    }
}
