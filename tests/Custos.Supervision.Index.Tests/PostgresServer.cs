using Custos.Supervision.Index;
using Custos.Supervision.Index.Tests;
using Npgsql;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace Custos.Supervision.Index.Tests;

/// <summary>
/// A real PostgreSQL server for this test run (<see cref="LocalPostgresServer"/>: a fresh cluster on 127.0.0.1 in a
/// temporary directory, stopped and deleted at the end). Each test works in a schema of its own. Where the server
/// binaries are missing (Debian package postgresql), <see cref="SkipReason"/> says so and the tests skip.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private readonly LocalPostgresServer? _server;

    public PostgresServer()
    {
        SkipReason = LocalPostgresServer.Unavailable();
        if (SkipReason is not null) return;
        _server = LocalPostgresServer.Start();
        Port = _server.Port;
        ConnectionString = _server.ConnectionString;
        Started = true;
    }

    public string? SkipReason { get; }

    public bool Started { get; }

    public int Port { get; }

    public string ConnectionString { get; } = "";

    public void SkipIfUnavailable()
    {
        if (SkipReason is not null) Assert.Skip(SkipReason);
    }

    /// <summary>Options for an index in a schema no other test uses.</summary>
    public SupervisionIndexOptions NewIndex(string purpose) => new(ConnectionString)
    {
        Schema = $"t_{purpose.ToLowerInvariant()}_{Guid.NewGuid():N}"[..Math.Min(63, purpose.Length + 19)],
        PollInterval = TimeSpan.FromMilliseconds(200),
        RetryDelayMax = TimeSpan.FromMilliseconds(500),
    };

    /// <summary>A connection to the test server that reads the given schema (for checking what the index wrote).</summary>
    public async Task<NpgsqlConnection> ConnectAsync(string schema)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        return connection;
    }

    public void Dispose() => _server?.Dispose();
}
