using Custos.Core;
using Custos.Core.Wire;
using Npgsql;
using NpgsqlTypes;

namespace Custos.Supervision.Index;

/// <summary>
/// The index's tables and views, created on first start and versioned: each migration runs once, recorded in
/// <c>schema_version</c>, under an advisory lock so that two nodes starting on one database do not race. A database
/// whose schema is newer than this code is refused rather than written with assumptions that no longer hold.
/// </summary>
internal static class IndexSchema
{
    public const int CurrentVersion = 1;

    // Numeric(20,0) holds every uint64 (amounts, nonces, gas) exactly; bigint would overflow above 2^63.
    private const string Version1 = """
        CREATE TABLE index_progress (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            height bigint NOT NULL CHECK (height >= 0),
            block_hash bytea NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE index_settings (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            large_transfer_threshold numeric(20,0) NOT NULL,
            time_zone text NOT NULL
        );

        CREATE TABLE error_codes (
            code integer PRIMARY KEY,
            name text NOT NULL
        );

        CREATE TABLE blocks (
            height bigint PRIMARY KEY,
            hash bytea NOT NULL UNIQUE,
            parent_hash bytea NOT NULL,
            timestamp_ms bigint NOT NULL,
            time timestamptz NOT NULL,
            proposer bigint NOT NULL,
            state_root bytea NOT NULL,
            transaction_count integer NOT NULL
        );

        CREATE TABLE transactions (
            height bigint NOT NULL,
            tx_index integer NOT NULL,
            id bytea NOT NULL,
            time timestamptz NOT NULL,
            sender bytea NOT NULL,
            sender_organisation text,
            contract text NOT NULL,
            contract_version bigint NOT NULL,
            method text NOT NULL,
            nonce numeric(20,0) NOT NULL,
            arguments bytea NOT NULL,
            code integer,
            message text NOT NULL,
            gas_used numeric(20,0) NOT NULL,
            transferred numeric(20,0),
            PRIMARY KEY (height, tx_index)
        );
        CREATE INDEX transactions_id ON transactions (id);
        CREATE INDEX transactions_sender_time ON transactions (sender, time);
        CREATE INDEX transactions_time ON transactions (time);
        CREATE INDEX transactions_contract_time ON transactions (contract, time);
        CREATE INDEX transactions_organisation_time ON transactions (sender_organisation, time);
        CREATE INDEX transactions_transferred ON transactions (transferred) WHERE transferred IS NOT NULL;

        CREATE TABLE events (
            height bigint NOT NULL,
            tx_index integer NOT NULL,
            event_index integer NOT NULL,
            contract text NOT NULL,
            name text NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (height, tx_index, event_index)
        );
        CREATE INDEX events_contract_name ON events (contract, name, height);

        CREATE TABLE transfers (
            height bigint NOT NULL,
            tx_index integer NOT NULL,
            event_index integer NOT NULL,
            time timestamptz NOT NULL,
            kind text NOT NULL CHECK (kind IN ('transfer', 'mint', 'forced_transfer')),
            from_account bytea,
            to_account bytea NOT NULL,
            amount numeric(20,0) NOT NULL,
            PRIMARY KEY (height, tx_index, event_index)
        );
        CREATE INDEX transfers_from_time ON transfers (from_account, time);
        CREATE INDEX transfers_to_time ON transfers (to_account, time);
        CREATE INDEX transfers_amount ON transfers (amount);
        CREATE INDEX transfers_time ON transfers (time);

        CREATE TABLE alerts (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            height bigint NOT NULL,
            rule_id text NOT NULL,
            kind text NOT NULL,
            severity text NOT NULL,
            subject text NOT NULL,
            amount numeric(20,0) NOT NULL,
            transaction_id bytea,
            detail text NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now()
        );
        -- An alert without a transaction is identified by the empty id, so that it too is written once.
        CREATE UNIQUE INDEX alerts_identity ON alerts (height, rule_id, subject, (coalesce(transaction_id, '\x'::bytea)));
        CREATE INDEX alerts_subject ON alerts (subject, height);

        CREATE VIEW transaction_overview AS
        SELECT t.height, t.tx_index, t.id AS transaction_id, t.time, t.sender, t.sender_organisation,
               t.contract, t.contract_version, t.method, t.nonce, t.code, c.name AS code_name,
               (t.code = 0) AS succeeded, t.message, t.gas_used, t.transferred AS amount
        FROM transactions t
        LEFT JOIN error_codes c ON c.code = t.code;

        CREATE VIEW account_transactions AS
        SELECT t.sender AS account, 'sender'::text AS role, t.height, t.tx_index, t.id AS transaction_id, t.time,
               t.contract, t.method, t.code, t.transferred AS amount, NULL::bytea AS counterparty
        FROM transactions t
        UNION ALL
        SELECT f.to_account, 'payee', f.height, f.tx_index, t.id, f.time, t.contract, t.method, t.code, f.amount, f.from_account
        FROM transfers f JOIN transactions t USING (height, tx_index)
        UNION ALL
        SELECT f.from_account, 'payer', f.height, f.tx_index, t.id, f.time, t.contract, t.method, t.code, f.amount, f.to_account
        FROM transfers f JOIN transactions t USING (height, tx_index)
        WHERE f.from_account IS NOT NULL AND f.from_account <> t.sender;

        CREATE VIEW large_transfers AS
        SELECT f.height, f.tx_index, f.event_index, f.time, f.kind, f.from_account, f.to_account, f.amount,
               t.id AS transaction_id, t.sender, t.sender_organisation
        FROM transfers f JOIN transactions t USING (height, tx_index)
        WHERE f.amount >= (SELECT large_transfer_threshold FROM index_settings);

        CREATE VIEW daily_contract_statistics AS
        SELECT (t.time AT TIME ZONE s.time_zone)::date AS day, t.contract,
               count(*) AS transactions,
               count(*) FILTER (WHERE t.code = 0) AS succeeded,
               count(*) FILTER (WHERE t.code <> 0) AS failed,
               count(DISTINCT t.sender) AS senders,
               sum(t.gas_used) AS gas_used,
               coalesce(sum(t.transferred), 0) AS transferred
        FROM transactions t CROSS JOIN index_settings s
        GROUP BY 1, 2;

        CREATE VIEW daily_organisation_statistics AS
        SELECT (t.time AT TIME ZONE s.time_zone)::date AS day, t.sender_organisation AS organisation,
               count(*) AS transactions,
               count(*) FILTER (WHERE t.code = 0) AS succeeded,
               count(*) FILTER (WHERE t.code <> 0) AS failed,
               count(DISTINCT t.sender) AS senders,
               count(DISTINCT t.contract) AS contracts,
               sum(t.gas_used) AS gas_used,
               coalesce(sum(t.transferred), 0) AS transferred
        FROM transactions t CROSS JOIN index_settings s
        GROUP BY 1, 2;

        CREATE VIEW interventions AS
        SELECT t.height, t.tx_index, t.id AS transaction_id, t.time, t.sender AS authority,
               t.sender_organisation AS authority_organisation, t.contract, t.method, t.arguments,
               t.code, (t.code = 0) AS succeeded, t.message
        FROM transactions t
        WHERE t.contract = 'system.supervision'
           OR (t.contract = 'system.accounts' AND t.method IN ('freeze', 'unfreeze', 'cancel'));
        """;

    private static readonly (int Version, string Sql)[] Migrations = [(1, Version1)];

    /// <summary>
    /// Brings the schema to <see cref="CurrentVersion"/> and records the settings the views read. Returns the version
    /// found before (0 for a new database).
    /// </summary>
    public static async Task<int> EnsureAsync(NpgsqlConnection connection, SupervisionIndexOptions options, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext($1))", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = "custos-supervision-index:" + options.Schema });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        // The schema name was checked to be a plain lower-case identifier, so it is safe to splice.
        await ExecuteAsync(connection, transaction, $"""
            CREATE SCHEMA IF NOT EXISTS {options.Schema};
            CREATE TABLE IF NOT EXISTS schema_version (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """, cancellationToken);

        int found;
        await using (var versionCommand = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_version", connection, transaction))
        {
            found = Convert.ToInt32(await versionCommand.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        if (found > CurrentVersion)
        {
            throw new CustosException(ErrorCode.UnsupportedVersion,
                $"the supervision index in schema {options.Schema} is at version {found}; this node knows versions up to {CurrentVersion} (upgrade the node)");
        }

        foreach (var (version, sql) in Migrations)
        {
            if (version <= found) continue;
            await ExecuteAsync(connection, transaction, sql, cancellationToken);
            await using var record = new NpgsqlCommand("INSERT INTO schema_version (version) VALUES ($1)", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter { Value = version });
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await SaveSettingsAsync(connection, transaction, options, cancellationToken);
        await SaveErrorCodesAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return found;
    }

    private static async Task SaveSettingsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SupervisionIndexOptions options, CancellationToken cancellationToken)
    {
        // PostgreSQL itself knows which time zones exist; a bad name aborts the start (and this transaction).
        try
        {
            await using var check = new NpgsqlCommand("SELECT now() AT TIME ZONE $1", connection, transaction);
            check.Parameters.Add(new NpgsqlParameter { Value = options.StatisticsTimeZone, NpgsqlDbType = NpgsqlDbType.Text });
            await check.ExecuteScalarAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidParameterValue)
        {
            throw new CustosException(ErrorCode.InvalidField, $"supervision index options: '{options.StatisticsTimeZone}' is not a time zone PostgreSQL knows");
        }

        await using var save = new NpgsqlCommand("""
            INSERT INTO index_settings (large_transfer_threshold, time_zone) VALUES ($1, $2)
            ON CONFLICT (singleton) DO UPDATE SET large_transfer_threshold = excluded.large_transfer_threshold, time_zone = excluded.time_zone
            """, connection, transaction);
        save.Parameters.Add(new NpgsqlParameter { Value = (decimal)options.LargeTransferThreshold, NpgsqlDbType = NpgsqlDbType.Numeric });
        save.Parameters.Add(new NpgsqlParameter { Value = options.StatisticsTimeZone, NpgsqlDbType = NpgsqlDbType.Text });
        await save.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task SaveErrorCodesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        // Codes are added over time (never renumbered), so the table is refreshed on every start.
        var codes = Enum.GetValues<ErrorCode>();
        await using var save = new NpgsqlCommand("""
            INSERT INTO error_codes (code, name) SELECT * FROM unnest($1::integer[], $2::text[])
            ON CONFLICT (code) DO UPDATE SET name = excluded.name
            """, connection, transaction);
        save.Parameters.Add(new NpgsqlParameter { Value = codes.Select(c => (int)c).ToArray() });
        save.Parameters.Add(new NpgsqlParameter { Value = codes.Select(ErrorCodes.Name).ToArray() });
        await save.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
