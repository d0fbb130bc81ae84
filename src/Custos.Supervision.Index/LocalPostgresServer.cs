using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Npgsql;

namespace Custos.Supervision.Index;

/// <summary>
/// A throwaway PostgreSQL server for a local network or a test run: a fresh cluster (initdb, trust authentication)
/// in a directory of its own, listening on 127.0.0.1 at a free port with its socket inside that directory; stopped
/// (and the directory deleted) on dispose. PostgreSQL refuses to run as root, so under root the cluster belongs to
/// the <c>postgres</c> user and every server command runs through runuser. Not for production: a production
/// supervisor node is given the connection string of a managed server.
/// </summary>
public sealed class LocalPostgresServer : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private readonly string _directory;
    private readonly string _binaries;
    private readonly bool _asPostgresUser;
    private bool _started;

    private LocalPostgresServer(string binaries, string directory, bool asPostgresUser)
    {
        _binaries = binaries;
        _directory = directory;
        _asPostgresUser = asPostgresUser;
    }

    public int Port { get; private set; }

    public string ConnectionString { get; private set; } = "";

    /// <summary>Why a local server cannot be started here, or null when it can.</summary>
    public static string? Unavailable()
    {
        if (FindBinaries() is null) return "PostgreSQL server binaries are not installed (apt-get install postgresql), or set CUSTOS_POSTGRES_BIN";
        if (Environment.UserName == "root" && !File.Exists("/usr/sbin/runuser") && !File.Exists("/sbin/runuser"))
        {
            return "running as root, and runuser (util-linux) is missing to start PostgreSQL as the postgres user";
        }

        return null;
    }

    /// <summary>Creates and starts a cluster; throws <see cref="CustosException"/> (StorageIo) with the server's words if it cannot.</summary>
    public static LocalPostgresServer Start(string? parentDirectory = null)
    {
        if (Unavailable() is { } reason) throw new CustosException(ErrorCode.StorageIo, reason);
        var asPostgres = Environment.UserName == "root";
        // The postgres user must reach the directory: a directory under root's home would not do, /tmp always does.
        var parent = asPostgres ? "/tmp" : parentDirectory ?? Path.GetTempPath();
        var directory = Path.Combine(parent, "custos-postgres-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var server = new LocalPostgresServer(FindBinaries()!, directory, asPostgres);
        try
        {
            server.Initialise();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private void Initialise()
    {
        if (_asPostgresUser) Check(Run("chown", asPostgres: false, "postgres:postgres", _directory), "chown of the cluster directory to postgres");
        var data = Path.Combine(_directory, "data");
        Check(Run(Path.Combine(_binaries, "initdb"), _asPostgresUser, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"), "initdb");
        Port = FreePort();
        var settings = $"-c listen_addresses=127.0.0.1 -c port={Port} -c unix_socket_directories={_directory} -c fsync=off -c max_connections=200";
        Check(Run(Path.Combine(_binaries, "pg_ctl"), _asPostgresUser, "-D", data, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60", "-o", settings, "start"), "pg_ctl start");
        _started = true;
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "postgres",
            Database = "postgres",
            Timeout = 15,
            CommandTimeout = 60,
        }.ConnectionString;
    }

    public void Dispose()
    {
        if (_started) Run(Path.Combine(_binaries, "pg_ctl"), _asPostgresUser, "-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "-t", "30", "stop");
        _started = false;
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is harmless.
        }
    }

    private static string? FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("CUSTOS_POSTGRES_BIN") is { Length: > 0 } configured)
        {
            return File.Exists(Path.Combine(configured, "initdb")) ? configured : null;
        }

        // Debian keeps the server binaries out of PATH, one directory per major version; the newest wins.
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var newest = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Directory: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1))
                .Where(c => File.Exists(Path.Combine(c.Directory, "initdb")) && File.Exists(Path.Combine(c.Directory, "pg_ctl")))
                .OrderByDescending(c => c.Version)
                .FirstOrDefault();
            if (newest.Directory is not null) return newest.Directory;
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl"))) return directory;
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Check((int ExitCode, string Output) result, string what)
    {
        if (result.ExitCode != 0) throw new CustosException(ErrorCode.StorageIo, $"{what} failed with exit code {result.ExitCode}: {result.Output.Trim()}");
    }

    /// <summary>Runs a command (as the postgres user when asked), bounded by <see cref="CommandTimeout"/>.</summary>
    private (int ExitCode, string Output) Run(string program, bool asPostgres, params string[] arguments)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        if (asPostgres)
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("postgres");
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(program);
        }

        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new CustosException(ErrorCode.StorageIo, $"{program} did not finish within {CommandTimeout.TotalSeconds} s");
        }

        lock (output) return (process.ExitCode, output.ToString());
    }
}
