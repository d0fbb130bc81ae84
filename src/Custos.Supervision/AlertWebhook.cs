using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;

namespace Custos.Supervision;

public sealed record AlertWebhookOptions
{
    /// <summary>Where alerts are POSTed (http or https). Never logged: it may carry credentials.</summary>
    public required Uri Url { get; init; }

    /// <summary>Sent as <c>Authorization: Bearer</c> when set. Never logged.</summary>
    public string? BearerToken { get; init; }

    /// <summary>Alerts waiting for delivery; beyond it new alerts are dropped (they stay in the store and the API).</summary>
    public int QueueCapacity { get; init; } = 1_024;

    /// <summary>Attempts per alert, the first included.</summary>
    public int AttemptsMax { get; init; } = 6;

    /// <summary>The wait after the first failure; it doubles after each further one, up to <see cref="BackoffMax"/>.</summary>
    public TimeSpan BackoffInitial { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public CustosError? Validate()
    {
        if (!Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps))
        {
            return new CustosError(ErrorCode.InvalidField, "the alert webhook URL is an absolute http or https URL");
        }

        if (BearerToken is { } token && (token.Length == 0 || token.Any(char.IsControl))) return new CustosError(ErrorCode.InvalidField, "the webhook bearer token is printable text");
        if (QueueCapacity is < 1 or > 1_000_000) return new CustosError(ErrorCode.InvalidField, "the webhook queue capacity is 1 to 1000000");
        if (AttemptsMax is < 1 or > 100) return new CustosError(ErrorCode.InvalidField, "webhook attempts are 1 to 100");
        if (BackoffInitial <= TimeSpan.Zero || BackoffMax < BackoffInitial) return new CustosError(ErrorCode.InvalidField, "webhook back-off: 0 < initial <= max");
        if (AttemptTimeout <= TimeSpan.Zero) return new CustosError(ErrorCode.InvalidField, "the webhook attempt timeout is positive");
        return null;
    }
}

public enum AlertDeliveryOutcome
{
    Delivered,

    /// <summary>The attempt failed and another will follow after a back-off.</summary>
    Retrying,

    /// <summary>Given up: attempts exhausted, or the receiver refused the alert (a 4xx other than 408 and 429).</summary>
    Failed,

    /// <summary>The queue was full; the alert was not queued.</summary>
    Dropped,
}

/// <summary>
/// What happened to one delivery attempt, for the node's log. Holds no URL, token or alert content: only the alert
/// id (hexadecimal), the HTTP status or the kind of transport error.
/// </summary>
public sealed record AlertDeliveryReport(string AlertId, AlertDeliveryOutcome Outcome, int Attempt, int? StatusCode, string? Error);

/// <summary>
/// Delivers alerts to a receiver over HTTP: each alert is POSTed on its own as JSON (<see cref="AlertJson"/>) with
/// header <c>X-Custos-Alert-Id</c> (hexadecimal) so that the receiver can drop repeats; a delivery can be repeated
/// when an answer is lost. Failures (connection errors, timeouts, 408, 429 and 5xx) are retried with exponential
/// back-off (a <c>Retry-After</c> of a 429 or 503 is honoured up to the maximum back-off), at most
/// <see cref="AlertWebhookOptions.AttemptsMax"/> times. <see cref="Enqueue(Alert)"/> never waits: the queue is bounded and a
/// full queue drops the alert, which stays readable from the store. One delivery at a time, in order, on a
/// background task; delivery is not resumed after a restart (receivers catch up over the REST API by height).
/// </summary>
public sealed class AlertWebhook : IAsyncDisposable
{
    public const string AlertIdHeader = "X-Custos-Alert-Id";

    private readonly AlertWebhookOptions _options;
    private readonly HttpClient _client;
    private readonly TimeProvider _clock;
    private readonly Action<AlertDeliveryReport>? _report;
    private readonly Channel<Alert> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _worker;
    private long _delivered, _failed, _dropped;

    public AlertWebhook(AlertWebhookOptions options, HttpMessageHandler? handler = null, TimeProvider? clock = null, Action<AlertDeliveryReport>? report = null)
    {
        if (options.Validate() is { } error) throw error.ToException();
        _options = options;
        _clock = clock ?? TimeProvider.System;
        _report = report;
        _client = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = options.AttemptTimeout, PooledConnectionLifetime = TimeSpan.FromMinutes(5) },
            disposeHandler: handler is null)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _queue = Channel.CreateBounded<Alert>(new BoundedChannelOptions(options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _worker = Task.Run(DeliverAllAsync);
    }

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Failed => Interlocked.Read(ref _failed);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues an alert; false (and a <see cref="AlertDeliveryOutcome.Dropped"/> report) when the queue is full or stopped.</summary>
    public bool Enqueue(Alert alert)
    {
        if (_queue.Writer.TryWrite(alert.Clone())) return true;
        Interlocked.Increment(ref _dropped);
        Report(alert, AlertDeliveryOutcome.Dropped, 0, null, "queue full");
        return false;
    }

    public void Enqueue(IReadOnlyList<Alert> alerts)
    {
        foreach (var alert in alerts) Enqueue(alert);
    }

    /// <summary>Stops delivering: what is still queued is abandoned, an attempt in flight is cancelled.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _worker.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping is what was asked for.
        }

        _client.Dispose();
        _stopping.Dispose();
    }

    private async Task DeliverAllAsync()
    {
        var stopping = _stopping.Token;
        await foreach (var alert in _queue.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
        {
            await DeliverAsync(alert, stopping).ConfigureAwait(false);
        }
    }

    private async Task DeliverAsync(Alert alert, CancellationToken stopping)
    {
        var body = AlertJson.Format(alert);
        var id = Convert.ToHexStringLower(alert.Id.Span);
        for (var attempt = 1; ; attempt++)
        {
            var (delivered, retryable, status, error, retryAfter) = await AttemptAsync(body, id, stopping).ConfigureAwait(false);
            if (delivered)
            {
                Interlocked.Increment(ref _delivered);
                Report(alert, AlertDeliveryOutcome.Delivered, attempt, status, null);
                return;
            }

            if (!retryable || attempt >= _options.AttemptsMax)
            {
                Interlocked.Increment(ref _failed);
                Report(alert, AlertDeliveryOutcome.Failed, attempt, status, error);
                return;
            }

            Report(alert, AlertDeliveryOutcome.Retrying, attempt, status, error);
            await Task.Delay(Backoff(attempt, retryAfter), _clock, stopping).ConfigureAwait(false);
        }
    }

    private async Task<(bool Delivered, bool Retryable, int? Status, string? Error, TimeSpan? RetryAfter)> AttemptAsync(string body, string id, CancellationToken stopping)
    {
        using var timeout = new CancellationTokenSource(_options.AttemptTimeout, _clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(AlertIdHeader, id);
        if (_options.BearerToken is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode) return (true, false, status, null, null);
            var retryable = response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || status >= 500;
            return (false, retryable, status, null, RetryAfter(response));
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return (false, true, null, "timeout", null);
        }
        catch (HttpRequestException e)
        {
            // The kind of error only: messages can quote the address.
            return (false, true, null, $"transport: {e.HttpRequestError}", null);
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)) return null;
        return response.Headers.RetryAfter?.Delta;
    }

    private TimeSpan Backoff(int failedAttempts, TimeSpan? retryAfter)
    {
        var exponential = _options.BackoffInitial * Math.Pow(2, Math.Min(failedAttempts - 1, 30));
        var delay = exponential > _options.BackoffMax ? _options.BackoffMax : exponential;
        if (retryAfter is { } asked && asked > delay) delay = asked > _options.BackoffMax ? _options.BackoffMax : asked;
        return delay;
    }

    private void Report(Alert alert, AlertDeliveryOutcome outcome, int attempt, int? status, string? error)
    {
        if (_report is null) return;
        try
        {
            _report(new AlertDeliveryReport(Convert.ToHexStringLower(alert.Id.Span), outcome, attempt, status, error));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A failing log sink must not stop deliveries.
        }
    }
}
