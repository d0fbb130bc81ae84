using System.Text.Json;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity;
using Custos.Node.Api;
using Custos.Node.Tests.Support;
using Custos.Privacy.Audit;
using Custos.Privacy.Masking;
using Custos.Supervision.Index;
using Microsoft.AspNetCore.Http;

namespace Custos.Node.Tests;

public sealed class IdentifierDisplayTests
{
    private static readonly AccountId Payer = new(0x1111_2222_3333_4444UL, 0x5555_6666_7777_8888UL);
    private static readonly AccountId Payee = new(0x9999_aaaa_bbbb_ccccUL, 0xdddd_eeee_ffff_0001UL);

    private static TestConsortium Consortium => TestConsortium.Intl;

    private static ValidatedIdentity Regulator => new("regulator", "auditor@regulator", CertificateRole.Regulator, Consortium.Users[0].Certificate);

    private static HttpRequest Request(string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = "/v1/supervision/transactions";
        context.Request.QueryString = new QueryString(query);
        return context.Request;
    }

    private static TransactionRow Row(AccountId sender, AccountId? counterparty) => new(5, 0, new string('a', 64), DateTimeOffset.UnixEpoch, sender.ToString(), "org1",
        "digital_currency", "pay", "payer", "Ok", 10, counterparty?.ToString());

    [Fact]
    public void Audit_rows_show_accounts_masked_by_default()
    {
        var rows = SupervisionAuditApi.Render([Row(Payer, Payee), Row(Payee, null)], IdentifierDisplay.Masked);

        Assert.Equal([IdentifierMask.Account(Payer), IdentifierMask.Account(Payee)], rows.Select(r => r.Sender));
        Assert.Equal([IdentifierMask.Account(Payee), null], rows.Select(r => r.Counterparty));
        Assert.Equal(new string('a', 64), rows[0].TransactionId);
        Assert.False(IdentifierText.HoldsAccount(JsonSerializer.Serialize(rows)));
    }

    [Fact]
    public void Reveal_shows_accounts_in_full_and_records_each_once_with_who_what_and_why()
    {
        var output = new StringWriter { NewLine = "\n" };
        var log = new NodeLog("supervisor", output, new FixedClock(DateTimeOffset.UnixEpoch));
        var display = IdentifierDisplay.RevealTo(Regulator, Request("?reveal=true&purpose=case%2042"), log, Consortium.Suite, audit: null);

        var rows = SupervisionAuditApi.Render([Row(Payer, Payee), Row(Payer, null)], display);

        Assert.Equal([Payer.ToString(), Payer.ToString()], rows.Select(r => r.Sender));
        Assert.Equal(Payee.ToString(), rows[0].Counterparty);
        var records = output.ToString().TrimEnd('\n').Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal("identifier-revealed", r.GetProperty("event").GetString());
            Assert.Equal("auditor@regulator", r.GetProperty("by").GetString());
            Assert.Equal("/v1/supervision/transactions", r.GetProperty("path").GetString());
            Assert.Equal("case 42", r.GetProperty("purpose").GetString());
        });
        Assert.Equal([IdentifierMask.Account(Payer), IdentifierMask.Account(Payee)], records.Select(r => r.GetProperty("identifier").GetString()));
        Assert.Equal(PrivacyAuditLog.KeyHash(Consortium.Suite, Payer.ToArray()).ToString(), records[0].GetProperty("identifier-hash").GetString());
        Assert.False(IdentifierText.HoldsAccount(output.ToString()));
    }

    [Fact]
    public void Reveal_is_written_to_the_privacy_audit_log_when_the_node_has_one()
    {
        var directory = Directory.CreateTempSubdirectory("custos-reveal-");
        try
        {
            var path = Path.Combine(directory.FullName, "audit.log");
            using (var audit = PrivacyAuditLog.Open(path, Consortium.Suite, TimeProvider.System))
            {
                var display = IdentifierDisplay.RevealTo(Regulator, Request("?reveal=true&purpose=case-7"), NodeLog.Null, Consortium.Suite, audit);
                display.Account(Payer);
                display.Account(Payer);
            }

            var entry = Assert.Single(PrivacyAuditLog.ReadVerified(path, Consortium.Suite));
            Assert.Equal(("auditor@regulator", "reveal", "case-7"), (entry.Reader, entry.Action, entry.Purpose));
            Assert.Equal(PrivacyAuditLog.KeyHash(Consortium.Suite, Payer.ToArray()).ToByteString(), entry.KeyHash);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("?reveal=true", ErrorCode.InvalidField)]
    [InlineData("?reveal=true&purpose=%20%20", ErrorCode.InvalidField)]
    public void Reveal_without_a_purpose_is_refused(string query, ErrorCode code)
    {
        var e = Assert.Throws<CustosException>(() => IdentifierDisplay.RevealTo(Regulator, Request(query), NodeLog.Null, Consortium.Suite, audit: null));

        Assert.Equal(code, e.Code);
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("?reveal=false", false)]
    [InlineData("?reveal=true", true)]
    [InlineData("?reveal=1", true)]
    public void Reveal_is_asked_for_explicitly(string query, bool requested) =>
        Assert.Equal(requested, IdentifierDisplay.Requested(Request(query).Query));

    [Fact]
    public void Unclear_reveal_parameter_is_a_typed_error()
    {
        var e = Assert.Throws<CustosException>(() => IdentifierDisplay.Requested(Request("?reveal=yes").Query));

        Assert.Equal(ErrorCode.InvalidField, e.Code);
    }

    [Fact]
    public void Masked_display_masks_accounts_in_free_text_but_not_hashes()
    {
        var hash = new string('b', 64);

        var text = IdentifierDisplay.Masked.Text($"payment from watched account {Payer} in {hash}");

        Assert.Equal($"payment from watched account {IdentifierMask.Account(Payer)} in {hash}", text);
    }
}
