using System.Globalization;
using System.Text.Json;
using Custos.Core;
using Custos.Core.Wire;
using Npgsql;

namespace Custos.Supervision.Index;

/// <summary>What the regulator asks of the index (SUP-1, SUP-2, SUP-6). Every filter is optional; results come in chain order.</summary>
public sealed record TransactionFilter
{
    /// <summary>Transactions the account sent, or payments it made or received (a pseudonym is an account).</summary>
    public AccountId? Account { get; init; }

    public DateTimeOffset? From { get; init; }

    /// <summary>Exclusive.</summary>
    public DateTimeOffset? To { get; init; }

    public ulong? MinAmount { get; init; }

    public ulong? MaxAmount { get; init; }

    public string? Contract { get; init; }

    public string? Organisation { get; init; }

    public int Limit { get; init; } = 100;
}

public sealed record TransactionRow(ulong Height, int Index, string TransactionId, DateTimeOffset Time, string Sender, string? SenderOrganisation,
    string Contract, string Method, string Role, string Outcome, decimal? Amount, string? Counterparty);

public sealed record StatisticsRow(DateOnly Day, string Subject, long Transactions, long Succeeded, long Failed, long Senders, decimal Transferred);

/// <summary>
/// Read-only queries over the supervision index's views (docs/supervision.md): transactions by account, pseudonym,
/// time range and amount; daily statistics per contract and per organisation; and an export of records in height
/// order. Parameters are always bound, never spliced into SQL.
/// </summary>
public sealed class SupervisionQueries(SupervisionIndexOptions options) : IAsyncDisposable
{
    public const int LimitMax = 1_000;
    private readonly NpgsqlDataSource _dataSource = new NpgsqlDataSourceBuilder(options.ConnectionString) { ConnectionStringBuilder = { SearchPath = options.Schema } }.Build();

    public async Task<IReadOnlyList<TransactionRow>> TransactionsAsync(TransactionFilter filter, CancellationToken cancellationToken)
    {
        if (filter.Limit is < 1 or > LimitMax) throw new CustosException(ErrorCode.InvalidField, $"limit must be between 1 and {LimitMax}");
        if (filter.MinAmount > filter.MaxAmount) throw new CustosException(ErrorCode.InvalidField, "minAmount is above maxAmount");
        await using var command = _dataSource.CreateCommand();
        var conditions = new List<string>();
        void Add(string condition, string name, object value)
        {
            conditions.Add(condition);
            command.Parameters.AddWithValue(name, value);
        }

        if (filter.Account is { } account) Add("account = @account", "account", account.ToArray());
        if (filter.From is { } from) Add("time >= @from", "from", from.UtcDateTime);
        if (filter.To is { } to) Add("time < @to", "to", to.UtcDateTime);
        if (filter.MinAmount is { } min) Add("amount >= @min", "min", (decimal)min);
        if (filter.MaxAmount is { } max) Add("amount <= @max", "max", (decimal)max);
        if (filter.Contract is { } contract) Add("contract = @contract", "contract", contract);
        if (filter.Organisation is { } organisation) Add("sender_organisation = @organisation", "organisation", organisation);
        command.Parameters.AddWithValue("limit", filter.Limit);

        // With an account, every role it played (sender, payer, payee); without one, each transaction once.
        var source = filter.Account is null
            ? "SELECT t.height, t.tx_index, t.id AS transaction_id, t.time, t.sender, t.sender_organisation, t.contract, t.method, 'sender' AS role, " +
              "coalesce(c.name, t.code::text) AS outcome, t.transferred AS amount, NULL::bytea AS counterparty, t.sender AS account " +
              "FROM transactions t LEFT JOIN error_codes c ON c.code = t.code"
            : "SELECT a.height, a.tx_index, a.transaction_id, a.time, t.sender, t.sender_organisation, a.contract, a.method, a.role, " +
              "coalesce(c.name, a.code::text) AS outcome, a.amount, a.counterparty, a.account " +
              "FROM account_transactions a JOIN transactions t USING (height, tx_index) LEFT JOIN error_codes c ON c.code = a.code";
        command.CommandText = $"SELECT * FROM ({source}) q {(conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions))} ORDER BY height, tx_index, role LIMIT @limit";
        var rows = new List<TransactionRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new TransactionRow(
                (ulong)reader.GetInt64(0), reader.GetInt32(1), Convert.ToHexStringLower((byte[])reader[2]), new DateTimeOffset(reader.GetDateTime(3), TimeSpan.Zero),
                Convert.ToHexStringLower((byte[])reader[4]), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetString(8),
                reader.IsDBNull(9) ? "pending" : reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetDecimal(10),
                reader.IsDBNull(11) ? null : Convert.ToHexStringLower((byte[])reader[11])));
        }

        return rows;
    }

    /// <summary>Daily statistics per contract or per organisation (SUP-6: transaction behaviour to judge compliance).</summary>
    public async Task<IReadOnlyList<StatisticsRow>> StatisticsAsync(bool byOrganisation, DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(byOrganisation
            ? "SELECT day, coalesce(organisation, ''), transactions, succeeded, failed, senders, transferred FROM daily_organisation_statistics WHERE day >= @from AND day <= @to ORDER BY day, 2"
            : "SELECT day, contract, transactions, succeeded, failed, senders, transferred FROM daily_contract_statistics WHERE day >= @from AND day <= @to ORDER BY day, 2");
        command.Parameters.AddWithValue("from", from ?? DateOnly.MinValue);
        command.Parameters.AddWithValue("to", to ?? DateOnly.MaxValue);
        var rows = new List<StatisticsRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new StatisticsRow(reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetDecimal(6)));
        }

        return rows;
    }

    /// <summary>
    /// Writes the records of blocks [from, to] as JSON lines, one transaction per line, in chain order (extraction,
    /// SUP-1). <paramref name="account"/> renders the sender and <paramref name="text"/> the message (the API masks the
    /// accounts in them unless the regulator reveals them); by default they are written as they are.
    /// </summary>
    public async Task<long> ExportAsync(ulong fromHeight, ulong toHeight, Stream output, CancellationToken cancellationToken, Func<byte[], string>? account = null,
        Func<string, string>? text = null)
    {
        account ??= Convert.ToHexStringLower;
        text ??= static message => message;
        if (toHeight < fromHeight) throw new CustosException(ErrorCode.InvalidField, "toHeight is below fromHeight");
        await using var command = _dataSource.CreateCommand(
            "SELECT height, tx_index, transaction_id, time, sender, sender_organisation, contract, contract_version, method, nonce, code_name, message, gas_used, amount " +
            "FROM transaction_overview WHERE height >= @from AND height <= @to ORDER BY height, tx_index");
        command.Parameters.AddWithValue("from", (long)fromHeight);
        command.Parameters.AddWithValue("to", (long)toHeight);
        long written = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var json = new Utf8JsonWriter(output);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            json.Reset(output);
            json.WriteStartObject();
            json.WriteNumber("height", reader.GetInt64(0));
            json.WriteNumber("index", reader.GetInt32(1));
            json.WriteString("transaction_id", Convert.ToHexStringLower((byte[])reader[2]));
            json.WriteString("time", new DateTimeOffset(reader.GetDateTime(3), TimeSpan.Zero).ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("sender", account((byte[])reader[4]));
            json.WriteString("sender_organisation", reader.IsDBNull(5) ? null : reader.GetString(5));
            json.WriteString("contract", reader.GetString(6));
            json.WriteNumber("contract_version", reader.GetInt64(7));
            json.WriteString("method", reader.GetString(8));
            json.WriteString("nonce", reader.GetDecimal(9).ToString(CultureInfo.InvariantCulture));
            json.WriteString("outcome", reader.IsDBNull(10) ? null : reader.GetString(10));
            json.WriteString("message", text(reader.GetString(11)));
            json.WriteString("gas_used", reader.GetDecimal(12).ToString(CultureInfo.InvariantCulture));
            if (reader.IsDBNull(13)) json.WriteNull("amount");
            else json.WriteString("amount", reader.GetDecimal(13).ToString(CultureInfo.InvariantCulture));
            json.WriteEndObject();
            await json.FlushAsync(cancellationToken).ConfigureAwait(false);
            // Asynchronously: an HTTP response body refuses synchronous writes.
            await output.WriteAsync("\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            written++;
        }

        return written;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
