using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Supervision.Index.Tests;

public sealed class AlertTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static IndexedAlert Alert(ulong height, string rule, string subject, byte[]? transaction, ulong amount = 6_000_000) =>
        new(height, rule, "large-value", "high", subject, amount, transaction, $"rule {rule} on {subject}");

    [Fact]
    public async Task Alerts_are_written_once_however_often_they_are_delivered()
    {
        server.SkipIfUnavailable();
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("alerts"), Cancel);
        var first = new[]
        {
            Alert(3, "large-value", "account:01", [1, 2, 3]),
            Alert(3, "large-value", "account:02", [4, 5, 6]),
            Alert(3, "velocity", "account:01", null),
        };

        Assert.Equal(3, await writer.WriteAlertsAsync(first, Cancel));
        // A re-delivery after a restart, with one new alert and one repeated within the same call.
        Assert.Equal(1, await writer.WriteAlertsAsync([.. first, Alert(4, "velocity", "account:01", null), Alert(4, "velocity", "account:01", null)], Cancel));

        Assert.Equal(4, (await writer.ReadTotalsAsync(Cancel)).Alerts);
        await using var sql = await server.ConnectAsync(writer.Options.Schema);
        var row = Assert.Single(await Sql.RowsAsync(sql, "SELECT * FROM alerts WHERE subject = 'account:02'"));
        Assert.Equal((3L, "large-value", "high", 6_000_000m),
            ((long)row["height"]!, (string)row["kind"]!, (string)row["severity"]!, (decimal)row["amount"]!));
        Assert.Equal(new byte[] { 4, 5, 6 }, row["transaction_id"]);
    }

    [Fact]
    public async Task A_malformed_alert_is_refused_and_nothing_of_its_batch_is_written()
    {
        server.SkipIfUnavailable();
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("badalert"), Cancel);

        var tooLong = await Assert.ThrowsAsync<CustosException>(() =>
            writer.WriteAlertsAsync([Alert(1, "r", "ok", null), Alert(1, "r", new string('x', 300), null)], Cancel));
        var emptyRule = await Assert.ThrowsAsync<CustosException>(() => writer.WriteAlertsAsync([Alert(1, "", "s", null)], Cancel));
        var emptyTransaction = await Assert.ThrowsAsync<CustosException>(() => writer.WriteAlertsAsync([Alert(1, "r", "s", [])], Cancel));
        var tooMany = await Assert.ThrowsAsync<CustosException>(() =>
            writer.WriteAlertsAsync(Enumerable.Range(0, SupervisionIndexWriter.AlertsPerWriteMax + 1).Select(i => Alert(1, "r", $"s{i}", null)).ToList(), Cancel));

        Assert.All(new[] { tooLong, emptyRule, emptyTransaction }, e => Assert.Equal(ErrorCode.InvalidField, e.Code));
        Assert.Equal(ErrorCode.TooLarge, tooMany.Code);
        Assert.Equal(0, (await writer.ReadTotalsAsync(Cancel)).Alerts);
    }

    [Fact]
    public async Task Free_text_that_PostgreSQL_cannot_store_is_replaced_not_refused()
    {
        server.SkipIfUnavailable();
        await using var writer = await SupervisionIndexWriter.OpenAsync(server.NewIndex("nul"), Cancel);

        Assert.Equal(1, await writer.WriteAlertsAsync([new IndexedAlert(1, "r", "k", "s", "subject", 1, null, "a\0b\ud800c")], Cancel));

        await using var sql = await server.ConnectAsync(writer.Options.Schema);
        Assert.Equal("a\uFFFDb\uFFFDc", Assert.Single(await Sql.RowsAsync(sql, "SELECT detail FROM alerts"))["detail"]);
    }
}
