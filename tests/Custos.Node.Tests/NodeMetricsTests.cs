using Custos.Network;
using Custos.Node.Tests.Support;
using CsCheck;

namespace Custos.Node.Tests;

public sealed class NodeMetricsTests
{
    private static readonly double[] LatencyBoundsMs = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

    private static PeerStatus Peer(string name, PeerState state, long sent) => new()
    {
        Name = name,
        Address = "127.0.0.1:7101",
        State = state,
        InboundConnected = state == PeerState.Connected,
        FramesSent = sent,
        FramesReceived = sent * 2,
        FramesDropped = 3,
        SendQueueFrames = 4,
        SendQueueRejections = 5,
    };

    [Fact]
    public void Fresh_metrics_render_as_valid_Prometheus_text_with_help_and_type_first()
    {
        var text = PrometheusText.Parse(new NodeMetrics().Render("node1"));

        Assert.Empty(text.SyntaxErrors);
        Assert.Empty(text.GroupingErrors);
        Assert.All(text.Samples, s => Assert.Equal("node1", s.Labels["node"]));
        foreach (var family in text.Samples.Select(s => s.Family).Distinct())
        {
            Assert.True(text.TypeOf.ContainsKey(family), $"{family} has no TYPE line");
            Assert.True(text.HelpOf.ContainsKey(family), $"{family} has no HELP line");
        }

        Assert.Equal("histogram", text.TypeOf["custos_commit_latency_ms"]);
        Assert.Equal("counter", text.TypeOf["custos_transactions_committed_total"]);
        Assert.Equal("gauge", text.TypeOf["custos_block_height"]);
        // The ledger's counters start at zero; the process's own (CPU, allocations) have counted since it started.
        Assert.All(text.Samples.Where(s => s.Family.StartsWith("custos_", StringComparison.Ordinal)), s => Assert.Equal(0, s.Value));
    }

    [Fact]
    public void Verifications_and_the_process_runtime_figures_are_rendered_as_counters()
    {
        var verified = 0L;
        var metrics = new NodeMetrics { Verifications = () => verified };
        verified = 42;
        _ = new byte[100_000];

        var text = PrometheusText.Parse(metrics.Render("node1"));

        Assert.Empty(text.SyntaxErrors);
        Assert.Empty(text.GroupingErrors);
        double Value(string family) => Assert.Single(text.Samples, s => s.Family == family).Value;
        Assert.Equal(42, Value("custos_signature_verifications_total"));
        Assert.True(Value("process_cpu_seconds_total") > 0);
        Assert.True(Value("dotnet_gc_allocated_bytes_total") >= 100_000);
        Assert.True(Value("dotnet_gc_pause_seconds_total") >= 0);
        foreach (var family in new[] { "custos_signature_verifications_total", "process_cpu_seconds_total", "dotnet_gc_allocated_bytes_total", "dotnet_gc_pause_seconds_total", "dotnet_gc_collections_gen0_total", "dotnet_gc_collections_gen2_total" })
        {
            Assert.Equal("counter", text.TypeOf[family]);
        }
    }

    [Fact]
    public void Counters_and_gauges_reflect_what_the_node_reported()
    {
        var metrics = new NodeMetrics();
        metrics.OnRound(9, 1);
        metrics.OnCommit(1, 3, blockAgeMs: 40);
        metrics.OnCommit(2, 0, blockAgeMs: 10);
        metrics.OnCommit(3, 5, blockAgeMs: 700);
        metrics.OnSubmitted(7, 2);
        metrics.OnSubmitted(1, 0);
        metrics.OnViewChange();
        metrics.OnViewChange();
        metrics.OnEvidence();
        metrics.Gauges = () => (Mempool: 11, PeersConnected: 2, PeersConfigured: 3);

        var text = PrometheusText.Parse(metrics.Render("node1"));

        Assert.Empty(text.SyntaxErrors);
        Assert.Equal(3, text.Value("custos_block_height"));
        Assert.Equal(9, text.Value("custos_consensus_round"));
        Assert.Equal(1, text.Value("custos_consensus_epoch"));
        Assert.Equal(3, text.Value("custos_blocks_committed_total"));
        Assert.Equal(8, text.Value("custos_transactions_committed_total"));
        Assert.Equal(8, text.Value("custos_transactions_admitted_total"));
        Assert.Equal(2, text.Value("custos_transactions_refused_total"));
        Assert.Equal(2, text.Value("custos_view_changes_total"));
        Assert.Equal(1, text.Value("custos_equivocation_evidence_total"));
        Assert.Equal(11, text.Value("custos_mempool_transactions"));
        Assert.Equal(2, text.Value("custos_peers_connected"));
        Assert.Equal(3, text.Value("custos_peers_configured"));
        Assert.Equal(3, metrics.Height);
        Assert.Equal(8, metrics.CommittedTransactions);
    }

    [Fact]
    public void Latency_histogram_counts_only_blocks_with_transactions_in_cumulative_buckets()
    {
        var metrics = new NodeMetrics();
        metrics.OnCommit(1, 3, blockAgeMs: 40);
        metrics.OnCommit(2, 0, blockAgeMs: 10);
        metrics.OnCommit(3, 5, blockAgeMs: 700);

        var text = PrometheusText.Parse(metrics.Render("node1"));

        double Bucket(string le) => text.Value("custos_commit_latency_ms_bucket", ("le", le));
        Assert.Equal(1, Bucket("50"));
        Assert.Equal(1, Bucket("500"));
        Assert.Equal(2, Bucket("1000"));
        Assert.Equal(2, Bucket("10000"));
        Assert.Equal(2, Bucket("+Inf"));
        Assert.Equal(2, text.Value("custos_commit_latency_ms_count"));
        Assert.Equal(740, text.Value("custos_commit_latency_ms_sum"));
    }

    [Fact]
    public void Latency_buckets_are_cumulative_and_agree_with_count_for_any_commits()
    {
        var commit = Gen.Select(Gen.Int[0, 20], Gen.Long[-100, 20_000]);
        commit.Array[0, 40].Sample(commits =>
        {
            var metrics = new NodeMetrics();
            for (var i = 0; i < commits.Length; i++) metrics.OnCommit((ulong)i, commits[i].Item1, commits[i].Item2);

            var text = PrometheusText.Parse(metrics.Render("n"));

            Assert.Empty(text.SyntaxErrors);
            var timed = commits.Where(c => c.Item1 > 0).ToList();
            var buckets = text.Samples.Where(s => s.Name == "custos_commit_latency_ms_bucket").ToList();
            Assert.Equal([.. LatencyBoundsMs.Select(b => b.ToString(System.Globalization.CultureInfo.InvariantCulture)), "+Inf"], buckets.Select(b => b.Labels["le"]));
            for (var i = 0; i < LatencyBoundsMs.Length; i++)
            {
                Assert.Equal(timed.Count(c => c.Item2 <= LatencyBoundsMs[i]), buckets[i].Value);
                Assert.True(buckets[i].Value <= buckets[i + 1].Value, "buckets must not decrease");
            }

            Assert.Equal(timed.Count, buckets[^1].Value);
            Assert.Equal(timed.Count, text.Value("custos_commit_latency_ms_count"));
            Assert.Equal(timed.Sum(c => Math.Max(0, c.Item2)), text.Value("custos_commit_latency_ms_sum"));
            Assert.Equal(commits.Length, text.Value("custos_blocks_committed_total"));
            Assert.Equal(commits.Sum(c => c.Item1), text.Value("custos_transactions_committed_total"));
        });
    }

    [Fact]
    public void Each_peer_gets_its_link_figures_under_its_own_label()
    {
        var metrics = new NodeMetrics { Peers = () => [Peer("node2", PeerState.Connected, 10), Peer("node3", PeerState.Banned, 20)] };

        var text = PrometheusText.Parse(metrics.Render("node1"));

        Assert.Empty(text.SyntaxErrors);
        Assert.Equal(10, text.Value("custos_peer_frames_sent_total", ("peer", "node2")));
        Assert.Equal(20, text.Value("custos_peer_frames_sent_total", ("peer", "node3")));
        Assert.Equal(40, text.Value("custos_peer_frames_received_total", ("peer", "node3")));
        Assert.Equal(3, text.Value("custos_peer_frames_dropped_total", ("peer", "node2")));
        Assert.Equal(4, text.Value("custos_peer_send_queue_frames", ("peer", "node2")));
        Assert.Equal(5, text.Value("custos_peer_send_queue_rejections_total", ("peer", "node2")));
        Assert.Equal(1, text.Value("custos_peer_connected", ("peer", "node2")));
        Assert.Equal(0, text.Value("custos_peer_connected", ("peer", "node3")));
        Assert.All(text.Samples.Where(s => s.Name.StartsWith("custos_peer_", StringComparison.Ordinal) && s.Name != "custos_peers_connected"),
            s => Assert.Equal("node1", s.Labels["node"]));
    }

    [Fact]
    public void Per_peer_metrics_form_one_group_each_with_help_and_type()
    {
        var metrics = new NodeMetrics { Peers = () => [Peer("node2", PeerState.Connected, 10), Peer("node3", PeerState.Connected, 20)] };

        var text = PrometheusText.Parse(metrics.Render("node1"));

        Assert.Empty(text.GroupingErrors);
        Assert.True(text.TypeOf.ContainsKey("custos_peer_frames_sent_total"));
    }

    [Fact]
    public void Names_with_quotes_and_backslashes_are_escaped_in_labels()
    {
        var metrics = new NodeMetrics { Peers = () => [Peer("bank \"b\"", PeerState.Connected, 1)] };

        var text = PrometheusText.Parse(metrics.Render("bank\\a"));

        Assert.Empty(text.SyntaxErrors);
        Assert.Equal("bank\\a", text.Samples[0].Labels["node"]);
        Assert.Equal(1, text.Value("custos_peer_frames_sent_total", ("peer", "bank \"b\"")));
    }

    [Fact]
    public void Validator_count_at_or_below_the_alert_threshold_raises_the_alert_gauge()
    {
        var metrics = new NodeMetrics();
        metrics.OnValidatorSet(5, alertThreshold: 4);
        var above = PrometheusText.Parse(metrics.Render("node1"));
        Assert.Equal(5, above.Value("custos_validators"));
        Assert.Equal(0, above.Value("custos_validators_alert"));

        metrics.OnValidatorSet(4, alertThreshold: 4);
        var at = PrometheusText.Parse(metrics.Render("node1"));
        Assert.Equal(4, at.Value("custos_validators"));
        Assert.Equal(1, at.Value("custos_validators_alert"));
    }
}
