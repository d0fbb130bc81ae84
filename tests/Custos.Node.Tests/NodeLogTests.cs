using System.Text.Json;
using Custos.Core;
using Custos.Node.Tests.Support;
using Custos.Privacy.Masking;
using CsCheck;

namespace Custos.Node.Tests;

public sealed class NodeLogTests
{
    private static readonly DateTimeOffset Instant = new(2026, 3, 1, 12, 30, 45, 123, TimeSpan.Zero);

    private static (NodeLog Log, StringWriter Output) NewLog(string node = "node1")
    {
        var output = new StringWriter { NewLine = "\n" };
        return (new NodeLog(node, output, new FixedClock(Instant)), output);
    }

    private static List<JsonElement> Lines(StringWriter output)
    {
        var text = output.ToString();
        Assert.EndsWith("\n", text);
        return text[..^1].Split('\n').Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
    }

    [Fact]
    public void Each_entry_is_one_JSON_object_per_line_with_time_level_node_and_event_first()
    {
        var (log, output) = NewLog();

        log.Info("store-opened", ("height", 12UL), ("directory", "/data"));
        log.Warn("block-refused", ("round", 3L), ("code", "INVALID_FIELD"));
        log.Error("consensus-stopped", ("reason", "disk full"));

        var lines = Lines(output);
        Assert.Equal(3, lines.Count);
        Assert.Equal(["info", "warn", "error"], lines.Select(l => l.GetProperty("level").GetString()));
        Assert.Equal(["store-opened", "block-refused", "consensus-stopped"], lines.Select(l => l.GetProperty("event").GetString()));
        Assert.All(lines, l =>
        {
            Assert.Equal(["ts", "level", "node", "event"], l.EnumerateObject().Take(4).Select(p => p.Name));
            Assert.Equal("node1", l.GetProperty("node").GetString());
            Assert.Equal(Instant, DateTimeOffset.Parse(l.GetProperty("ts").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        });
        Assert.Equal(12, lines[0].GetProperty("height").GetInt64());
        Assert.Equal("/data", lines[0].GetProperty("directory").GetString());
        Assert.Equal(3, lines[1].GetProperty("round").GetInt64());
        Assert.Equal("disk full", lines[2].GetProperty("reason").GetString());
    }

    [Fact]
    public void Fields_keep_their_JSON_kinds()
    {
        var (log, output) = NewLog();

        log.Info("kinds", ("flag", true), ("count", 7), ("ratio", 0.5), ("nothing", null), ("code", Core.Wire.ErrorCode.InvalidField));

        var line = Assert.Single(Lines(output));
        Assert.Equal(JsonValueKind.True, line.GetProperty("flag").ValueKind);
        Assert.Equal(7, line.GetProperty("count").GetInt32());
        Assert.Equal(0.5, line.GetProperty("ratio").GetDouble());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("nothing").ValueKind);
        Assert.Equal("InvalidField", line.GetProperty("code").GetString());
    }

    [Fact]
    public void Value_with_quotes_and_newlines_stays_on_one_line_and_reads_back_unchanged()
    {
        var (log, output) = NewLog();
        const string reason = "peer said \"no\"\nthen\r\nleft\t\\ with \u2028 and \u0001";

        log.Warn("peer-misbehaved", ("reason", reason));

        var text = output.ToString();
        Assert.Equal(1, text.Count(c => c == '\n'));
        Assert.DoesNotContain('\r', text);
        Assert.Equal(reason, Assert.Single(Lines(output)).GetProperty("reason").GetString());
    }

    [Fact]
    public void Any_text_in_event_node_or_field_stays_one_line_and_reads_back_unchanged()
    {
        // Printable and control characters, quotes, backslashes, line and paragraph separators, CJK; no lone surrogates.
        var character = Gen.OneOf(Gen.Char['\u0000', '\u00ff'], Gen.Char['\u4e00', '\u9fff'], Gen.Char["\"\\\n\r\u2028\u2029{}"]);
        var text = character.Array[0, 30].Select(chars => new string(chars));
        Gen.Select(text, text, text).Sample((node, @event, value) =>
        {
            var output = new StringWriter { NewLine = "\n" };
            var log = new NodeLog(node, output, new FixedClock(Instant));

            log.Info(@event, ("value", value), ("name with \"quote\"", 1));

            var written = output.ToString();
            Assert.Equal(written.Length - 1, written.IndexOf('\n'));
            var line = Assert.Single(Lines(output));
            Assert.Equal(node, line.GetProperty("node").GetString());
            Assert.Equal(@event, line.GetProperty("event").GetString());
            Assert.Equal(value, line.GetProperty("value").GetString());
            Assert.Equal(1, line.GetProperty("name with \"quote\"").GetInt32());
        }, iter: 300);
    }

    [Fact]
    public void Lines_written_from_many_threads_never_interleave()
    {
        var (log, output) = NewLog();

        Parallel.For(0, 200, i => log.Info("parallel", ("index", i), ("padding", new string('x', 200))));

        var lines = Lines(output);
        Assert.Equal(Enumerable.Range(0, 200), lines.Select(l => l.GetProperty("index").GetInt32()).Order());
    }
}

public sealed class NodeLogMaskingTests
{
    private static readonly AccountId Account = new(0x0123_4567_89ab_cdefUL, 0xfedc_ba98_7654_3210UL);

    private static (NodeLog Log, StringWriter Output) NewLog()
    {
        var output = new StringWriter { NewLine = "\n" };
        return (new NodeLog("node1", output, new FixedClock(DateTimeOffset.UnixEpoch)), output);
    }

    [Fact]
    public void Account_id_passed_to_the_log_appears_only_masked()
    {
        var (log, output) = NewLog();

        log.Info("typed", ("account", Account));
        log.Info("identifier", ("pseudonym", new MaskedIdentifier(IdentifierKind.Pseudonym, Account.ToString())));
        log.Warn("text", ("reason", $"account {Account} is frozen"), ("query", $"?account={Account.ToString().ToUpperInvariant()}&limit=5"));

        var text = output.ToString();
        Assert.DoesNotContain(Account.ToString(), text, StringComparison.OrdinalIgnoreCase);
        Assert.False(IdentifierText.HoldsAccount(text));
        var lines = text.TrimEnd('\n').Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("0123************************3210", lines[0].GetProperty("account").GetString());
        Assert.Equal("0123************************3210", lines[1].GetProperty("pseudonym").GetString());
        Assert.Equal("account 0123************************3210 is frozen", lines[2].GetProperty("reason").GetString());
        Assert.Equal("?account=0123************************3210&limit=5", lines[2].GetProperty("query").GetString());
    }

    [Fact]
    public void Hashes_and_names_are_not_identifiers_and_stay_whole()
    {
        var (log, output) = NewLog();
        var hash = Convert.ToHexStringLower(new byte[32].Select((_, i) => (byte)(i + 1)).ToArray());

        log.Info("committed", ("block", hash), ("node", "org1-validator-1"), ("organisation", "org1"));

        var line = JsonDocument.Parse(output.ToString()).RootElement;
        Assert.Equal(hash, line.GetProperty("block").GetString());
        Assert.Equal("org1-validator-1", line.GetProperty("node").GetString());
    }
}
