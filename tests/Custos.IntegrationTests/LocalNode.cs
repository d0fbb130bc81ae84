using System.Diagnostics;

namespace Custos.IntegrationTests;

/// <summary>
/// One `custos node --config FILE` process, its output appended to a log file (JSON lines), optionally inside a
/// network namespace. Stopping sends SIGTERM and kills only a node that has not stopped within ten seconds; crash
/// tests use <see cref="KillAsync"/> (SIGKILL).
/// </summary>
internal sealed class LocalNode
{
    // Every node process the tests started, so that none outlives the test run even if a test is abandoned
    // (a test timeout) before its network is disposed.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, Process> Started = new();

    static LocalNode() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var process in Started.Values)
        {
            try
            {
                if (!process.HasExited) process.Kill();
            }
            catch (InvalidOperationException)
            {
            }
        }
    };

    private readonly Process _process;
    private readonly string _logPath;
    private readonly StreamWriter _log;

    private LocalNode(string name, Process process, string logPath, StreamWriter log)
    {
        Name = name;
        _process = process;
        _logPath = logPath;
        _log = log;
    }

    public string Name { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public static LocalNode Start(string name, string configPath, string logPath, string? networkNamespace = null)
    {
        var start = CustosProgram.Command(["node", "--config", configPath], networkNamespace);
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
        Started[process.Id] = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new LocalNode(name, process, logPath, log);
    }

    public string LogPath => _logPath;

    /// <summary>The last lines of a node's log (every process of that node appends to it), for failure messages.</summary>
    public static string Tail(string logPath, int lines) =>
        File.Exists(logPath) ? string.Join('\n', LogLines(logPath).TakeLast(lines).Select(l => "    " + l)) : "    (no log)";

    /// <summary>Every line of a node's log so far.</summary>
    public static IReadOnlyList<string> LogLines(string logPath)
    {
        try
        {
            using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>SIGKILL: the crash the tests inject. Returns once the process is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited) _process.Kill();
        await _process.WaitForExitAsync();
        Close();
    }

    /// <summary>SIGTERM (a clean shutdown), then SIGKILL if the node is still running after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited) Signals.Terminate(_process.Id);
        using var cancel = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        Close();
    }

    private void Close()
    {
        // The process has exited and its output has been read to the end (WaitForExitAsync waits for both).
        lock (_log) _log.Dispose();
    }
}
