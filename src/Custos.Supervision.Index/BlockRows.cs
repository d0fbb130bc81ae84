using Npgsql;
using NpgsqlTypes;

namespace Custos.Supervision.Index;

/// <summary>
/// The rows of a batch of blocks, prepared once (token transfers decoded, amounts summed per transaction) and sent
/// with binary COPY: one round trip per table however many transactions the batch holds.
/// </summary>
internal sealed class BlockRows
{
    private BlockRows(List<IndexedBlock> blocks, List<(IndexedBlock Block, IndexedTransaction Transaction, decimal? Transferred)> transactions,
        List<(IndexedBlock Block, IndexedTransaction Transaction, int Index, IndexedEvent Event)> events,
        List<(IndexedBlock Block, IndexedTransaction Transaction, int Index, TokenTransfer Transfer)> transfers)
    {
        Blocks = blocks;
        Transactions = transactions;
        Events = events;
        Transfers = transfers;
    }

    public List<IndexedBlock> Blocks { get; }

    public List<(IndexedBlock Block, IndexedTransaction Transaction, decimal? Transferred)> Transactions { get; }

    public List<(IndexedBlock Block, IndexedTransaction Transaction, int Index, IndexedEvent Event)> Events { get; }

    public List<(IndexedBlock Block, IndexedTransaction Transaction, int Index, TokenTransfer Transfer)> Transfers { get; }

    public static BlockRows From(IReadOnlyList<IndexedBlock> blocks, int skip)
    {
        var kept = blocks.Skip(skip).ToList();
        var transactions = new List<(IndexedBlock, IndexedTransaction, decimal?)>(kept.Sum(b => b.Transactions.Count));
        var events = new List<(IndexedBlock, IndexedTransaction, int, IndexedEvent)>();
        var transfers = new List<(IndexedBlock, IndexedTransaction, int, TokenTransfer)>();
        foreach (var block in kept)
        {
            foreach (var transaction in block.Transactions)
            {
                decimal? transferred = null;
                for (var i = 0; i < transaction.Events.Count; i++)
                {
                    var e = transaction.Events[i];
                    events.Add((block, transaction, i, e));
                    if (TokenTransfer.TryDecode(e) is { } transfer)
                    {
                        transfers.Add((block, transaction, i, transfer));
                        transferred = (transferred ?? 0) + transfer.Amount;
                    }
                }

                transactions.Add((block, transaction, transferred));
            }
        }

        return new BlockRows(kept, transactions, events, transfers);
    }

    public static async Task CopyBlocksAsync(NpgsqlConnection connection, BlockRows rows, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY blocks (height, hash, parent_hash, timestamp_ms, time, proposer, state_root, transaction_count) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var block in rows.Blocks)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(SqlValues.Height(block.Height), NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(block.Hash.ToArray(), NpgsqlDbType.Bytea, cancellationToken);
            await copy.WriteAsync(block.ParentHash.ToArray(), NpgsqlDbType.Bytea, cancellationToken);
            await copy.WriteAsync((long)block.TimestampMs, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(SqlValues.Time(block.TimestampMs), NpgsqlDbType.TimestampTz, cancellationToken);
            await copy.WriteAsync((long)block.Proposer, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(block.StateRoot.ToArray(), NpgsqlDbType.Bytea, cancellationToken);
            await copy.WriteAsync(block.Transactions.Count, NpgsqlDbType.Integer, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
    }

    public static async Task CopyTransactionsAsync(NpgsqlConnection connection, BlockRows rows, CancellationToken cancellationToken)
    {
        if (rows.Transactions.Count == 0) return;
        await using var copy = await connection.BeginBinaryImportAsync("""
            COPY transactions (height, tx_index, id, time, sender, sender_organisation, contract, contract_version, method, nonce,
                               arguments, code, message, gas_used, transferred) FROM STDIN (FORMAT BINARY)
            """, cancellationToken);
        foreach (var (block, transaction, transferred) in rows.Transactions)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(SqlValues.Height(block.Height), NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync((int)transaction.Index, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(transaction.Id.ToArray(), NpgsqlDbType.Bytea, cancellationToken);
            await copy.WriteAsync(SqlValues.Time(block.TimestampMs), NpgsqlDbType.TimestampTz, cancellationToken);
            await copy.WriteAsync(transaction.Sender.ToArray(), NpgsqlDbType.Bytea, cancellationToken);
            if (transaction.SenderOrganisation is { } organisation) await copy.WriteAsync(SqlValues.Text(organisation), NpgsqlDbType.Text, cancellationToken);
            else await copy.WriteNullAsync(cancellationToken);
            await copy.WriteAsync(SqlValues.Text(transaction.Contract), NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync((long)transaction.ContractVersion, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(SqlValues.Text(transaction.Method), NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync((decimal)transaction.Nonce, NpgsqlDbType.Numeric, cancellationToken);
            await copy.WriteAsync(transaction.Arguments.ToArray(), NpgsqlDbType.Bytea, cancellationToken);
            if (transaction.Code is { } code) await copy.WriteAsync((int)code, NpgsqlDbType.Integer, cancellationToken);
            else await copy.WriteNullAsync(cancellationToken);
            await copy.WriteAsync(SqlValues.Text(transaction.Message), NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync((decimal)transaction.GasUsed, NpgsqlDbType.Numeric, cancellationToken);
            if (transferred is { } amount) await copy.WriteAsync(amount, NpgsqlDbType.Numeric, cancellationToken);
            else await copy.WriteNullAsync(cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
    }

    public static async Task CopyEventsAsync(NpgsqlConnection connection, BlockRows rows, CancellationToken cancellationToken)
    {
        if (rows.Events.Count == 0) return;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY events (height, tx_index, event_index, contract, name, data) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var (block, transaction, index, e) in rows.Events)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(SqlValues.Height(block.Height), NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync((int)transaction.Index, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(index, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(SqlValues.Text(e.Contract), NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(SqlValues.Text(e.Name), NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(e.Data.ToArray(), NpgsqlDbType.Bytea, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
    }

    public static async Task CopyTransfersAsync(NpgsqlConnection connection, BlockRows rows, CancellationToken cancellationToken)
    {
        if (rows.Transfers.Count == 0) return;
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY transfers (height, tx_index, event_index, time, kind, from_account, to_account, amount) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var (block, transaction, index, transfer) in rows.Transfers)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(SqlValues.Height(block.Height), NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync((int)transaction.Index, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(index, NpgsqlDbType.Integer, cancellationToken);
            await copy.WriteAsync(SqlValues.Time(block.TimestampMs), NpgsqlDbType.TimestampTz, cancellationToken);
            await copy.WriteAsync(transfer.Kind, NpgsqlDbType.Text, cancellationToken);
            if (transfer.From is { } from) await copy.WriteAsync(from.ToArray(), NpgsqlDbType.Bytea, cancellationToken);
            else await copy.WriteNullAsync(cancellationToken);
            await copy.WriteAsync(transfer.To.ToArray(), NpgsqlDbType.Bytea, cancellationToken);
            await copy.WriteAsync((decimal)transfer.Amount, NpgsqlDbType.Numeric, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
    }
}
