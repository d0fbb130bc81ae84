using System.Text.RegularExpressions;
using Custos.Core;
using Custos.Core.Wire;
using Npgsql;

namespace Custos.Supervision.Index;

/// <summary>
/// Where and how the supervisor node keeps its SQL index. <see cref="ConnectionString"/> is an Npgsql connection
/// string (it may hold a password: it is never logged or printed; <see cref="ToString"/> describes the target
/// without credentials).
/// </summary>
public sealed partial record SupervisionIndexOptions(string ConnectionString)
{
    public const int BatchBlocksLimit = 10_000;
    public const int BatchTransactionsLimit = 100_000;

    /// <summary>The PostgreSQL schema holding the index's tables and views; created if absent.</summary>
    public string Schema { get; init; } = "custos";

    /// <summary>A token movement of at least this amount (smallest unit, fen) is listed by the large_transfers view.</summary>
    public ulong LargeTransferThreshold { get; init; } = 5_000_000;

    /// <summary>The IANA time zone the daily statistics views cut days in (for example Asia/Shanghai).</summary>
    public string StatisticsTimeZone { get; init; } = "UTC";

    /// <summary>How long the indexer waits for a commit notification before it looks at the head itself.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause between attempts while the database is unreachable (the pause doubles up to it).</summary>
    public TimeSpan RetryDelayMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>While catching up, consecutive blocks are written in one SQL transaction up to these bounds.</summary>
    public int BatchBlocksMax { get; init; } = 256;

    public int BatchTransactionsMax { get; init; } = 8_192;

    /// <summary>The indexer logs its progress at most this often.</summary>
    public TimeSpan ProgressLogInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The target without credentials: host, port, database, user and schema.</summary>
    public override string ToString()
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
            return $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database} schema {Schema}";
        }
        catch (ArgumentException)
        {
            return $"(invalid connection string) schema {Schema}";
        }
    }

    /// <summary>Checks every option; a bad one is <see cref="ErrorCode.InvalidField"/> naming it (never its value if secret).</summary>
    public void Validate() => _ = Build();

    internal NpgsqlConnectionStringBuilder Build()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString)) throw Invalid("the connection string is empty");
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            // The parser's message may quote the string, password included.
            throw Invalid("the connection string does not parse");
        }

        if (!SchemaName().IsMatch(Schema)) throw Invalid($"schema '{Schema}' is not a lower-case SQL identifier of 1 to 63 characters");
        if (StatisticsTimeZone.Length is 0 or > 64) throw Invalid("the statistics time zone is 1 to 64 characters");
        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromMinutes(10)) throw Invalid("the poll interval is between 0 and 10 minutes");
        if (RetryDelayMax <= TimeSpan.Zero || RetryDelayMax > TimeSpan.FromHours(1)) throw Invalid("the longest retry delay is between 0 and 1 hour");
        if (BatchBlocksMax is < 1 or > BatchBlocksLimit) throw Invalid($"a batch is 1 to {BatchBlocksLimit} blocks");
        if (BatchTransactionsMax is < 1 or > BatchTransactionsLimit) throw Invalid($"a batch is 1 to {BatchTransactionsLimit} transactions");
        if (ProgressLogInterval <= TimeSpan.Zero) throw Invalid("the progress log interval is positive");

        // Unqualified names in the index's SQL resolve to its own schema only.
        builder.SearchPath = Schema;
        if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = "custos-supervision-index";
        return builder;
    }

    private static CustosException Invalid(string message) => new(ErrorCode.InvalidField, $"supervision index options: {message}");

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
