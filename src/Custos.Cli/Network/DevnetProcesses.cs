using System.Diagnostics;
using System.Runtime.InteropServices;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Node;

namespace Custos.Cli.Network;

/// <summary>
/// The node processes of a local network: each node runs as its own `custos node` process on 127.0.0.1, its
/// output going to logs/NODE.log. Stopping sends SIGTERM (a clean shutdown that closes the store) and kills only a
/// node that has not stopped within ten seconds.
/// </summary>
internal sealed class DevnetProcesses : IAsyncDisposable
{
    private readonly List<NodeProcess> _nodes = [];

    public IReadOnlyList<NodeProcess> Nodes => _nodes;

    public static DevnetProcesses Start(NetworkDirectory network)
    {
        var processes = new DevnetProcesses();
        var logs = Directory.CreateDirectory(Path.Combine(network.Root, "logs")).FullName;
        foreach (var node in network.Chain.Nodes)
        {
            var configPath = network.ConfigPath(node.Name);
            var config = NodeConfigurationFile.Load(configPath);
            processes._nodes.Add(NodeProcess.Start(node.Name, configPath, config, Path.Combine(logs, $"{node.Name}.log")));
        }

        return processes;
    }

    /// <summary>Starts a node that is not running (one admitted after genesis, or one stopped before) as one of these.</summary>
    public NodeProcess StartNode(NetworkDirectory network, string name, string configPath)
    {
        if (_nodes.Any(n => n.Name == name && !n.HasExited)) throw new CustosException(ErrorCode.InvalidField, $"node {name} is running already");
        _nodes.RemoveAll(n => n.Name == name);
        var logs = Directory.CreateDirectory(Path.Combine(network.Root, "logs")).FullName;
        var process = NodeProcess.Start(name, configPath, NodeConfigurationFile.Load(configPath), Path.Combine(logs, $"{name}.log"));
        _nodes.Add(process);
        return process;
    }

    /// <summary>Stops one node cleanly (SIGTERM) and waits for it; it stays in the list until started again.</summary>
    public async Task StopNodeAsync(string name)
    {
        var node = _nodes.Single(n => n.Name == name);
        node.Terminate();
        await node.WaitStoppedAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Waits until every node answers /health with ok; fails early, with its log's tail, if a node exits.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        var pending = _nodes.ToList();
        while (pending.Count > 0)
        {
            foreach (var node in pending.ToList())
            {
                node.ThrowIfExited();
                try
                {
                    using var response = await http.GetAsync(new Uri($"http://{node.HttpAddress}/health"), cancellationToken);
                    if (response.IsSuccessStatusCode) pending.Remove(node);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                }
            }

            if (pending.Count == 0) return;
            if (DateTime.UtcNow > deadline)
            {
                throw new CustosException(ErrorCode.NotFound, $"not healthy within {timeout.TotalSeconds:0} s: {string.Join(", ", pending.Select(n => n.Name))} (see logs/)");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes) node.Terminate();
        foreach (var node in _nodes) await node.WaitStoppedAsync(TimeSpan.FromSeconds(10));
        _nodes.Clear();
    }
}

internal sealed class NodeProcess
{
    private readonly Process _process;
    private readonly string _logPath;
    private readonly StreamWriter _log;

    private NodeProcess(string name, Process process, string logPath, StreamWriter log, string httpAddress, string apiAddress)
    {
        Name = name;
        _process = process;
        _logPath = logPath;
        _log = log;
        HttpAddress = httpAddress;
        ApiAddress = apiAddress;
    }

    public string Name { get; }

    public string HttpAddress { get; }

    public string ApiAddress { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>CPU time the node process has used so far (user and system).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static NodeProcess Start(string name, string configPath, NodeConfigurationFile config, string logPath)
    {
        var start = CommandOf(["node", "--config", configPath]);
        // An operator's own setting of a variable wins (to measure another setting, say).
        foreach (var (variable, value) in ServerRuntime) start.Environment.TryAdd(variable, value);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.WriteLine(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.WriteLine(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new NodeProcess(name, process, logPath, log, config.HttpListen ?? throw new CustosException(ErrorCode.InvalidField, $"{configPath} has no httpListen"), config.ApiListen);
    }

    /// <summary>
    /// Runtime settings for a node process. A node runs for a long time, so its code is compiled fully optimised once
    /// instead of tiered: with tiering, recompiling hot methods took a tenth of the CPU for the first minute under load
    /// (more with four nodes on two cores), which is when devnets, tests and benches measure. Its young generation is
    /// larger (64 MiB) and the GC keeps the memory it freed: a node allocates per transaction at a steady rate, and
    /// small generations plus returning memory to the OS cost page faults and zeroing on every collection (about a
    /// fifth less CPU per transaction in `custos bench network`). docs/node.md says the same for nodes started
    /// by other means.
    /// </summary>
    public static IReadOnlyList<(string Variable, string Value)> ServerRuntime { get; } =
    [
        ("DOTNET_TieredCompilation", "0"),
        ("DOTNET_GCgen0size", "0x4000000"),
        ("DOTNET_GCRetainVM", "1"),
    ];

    /// <summary>How to run this same `custos` again with other arguments (through `dotnet custos.dll` or the apphost).</summary>
    public static ProcessStartInfo CommandOf(IEnumerable<string> arguments)
    {
        // The same `custos`, whoever runs this: its apphost when that is the running program, else `dotnet custos.dll`
        // (a test host or `dotnet custos.dll` itself).
        var host = Environment.ProcessPath;
        var runningCustos = host is not null && Path.GetFileNameWithoutExtension(host) == "custos";
        var start = new ProcessStartInfo(runningCustos ? host! : "dotnet");
        if (!runningCustos) start.ArgumentList.Add(typeof(NodeProcess).Assembly.Location);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return start;
    }

    public void ThrowIfExited()
    {
        if (!_process.HasExited) return;
        throw new CustosException(ErrorCode.NotFound, $"node {Name} exited with code {_process.ExitCode}: {Tail(5)}");
    }

    public string Tail(int lines)
    {
        try
        {
            lock (_log) _log.Flush();
            using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join(" | ", all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    /// <summary>SIGTERM: the node stops cleanly.</summary>
    public void Terminate()
    {
        if (!_process.HasExited) _ = Kill(_process.Id, 15);
    }

    /// <summary>SIGTERM to any process of ours (a child `custos` that stops its own nodes on it).</summary>
    public static void Terminate(int processId) => _ = Kill(processId, 15);

    /// <summary>SIGKILL, for crash tests.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill();
    }

    public async Task WaitStoppedAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        lock (_log) _log.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
