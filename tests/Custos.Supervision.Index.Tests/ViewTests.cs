using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Supervision.Index.Tests;

/// <summary>The views the supervision queries use, over a small chain whose answers are known.</summary>
public sealed class ViewTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static readonly Custos.Core.AccountId Issuer = TestChain.Account(100);
    private static readonly Custos.Core.AccountId Regulator = TestChain.Account(200);
    private static readonly Custos.Core.AccountId A1 = TestChain.Account(1);
    private static readonly Custos.Core.AccountId A2 = TestChain.Account(2);
    private static readonly Custos.Core.AccountId A3 = TestChain.Account(3);

    private const ulong Jan1 = TestChain.StartMs;
    private const ulong HourMs = 3_600_000;

    /// <summary>
    /// 1 January (UTC): a mint, a large transfer, a small one and a failed one. 2 January: two freezes, a
    /// registration (not an intervention), a transfer of exactly the threshold and an approval that executes a
    /// forced transfer of 70 from A2 to A1.
    /// </summary>
    private static TestChain Chain()
    {
        var chain = new TestChain();
        chain.Append([TestChain.Mint(Issuer, A1, 1_000_000_000, "central")], Jan1);
        chain.Append([
            TestChain.Transfer(A1, A2, 6_000_000, "org1"),
            TestChain.Transfer(A2, A3, 100, "org2"),
            TestChain.Transfer(A3, A1, 50, "org2", ErrorCode.InsufficientFunds),
        ], Jan1 + 10 * HourMs);
        chain.Append([
            TestChain.Call(Regulator, "system.supervision", "freeze_asset", "regulator", [1]),
            TestChain.Call(Regulator, "system.accounts", "freeze", "regulator", [2]),
            TestChain.Call(Issuer, "system.accounts", "register", "central", [3]),
            TestChain.Transfer(A1, A3, 5_000_000, "org1"),
            TestChain.Call(Regulator, "system.supervision", "approve_intervention", "regulator", [4],
                events: [new IndexedEvent("system.supervision", "forced_transfer",
                    new Custos.Execution.Wire.TransferEvent { From = A2.ToByteString(), To = A1.ToByteString(), Amount = 70 }.ToByteArray())]),
        ], Jan1 + 33 * HourMs);
        return chain;
    }

    private async Task<(SupervisionIndexWriter Writer, Npgsql.NpgsqlConnection Sql)> IndexAsync(string purpose, TestChain chain, string timeZone = "UTC")
    {
        var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex(purpose) with { LargeTransferThreshold = 5_000_000, StatisticsTimeZone = timeZone }, Cancel);
        await new SupervisionIndexer(chain, writer).CatchUpAsync(Cancel);
        return (writer, await server.ConnectAsync(writer.Options.Schema));
    }

    [Fact]
    public async Task Account_transactions_lists_what_an_account_sent_and_received()
    {
        server.SkipIfUnavailable();
        var (writer, sql) = await IndexAsync("account", Chain());
        await using var _ = writer;
        await using var __ = sql;

        var a3 = await Sql.RowsAsync(sql, "SELECT role, height, amount, code FROM account_transactions WHERE account = $1 ORDER BY time, tx_index, role", A3.ToArray());
        Assert.Equal(
            [("payee", 1L, (decimal?)100m, 0), ("sender", 1L, null, (int)ErrorCode.InsufficientFunds), ("payee", 2L, 5_000_000m, 0)],
            a3.Select(r => ((string)r["role"]!, (long)r["height"]!, (decimal?)r["amount"], (int)r["code"]!)));

        var a2InWindow = await Sql.RowsAsync(sql,
            "SELECT role FROM account_transactions WHERE account = $1 AND time >= $2 AND time < $3 ORDER BY role",
            A2.ToArray(), new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2026, 1, 2, 0, 0, 0, DateTimeKind.Utc));
        Assert.Equal(["payee", "sender"], a2InWindow.Select(r => (string)r["role"]!));

        // The forced transfer debits A2 in a transaction the regulator sent.
        var forced = Assert.Single(await Sql.RowsAsync(sql, "SELECT amount, counterparty, contract FROM account_transactions WHERE account = $1 AND role = 'payer'", A2.ToArray()));
        Assert.Equal((70m, "system.supervision"), ((decimal)forced["amount"]!, (string)forced["contract"]!));
        Assert.Equal(A1.ToArray(), forced["counterparty"]);
    }

    [Fact]
    public async Task Transaction_overview_answers_by_time_range_and_by_amount()
    {
        server.SkipIfUnavailable();
        var (writer, sql) = await IndexAsync("overview", Chain());
        await using var _ = writer;
        await using var __ = sql;

        var secondDay = await Sql.CountAsync(sql,
            "SELECT count(*) FROM transaction_overview WHERE time >= '2026-01-02T00:00:00Z' AND time < '2026-01-03T00:00:00Z'");
        Assert.Equal(5, secondDay);

        var large = await Sql.RowsAsync(sql, "SELECT amount FROM transaction_overview WHERE amount >= 1000000 ORDER BY amount DESC");
        Assert.Equal([1_000_000_000m, 6_000_000m, 5_000_000m], large.Select(r => (decimal)r["amount"]!));

        var failed = Assert.Single(await Sql.RowsAsync(sql, "SELECT code_name, succeeded FROM transaction_overview WHERE NOT succeeded"));
        Assert.Equal("INSUFFICIENT_FUNDS", failed["code_name"]);
    }

    [Fact]
    public async Task Large_transfers_follow_the_configured_threshold()
    {
        server.SkipIfUnavailable();
        var (writer, sql) = await IndexAsync("large", Chain());
        await using var __ = sql;
        var rows = await Sql.RowsAsync(sql, "SELECT kind, amount, sender_organisation FROM large_transfers ORDER BY amount DESC");
        Assert.Equal([("mint", 1_000_000_000m, "central"), ("transfer", 6_000_000m, "org1"), ("transfer", 5_000_000m, "org1")],
            rows.Select(r => ((string)r["kind"]!, (decimal)r["amount"]!, (string)r["sender_organisation"]!)));
        await writer.DisposeAsync();

        // The threshold is an option of the node: reopening with another changes what the view lists.
        await using var reopened = await SupervisionIndexWriter.OpenAsync(writer.Options with { LargeTransferThreshold = 5_000_001 }, Cancel);
        Assert.Equal(2, await Sql.CountAsync(sql, "SELECT count(*) FROM large_transfers"));
    }

    [Fact]
    public async Task Daily_statistics_count_per_contract_and_per_organisation()
    {
        server.SkipIfUnavailable();
        var (writer, sql) = await IndexAsync("daily", Chain());
        await using var _ = writer;
        await using var __ = sql;

        var contracts = await Sql.RowsAsync(sql,
            "SELECT day::text AS day, contract, transactions, succeeded, failed, senders, transferred FROM daily_contract_statistics ORDER BY day, contract");
        Assert.Equal(
            [
                ("2026-01-01", "token", 4L, 3L, 1L, 4L, 1_006_000_100m),
                ("2026-01-02", "system.accounts", 2L, 2L, 0L, 2L, 0m),
                ("2026-01-02", "system.supervision", 2L, 2L, 0L, 1L, 70m),
                ("2026-01-02", "token", 1L, 1L, 0L, 1L, 5_000_000m),
            ],
            contracts.Select(r => ((string)r["day"]!, (string)r["contract"]!, (long)r["transactions"]!, (long)r["succeeded"]!, (long)r["failed"]!,
                (long)r["senders"]!, (decimal)r["transferred"]!)));

        var organisations = await Sql.RowsAsync(sql,
            "SELECT organisation, transactions, failed, senders, contracts, transferred FROM daily_organisation_statistics WHERE day = '2026-01-01' ORDER BY organisation");
        Assert.Equal(
            [("central", 1L, 0L, 1L, 1L, 1_000_000_000m), ("org1", 1L, 0L, 1L, 1L, 6_000_000m), ("org2", 2L, 1L, 2L, 1L, 100m)],
            organisations.Select(r => ((string)r["organisation"]!, (long)r["transactions"]!, (long)r["failed"]!, (long)r["senders"]!,
                (long)r["contracts"]!, (decimal)r["transferred"]!)));
    }

    [Fact]
    public async Task Daily_statistics_cut_days_in_the_configured_time_zone()
    {
        server.SkipIfUnavailable();
        // 10:00 UTC on 1 January is 18:00 the same day in Shanghai; 20:00 UTC is 04:00 on 2 January there.
        var chain = new TestChain();
        chain.Append([TestChain.Transfer(A1, A2, 1, "org1")], Jan1 + 10 * HourMs);
        chain.Append([TestChain.Transfer(A1, A2, 1, "org1")], Jan1 + 20 * HourMs);
        var (writer, sql) = await IndexAsync("zone", chain, timeZone: "Asia/Shanghai");
        await using var _ = writer;
        await using var __ = sql;

        var days = await Sql.RowsAsync(sql, "SELECT day::text AS day, transactions FROM daily_contract_statistics ORDER BY day");

        Assert.Equal([("2026-01-01", 1L), ("2026-01-02", 1L)], days.Select(r => ((string)r["day"]!, (long)r["transactions"]!)));
    }

    [Fact]
    public async Task Interventions_lists_supervision_calls_and_account_freezes_and_nothing_else()
    {
        server.SkipIfUnavailable();
        var (writer, sql) = await IndexAsync("interventions", Chain());
        await using var _ = writer;
        await using var __ = sql;

        var rows = await Sql.RowsAsync(sql, "SELECT contract, method, authority, authority_organisation, arguments FROM interventions ORDER BY tx_index");

        Assert.Equal([("system.supervision", "freeze_asset"), ("system.accounts", "freeze"), ("system.supervision", "approve_intervention")], rows.Select(r => ((string)r["contract"]!, (string)r["method"]!)));
        Assert.All(rows, r => Assert.Equal(Regulator.ToArray(), r["authority"]));
        Assert.All(rows, r => Assert.Equal("regulator", r["authority_organisation"]));
        Assert.Equal(new byte[] { 2 }, rows[1]["arguments"]);
    }

    [Fact]
    public async Task An_unknown_statistics_time_zone_is_refused()
    {
        server.SkipIfUnavailable();
        var refused = await Assert.ThrowsAsync<Custos.Core.CustosException>(() =>
            SupervisionIndexWriter.OpenAsync(server.NewIndex("badzone") with { StatisticsTimeZone = "Mars/Olympus_Mons" }, Cancel));
        Assert.Equal(ErrorCode.InvalidField, refused.Code);
    }
}
