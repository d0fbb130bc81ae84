using Custos.Core;
using Custos.Core.Wire;
using Npgsql;
using NpgsqlTypes;

namespace Custos.Supervision.Index;

/// <summary>
/// Writes committed blocks and alerts into the PostgreSQL index.
/// <para>
/// Exactly once per height: the rows of a block and the update of the single <c>index_progress</c> row are one SQL
/// transaction, which begins by locking that row and checking that the block extends it (next height, parent hash
/// equal to the recorded hash). A failure anywhere before the commit (a crash, a lost connection, a cancelled
/// write) leaves nothing of the block; once committed, the progress row says so and the block is never written
/// again. A commit whose outcome was lost is settled by the next attempt, which reads the progress row again.
/// </para>
/// <para>Threading: safe for concurrent calls (each takes its own pooled connection; the progress lock orders them).</para>
/// </summary>
public sealed class SupervisionIndexWriter : IAsyncDisposable
{
    public const int AlertsPerWriteMax = 10_000;
    public const int AlertTextLengthMax = 256;
    public const int AlertDetailLengthMax = 4_096;
    public const int AlertTransactionIdBytesMax = 64;

    // DateTime cannot represent instants after 9999-12-31; no honest block is that late.
    private static readonly ulong TimestampMsMax = (ulong)(DateTime.MaxValue - DateTime.UnixEpoch).TotalMilliseconds;

    private readonly NpgsqlDataSource _dataSource;

    private SupervisionIndexWriter(SupervisionIndexOptions options, NpgsqlDataSource dataSource)
    {
        Options = options;
        _dataSource = dataSource;
    }

    public SupervisionIndexOptions Options { get; }

    /// <summary>Test hook: runs after each stage of a block's writes, inside its SQL transaction.</summary>
    internal Func<IndexWriteStage, NpgsqlConnection, CancellationToken, Task>? AfterStage { get; set; }

    /// <summary>
    /// Connects, creates or upgrades the schema and records the settings the views read. Refuses a schema newer than
    /// this code (<see cref="ErrorCode.UnsupportedVersion"/>) and bad options (<see cref="ErrorCode.InvalidField"/>);
    /// an unreachable database is <see cref="ErrorCode.StorageIo"/>.
    /// </summary>
    public static async Task<SupervisionIndexWriter> OpenAsync(SupervisionIndexOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = options.Build();
        var dataSource = NpgsqlDataSource.Create(builder);
        try
        {
            await Database(async () =>
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                await IndexSchema.EnsureAsync(connection, options, cancellationToken);
            });
            return new SupervisionIndexWriter(options, dataSource);
        }
        catch
        {
            await dataSource.DisposeAsync();
            throw;
        }
    }

    /// <summary>The last indexed height and its hash, or null for an empty index.</summary>
    public Task<IndexProgress?> ReadProgressAsync(CancellationToken cancellationToken = default) => Database(async () =>
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await ReadProgressAsync(connection, null, cancellationToken);
    });

    /// <summary>The hash the index holds for <paramref name="height"/>, or null if that height is not indexed.</summary>
    public Task<Hash32?> ReadBlockHashAsync(ulong height, CancellationToken cancellationToken = default) => Database(async () =>
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT hash FROM blocks WHERE height = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = SqlValues.Height(height), NpgsqlDbType = NpgsqlDbType.Bigint });
        return await command.ExecuteScalarAsync(cancellationToken) is byte[] hash ? new Hash32(hash) : (Hash32?)null;
    });

    /// <summary>
    /// Writes consecutive committed blocks, all in one SQL transaction together with the progress row. Blocks at or
    /// below the recorded progress are skipped if the index holds the same hash for their height, so a re-delivery is
    /// harmless; a block that does not extend the index (a gap, or a parent hash other than the indexed block's) is
    /// refused with <see cref="ErrorCode.WrongChain"/>. Returns how many heights were newly written.
    /// </summary>
    public Task<int> WriteBlocksAsync(IReadOnlyList<IndexedBlock> blocks, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        CheckConsecutive(blocks);
        return blocks.Count == 0 ? Task.FromResult(0) : Database(() => WriteBlocksCoreAsync(blocks, cancellationToken));
    }

    /// <summary>
    /// Writes alerts in their own SQL transaction. An alert already present (same height, rule, subject and
    /// transaction) is left as it is. Returns how many were new.
    /// </summary>
    public Task<int> WriteAlertsAsync(IReadOnlyList<IndexedAlert> alerts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        if (alerts.Count > AlertsPerWriteMax) throw new CustosException(ErrorCode.TooLarge, $"{alerts.Count} alerts in one write; at most {AlertsPerWriteMax}");
        foreach (var alert in alerts) CheckAlert(alert);
        if (alerts.Count == 0) return Task.FromResult(0);
        return Database(async () =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = new NpgsqlCommand("""
                INSERT INTO alerts (height, rule_id, kind, severity, subject, amount, transaction_id, detail)
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::bytea[], $8::text[])
                ON CONFLICT (height, rule_id, subject, (coalesce(transaction_id, '\x'::bytea))) DO NOTHING
                """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = alerts.Select(a => SqlValues.Height(a.Height)).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = alerts.Select(a => SqlValues.Text(a.RuleId)).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = alerts.Select(a => SqlValues.Text(a.Kind)).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = alerts.Select(a => SqlValues.Text(a.Severity)).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = alerts.Select(a => SqlValues.Text(a.Subject)).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = alerts.Select(a => (decimal)a.Amount).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = alerts.Select(a => a.TransactionId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = alerts.Select(a => SqlValues.Text(a.Detail)).ToArray() });
            var inserted = await command.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return inserted;
        });
    }

    /// <summary>Row counts of the index's tables, in one snapshot.</summary>
    public Task<IndexTotals> ReadTotalsAsync(CancellationToken cancellationToken = default) => Database(async () =>
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT (SELECT count(*) FROM blocks), (SELECT count(*) FROM transactions), (SELECT count(*) FROM events),
                   (SELECT count(*) FROM transfers), (SELECT count(*) FROM alerts)
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new IndexTotals(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    });

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private async Task<int> WriteBlocksCoreAsync(IReadOnlyList<IndexedBlock> blocks, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var progress = await ReadProgressAsync(connection, transaction, cancellationToken);
        var skip = await CountAlreadyIndexedAsync(connection, transaction, progress, blocks, cancellationToken);
        if (skip == blocks.Count) return 0;

        var first = blocks[skip];
        if (progress is null && first.Height != 0)
        {
            throw new CustosException(ErrorCode.WrongChain, $"the index is empty, so it starts at height 0, not {first.Height}");
        }

        if (progress is not null && (first.Height != progress.Height + 1 || first.ParentHash != progress.BlockHash))
        {
            throw new CustosException(ErrorCode.WrongChain,
                $"block {first.Height} (parent {first.ParentHash.ToShortString()}) does not extend the index at height {progress.Height} ({progress.BlockHash.ToShortString()}): another chain or a fork");
        }

        var rows = BlockRows.From(blocks, skip);
        await BlockRows.CopyBlocksAsync(connection, rows, cancellationToken);
        await StageAsync(IndexWriteStage.BlocksCopied, connection, cancellationToken);
        await BlockRows.CopyTransactionsAsync(connection, rows, cancellationToken);
        await StageAsync(IndexWriteStage.TransactionsCopied, connection, cancellationToken);
        await BlockRows.CopyEventsAsync(connection, rows, cancellationToken);
        await StageAsync(IndexWriteStage.EventsCopied, connection, cancellationToken);
        await BlockRows.CopyTransfersAsync(connection, rows, cancellationToken);
        await StageAsync(IndexWriteStage.TransfersCopied, connection, cancellationToken);

        var last = blocks[^1];
        await using (var save = new NpgsqlCommand("""
            INSERT INTO index_progress (height, block_hash) VALUES ($1, $2)
            ON CONFLICT (singleton) DO UPDATE SET height = excluded.height, block_hash = excluded.block_hash, updated_at = now()
            """, connection, transaction))
        {
            save.Parameters.Add(new NpgsqlParameter { Value = SqlValues.Height(last.Height), NpgsqlDbType = NpgsqlDbType.Bigint });
            save.Parameters.Add(new NpgsqlParameter { Value = last.Hash.ToArray(), NpgsqlDbType = NpgsqlDbType.Bytea });
            await save.ExecuteNonQueryAsync(cancellationToken);
        }

        await StageAsync(IndexWriteStage.ProgressSaved, connection, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return blocks.Count - skip;
    }

    private async Task StageAsync(IndexWriteStage stage, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (AfterStage is { } hook) await hook(stage, connection, cancellationToken);
    }

    private static async Task<IndexProgress?> ReadProgressAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        // FOR UPDATE: a second writer on the same index waits here until the first commits, then sees its progress.
        var sql = transaction is null ? "SELECT height, block_hash FROM index_progress" : "SELECT height, block_hash FROM index_progress FOR UPDATE";
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        var height = reader.GetInt64(0);
        var hash = (byte[])reader.GetValue(1);
        if (height < 0 || hash.Length != Hash32.SizeBytes)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, "the supervision index's progress row is malformed");
        }

        return new IndexProgress((ulong)height, new Hash32(hash));
    }

    /// <summary>How many leading blocks are indexed already; each must have the hash the index holds for its height.</summary>
    private static async Task<int> CountAlreadyIndexedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IndexProgress? progress,
        IReadOnlyList<IndexedBlock> blocks, CancellationToken cancellationToken)
    {
        if (progress is null || blocks[0].Height > progress.Height) return 0;
        var indexed = blocks.TakeWhile(b => b.Height <= progress.Height).ToList();
        await using var command = new NpgsqlCommand("SELECT height, hash FROM blocks WHERE height BETWEEN $1 AND $2", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = SqlValues.Height(indexed[0].Height), NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = SqlValues.Height(indexed[^1].Height), NpgsqlDbType = NpgsqlDbType.Bigint });
        var hashes = new Dictionary<long, Hash32>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken)) hashes[reader.GetInt64(0)] = new Hash32((byte[])reader.GetValue(1));
        }

        foreach (var block in indexed)
        {
            if (!hashes.TryGetValue((long)block.Height, out var hash) || hash != block.Hash)
            {
                throw new CustosException(ErrorCode.WrongChain,
                    $"the index holds another block at height {block.Height} than {block.Hash.ToShortString()}: it was built from another chain");
            }
        }

        return indexed.Count;
    }

    private static void CheckConsecutive(IReadOnlyList<IndexedBlock> blocks)
    {
        for (var i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i] ?? throw new CustosException(ErrorCode.InvalidField, "a block to index is null");
            _ = SqlValues.Height(block.Height);
            if (block.TimestampMs > TimestampMsMax) throw new CustosException(ErrorCode.InvalidField, $"block {block.Height}'s timestamp is beyond the year 9999");
            if (i > 0 && (block.Height != blocks[i - 1].Height + 1 || block.ParentHash != blocks[i - 1].Hash))
            {
                throw new CustosException(ErrorCode.InvalidField, $"block {block.Height} does not follow block {blocks[i - 1].Height} in the batch");
            }

            for (var t = 0; t < block.Transactions.Count; t++)
            {
                if (block.Transactions[t].Index != t) throw new CustosException(ErrorCode.InvalidField, $"transaction {t} of block {block.Height} says it is at {block.Transactions[t].Index}");
            }
        }
    }

    private static void CheckAlert(IndexedAlert alert)
    {
        if (alert is null) throw new CustosException(ErrorCode.InvalidField, "an alert is null");
        _ = SqlValues.Height(alert.Height);
        foreach (var (name, value) in new[] { ("rule id", alert.RuleId), ("kind", alert.Kind), ("severity", alert.Severity), ("subject", alert.Subject) })
        {
            if (string.IsNullOrEmpty(value) || value.Length > AlertTextLengthMax)
            {
                throw new CustosException(ErrorCode.InvalidField, $"an alert's {name} is 1 to {AlertTextLengthMax} characters");
            }
        }

        if (alert.Detail is null || alert.Detail.Length > AlertDetailLengthMax) throw new CustosException(ErrorCode.InvalidField, $"an alert's detail is at most {AlertDetailLengthMax} characters");
        if (alert.TransactionId is { Length: 0 or > AlertTransactionIdBytesMax })
        {
            throw new CustosException(ErrorCode.InvalidField, $"an alert's transaction id is 1 to {AlertTransactionIdBytesMax} bytes (or absent)");
        }
    }

    /// <summary>Runs a database call; its failures (network, server) become <see cref="ErrorCode.StorageIo"/>.</summary>
    private static async Task<T> Database<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
        {
            throw new CustosException(ErrorCode.StorageIo, $"supervision index database: {e.Message}", e);
        }
    }

    private static Task Database(Func<Task> call) => Database(async () =>
    {
        await call();
        return true;
    });
}

/// <summary>The points of a block's write at which the test hook runs.</summary>
internal enum IndexWriteStage
{
    BlocksCopied,
    TransactionsCopied,
    EventsCopied,
    TransfersCopied,
    ProgressSaved,
}
