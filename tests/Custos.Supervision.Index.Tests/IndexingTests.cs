using System.Diagnostics;
using Custos.Core.Wire;

namespace Custos.Supervision.Index.Tests;

public sealed class IndexingTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>A chain with empty blocks, transfers, a failed transfer, a mint and another contract's event.</summary>
    private static TestChain MixedChain(int blocks)
    {
        var chain = new TestChain();
        chain.Append();
        for (var height = 1; height < blocks; height++)
        {
            var transactions = Enumerable.Range(0, height % 5)
                .Select(i => TestChain.Transfer(TestChain.Account(i + 1), TestChain.Account(i + 2), (ulong)(height * 10 + i), i % 2 == 0 ? "org1" : "org2"))
                .ToList();
            if (height % 3 == 0) transactions.Add(TestChain.Transfer(TestChain.Account(9), TestChain.Account(1), 5, "org2", ErrorCode.InsufficientFunds));
            if (height % 4 == 0) transactions.Add(TestChain.Mint(TestChain.Account(100), TestChain.Account(3), 1_000, "central"));
            if (height % 7 == 0)
            {
                transactions.Add(TestChain.Call(TestChain.Account(4), "escrow", "lock", "org1", [1, 2, 3],
                    events: [new IndexedEvent("escrow", "locked", new byte[] { 9, 9 }), new IndexedEvent("escrow", "noted", Array.Empty<byte>())]));
            }

            chain.Append(transactions);
        }

        return chain;
    }

    private static IndexTotals Expected(IEnumerable<IndexedBlock> blocks)
    {
        var list = blocks.ToList();
        var transactions = list.SelectMany(b => b.Transactions).ToList();
        var events = transactions.SelectMany(t => t.Events).ToList();
        return new IndexTotals(list.Count, transactions.Count, events.Count, events.Count(e => TokenTransfer.TryDecode(e) is not null), 0);
    }

    [Fact]
    public async Task Indexing_a_chain_writes_exactly_its_rows()
    {
        server.SkipIfUnavailable();
        var chain = MixedChain(30);
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("rows") with { BatchBlocksMax = 7 }, Cancel);
        var indexer = new SupervisionIndexer(chain, writer);

        var progress = await indexer.CatchUpAsync(Cancel);

        var expected = Expected(chain.Blocks);
        Assert.True(expected.Transfers > 30 && expected.Events > expected.Transfers, "the chain exercises transfers and other events");
        Assert.Equal(expected, await writer.ReadTotalsAsync(Cancel));
        Assert.Equal(new IndexProgress(29, chain.Blocks[29].Hash), progress);
        Assert.Equal(progress, await writer.ReadProgressAsync(Cancel));

        await using var sql = await server.ConnectAsync(writer.Options.Schema);
        Assert.Equal(0, await Sql.CountAsync(sql,
            "SELECT count(*) FROM blocks b WHERE b.transaction_count <> (SELECT count(*) FROM transactions t WHERE t.height = b.height)"));
        var source = chain.Blocks[8].Transactions[1];
        var row = Assert.Single(await Sql.RowsAsync(sql, "SELECT * FROM transactions WHERE height = 8 AND tx_index = 1"));
        Assert.Equal(source.Id.ToArray(), row["id"]);
        Assert.Equal(source.Sender.ToArray(), row["sender"]);
        Assert.Equal("org2", row["sender_organisation"]);
        Assert.Equal("token", row["contract"]);
        Assert.Equal((decimal)source.Nonce, row["nonce"]);
        Assert.Equal(0, row["code"]);
        Assert.Equal(81m, row["transferred"]);
        Assert.Equal(new DateTime(2026, 1, 1, 0, 0, 8, DateTimeKind.Utc), row["time"]);
        var failed = Assert.Single(await Sql.RowsAsync(sql, "SELECT code, message, transferred FROM transactions WHERE height = 6 AND contract = 'token' AND code <> 0"));
        Assert.Equal((int)ErrorCode.InsufficientFunds, failed["code"]);
        Assert.Null(failed["transferred"]);
    }

    [Fact]
    public async Task Rewriting_indexed_blocks_adds_nothing()
    {
        server.SkipIfUnavailable();
        var chain = MixedChain(8);
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("rewrite"), Cancel);

        Assert.Equal(8, await writer.WriteBlocksAsync(chain.Blocks, Cancel));
        Assert.Equal(0, await writer.WriteBlocksAsync(chain.Blocks, Cancel));
        Assert.Equal(0, await writer.WriteBlocksAsync(chain.Blocks.Skip(3).Take(2).ToList(), Cancel));

        Assert.Equal(Expected(chain.Blocks), await writer.ReadTotalsAsync(Cancel));
    }

    [Fact]
    public async Task A_batch_that_overlaps_the_index_writes_only_the_new_heights()
    {
        server.SkipIfUnavailable();
        var chain = MixedChain(12);
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("overlap"), Cancel);

        Assert.Equal(6, await writer.WriteBlocksAsync(chain.Blocks.Take(6).ToList(), Cancel));
        Assert.Equal(6, await writer.WriteBlocksAsync(chain.Blocks.Skip(3).ToList(), Cancel));

        Assert.Equal(Expected(chain.Blocks), await writer.ReadTotalsAsync(Cancel));
    }

    [Fact]
    public async Task Indexer_follows_commits_after_catching_up_and_stops_when_cancelled()
    {
        server.SkipIfUnavailable();
        var chain = MixedChain(5);
        var log = new RecordingLog();
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("follow") with { PollInterval = TimeSpan.FromSeconds(30) }, Cancel);
        var indexer = new SupervisionIndexer(chain, writer, log);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var running = indexer.RunAsync(stop.Token);

        await Eventually.HoldsAsync(() => indexer.Progress?.Height == 4, "the first five blocks are indexed");
        for (var i = 0; i < 3; i++)
        {
            var block = chain.Append(TestChain.Transfer(TestChain.Account(1), TestChain.Account(2), 7, "org1"));
            // The poll interval is 30 s: only the notification can make the indexer see the block in time.
            indexer.OnCommitted(block.Height);
            await Eventually.HoldsAsync(() => indexer.Progress?.Height == block.Height, $"block {block.Height} is indexed", TimeSpan.FromSeconds(20));
        }

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        Assert.Equal(Expected(chain.Blocks), await writer.ReadTotalsAsync(Cancel));
        Assert.Contains(log.Lines, l => l.StartsWith("info supervision-index-stopped", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains("Password", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task An_undecodable_token_event_is_kept_as_an_event_and_not_as_a_transfer()
    {
        server.SkipIfUnavailable();
        var chain = new TestChain();
        chain.Append(TestChain.Call(TestChain.Account(1), "token", "transfer", "org1",
            events: [new IndexedEvent("token", "transfer", new byte[] { 0xff, 0xff, 0xff }), new IndexedEvent("token", "transfer", new byte[] { 0x18, 0x05 })]));
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("garbled"), Cancel);

        await writer.WriteBlocksAsync(chain.Blocks, Cancel);

        var totals = await writer.ReadTotalsAsync(Cancel);
        Assert.Equal((1L, 2L, 0L), (totals.Transactions, totals.Events, totals.Transfers));
    }

    [Fact]
    public async Task Blocks_of_2000_transfers_are_indexed_whole()
    {
        server.SkipIfUnavailable();
        var chain = new TestChain();
        chain.Append();
        chain.AppendTransfers(count: 3, transfersPerBlock: 2_000);
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("big"), Cancel);
        await writer.WriteBlocksAsync([chain.Blocks[0]], Cancel);

        // Each block is written alone; the first pays for compiling the write path, so each is reported.
        var timings = new List<string>();
        foreach (var block in chain.Blocks.Skip(1))
        {
            var started = Stopwatch.GetTimestamp();
            Assert.Equal(1, await writer.WriteBlocksAsync([block], Cancel));
            var elapsed = Stopwatch.GetElapsedTime(started);
            const int rows = 1 + 3 * 2_000;
            timings.Add($"{rows} rows in {elapsed.TotalMilliseconds:F0} ms ({rows / elapsed.TotalSeconds:F0} rows/s)");
        }

        var totals = await writer.ReadTotalsAsync(Cancel);
        Assert.Equal((4L, 6_000L, 6_000L, 6_000L), (totals.Blocks, totals.Transactions, totals.Events, totals.Transfers));
        TestContext.Current.TestOutputHelper?.WriteLine($"indexed 2,000-transaction blocks: {string.Join("; ", timings)}");
    }
}
