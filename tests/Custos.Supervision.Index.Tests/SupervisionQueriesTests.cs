using System.Text;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Supervision.Index.Tests;

/// <summary>The regulator's audit queries (SupervisionQueries) over a small chain whose answers are known.</summary>
public sealed class SupervisionQueriesTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static readonly AccountId Issuer = TestChain.Account(100);
    private static readonly AccountId A1 = TestChain.Account(1);
    private static readonly AccountId A2 = TestChain.Account(2);
    private static readonly AccountId A3 = TestChain.Account(3);
    private const ulong HourMs = 3_600_000;

    private async Task<SupervisionQueries> IndexAsync(string purpose)
    {
        var chain = new TestChain();
        chain.Append([TestChain.Mint(Issuer, A1, 1_000_000, "central")], TestChain.StartMs);
        chain.Append([
            TestChain.Transfer(A1, A2, 600_000, "org1"),
            TestChain.Transfer(A2, A3, 100, "org2"),
            TestChain.Transfer(A3, A1, 50, "org2", ErrorCode.InsufficientFunds),
        ], TestChain.StartMs + 10 * HourMs);
        chain.Append([TestChain.Transfer(A1, A3, 2_000, "org1")], TestChain.StartMs + 30 * HourMs);
        var options = server.NewIndex(purpose);
        await using var writer = await SupervisionIndexWriter.OpenAsync(options, Cancel);
        await new SupervisionIndexer(chain, writer).CatchUpAsync(Cancel);
        return new SupervisionQueries(options);
    }

    [Fact]
    public async Task Transactions_of_an_account_list_every_role_it_played_in_chain_order()
    {
        server.SkipIfUnavailable();
        await using var queries = await IndexAsync("q_account");

        var rows = await queries.TransactionsAsync(new TransactionFilter { Account = A2 }, Cancel);

        Assert.Equal(["payee", "sender"], rows.Select(r => r.Role));
        Assert.Equal([600_000m, 100m], rows.Select(r => r.Amount));
        Assert.Equal(Convert.ToHexStringLower(A1.ToArray()), rows[0].Counterparty);
    }

    [Fact]
    public async Task Time_amount_and_organisation_filters_narrow_the_answer()
    {
        server.SkipIfUnavailable();
        await using var queries = await IndexAsync("q_filters");
        var secondDay = DateTimeOffset.FromUnixTimeMilliseconds((long)(TestChain.StartMs + 24 * HourMs));

        var large = await queries.TransactionsAsync(new TransactionFilter { MinAmount = 500_000, MaxAmount = 800_000, Contract = "token" }, Cancel);
        var later = await queries.TransactionsAsync(new TransactionFilter { From = secondDay }, Cancel);
        var org2 = await queries.TransactionsAsync(new TransactionFilter { Organisation = "org2" }, Cancel);

        Assert.Equal([600_000m], large.Select(r => r.Amount));
        Assert.Equal([2_000m], later.Select(r => r.Amount));
        Assert.Equal(2, org2.Count);
        Assert.Equal("OK", org2[0].Outcome, ignoreCase: true);
        Assert.Contains("insufficient", org2[1].Outcome, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Statistics_count_per_contract_and_per_organisation_by_day()
    {
        server.SkipIfUnavailable();
        await using var queries = await IndexAsync("q_stats");

        var byOrganisation = await queries.StatisticsAsync(byOrganisation: true, null, null, Cancel);
        var byContract = await queries.StatisticsAsync(byOrganisation: false, null, null, Cancel);

        var org2 = Assert.Single(byOrganisation, r => r.Subject == "org2");
        Assert.Equal((2L, 1L, 1L), (org2.Transactions, org2.Succeeded, org2.Failed));
        Assert.Equal(2, byContract.Count(r => r.Subject == "token"));
        Assert.Equal(5, byContract.Sum(r => r.Transactions));
    }

    [Fact]
    public async Task Export_writes_one_json_line_per_transaction_of_the_range()
    {
        server.SkipIfUnavailable();
        await using var queries = await IndexAsync("q_export");
        using var output = new MemoryStream();

        var written = await queries.ExportAsync(1, 1, output, Cancel);

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, written);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, line => Assert.Equal(1, System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("height").GetInt64()));
    }

    [Fact]
    public async Task A_limit_outside_its_bounds_is_refused_with_a_typed_error()
    {
        server.SkipIfUnavailable();
        await using var queries = await IndexAsync("q_limit");

        var refused = await Assert.ThrowsAsync<CustosException>(() => queries.TransactionsAsync(new TransactionFilter { Limit = 0 }, Cancel));

        Assert.Equal(ErrorCode.InvalidField, refused.Code);
    }
}
