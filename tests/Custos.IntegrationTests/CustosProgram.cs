using System.Diagnostics;
using System.Runtime.InteropServices;
using Custos.Cli.Network;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Custos.IntegrationTests;

/// <summary>
/// How the tests run `custos`: the CLI's custos.dll, which the project reference copies (with its runtimeconfig and
/// deps files) next to the test assembly, under the dotnet host that runs the tests.
/// <para>
/// <c>NodeProcess.CommandOf</c> cannot be used here: it reruns <c>Environment.ProcessPath</c>, which under xUnit v3 is
/// the test project's own app host (xUnit v3 refuses to build without one), so it would start the test runner with
/// the arguments `node --config ...` instead of a node.
/// </para>
/// </summary>
internal static class CustosProgram
{
    private static readonly Lazy<string> Host = new(FindDotnetHost);

    /// <summary>The CLI assembly, as loaded by the tests (so it is exactly the build under test).</summary>
    public static string Assembly { get; } = typeof(NodeProcess).Assembly.Location;

    /// <summary>`dotnet custos.dll ARGUMENTS`, optionally run inside a network namespace through `ip netns exec`.</summary>
    public static ProcessStartInfo Command(IEnumerable<string> arguments, string? networkNamespace = null)
    {
        var runtimeConfiguration = Path.ChangeExtension(Assembly, ".runtimeconfig.json");
        if (!File.Exists(Assembly) || !File.Exists(runtimeConfiguration))
        {
            throw new InvalidOperationException($"custos.dll and its runtimeconfig must sit next to the tests; looked for {Assembly} and {runtimeConfiguration}");
        }

        var start = networkNamespace is null ? new ProcessStartInfo(Host.Value) : new ProcessStartInfo(SystemCommands.Ip);
        if (networkNamespace is not null)
        {
            start.ArgumentList.Add("netns");
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(networkNamespace);
            start.ArgumentList.Add(Host.Value);
        }

        start.ArgumentList.Add(Assembly);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (arguments.FirstOrDefault() == "node")
        {
            foreach (var (variable, value) in NodeProcess.ServerRuntime) start.Environment[variable] = value;
        }
        return start;
    }

    /// <summary>The dotnet host: the one `dotnet test` names, else the one beside the running runtime, else PATH's.</summary>
    private static string FindDotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } named && File.Exists(named)) return named;
        var beside = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        if (File.Exists(beside)) return beside;
        return "dotnet";
    }
}

/// <summary>POSIX signals to processes the tests started.</summary>
internal static class Signals
{
    /// <summary>SIGTERM: a custos process stops cleanly on it.</summary>
    public static void Terminate(int processId) => _ = Kill(processId, 15);

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

/// <summary>System tools some tests need, found on the usual paths.</summary>
internal static class SystemCommands
{
    public static string Ip { get; } = Find("ip") ?? "ip";

    public static string? Find(string name)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        return directories.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }

    /// <summary>Runs a tool to completion (bounded); returns its exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string tool, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, $"{tool} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:0} s");
        }

        return (process.ExitCode, (await output) + (await error));
    }
}
