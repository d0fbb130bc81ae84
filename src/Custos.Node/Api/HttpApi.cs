using System.Globalization;
using System.Net;
using System.Text;
using Custos.Api;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Network.Tls;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Custos.Node.Api;

/// <summary>
/// The plain HTTP listener: <c>/health</c> and <c>/metrics</c> (Prometheus) for operations, and the REST/JSON API
/// under <c>/v1</c> with its OpenAPI document at <c>/openapi/v1.json</c>. REST calls are signed requests: the
/// caller's client certificate (DER, base64) and a signature over
/// <c>custos/v1/api_request\0 METHOD \n PATH?QUERY \n TIMESTAMP_MS</c> by that certificate's key, within five
/// minutes of the node's clock (<see cref="RequestSignature"/>). JSON is protobuf's canonical JSON mapping.
/// </summary>
internal sealed class HttpApi : IAsyncDisposable
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    private readonly WebApplication _app;

    private HttpApi(WebApplication app, IPEndPoint endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public IPEndPoint Endpoint { get; }

    public static async Task<HttpApi> StartAsync(IPEndPoint listen, LedgerQueries queries, NodeMetrics metrics, string node, Func<string?> haltReason,
        RequestSignature signature, CancellationToken cancellationToken, Action<WebApplication>? extend = null)
    {
        // A node reads no appsettings.json. Watching for one put an inotify watch on every directory below the working
        // directory, and every file written there (a build, another node's data) woke each node's watcher thread.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
            kestrel.Listen(listen);
        });
        builder.Services.AddOpenApi();
        var app = builder.Build();
        app.MapOpenApi();

        app.MapGet("/health", () => haltReason() is { } reason
            ? Results.Json(new { status = "halted", reason }, statusCode: 503)
            : Results.Json(new { status = "ok", height = metrics.Height }));
        app.MapGet("/metrics", () => Results.Text(metrics.Render(node), "text/plain; version=0.0.4"));
        // A supervisor node adds the regulator's endpoints, which check their own access.
        extend?.Invoke(app);

        var v1 = app.MapGroup("/v1").AddEndpointFilter(async (context, next) =>
        {
            if (signature.Check(context.HttpContext.Request) is { } refusal) return Problem(refusal);
            return await next(context).ConfigureAwait(false);
        });
        v1.MapGet("/status", () => Proto(queries.Status())).WithName("GetStatus");
        v1.MapPost("/transactions", async (HttpRequest request) =>
        {
            SubmitRequest submit;
            try
            {
                using var reader = new StreamReader(request.Body, Encoding.UTF8);
                submit = SubmitRequest.Parser.ParseJson(await reader.ReadToEndAsync(request.HttpContext.RequestAborted).ConfigureAwait(false));
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException)
            {
                return Problem(new CustosError(ErrorCode.Malformed, $"body is not a SubmitRequest in JSON: {e.Message}"));
            }

            return Guard(() => Proto(queries.Submit(submit.Transactions.Select(t => t.Memory).ToList())));
        }).WithName("SubmitTransactions");
        v1.MapGet("/transactions/{id}", (string id) => Guard(() => Proto(queries.Transaction(ParseId(id))))).WithName("GetTransaction");
        v1.MapGet("/transactions/{id}/commit", async (string id, int? timeoutMs, CancellationToken aborted) =>
        {
            Hash32 parsed;
            try
            {
                parsed = ParseId(id);
            }
            catch (CustosException e)
            {
                return Problem(e.Error);
            }

            await queries.WaitForCommitAsync(parsed, TimeSpan.FromMilliseconds(Math.Clamp(timeoutMs ?? 30_000, 1, 120_000)), aborted).ConfigureAwait(false);
            return Proto(queries.Transaction(parsed));
        }).WithName("WaitForCommit");
        v1.MapGet("/blocks/{height}", (ulong height) => Guard(() => Proto(queries.Block(height)))).WithName("GetBlock");
        v1.MapGet("/epochs", (ulong? from) => Guard(() => Proto(queries.EpochChanges(from ?? 0)))).WithName("GetEpochChanges");
        v1.MapGet("/state/{key}", (string key, ulong? version) => Guard(() => Proto(queries.State(ParseHex(key, "key"), version)))).WithName("GetState");

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        var endpoint = address is not null && Uri.TryCreate(address, UriKind.Absolute, out var uri) && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip)
            ? new IPEndPoint(ip, uri.Port)
            : listen;
        return new HttpApi(app, endpoint);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static IResult Proto(IMessage message) => Results.Text(Json.Format(message), "application/json");

    private static IResult Guard(Func<IResult> action)
    {
        try
        {
            return action();
        }
        catch (CustosException e)
        {
            return Problem(e.Error);
        }
    }

    internal static IResult Problem(CustosError error) => Results.Json(new { code = error.Code.ToString(), message = error.Message }, statusCode: error.Code switch
    {
        ErrorCode.NotFound => 404,
        ErrorCode.NotEntitled => 403,
        ErrorCode.CommitmentMismatch or ErrorCode.PrivateDataPurged => 409,
        ErrorCode.NotAuthorised or ErrorCode.SignatureInvalid or ErrorCode.CertificateUntrusted or ErrorCode.CertificateExpired or ErrorCode.CertificateRevoked
            or ErrorCode.CertificateWrongRole => 401,
        ErrorCode.MempoolFull or ErrorCode.SenderLimitExceeded => 429,
        ErrorCode.StorageIo or ErrorCode.StorageCorrupt => 500,
        _ => 400,
    });

    private static Hash32 ParseId(string hex) => new(ParseHex(hex, "id", Hash32.SizeBytes));

    private static byte[] ParseHex(string hex, string what, int? length = null)
    {
        try
        {
            var bytes = Convert.FromHexString(hex);
            if (length is { } l && bytes.Length != l) throw new CustosException(ErrorCode.InvalidLength, $"{what} is {l} bytes of hexadecimal");
            return bytes;
        }
        catch (FormatException)
        {
            throw new CustosException(ErrorCode.Malformed, $"{what} is not hexadecimal");
        }
    }
}

/// <summary>
/// Authenticates a REST request signed by a consortium client certificate's key. The signed text binds the method,
/// path, query and a timestamp, so a captured request cannot be replayed for another resource or after five minutes.
/// </summary>
public sealed class RequestSignature(TrustStore trust, TimeProvider clock)
{
    public const string CertificateHeader = "X-Custos-Certificate";
    public const string TimestampHeader = "X-Custos-Timestamp";
    public const string SignatureHeader = "X-Custos-Signature";
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);

    public static byte[] SignedText(string method, string pathAndQuery, long timestampMs) =>
        Encoding.UTF8.GetBytes($"custos/v1/api_request\0{method.ToUpperInvariant()}\n{pathAndQuery}\n{timestampMs.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>The headers for a request, signed with <paramref name="key"/> (whose certificate is <paramref name="certificateDer"/>).</summary>
    public static IEnumerable<KeyValuePair<string, string>> Sign(ISigningKey key, ReadOnlySpan<byte> certificateDer, string method, string pathAndQuery, long timestampMs)
    {
        var signature = key.Sign(SignedText(method, pathAndQuery, timestampMs));
        return
        [
            new(CertificateHeader, Convert.ToBase64String(certificateDer)),
            new(TimestampHeader, timestampMs.ToString(CultureInfo.InvariantCulture)),
            new(SignatureHeader, Convert.ToBase64String(signature)),
        ];
    }

    public CustosError? Check(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(CertificateHeader, out var certificateText) || !request.Headers.TryGetValue(TimestampHeader, out var timestampText)
            || !request.Headers.TryGetValue(SignatureHeader, out var signatureText))
        {
            return new CustosError(ErrorCode.NotAuthorised, $"sign the request: headers {CertificateHeader}, {TimestampHeader} and {SignatureHeader} are required");
        }

        byte[] der, signature;
        try
        {
            der = Convert.FromBase64String(certificateText.ToString());
            signature = Convert.FromBase64String(signatureText.ToString());
        }
        catch (FormatException)
        {
            return new CustosError(ErrorCode.Malformed, "certificate and signature headers are base64");
        }

        if (!long.TryParse(timestampText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var timestampMs)
            || (clock.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(timestampMs, 0, 253402300799999))).Duration() > Skew)
        {
            return new CustosError(ErrorCode.NotAuthorised, "the request timestamp is missing or more than five minutes from the node's clock");
        }

        if (!trust.TryValidate(der, HandshakePolicy.ClientRoles, out var identity, out var error)) return error;
        var text = SignedText(request.Method, request.Path + request.QueryString, timestampMs);
        return trust.Suite.Verify(identity.Certificate.PublicKey, text, signature)
            ? null
            : new CustosError(ErrorCode.SignatureInvalid, "the request signature does not verify under the certificate's key");
    }
}
