using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Custos.Supervision.Tests.Chain;

namespace Custos.Supervision.Tests;

public sealed class AlertWebhookTests
{
    private const string Token = "s3cret-token";

    private sealed record Received(string? AlertId, string? Authorization, string Body);

    /// <summary>A receiver answering each POST with the next of <paramref name="statuses"/>, then 200.</summary>
    private static async Task<(LocalServer Server, ConcurrentQueue<Received> Received)> ReceiverAsync(params int[] statuses)
    {
        var received = new ConcurrentQueue<Received>();
        var answers = new ConcurrentQueue<int>(statuses);
        var server = await LocalServer.StartAsync(app => app.MapPost("/alerts", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            received.Enqueue(new Received(request.Headers[AlertWebhook.AlertIdHeader].ToString(), request.Headers.Authorization.ToString(), body));
            return Results.StatusCode(answers.TryDequeue(out var status) ? status : 200);
        }));
        return (server, received);
    }

    private static Alert SampleAlert(ulong n = 1) => new()
    {
        Id = Tx(n).ToByteString(),
        RuleId = "large",
        Kind = SupervisionRuleKind.LargeValue,
        Severity = AlertSeverity.High,
        Height = 12,
        BlockTimeMs = 1_700_000_000_000,
        SubjectAccount = Account(1).ToByteString(),
        Counterparty = Account(2).ToByteString(),
        Amount = 50_000,
        Detail = "payment of 50000 token, at or above the threshold 50000",
        Asset = "token",
        PaymentCount = 1,
        TransactionIds = { Tx(99).ToByteString() },
    };

    private static AlertWebhookOptions Options(Uri url, int attempts = 5) => new()
    {
        Url = url,
        BearerToken = Token,
        AttemptsMax = attempts,
        BackoffInitial = TimeSpan.FromMilliseconds(10),
        BackoffMax = TimeSpan.FromMilliseconds(50),
        AttemptTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>Collects reports and completes when one with a final outcome arrives.</summary>
    private sealed class Reports
    {
        private readonly TaskCompletionSource<AlertDeliveryReport> _final = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<AlertDeliveryReport> All { get; } = new();

        public void Add(AlertDeliveryReport report)
        {
            All.Enqueue(report);
            if (report.Outcome is AlertDeliveryOutcome.Delivered or AlertDeliveryOutcome.Failed) _final.TrySetResult(report);
        }

        public Task<AlertDeliveryReport> Final => _final.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Alert_is_posted_as_json_with_its_id_and_the_bearer_token()
    {
        var (server, received) = await ReceiverAsync();
        await using var _ = server;
        var reports = new Reports();
        await using var webhook = new AlertWebhook(Options(new Uri(server.Address, "/alerts")), report: reports.Add);
        var alert = SampleAlert();

        Assert.True(webhook.Enqueue(alert));
        var final = await reports.Final;

        Assert.Equal(AlertDeliveryOutcome.Delivered, final.Outcome);
        var request = Assert.Single(received);
        Assert.Equal(Convert.ToHexStringLower(alert.Id.Span), request.AlertId);
        Assert.Equal($"Bearer {Token}", request.Authorization);
        Assert.Equal(alert, Alert.Parser.ParseJson(request.Body));
        Assert.Equal(1, webhook.Delivered);
    }

    [Fact]
    public async Task Delivery_answered_with_500_is_retried_with_the_same_id()
    {
        var (server, received) = await ReceiverAsync(500, 503);
        await using var _ = server;
        var reports = new Reports();
        await using var webhook = new AlertWebhook(Options(new Uri(server.Address, "/alerts")), report: reports.Add);

        webhook.Enqueue(SampleAlert());
        var final = await reports.Final;

        Assert.Equal(AlertDeliveryOutcome.Delivered, final.Outcome);
        Assert.Equal(3, final.Attempt);
        Assert.Equal(3, received.Count);
        Assert.Single(received.Select(r => r.AlertId).Distinct());
        Assert.Equal([500, 503], reports.All.Where(r => r.Outcome == AlertDeliveryOutcome.Retrying).Select(r => r.StatusCode));
    }

    [Fact]
    public async Task Receiver_refusing_the_alert_is_not_asked_again()
    {
        var (server, received) = await ReceiverAsync(400);
        await using var _ = server;
        var reports = new Reports();
        await using var webhook = new AlertWebhook(Options(new Uri(server.Address, "/alerts")), report: reports.Add);

        webhook.Enqueue(SampleAlert());
        var final = await reports.Final;

        Assert.Equal(AlertDeliveryOutcome.Failed, final.Outcome);
        Assert.Equal(400, final.StatusCode);
        Assert.Single(received);
        Assert.Equal(1, webhook.Failed);
    }

    [Fact]
    public async Task Attempts_stop_at_the_maximum()
    {
        var (server, received) = await ReceiverAsync(500, 500, 500, 500, 500);
        await using var _ = server;
        var reports = new Reports();
        await using var webhook = new AlertWebhook(Options(new Uri(server.Address, "/alerts"), attempts: 3), report: reports.Add);

        webhook.Enqueue(SampleAlert());
        var final = await reports.Final;

        Assert.Equal(AlertDeliveryOutcome.Failed, final.Outcome);
        Assert.Equal(3, final.Attempt);
        Assert.Equal(3, received.Count);
    }

    [Fact]
    public async Task Alerts_are_delivered_one_at_a_time_in_order()
    {
        var (server, received) = await ReceiverAsync(500);
        await using var _ = server;
        var delivered = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var webhook = new AlertWebhook(Options(new Uri(server.Address, "/alerts")), report: r =>
        {
            if (r.Outcome == AlertDeliveryOutcome.Delivered && Interlocked.Increment(ref delivered) == 3) all.TrySetResult();
        });

        webhook.Enqueue([SampleAlert(1), SampleAlert(2), SampleAlert(3)]);
        await all.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        // The first alert is retried before the second is sent.
        Assert.Equal(new[] { Tx(1), Tx(1), Tx(2), Tx(3) }.Select(t => t.ToString()), received.Select(r => r.AlertId));
    }

    [Fact]
    public async Task Full_queue_drops_the_alert_without_waiting()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new StallingHandler(inFlight, release.Task);
        var reports = new Reports();
        await using var webhook = new AlertWebhook(Options(new Uri("http://127.0.0.1:9/alerts")) with { QueueCapacity = 1 }, handler, report: reports.Add);

        webhook.Enqueue(SampleAlert(1));
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        var queued = webhook.Enqueue(SampleAlert(2));
        var dropped = webhook.Enqueue(SampleAlert(3));

        Assert.True(queued);
        Assert.False(dropped);
        Assert.Equal(1, webhook.Dropped);
        Assert.Contains(reports.All, r => r.Outcome == AlertDeliveryOutcome.Dropped && r.AlertId == Tx(3).ToString());
        release.SetResult();
    }

    [Fact]
    public async Task Reports_of_transport_errors_name_neither_the_url_nor_the_token()
    {
        var port = FreePort();
        var reports = new Reports();
        var url = new Uri($"http://127.0.0.1:{port}/alerts?key=hunter2");
        await using var webhook = new AlertWebhook(Options(url, attempts: 2), report: reports.Add);

        webhook.Enqueue(SampleAlert());
        var final = await reports.Final;

        Assert.Equal(AlertDeliveryOutcome.Failed, final.Outcome);
        Assert.Equal(2, reports.All.Count);
        Assert.All(reports.All, r =>
        {
            var text = r.ToString();
            Assert.DoesNotContain("hunter2", text);
            Assert.DoesNotContain(Token, text);
            Assert.DoesNotContain(port.ToString(System.Globalization.CultureInfo.InvariantCulture), text);
            Assert.StartsWith("transport:", r.Error);
        });
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/alerts")]
    [InlineData("file:///tmp/alerts")]
    public void Webhook_url_must_be_http_or_https(string url)
    {
        var error = Assert.Throws<CustosException>(() => new AlertWebhook(new AlertWebhookOptions { Url = new Uri(url) }));

        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Webhook_options_out_of_bounds_are_refused()
    {
        var url = new Uri("http://127.0.0.1/alerts");

        Assert.NotNull(new AlertWebhookOptions { Url = url, AttemptsMax = 0 }.Validate());
        Assert.NotNull(new AlertWebhookOptions { Url = url, QueueCapacity = 0 }.Validate());
        Assert.NotNull(new AlertWebhookOptions { Url = url, BackoffInitial = TimeSpan.FromSeconds(2), BackoffMax = TimeSpan.FromSeconds(1) }.Validate());
        Assert.NotNull(new AlertWebhookOptions { Url = url, BearerToken = "two\nlines" }.Validate());
        Assert.Null(new AlertWebhookOptions { Url = url }.Validate());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Holds every request until released, so that the queue behind it fills up.</summary>
    private sealed class StallingHandler(TaskCompletionSource inFlight, Task release) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            inFlight.TrySetResult();
            await release.WaitAsync(cancellationToken).ConfigureAwait(false);
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }
}
