using Custos.Core;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Node.Api;
using Custos.Storage;
using Custos.Supervision;
using Custos.Supervision.Index;

namespace Custos.Node;

/// <summary>What a supervisor node does beyond an observer, from its configuration file (all optional).</summary>
public sealed record SupervisionSettings
{
    /// <summary>Where alerts are kept (relative to the configuration file); default "alerts" beside it.</summary>
    public string? AlertDirectory { get; init; }

    /// <summary>An HTTPS (or loopback HTTP) URL every alert is POSTed to as JSON.</summary>
    public string? AlertWebhook { get; init; }

    /// <summary>Npgsql connection string of the PostgreSQL supervision index (SUP-1); absent: no SQL index.</summary>
    public string? IndexConnectionString { get; init; }

    /// <summary>Transfers at or above this amount appear in the index's large-transfer view.</summary>
    public ulong? IndexLargeTransferThreshold { get; init; }
}

/// <summary>
/// The regulator's supervisor node (an observer with the regulator role): it evaluates the regulator's on-chain rules on
/// every committed block and keeps, streams and delivers the alerts (SUP-4), and it streams committed blocks and alerts
/// into the PostgreSQL index exactly once per height (SUP-1). Each runs on its own task and reads what the node already
/// persisted, so neither can hold up consensus; a failure is logged and retried, never fatal to the node.
/// </summary>
internal sealed class SupervisorServices : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly AlertWebhook? _webhook;
    private readonly SupervisionIndexWriter? _index;

    private SupervisorServices(AlertStore alerts, AlertFeed feed, AlertWebhook? webhook, SupervisionIndexWriter? index)
    {
        Alerts = alerts;
        Feed = feed;
        _webhook = webhook;
        _index = index;
    }

    public AlertStore Alerts { get; }

    public AlertFeed Feed { get; }

    public SupervisionIndexer? Indexer { get; private set; }

    /// <summary>The regulator's audit queries over the SQL index (null without one).</summary>
    public SupervisionQueries? Queries { get; private set; }

    public static async Task<SupervisorServices> StartAsync(SupervisionSettings settings, Func<string, string> resolve, ChainSetup chain, LedgerStore store,
        CommitFeed commits, NodeLog log, CancellationToken cancellationToken)
    {
        var alerts = AlertStore.Open(resolve(settings.AlertDirectory ?? "alerts"));
        var feed = new AlertFeed();
        AlertWebhook? webhook = null;
        SupervisionIndexWriter? index = null;
        try
        {
            if (settings.AlertWebhook is { } url)
            {
                var options = new AlertWebhookOptions { Url = new Uri(url, UriKind.Absolute) };
                if (options.Validate() is { } invalid) throw invalid.ToException();
                webhook = new AlertWebhook(options, report: r =>
                {
                    if (r.Outcome != AlertDeliveryOutcome.Delivered) log.Warn("alert-webhook", ("alert", r.AlertId), ("outcome", r.Outcome.ToString()), ("attempt", r.Attempt), ("status", r.StatusCode));
                });
            }

            if (settings.IndexConnectionString is { } connection)
            {
                var options = new SupervisionIndexOptions(connection);
                if (settings.IndexLargeTransferThreshold is { } threshold) options = options with { LargeTransferThreshold = threshold };
                index = await SupervisionIndexWriter.OpenAsync(options, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            if (webhook is not null) await webhook.DisposeAsync().ConfigureAwait(false);
            alerts.Dispose();
            throw;
        }

        var services = new SupervisorServices(alerts, feed, webhook, index);
        var blocks = new SupervisionBlockSource(store, commits);
        var monitor = new SupervisionMonitor(blocks, height => RulesAt(store, height), alerts, chain.Suite, feed, webhook);
        services.Run("supervision-monitor", log, monitor.RunAsync);
        if (index is not null)
        {
            var indexer = new SupervisionIndexer(new LedgerStoreBlockSource(store), index, new IndexLogAdapter(log));
            services.Indexer = indexer;
            services.Queries = new SupervisionQueries(index.Options);
            services.Run("supervision-index", log, indexer.RunAsync);
            services.Run("supervision-index-wake", log, async stop =>
            {
                // Wakes the indexer on each commit instead of leaving it to its poll interval.
                for (var seen = commits.Height; ; seen = commits.Height)
                {
                    await commits.AfterHeightAsync(seen, stop).ConfigureAwait(false);
                    indexer.OnCommitted((ulong)commits.Height);
                }
            });
            services.Run("supervision-index-alerts", log, stop => IndexAlertsAsync(alerts, feed, index, stop));
        }

        log.Info("supervisor-started", ("alerts", alerts.Directory), ("webhook", webhook is not null), ("sql-index", index?.Options.ToString()));
        return services;
    }

    /// <summary>The rules in force in the state committed with <paramref name="height"/> (the latest, if that version is pruned).</summary>
    private static IReadOnlyList<SupervisionRule> RulesAt(LedgerStore store, ulong height)
    {
        var version = height >= store.State.OldestRetainedVersion ? height : (ulong?)null;
        return store.State.Get(SupervisionContract.RulesKey, version) is { } bytes ? SupervisionRuleSet.Parser.ParseFrom(bytes).Rules : [];
    }

    /// <summary>Alerts go to the SQL index from the durable alert store, so a restart re-sends (idempotently) what it missed.</summary>
    private static async Task IndexAlertsAsync(AlertStore alerts, AlertFeed feed, SupervisionIndexWriter index, CancellationToken stop)
    {
        ulong from = 0;
        while (!stop.IsCancellationRequested)
        {
            // Subscribed before reading the store, so no alert falls between the read and the wait.
            using var subscription = feed.Subscribe();
            try
            {
                while (true)
                {
                    for (var more = true; more;)
                    {
                        var page = alerts.Query(from);
                        if (page.Alerts.Count > 0) await index.WriteAlertsAsync(page.Alerts.Select(ToIndexed).ToList(), stop).ConfigureAwait(false);
                        (from, more) = (page.NextHeight, page.More);
                    }

                    // Woken by the next alert; the store, not the feed, says what to write.
                    await subscription.Reader.WaitToReadAsync(stop).ConfigureAwait(false);
                    while (subscription.Reader.TryRead(out _))
                    {
                    }
                }
            }
            catch (AlertFeedLaggedException)
            {
                // Fell behind the feed: the store still has everything; subscribe again and read on from it.
            }
        }
    }

    private static IndexedAlert ToIndexed(Alert alert) => new(
        alert.Height, alert.RuleId, alert.Kind.ToString(), alert.Severity.ToString(),
        alert.SubjectAccount.IsEmpty ? string.Empty : new AccountId(alert.SubjectAccount.Span).ToString(),
        alert.Amount, alert.TransactionIds.Count > 0 ? alert.TransactionIds[0].ToByteArray() : null, alert.Detail);

    private void Run(string name, NodeLog log, Func<CancellationToken, Task> loop) => _tasks.Add(Task.Run(async () =>
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await loop(_stop.Token).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is CustosException or IOException or Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // Supervision must not stop the node; it retries with back-off and says why.
                log.Error(name + "-failed", ("error", e.Message), ("retry-in-s", delay.TotalSeconds));
                try
                {
                    await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 30));
            }
        }
    }));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_tasks).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        if (_webhook is not null) await _webhook.DisposeAsync().ConfigureAwait(false);
        if (_index is not null) await _index.DisposeAsync().ConfigureAwait(false);
        if (Queries is not null) await Queries.DisposeAsync().ConfigureAwait(false);
        Alerts.Dispose();
        _stop.Dispose();
    }

    private sealed class IndexLogAdapter(NodeLog log) : IIndexLog
    {
        public void Info(string @event, params (string Name, object? Value)[] fields) => log.Info(@event, fields);

        public void Warn(string @event, params (string Name, object? Value)[] fields) => log.Warn(@event, fields);

        public void Error(string @event, params (string Name, object? Value)[] fields) => log.Error(@event, fields);
    }
}
