using System.Globalization;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity;
using Custos.Network.Tls;
using Custos.Supervision.Index;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Custos.Node.Api;

/// <summary>
/// The regulator's audit API on the supervisor node, over its SQL index (SUP-1, SUP-2, SUP-6). Regulator only (a signed
/// request with a regulator certificate); every query is written to the node's log with who asked and what, so that
/// the regulator's own use of its view leaves evidence.
/// <list type="bullet">
/// <item><c>GET /v1/supervision/transactions?account=&amp;from=&amp;to=&amp;minAmount=&amp;maxAmount=&amp;contract=&amp;organisation=&amp;limit=</c>:
/// transactions by account or pseudonym (each role it played: sender, payer, payee), time range (ISO 8601), amount, contract, organisation.</item>
/// <item><c>GET /v1/supervision/statistics?by=contract|organisation&amp;from=YYYY-MM-DD&amp;to=YYYY-MM-DD</c>: daily statistics.</item>
/// <item><c>GET /v1/supervision/export?fromHeight=&amp;toHeight=</c>: the records of a range of blocks as JSON lines.</item>
/// </list>
/// Accounts in the answers (<c>sender</c>, <c>counterparty</c>) are masked unless the request adds
/// <c>reveal=true&amp;purpose=…</c>; each account then shown in full is recorded (<see cref="IdentifierDisplay"/>).
/// </summary>
public static class SupervisionAuditApi
{
    public const string TransactionsPath = "/v1/supervision/transactions";
    public const string StatisticsPath = "/v1/supervision/statistics";
    public const string ExportPath = "/v1/supervision/export";
    private const ulong ExportBlocksMax = 100_000;
    public static IEndpointRouteBuilder MapSupervisionAudit(this IEndpointRouteBuilder routes, SupervisionQueries queries, SupervisionAccess access, TrustStore trust, NodeLog log)
    {
        routes.MapGet(TransactionsPath, async (HttpRequest request, CancellationToken cancellationToken) =>
        {
            if (Authorise(request, access, log, out var display) is { } refused) return refused;
            try
            {
                var q = request.Query;
                var filter = new TransactionFilter
                {
                    Account = Text(q, "account") is { } account ? AccountId.Parse(account) : null,
                    From = Time(q, "from"),
                    To = Time(q, "to"),
                    MinAmount = Number(q, "minAmount"),
                    MaxAmount = Number(q, "maxAmount"),
                    Contract = Text(q, "contract"),
                    Organisation = Text(q, "organisation"),
                    Limit = (int)(Number(q, "limit") ?? 100),
                };
                var rows = await queries.TransactionsAsync(filter, cancellationToken).ConfigureAwait(false);
                return Results.Json(Render(rows, display));
            }
            catch (CustosException e)
            {
                return Problem(e.Error);
            }
        });

        routes.MapGet(StatisticsPath, async (HttpRequest request, CancellationToken cancellationToken) =>
        {
            if (Authorise(request, access, log, out _) is { } refused) return refused;
            try
            {
                var by = Text(request.Query, "by") ?? "contract";
                if (by is not ("contract" or "organisation")) throw new CustosException(ErrorCode.InvalidField, "by is 'contract' or 'organisation'");
                return Results.Json(await queries.StatisticsAsync(by == "organisation", Day(request.Query, "from"), Day(request.Query, "to"), cancellationToken).ConfigureAwait(false));
            }
            catch (CustosException e)
            {
                return Problem(e.Error);
            }
        });

        routes.MapGet(ExportPath, async (HttpContext context, CancellationToken cancellationToken) =>
        {
            if (Authorise(context.Request, access, log, out var display) is { } refused) return refused;
            try
            {
                var from = Number(context.Request.Query, "fromHeight") ?? 0;
                var to = Number(context.Request.Query, "toHeight") ?? throw new CustosException(ErrorCode.InvalidField, "toHeight is required");
                if (to >= from && to - from >= ExportBlocksMax) throw new CustosException(ErrorCode.TooLarge, $"export at most {ExportBlocksMax} blocks at a time");
                context.Response.ContentType = "application/x-ndjson";
                await queries.ExportAsync(from, to, context.Response.Body, cancellationToken, account: sender => display.Account(sender), text: display.Text).ConfigureAwait(false);
                return Results.Empty;
            }
            catch (CustosException e)
            {
                return Problem(e.Error);
            }
        });
        return routes;
    }

    /// <summary>
    /// Refuses anyone but the regulator; logs who asked what (never the signature or certificate bytes, and the
    /// accounts in the query masked by the log itself).
    /// </summary>
    private static IResult? Authorise(HttpRequest request, SupervisionAccess access, NodeLog log, out IdentifierDisplay display)
    {
        if (access.Admit(request, out var caller, out display) is { } refusal)
        {
            log.Warn("supervision-query-refused", ("path", request.Path.Value));
            return refusal;
        }

        log.Info("supervision-query", ("by", caller?.CommonName ?? "unknown"), ("path", request.Path.Value), ("query", request.QueryString.Value),
            ("reveal", display.Revealed));
        return null;
    }

    /// <summary>Transactions with their accounts as <paramref name="display"/> shows them.</summary>
    internal static IReadOnlyList<TransactionRow> Render(IReadOnlyList<TransactionRow> rows, IdentifierDisplay display) =>
        rows.Select(r => r with { Sender = display.Account(r.Sender)!, Counterparty = display.Account(r.Counterparty) }).ToList();

    private static string? Text(IQueryCollection query, string name) => query.TryGetValue(name, out var value) && value.Count > 0 && value[0] is { Length: > 0 } text ? text : null;

    private static ulong? Number(IQueryCollection query, string name) => Text(query, name) is not { } text
        ? null
        : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw new CustosException(ErrorCode.InvalidField, $"{name} is not a whole number");

    private static DateTimeOffset? Time(IQueryCollection query, string name) => Text(query, name) is not { } text
        ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value : throw new CustosException(ErrorCode.InvalidField, $"{name} is not an ISO 8601 time");

    private static DateOnly? Day(IQueryCollection query, string name) => Text(query, name) is not { } text
        ? null
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var value) ? value : throw new CustosException(ErrorCode.InvalidField, $"{name} is not a YYYY-MM-DD date");

    private static IResult Problem(CustosError error) => SupervisionAlertsApi.Problem(error);
}
