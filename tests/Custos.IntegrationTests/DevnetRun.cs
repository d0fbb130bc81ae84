using System.Diagnostics;
using Xunit.Sdk;

namespace Custos.IntegrationTests;

/// <summary>Runs `custos devnet ...` as a user does, to its end and bounded; on timeout it is stopped with SIGTERM, then killed with its nodes.</summary>
internal static class DevnetRun
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string[] arguments, string root, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = CustosProgram.Command(arguments);
        start.WorkingDirectory = Path.GetDirectoryName(root);
        using var process = new Process { StartInfo = start };
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (output) output.AppendLine(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (output) output.AppendLine(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            // The devnet stops its nodes on SIGTERM; if even that hangs, the whole process tree goes.
            Signals.Terminate(process.Id);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }

            lock (output) throw new XunitException($"`custos {string.Join(' ', arguments.Take(3))}` did not finish within {timeout.TotalSeconds:0} s:\n{output}{LogTails(root)}");
        }

        lock (output) return (process.ExitCode, output.ToString());
    }

    public static string LogTails(string root)
    {
        var logs = Path.Combine(root, "logs");
        if (!Directory.Exists(logs)) return "\n(no node logs)";
        return string.Concat(Directory.GetFiles(logs, "*.log").Order().Select(f => $"\n--- {Path.GetFileName(f)}:\n{LocalNode.Tail(f, 20)}"));
    }
}
