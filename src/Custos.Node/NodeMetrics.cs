using System.Globalization;
using System.Text;

namespace Custos.Node;

/// <summary>
/// The node's counters and gauges, rendered in the Prometheus text format at <c>/metrics</c>. Written by the
/// consensus thread and the API, read by scrapes; every field is updated atomically.
/// </summary>
public sealed class NodeMetrics
{
    private long _height;
    private long _round;
    private long _epoch;
    private long _validators;
    private long _validatorAlertThreshold;
    private long _committedTransactions;
    private long _committedBlocks;
    private long _viewChanges;
    private long _evidence;
    private long _submitted;
    private long _refused;
    private long _commitLatencyCount;
    private long _commitLatencyMsSum;
    private readonly long[] _latencyBuckets = new long[LatencyBoundsMs.Length];

    private static readonly double[] LatencyBoundsMs = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

    /// <summary>Gauges read when rendering (mempool size, peers); set by the node once it is composed.</summary>
    public Func<(int Mempool, int PeersConnected, int PeersConfigured)>? Gauges { get; set; }

    /// <summary>Per-peer link figures, read when rendering; set by the node once it is composed.</summary>
    public Func<IReadOnlyList<Custos.Network.PeerStatus>>? Peers { get; set; }

    /// <summary>Transaction signatures this node actually verified (cache hits not counted); set once composed.</summary>
    public Func<long>? Verifications { get; set; }

    public long Height => Interlocked.Read(ref _height);

    public long CommittedTransactions => Interlocked.Read(ref _committedTransactions);

    public void OnRound(ulong round, ulong epoch)
    {
        Interlocked.Exchange(ref _round, (long)round);
        Interlocked.Exchange(ref _epoch, (long)epoch);
    }

    public void OnCommit(ulong height, int transactions, long blockAgeMs)
    {
        Interlocked.Exchange(ref _height, (long)height);
        Interlocked.Add(ref _committedTransactions, transactions);
        Interlocked.Increment(ref _committedBlocks);
        if (transactions == 0) return;
        Interlocked.Increment(ref _commitLatencyCount);
        Interlocked.Add(ref _commitLatencyMsSum, Math.Max(0, blockAgeMs));
        for (var i = 0; i < LatencyBoundsMs.Length; i++)
        {
            if (blockAgeMs <= LatencyBoundsMs[i]) Interlocked.Increment(ref _latencyBuckets[i]);
        }
    }

    /// <summary>The current epoch's validator count and the threshold at or below which the network warns (GOV-1).</summary>
    public void OnValidatorSet(int count, ulong alertThreshold)
    {
        Interlocked.Exchange(ref _validators, count);
        Interlocked.Exchange(ref _validatorAlertThreshold, (long)alertThreshold);
    }

    public void OnViewChange() => Interlocked.Increment(ref _viewChanges);

    public void OnEvidence() => Interlocked.Increment(ref _evidence);

    public void OnSubmitted(int admitted, int refused)
    {
        Interlocked.Add(ref _submitted, admitted);
        Interlocked.Add(ref _refused, refused);
    }

    public string Render(string node)
    {
        var gauges = Gauges?.Invoke() ?? (0, 0, 0);
        var text = new StringBuilder();
        var label = $"{{node=\"{Escape(node)}\"}}";
        void Metric(string name, string type, string help, double value)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            text.Append(name).Append(label).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        Metric("custos_block_height", "gauge", "Height of the last committed block.", Interlocked.Read(ref _height));
        Metric("custos_consensus_round", "gauge", "Current consensus round.", Interlocked.Read(ref _round));
        Metric("custos_consensus_epoch", "gauge", "Current epoch.", Interlocked.Read(ref _epoch));
        Metric("custos_validators", "gauge", "Validators of the current epoch.", Interlocked.Read(ref _validators));
        Metric("custos_validators_alert", "gauge", "1 when the validator count is at or below the alert threshold (GOV-1).",
            Interlocked.Read(ref _validators) is var validatorCount && validatorCount > 0 && validatorCount <= Interlocked.Read(ref _validatorAlertThreshold) ? 1 : 0);
        Metric("custos_blocks_committed_total", "counter", "Blocks committed since start.", Interlocked.Read(ref _committedBlocks));
        Metric("custos_transactions_committed_total", "counter", "Transactions committed since start (rate() gives TPS).", Interlocked.Read(ref _committedTransactions));
        Metric("custos_view_changes_total", "counter", "Round timeouts on this node (each starts a view change).", Interlocked.Read(ref _viewChanges));
        Metric("custos_equivocation_evidence_total", "counter", "Equivocation evidence produced.", Interlocked.Read(ref _evidence));
        Metric("custos_transactions_admitted_total", "counter", "Transactions admitted to the mempool by this node's API.", Interlocked.Read(ref _submitted));
        Metric("custos_transactions_refused_total", "counter", "Transactions refused at admission.", Interlocked.Read(ref _refused));
        Metric("custos_mempool_transactions", "gauge", "Transactions waiting in the mempool.", gauges.Mempool);
        Metric("custos_signature_verifications_total", "counter", "Transaction signatures verified by this node (each once: later checks hit a cache).", Verifications?.Invoke() ?? 0);

        // The process's own work, so that CPU per committed transaction and what the runtime takes of it can be read
        // beside the ledger's counters (`custos bench network` prints them per validator).
        using (var self = System.Diagnostics.Process.GetCurrentProcess()) Metric("process_cpu_seconds_total", "counter", "CPU time of this node process, user and system.", self.TotalProcessorTime.TotalSeconds);
        Metric("dotnet_gc_allocated_bytes_total", "counter", "Bytes allocated on the managed heap since start.", GC.GetTotalAllocatedBytes());
        Metric("dotnet_gc_pause_seconds_total", "counter", "Time the runtime paused the process for garbage collection (wall clock).", GC.GetTotalPauseDuration().TotalSeconds);
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            var name = $"dotnet_gc_collections_gen{generation}_total";
            Metric(name, "counter", $"Garbage collections of generation {generation} (each also collects the younger ones).", GC.CollectionCount(generation));
        }
        Metric("custos_peers_connected", "gauge", "Peers with a live link.", gauges.PeersConnected);
        Metric("custos_peers_configured", "gauge", "Configured peers.", gauges.PeersConfigured);

        // One group per metric (HELP, TYPE, then a sample per peer), as the text format requires.
        var peers = Peers?.Invoke() ?? [];
        void PeerMetric(string name, string type, string help, Func<Custos.Network.PeerStatus, long> value)
        {
            if (peers.Count == 0) return;
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (var peer in peers)
            {
                text.Append(name).Append("{node=\"").Append(Escape(node)).Append("\",peer=\"").Append(Escape(peer.Name)).Append("\"} ")
                    .Append(value(peer).ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        PeerMetric("custos_peer_connected", "gauge", "1 while the link to the peer is up.", p => p.State == Custos.Network.PeerState.Connected ? 1 : 0);
        PeerMetric("custos_peer_frames_sent_total", "counter", "Frames sent to the peer.", p => p.FramesSent);
        PeerMetric("custos_peer_frames_received_total", "counter", "Frames received from the peer.", p => p.FramesReceived);
        PeerMetric("custos_peer_frames_dropped_total", "counter", "Frames from the peer dropped by rate limits.", p => p.FramesDropped);
        PeerMetric("custos_peer_send_queue_frames", "gauge", "Frames waiting to be sent to the peer.", p => p.SendQueueFrames);
        PeerMetric("custos_peer_send_queue_rejections_total", "counter", "Frames refused because the peer's send queue was full.", p => p.SendQueueRejections);

        const string latency = "custos_commit_latency_ms";
        text.Append("# HELP ").Append(latency).Append(" Time from a block's timestamp to its commit on this node, for blocks with transactions.\n");
        text.Append("# TYPE ").Append(latency).Append(" histogram\n");
        for (var i = 0; i < LatencyBoundsMs.Length; i++)
        {
            text.Append(latency).Append("_bucket{node=\"").Append(Escape(node)).Append("\",le=\"").Append(LatencyBoundsMs[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ")
                .Append(Interlocked.Read(ref _latencyBuckets[i]).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        var count = Interlocked.Read(ref _commitLatencyCount);
        text.Append(latency).Append("_bucket{node=\"").Append(Escape(node)).Append("\",le=\"+Inf\"} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append(latency).Append("_sum").Append(label).Append(' ').Append(Interlocked.Read(ref _commitLatencyMsSum).ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append(latency).Append("_count").Append(label).Append(' ').Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        return text.ToString();
    }

    /// <summary>Label values escape backslash, double quote and newline (Prometheus text format).</summary>
    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
