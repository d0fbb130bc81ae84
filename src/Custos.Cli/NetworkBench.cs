using System.CommandLine;
using System.Diagnostics;
using Custos.Cli.Init;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Sdk;

namespace Custos.Cli;

/// <summary>
/// `custos bench network`: validators as separate processes on this machine, transfers pre-signed with the chain's
/// suite and offered open-loop at a fixed rate, committed TPS and latency measured from the commit stream, CPU
/// seconds per transaction from the processes, and this machine's own signature verifications per second per core
/// measured in the same run. The last line is the efficiency TPS × validators ÷ (cores × verifications per second
/// per core): every validator verifies every transaction, so 1.0 would mean verification is all the work there is.
/// </summary>
internal static class NetworkBench
{
    public static Command Create(TextWriter output)
    {
        var validators = new Option<int>("--validators") { DefaultValueFactory = _ => 4, Description = "Validator processes" };
        var seconds = new Option<int>("--seconds") { DefaultValueFactory = _ => 30, Description = "Measured window (after a warm-up)" };
        var rate = new Option<int>("--rate")
        {
            DefaultValueFactory = _ => 0,
            Description = "Offered load, transactions per second (default: 60% of the verification bound measured in the run, enough to show an efficiency of 0.6)",
        };
        var warmup = new Option<int>("--warmup")
        {
            DefaultValueFactory = _ => 5,
            Description = $"Seconds of load at least before measuring; the window opens once the backlog holds still (steady state), or {SteadyStateWaitMax.TotalSeconds:0} s later",
        };
        var suite = new Option<string>("--suite") { DefaultValueFactory = _ => "gm", Description = "gm (default) or intl" };
        var basePort = new Option<int>("--base-port") { DefaultValueFactory = _ => 37100, Description = "Ports as for devnet" };
        var keep = new Option<string?>("--dir") { Description = "Create the network here and keep it (logs included) instead of a temporary directory" };
        var compare = new Option<bool>("--compare-transports")
        {
            Description = "Run an intl chain (standard TLS 1.3) and then a gm chain (GM TLS, TLS_SM4_GCM_SM3) and compare their efficiencies; the last line is the gm one",
        };
        var command = new Command("network", "Committed TPS of a local network against this machine's signature-verification bound")
        {
            validators, seconds, rate, warmup, suite, basePort, keep, compare,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            // The load generator is part of what the machine spends: compiled tiered, it spent more than half its CPU
            // recompiling hot methods during the measured window (a tenth of a core taken from the validators). It runs
            // again as its own process, compiled fully optimised once, like the nodes.
            if (Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") != "0") return await RunCompiledAsync(output, parse.Tokens.Select(t => t.Value), cancellationToken);
            var chainSuite = CryptoSuites.Parse(parse.GetValue(suite)!);
            var window = TimeSpan.FromSeconds(parse.GetValue(seconds));
            var warm = TimeSpan.FromSeconds(parse.GetValue(warmup));
            var offered = parse.GetValue(rate);
            if (window <= TimeSpan.Zero || offered < 0) throw new CustosException(ErrorCode.InvalidField, "--seconds must be positive and --rate not negative");
            var run = new BenchRun(parse.GetValue(validators), window, warm, offered, parse.GetValue(basePort), parse.GetValue(keep));
            if (!parse.GetValue(compare))
            {
                await RunOnceAsync(output, chainSuite, run, cancellationToken);
                return 0;
            }

            // Standard TLS 1.3 (intl chain: ECDSA certificates, OpenSSL through SslStream) first, then GM TLS (gm
            // chain: SM2 certificates, TLS_SM4_GCM_SM3 through BouncyCastle); each efficiency is against its own
            // suite's verification bound, so the ratio compares what the rest of the node, transport included, costs.
            output.WriteLine("== standard TLS transport (intl chain)");
            var standard = await RunOnceAsync(output, CryptoSuites.Intl, run with { Directory = run.Directory is { } d ? Path.Combine(d, "intl") : null }, cancellationToken);
            output.WriteLine("== GM TLS transport (gm chain)");
            var gm = await RunOnceAsync(output, CryptoSuites.Gm, run with { Directory = run.Directory is { } e ? Path.Combine(e, "gm") : null }, cancellationToken);
            output.WriteLine($"transports: GM TLS {gm.Efficiency:0.000} ({gm.Tps:0} TPS) against standard TLS {standard.Efficiency:0.000} ({standard.Tps:0} TPS): ratio {gm.Efficiency / standard.Efficiency:0.00}");
            output.WriteLine($"efficiency: {gm.Efficiency:0.000}");
            return 0;
        });
        return command;
    }

    private static async Task<int> RunCompiledAsync(TextWriter output, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = NodeProcess.CommandOf(arguments);
        start.Environment["DOTNET_TieredCompilation"] = "0";
        start.RedirectStandardOutput = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new CustosException(ErrorCode.NotFound, "could not start the benchmark process");
        try
        {
            while (await process.StandardOutput.ReadLineAsync(cancellationToken) is { } line) output.WriteLine(line);
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Its own SIGTERM handling stops its nodes.
            if (!process.HasExited) NodeProcess.Terminate(process.Id);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        return process.ExitCode;
    }

    private sealed record BenchRun(int Validators, TimeSpan Window, TimeSpan Warm, int Offered, int BasePort, string? Directory);

    /// <summary>How much longer than the warm-up the window waits for the nodes to push back.</summary>
    private static readonly TimeSpan SteadyStateWaitMax = TimeSpan.FromSeconds(15);

    /// <summary>The default offered load as a share of the verification bound (TPS if every validator only verified).</summary>
    private const double AutomaticRateShare = 0.6;

    private readonly record struct BenchResult(double Tps, double Efficiency);

    private static async Task<BenchResult> RunOnceAsync(TextWriter output, ICryptoSuite chainSuite, BenchRun run, CancellationToken cancellationToken)
    {
        var verifyPerCore = MeasureVerification(chainSuite);
        output.WriteLine($"verify: {verifyPerCore:0} {chainSuite.Name} signature verifications per second per core (one thread, cached key, best of six windows; measured again after the load)");

        // A fixed default rate capped what a faster build could show; by default the load is a share of the bound
        // itself, so that the efficiency measured is the network's and not the load generator's.
        if (run.Offered == 0) run = run with { Offered = Math.Max(100, (int)Math.Round(AutomaticRateShare * Environment.ProcessorCount * verifyPerCore / run.Validators / 100) * 100) };

        var root = run.Directory is { } kept ? Path.GetFullPath(kept) : Path.Combine(Path.GetTempPath(), $"custos-bench-network-{Environment.ProcessId}-{chainSuite.Name}");
        try
        {
            new ConsortiumInitializer(TextWriter.Null).Run(new InitOptions
            {
                OutputDirectory = root,
                Validators = run.Validators,
                Observers = 0,
                Suite = chainSuite,
                BasePort = run.BasePort,
                KdfIterations = EncryptedKeyFile.MinimumIterations,
                Overwrite = true,
            });
            var network = NetworkDirectory.Open(root);
            var senders = network.Chain.Genesis.Accounts.Where(a => a.Balance > 0).Select(a => network.User(a.Label)).ToList();
            var total = (int)(run.Offered * (run.Window + run.Warm + SteadyStateWaitMax).TotalSeconds * 1.05) + WarmUpTransactions;
            var watch = Stopwatch.StartNew();
            var signed = new SignedTransaction[total];
            Parallel.For(0, senders.Count, s =>
            {
                for (var k = s; k < total; k += senders.Count) signed[k] = senders[s].Signer.Transfer(senders[(s + 1) % senders.Count].Account, 1, 9_000);
            });
            output.WriteLine($"load: {total} transfers pre-signed from {senders.Count} accounts in {watch.Elapsed.TotalSeconds:0.0} s");

            await using var processes = DevnetProcesses.Start(network);
            await processes.WaitHealthyAsync(TimeSpan.FromSeconds(90), cancellationToken);
            var validatorNames = network.Chain.Genesis.Validators.Select(v => v.Name).ToList();
            var clients = validatorNames.Select((name, i) => network.Connect(senders[i % senders.Count], name)).ToList();
            LoadFigures figures;
            try
            {
                figures = await RunLoadAsync(output, processes, clients, signed, run.Offered, run.Warm, run.Window, cancellationToken);
            }
            finally
            {
                foreach (var client in clients) client.Dispose();
                foreach (var sender in senders) sender.Dispose();
            }

            // The bound again once the nodes have stopped, and the higher of the two is used: a moment when this
            // shared machine ran slow must not lower the bound and flatter the efficiency.
            await processes.DisposeAsync();
            var verifyAfter = MeasureVerification(chainSuite);
            var bound = Math.Max(verifyPerCore, verifyAfter);
            var cores = Environment.ProcessorCount;
            var validators = validatorNames.Count;
            output.WriteLine($"bound: {cores} cores x {bound:0} verifications/s/core (the higher of {verifyPerCore:0} before the load and {verifyAfter:0} after it) = {cores * bound / validators:0} TPS if every validator only verified");
            if (figures.Before is not null) WriteWhereTheCpuGoes(output, figures.Before, figures.After, bound);
            var efficiency = figures.Tps * validators / (cores * bound);
            output.WriteLine($"efficiency: {efficiency:0.000}");
            return new BenchResult(figures.Tps, efficiency);
        }
        finally
        {
            try
            {
                if (run.Directory is null) System.IO.Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private sealed record LoadFigures(double Tps, IReadOnlyList<ValidatorSample>? Before, IReadOnlyList<ValidatorSample> After);

    private static async Task<LoadFigures> RunLoadAsync(TextWriter output, DevnetProcesses processes, List<CustosClient> clients, SignedTransaction[] signed, int offered,
        TimeSpan warm, TimeSpan window, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await WarmUpAsync(output, clients, signed.AsMemory(0, WarmUpTransactions), cancellationToken);
        signed = signed[WarmUpTransactions..];
        // When each transaction was offered and first seen committed (milliseconds on the clock, −1 for not yet), by
        // its place in the load. Arrays and a map built before the load: concurrent dictionaries filled during it
        // were most of this process's own work (their growth, and nodes that lived to the oldest generation).
        var indexOf = new Dictionary<Hash32, int>(signed.Length);
        for (var i = 0; i < signed.Length; i++) indexOf.TryAdd(signed[i].Id, i);
        var submittedAt = new long[signed.Length];
        var committedAt = new long[signed.Length];
        Array.Fill(submittedAt, -1);
        Array.Fill(committedAt, -1);
        var start = await clients[0].StatusAsync(cancellationToken);
        var follower = Task.Run(async () =>
        {
            try
            {
                // Ids only: receipts (with their events) cost the node reading and sending them and this process
                // receiving them, for nothing the bench uses.
                await foreach (var notice in clients[0].StreamCommittedIdsAsync(start.Height + 1, stop.Token))
                {
                    var now = clock.ElapsedMilliseconds;
                    foreach (var id in notice.TransactionIds)
                    {
                        if (indexOf.TryGetValue(new Hash32(id.Span), out var i) && committedAt[i] < 0) committedAt[i] = now;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or Grpc.Core.RpcException)
            {
            }
        }, stop.Token);

        // Open loop: every tick offers its share whatever happened to the earlier ones.
        const int tickMs = 20;
        var perTick = Math.Max(1, offered * tickMs / 1000);
        var next = 0;
        var refused = 0L;
        var inFlight = new List<Task>();
        var cpuBefore = TimeSpan.Zero;
        var loadCpuBefore = TimeSpan.Zero;
        long windowStartMs = 0, windowEndMs = 0;
        IReadOnlyList<ValidatorSample>? samplesBefore = null;
        var target = 0;
        var loadStartMs = clock.ElapsedMilliseconds;
        var backlogs = new List<double>();
        var lastBacklogMs = 0L;
        while ((windowStartMs == 0 || clock.ElapsedMilliseconds < windowStartMs + (long)window.TotalMilliseconds) && next < signed.Length)
        {
            // The window opens in the steady state, once the backlog (the validators' pools together) holds still:
            // then every transaction a validator verifies is one it commits. Opened while the backlog still filled,
            // the window counted work on thousands of transactions that committed only after it closed; opened at the
            // first push-back, it saw the backlog drain from the overshoot of the first burst (each validator bounds
            // what it sees, and the others' newest transactions are not yet in its view).
            var loaded = clock.Elapsed - TimeSpan.FromMilliseconds(loadStartMs);
            if (windowStartMs == 0 && loaded >= warm && clock.ElapsedMilliseconds - lastBacklogMs >= 1000)
            {
                lastBacklogMs = clock.ElapsedMilliseconds;
                backlogs.Add((await ValidatorSample.TakeAllAsync(processes, cancellationToken)).Sum(v => v.Pool));
            }

            var steady = backlogs.Count >= 3 && Math.Abs(backlogs[^1] - backlogs[^3]) <= Math.Max(0.1 * backlogs[^1], 500);
            if (windowStartMs == 0 && loaded >= warm && (steady || loaded >= warm + SteadyStateWaitMax))
            {
                output.WriteLine($"window: opened after {loaded.TotalSeconds:0.0} s of load, " + (steady
                    ? $"once the backlog held still ({string.Join(" → ", backlogs.TakeLast(3).Select(b => b.ToString("0")))} transactions a second apart)"
                    : "without a steady backlog"));
                samplesBefore = await ValidatorSample.TakeAllAsync(processes, cancellationToken);
                windowStartMs = clock.ElapsedMilliseconds;
                cpuBefore = processes.Nodes.Aggregate(TimeSpan.Zero, (sum, n) => sum + n.CpuTime);
                loadCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            }

            var chunk = signed.AsSpan(next, Math.Min(perTick, signed.Length - next)).ToArray();
            var client = clients[target++ % clients.Count];
            submittedAt.AsSpan(next, chunk.Length).Fill(clock.ElapsedMilliseconds);
            next += chunk.Length;
            inFlight.Add(Task.Run(async () =>
            {
                try
                {
                    var results = await client.SubmitAsync(chunk, cancellationToken);
                    Interlocked.Add(ref refused, results.Count(r => r.Code != ErrorCode.Ok));
                }
                catch (Grpc.Core.RpcException)
                {
                    Interlocked.Add(ref refused, chunk.Length);
                }
            }, cancellationToken));
            inFlight.RemoveAll(t => t.IsCompleted);
            var due = (long)(next / (double)offered * 1000);
            var wait = due - clock.ElapsedMilliseconds;
            if (wait > 0) await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
        }

        windowEndMs = clock.ElapsedMilliseconds;
        var cpuAfter = processes.Nodes.Aggregate(TimeSpan.Zero, (sum, n) => sum + n.CpuTime);
        var samplesAfter = await ValidatorSample.TakeAllAsync(processes, cancellationToken);
        var loadCpu = Process.GetCurrentProcess().TotalProcessorTime - loadCpuBefore;
        await Task.WhenAll(inFlight);
        // Let what was offered in the window finish committing before latencies are read.
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        await stop.CancelAsync();
        await follower;
        foreach (var node in processes.Nodes) node.ThrowIfExited();

        var windowMs = Math.Max(1, windowEndMs - windowStartMs);
        var committedInWindow = committedAt.Count(t => t >= windowStartMs && t < windowEndMs);
        var tps = committedInWindow * 1000.0 / windowMs;
        var latencies = Enumerable.Range(0, signed.Length).Where(i => submittedAt[i] >= windowStartMs && submittedAt[i] < windowEndMs && committedAt[i] >= 0)
            .Select(i => (double)(committedAt[i] - submittedAt[i])).Order().ToArray();
        double Percentile(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
        var cpuPerTransaction = committedInWindow == 0 ? double.NaN : (cpuAfter - cpuBefore).TotalSeconds / committedInWindow;
        var cores = Environment.ProcessorCount;
        output.WriteLine($"transport: gRPC over {clients[0].Session ?? "an unknown session"} for clients; nodes use the same stack between them");
        output.WriteLine($"offered: {offered} tx/s open-loop to {clients.Count} validators; refused at admission: {Interlocked.Read(ref refused)}");
        output.WriteLine($"committed: {tps:0} TPS over {windowMs / 1000.0:0.0} s ({committedInWindow} transactions)");
        output.WriteLine($"latency: p50 {Percentile(0.50):0} ms, p99 {Percentile(0.99):0} ms (submit to commit seen on {processes.Nodes[0].Name}; {latencies.Length} samples)");
        if (samplesBefore is not null)
        {
            // Each transaction is admitted at one validator and stays in its pool until committed: the pools together
            // are the network's backlog. About equal at both ends, the window saw the steady state.
            output.WriteLine($"backlog: {samplesBefore.Sum(s => s.Pool):0} transactions when the window opened, {samplesAfter.Sum(s => s.Pool):0} when it closed");
        }

        output.WriteLine($"cpu: {cpuPerTransaction * 1000:0.000} ms per transaction, all {processes.Nodes.Count} node processes together; " +
            $"{loadCpu.TotalSeconds / windowMs * 1000:0.00} cores of {cores} used by this load generator");
        return new LoadFigures(tps, samplesBefore, samplesAfter);
    }

    /// <summary>
    /// Says where the rest goes: a validator's CPU per committed transaction against what verifying it costs at the
    /// bound's own speed, split by the node's threads (the consensus thread executes, stages state, persists and
    /// journals; the verification workers and the thread pool, which serves clients and peers' batches and runs TLS,
    /// share the signature checks), with what the garbage collector took.
    /// </summary>
    private static void WriteWhereTheCpuGoes(TextWriter output, IReadOnlyList<ValidatorSample> before, IReadOnlyList<ValidatorSample> after, double verifyPerCore)
    {
        // Each validator's figures are divided by what it committed between the same two samples.
        var nodes = Enumerable.Range(0, Math.Min(before.Count, after.Count)).Where(i => after[i].Committed > before[i].Committed).ToList();
        if (nodes.Count == 0) return;
        var n = nodes.Count;
        double PerTransaction(int i, double delta) => delta / (after[i].Committed - before[i].Committed);
        double Mean(Func<ValidatorSample, double> value) => nodes.Average(i => PerTransaction(i, value(after[i]) - value(before[i])));
        var cpu = Mean(s => s.CpuSeconds) * 1e6;
        var verifications = Mean(s => s.Verifications);
        var verifyAtBound = verifications / verifyPerCore * 1e6;
        // Per thread: what it did in the window (a thread started in it counts whole); a thread that ended in the window
        // (the pool retires idle workers) is left in "other".
        double Thread(string group) => nodes.Average(i => PerTransaction(i, after[i].Threads
            .Where(t => t.Value.Group == group)
            .Sum(t => t.Value.Seconds - (before[i].Threads.TryGetValue(t.Key, out var earlier) ? earlier.Seconds : 0)))) * 1e6;
        var groups = ValidatorSample.ThreadGroups.Select(g => (g.Name, Micros: Thread(g.Name))).ToList();
        var other = cpu - groups.Sum(g => g.Micros);
        output.WriteLine($"per validator and committed transaction (mean of {n}): {cpu:0} µs CPU; {verifications:0.00} signature verifications, {verifyAtBound:0} µs of it at the bound's speed " +
            $"({verifyAtBound / cpu:P0}); the other {cpu - verifyAtBound:0} µs is the rest of the node");
        output.WriteLine("  by thread: " + string.Join(", ", groups.Select(g => $"{g.Name} {g.Micros:0} µs")) + $", other (timers, sockets, threads that ended) {other:0} µs");
        output.WriteLine($"  runtime: {Mean(s => s.AllocatedBytes) / 1024:0.0} KiB allocated per transaction; garbage collection paused the node {Mean(s => s.GcPauseSeconds) * 1e6:0} µs per transaction (wall clock), " +
            $"{Mean(s => s.Gen0) * 1000:0.0} gen0, {Mean(s => s.Gen1) * 1000:0.0} gen1 and {Mean(s => s.Gen2) * 1000:0.0} gen2 collections per 1,000");
    }

    /// <summary>A validator process's counters at one moment: its /metrics and its threads' CPU from /proc.</summary>
    /// <param name="Pool">Transactions in the validator's pool: those admitted there and not yet committed (its share of the backlog).</param>
    private sealed record ValidatorSample(double CpuSeconds, double Committed, double Verifications, double AllocatedBytes, double GcPauseSeconds, double Gen0, double Gen1, double Gen2,
        double Pool, Dictionary<int, (string Group, double Seconds)> Threads)
    {
        /// <summary>Thread names (as /proc shows them, 15 characters at most) grouped by the work they do.</summary>
        public static readonly (string Name, string Prefix)[] ThreadGroups =
        [
            ("consensus (execution, state, persistence, journal)", "custos-consensu"),
            ("verification workers", "custos-verify"),
            ("thread pool (client API, peers' batches, TLS)", ".NET TP Worker"),
            ("RocksDB background", "rocksdb:"),
        ];

        public static async Task<IReadOnlyList<ValidatorSample>> TakeAllAsync(DevnetProcesses processes, CancellationToken cancellationToken)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            return await Task.WhenAll(processes.Nodes.Select(node => TakeAsync(http, node, cancellationToken)));
        }

        private static async Task<ValidatorSample> TakeAsync(HttpClient http, NodeProcess node, CancellationToken cancellationToken)
        {
            var metrics = new Dictionary<string, double>();
            try
            {
                var text = await http.GetStringAsync(new Uri($"http://{node.HttpAddress}/metrics"), cancellationToken);
                foreach (var line in text.Split('\n'))
                {
                    if (line.Length == 0 || line[0] == '#') continue;
                    var space = line.LastIndexOf(' ');
                    var brace = line.IndexOf('{');
                    var name = line[..(brace > 0 && brace < space ? brace : space)];
                    if (double.TryParse(line[(space + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)) metrics.TryAdd(name, value);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // A node that does not answer leaves its figures at zero; the efficiency does not depend on them.
            }

            return new ValidatorSample(
                node.CpuTime.TotalSeconds,
                metrics.GetValueOrDefault("custos_transactions_committed_total"),
                metrics.GetValueOrDefault("custos_signature_verifications_total"),
                metrics.GetValueOrDefault("dotnet_gc_allocated_bytes_total"),
                metrics.GetValueOrDefault("dotnet_gc_pause_seconds_total"),
                metrics.GetValueOrDefault("dotnet_gc_collections_gen0_total"),
                metrics.GetValueOrDefault("dotnet_gc_collections_gen1_total"),
                metrics.GetValueOrDefault("dotnet_gc_collections_gen2_total"),
                metrics.GetValueOrDefault("custos_mempool_transactions"),
                ThreadsOf(node.ProcessId));
        }

        /// <summary>CPU seconds of each live thread of a group, by thread id, from /proc/PID/task/*/stat (Linux; empty elsewhere).</summary>
        private static Dictionary<int, (string Group, double Seconds)> ThreadsOf(int processId)
        {
            var seconds = new Dictionary<int, (string, double)>();
            try
            {
                foreach (var task in System.IO.Directory.EnumerateDirectories($"/proc/{processId}/task"))
                {
                    try
                    {
                        var stat = File.ReadAllText(Path.Combine(task, "stat"));
                        var open = stat.IndexOf('(');
                        var close = stat.LastIndexOf(')');
                        var name = stat[(open + 1)..close];
                        var fields = stat[(close + 2)..].Split(' ');
                        // After the name: state is field 3, utime and stime fields 14 and 15 (clock ticks of 1/100 s).
                        var ticks = double.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + double.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
                        foreach (var (group, prefix) in ThreadGroups)
                        {
                            if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                            seconds[int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture)] = (group, ticks / 100.0);
                            break;
                        }
                    }
                    catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
                    {
                        // A thread that ended while being read.
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }

            return seconds;
        }
    }

    /// <summary>Transactions committed before the open loop starts (see <see cref="WarmUpAsync"/>).</summary>
    private const int WarmUpTransactions = 2_000;

    /// <summary>
    /// Brings the nodes to their steady state before anything is measured: the first blocks compile the whole
    /// execution, storage and consensus path (several seconds of CPU on a shared machine), during which rounds time
    /// out. A modest load is committed in full first, bounded in time.
    /// </summary>
    private static async Task WarmUpAsync(TextWriter output, List<CustosClient> clients, ReadOnlyMemory<SignedTransaction> transactions, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        const int chunk = 100;
        for (var at = 0; at < transactions.Length; at += chunk)
        {
            var part = transactions.Slice(at, Math.Min(chunk, transactions.Length - at)).ToArray();
            try
            {
                await clients[at / chunk % clients.Count].SubmitAsync(part, cancellationToken);
            }
            catch (Grpc.Core.RpcException)
            {
            }

            await Task.Delay(25, cancellationToken);
        }

        var last = transactions.Span[^1].Id;
        var committed = false;
        while (!committed && watch.Elapsed < TimeSpan.FromSeconds(120))
        {
            try
            {
                var status = await clients[0].WaitForCommitAsync(last, TimeSpan.FromSeconds(10), cancellationToken);
                committed = status.State == Custos.Api.TransactionState.Committed;
            }
            catch (Grpc.Core.RpcException)
            {
            }
        }

        output.WriteLine(committed
            ? $"warm-up: {transactions.Length} transfers committed in {watch.Elapsed.TotalSeconds:0.0} s"
            : $"warm-up: the last of {transactions.Length} transfers was not committed within {watch.Elapsed.TotalSeconds:0} s; measuring anyway");
    }

    /// <summary>
    /// Single-threaded verifications per second of one signature under a cached key (a validator's steady state): the
    /// best of several short windows, so that a moment of noise on a shared machine lowers the bound (and flatters the
    /// efficiency) as little as possible.
    /// </summary>
    private static double MeasureVerification(ICryptoSuite suite)
    {
        using var key = suite.GenerateKey();
        var message = new byte[200];
        Random.Shared.NextBytes(message);
        var signature = key.Sign(message);
        var publicKey = key.PublicKey;
        for (var i = 0; i < 500; i++) suite.Verify(publicKey, message, signature);
        var best = 0.0;
        for (var window = 0; window < 6; window++)
        {
            var count = 0;
            var watch = Stopwatch.StartNew();
            while (watch.ElapsedMilliseconds < 400)
            {
                for (var i = 0; i < 50; i++)
                {
                    if (!suite.Verify(publicKey, message, signature)) throw new CustosException(ErrorCode.SignatureInvalid, "the benchmark's own signature did not verify");
                }

                count += 50;
            }

            best = Math.Max(best, count / watch.Elapsed.TotalSeconds);
        }

        return best;
    }
}
