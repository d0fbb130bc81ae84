using Custos.Core;
using Custos.Core.Wire;
using Npgsql;

namespace Custos.Supervision.Index.Tests;

/// <summary>Restarts, crashes in the middle of a block, lost connections and foreign chains.</summary>
public sealed class ExactlyOnceTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static TestChain Chain(int blocks, string name = "main")
    {
        var chain = new TestChain(name);
        chain.Append();
        chain.AppendTransfers(blocks - 1, transfersPerBlock: 3);
        return chain;
    }

    private static IndexTotals Totals(int blocks) => new(blocks, 3L * (blocks - 1), 3L * (blocks - 1), 3L * (blocks - 1), 0);

    [Fact]
    public async Task A_restart_resumes_after_the_last_indexed_height_without_duplicates()
    {
        server.SkipIfUnavailable();
        var chain = Chain(10);
        var options = server.NewIndex("restart");
        await using (var writer = await SupervisionIndexWriter.OpenAsync(options, Cancel))
        {
            await new SupervisionIndexer(chain, writer).CatchUpAsync(Cancel);
        }

        chain.AppendTransfers(5, transfersPerBlock: 3);
        chain.Reads = 0;
        await using var reopened = await SupervisionIndexWriter.OpenAsync(options, Cancel);
        var progress = await new SupervisionIndexer(chain, reopened).CatchUpAsync(Cancel);

        Assert.Equal(14UL, progress!.Height);
        Assert.Equal(Totals(15), await reopened.ReadTotalsAsync(Cancel));
        // Block 9 once, to check the index against the chain, then 10 to 14: nothing indexed is read again.
        Assert.Equal(6, chain.Reads);
    }

    [Theory]
    [InlineData(nameof(IndexWriteStage.BlocksCopied))]
    [InlineData(nameof(IndexWriteStage.TransactionsCopied))]
    [InlineData(nameof(IndexWriteStage.EventsCopied))]
    [InlineData(nameof(IndexWriteStage.TransfersCopied))]
    [InlineData(nameof(IndexWriteStage.ProgressSaved))]
    public async Task A_crash_in_the_middle_of_a_block_leaves_no_partial_height_and_the_rerun_completes(string stageName)
    {
        server.SkipIfUnavailable();
        var stage = Enum.Parse<IndexWriteStage>(stageName);
        var chain = Chain(12);
        var options = server.NewIndex("crash") with { BatchBlocksMax = 1 };
        await using (var writer = await SupervisionIndexWriter.OpenAsync(options, Cancel))
        {
            var height = 0;
            writer.AfterStage = (reached, _, _) =>
            {
                if (reached == IndexWriteStage.BlocksCopied) height++;
                // The seventh block written is height 6.
                if (reached == stage && height == 7) throw new InvalidOperationException("injected crash");
                return Task.CompletedTask;
            };
            var crash = await Assert.ThrowsAsync<InvalidOperationException>(() => new SupervisionIndexer(chain, writer).CatchUpAsync(Cancel));
            Assert.Equal("injected crash", crash.Message);

            Assert.Equal(new IndexProgress(5, chain.Blocks[5].Hash), await writer.ReadProgressAsync(Cancel));
            Assert.Equal(Totals(6), await writer.ReadTotalsAsync(Cancel));
            await using var sql = await server.ConnectAsync(options.Schema);
            foreach (var table in new[] { "blocks", "transactions", "events", "transfers" })
            {
                Assert.Equal(0, await Sql.CountAsync(sql, $"SELECT count(*) FROM {table} WHERE height >= 6"));
            }
        }

        await using var restarted = await SupervisionIndexWriter.OpenAsync(options, Cancel);
        await new SupervisionIndexer(chain, restarted).CatchUpAsync(Cancel);
        Assert.Equal(Totals(12), await restarted.ReadTotalsAsync(Cancel));
    }

    [Fact]
    public async Task A_crash_in_a_batch_of_blocks_leaves_none_of_the_batch()
    {
        server.SkipIfUnavailable();
        var chain = Chain(20);
        var options = server.NewIndex("batchcrash") with { BatchBlocksMax = 8 };
        await using var writer = await SupervisionIndexWriter.OpenAsync(options, Cancel);
        var batches = 0;
        writer.AfterStage = (reached, _, _) =>
            reached == IndexWriteStage.ProgressSaved && ++batches == 2 ? throw new InvalidOperationException("injected crash") : Task.CompletedTask;

        await Assert.ThrowsAsync<InvalidOperationException>(() => new SupervisionIndexer(chain, writer).CatchUpAsync(Cancel));

        Assert.Equal(7UL, (await writer.ReadProgressAsync(Cancel))!.Height);
        Assert.Equal(Totals(8), await writer.ReadTotalsAsync(Cancel));
        writer.AfterStage = null;
        await new SupervisionIndexer(chain, writer).CatchUpAsync(Cancel);
        Assert.Equal(Totals(20), await writer.ReadTotalsAsync(Cancel));
    }

    [Fact]
    public async Task A_connection_killed_in_the_middle_of_a_block_is_retried_and_each_height_is_written_once()
    {
        server.SkipIfUnavailable();
        var chain = Chain(10);
        var log = new RecordingLog();
        var options = server.NewIndex("killed") with { BatchBlocksMax = 1 };
        await using var writer = await SupervisionIndexWriter.OpenAsync(options, Cancel);
        var height = 0;
        var killed = 0;
        writer.AfterStage = async (reached, connection, cancellationToken) =>
        {
            if (reached == IndexWriteStage.BlocksCopied) height++;
            if (reached != IndexWriteStage.EventsCopied || height != 5 || Interlocked.Exchange(ref killed, 1) == 1) return;
            // The server ends the writer's session from outside, as a database restart or a network cut would.
            await using var admin = await server.ConnectAsync("public");
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend($1)", admin);
            terminate.Parameters.Add(new NpgsqlParameter { Value = connection.ProcessID });
            Assert.True((bool)(await terminate.ExecuteScalarAsync(cancellationToken))!);
        };
        var indexer = new SupervisionIndexer(chain, writer, log);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var running = indexer.RunAsync(stop.Token);

        await Eventually.HoldsAsync(() => indexer.Progress?.Height == 9 || running.IsCompleted, "the chain is indexed");
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30), Cancel);

        Assert.Equal(1, killed);
        Assert.Contains(log.Lines, l => l.StartsWith("warn supervision-index-retry", StringComparison.Ordinal));
        Assert.Equal(Totals(10), await writer.ReadTotalsAsync(Cancel));
    }

    [Fact]
    public async Task Resuming_on_another_chain_is_refused()
    {
        server.SkipIfUnavailable();
        var options = server.NewIndex("otherchain");
        await using var writer = await SupervisionIndexWriter.OpenAsync(options, Cancel);
        await new SupervisionIndexer(Chain(5), writer).CatchUpAsync(Cancel);
        var log = new RecordingLog();

        var other = new SupervisionIndexer(Chain(8, name: "other"), writer, log);
        var refused = await Assert.ThrowsAsync<CustosException>(() => other.CatchUpAsync(Cancel));
        Assert.Equal(ErrorCode.WrongChain, refused.Code);
        // The loop does not retry a refusal: it ends with the same typed error.
        var halted = await Assert.ThrowsAsync<CustosException>(() => other.RunAsync(Cancel).WaitAsync(TimeSpan.FromSeconds(30), Cancel));
        Assert.Equal(ErrorCode.WrongChain, halted.Code);
        Assert.Contains(log.Lines, l => l.StartsWith("error supervision-index-halted", StringComparison.Ordinal));
        Assert.Equal(Totals(5), await writer.ReadTotalsAsync(Cancel));
    }

    [Fact]
    public async Task An_index_ahead_of_the_chain_is_refused()
    {
        server.SkipIfUnavailable();
        var chain = Chain(6);
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("ahead"), Cancel);
        await new SupervisionIndexer(chain, writer).CatchUpAsync(Cancel);
        var shorter = new TestChain();
        foreach (var block in chain.Blocks.Take(3)) shorter.Append(block.Transactions);

        var refused = await Assert.ThrowsAsync<CustosException>(() => new SupervisionIndexer(shorter, writer).CatchUpAsync(Cancel));

        Assert.Equal(ErrorCode.WrongChain, refused.Code);
    }

    [Fact]
    public async Task A_block_that_does_not_extend_the_index_is_refused()
    {
        server.SkipIfUnavailable();
        var chain = Chain(8);
        var fork = Chain(8, name: "fork");
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("extend"), Cancel);
        await writer.WriteBlocksAsync(chain.Blocks.Take(5).ToList(), Cancel);

        var forked = await Assert.ThrowsAsync<CustosException>(() => writer.WriteBlocksAsync([fork.Blocks[5]], Cancel));
        var gap = await Assert.ThrowsAsync<CustosException>(() => writer.WriteBlocksAsync([chain.Blocks[6]], Cancel));
        var rewritten = await Assert.ThrowsAsync<CustosException>(() => writer.WriteBlocksAsync([fork.Blocks[3]], Cancel));
        var notFromZero = await Assert.ThrowsAsync<CustosException>(async () =>
        {
            await using var empty = await SupervisionIndexWriter.OpenAsync(server.NewIndex("fromzero"), Cancel);
            await empty.WriteBlocksAsync([chain.Blocks[1]], Cancel);
        });

        Assert.All(new[] { forked, gap, rewritten, notFromZero }, e => Assert.Equal(ErrorCode.WrongChain, e.Code));
        Assert.Equal(Totals(5), await writer.ReadTotalsAsync(Cancel));
    }

    [Fact]
    public async Task A_batch_of_blocks_that_do_not_link_is_refused_before_any_write()
    {
        server.SkipIfUnavailable();
        var chain = Chain(4);
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("unlinked"), Cancel);

        var refused = await Assert.ThrowsAsync<CustosException>(() => writer.WriteBlocksAsync([chain.Blocks[0], chain.Blocks[2]], Cancel));

        Assert.Equal(ErrorCode.InvalidField, refused.Code);
        Assert.Null(await writer.ReadProgressAsync(Cancel));
    }

    [Fact]
    public async Task A_schema_newer_than_this_code_is_refused()
    {
        server.SkipIfUnavailable();
        var options = server.NewIndex("newer");
        await (await SupervisionIndexWriter.OpenAsync(options, Cancel)).DisposeAsync();
        await using (var sql = await server.ConnectAsync(options.Schema))
        {
            await using var command = new NpgsqlCommand("INSERT INTO schema_version (version) VALUES (99)", sql);
            await command.ExecuteNonQueryAsync(Cancel);
        }

        var refused = await Assert.ThrowsAsync<CustosException>(() => SupervisionIndexWriter.OpenAsync(options, Cancel));

        Assert.Equal(ErrorCode.UnsupportedVersion, refused.Code);
    }

    [Fact]
    public async Task Two_nodes_opening_one_new_index_at_once_create_it_once()
    {
        server.SkipIfUnavailable();
        var options = server.NewIndex("concurrent");

        var writers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SupervisionIndexWriter.OpenAsync(options, Cancel)));

        await using var sql = await server.ConnectAsync(options.Schema);
        Assert.Equal(1, await Sql.CountAsync(sql, "SELECT count(*) FROM schema_version"));
        foreach (var writer in writers) await writer.DisposeAsync();
    }
}
