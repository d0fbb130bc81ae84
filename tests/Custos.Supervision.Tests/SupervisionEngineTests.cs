using System.Buffers.Binary;
using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;
using static Custos.Supervision.Tests.Chain;

namespace Custos.Supervision.Tests;

public sealed class SupervisionEngineTests
{
    private readonly SupervisionEngine _engine = new(Hash);

    private IReadOnlyList<Alert> Run(IReadOnlyList<SupervisionRule> rules, params CommittedBlock[] blocks) =>
        blocks.SelectMany(b => _engine.Evaluate(b, rules)).ToList();

    [Fact]
    public void Large_value_triggers_at_exactly_the_threshold_and_above_but_not_one_below()
    {
        var alerts = Run([LargeValue("large", 50_000)], At(1, Pay(1, 1, 2, 49_999), Pay(2, 1, 2, 50_000), Pay(3, 3, 4, 50_001)));

        Assert.Equal([Tx(2), Tx(3)], alerts.Select(a => new Hash32(a.TransactionIds.Single().Span)));
        var first = alerts[0];
        Assert.Equal(SupervisionRuleKind.LargeValue, first.Kind);
        Assert.Equal(AlertSeverity.High, first.Severity);
        Assert.Equal("large", first.RuleId);
        Assert.Equal(1UL, first.Height);
        Assert.Equal(1_001_000UL, first.BlockTimeMs);
        Assert.Equal(Account(1), Subject(first));
        Assert.Equal(Account(2), new AccountId(first.Counterparty.Span));
        Assert.Equal(50_000UL, first.Amount);
        Assert.Equal(1U, first.PaymentCount);
        Assert.Equal(Token, first.Asset);
    }

    [Fact]
    public void Velocity_counts_payments_in_the_last_window_blocks_including_the_current_one()
    {
        var rules = new[] { Velocity("fast", count: 3, windowBlocks: 3) };

        var alerts = Run(rules, At(1, Pay(1, 1, 9, 5)), At(2, Pay(2, 1, 9, 5)), At(3, Pay(3, 1, 9, 5)));

        var alert = Assert.Single(alerts);
        Assert.Equal(3UL, alert.Height);
        Assert.Equal(3U, alert.PaymentCount);
        Assert.Equal(15UL, alert.Amount);
        Assert.Equal([Tx(1), Tx(2), Tx(3)], alert.TransactionIds.Select(t => new Hash32(t.Span)));
        Assert.Empty(alert.Counterparty);
    }

    [Fact]
    public void Velocity_block_window_excludes_the_block_window_blocks_back()
    {
        // At height 4 a 3-block window is blocks 2..4: the payment of block 1 has left it.
        var alerts = Run([Velocity("fast", count: 3, windowBlocks: 3)], At(1, Pay(1, 1, 9, 5)), At(2, Pay(2, 1, 9, 5)), At(4, Pay(3, 1, 9, 5)));

        Assert.Empty(alerts);
    }

    [Fact]
    public void Velocity_time_window_is_half_open_on_block_time()
    {
        var rule = Velocity("fast", count: 3, windowMs: 10_000);
        var inside = new SupervisionEngine(Hash);
        var atEdge = new SupervisionEngine(Hash);

        var inWindow = new[] { Block(1, 0, Pay(1, 1, 9, 5)), Block(2, 5_000, Pay(2, 1, 9, 5)), Block(3, 9_999, Pay(3, 1, 9, 5)) }
            .SelectMany(b => inside.Evaluate(b, [rule])).ToList();
        var outOfWindow = new[] { Block(1, 0, Pay(1, 1, 9, 5)), Block(2, 5_000, Pay(2, 1, 9, 5)), Block(3, 10_000, Pay(3, 1, 9, 5)) }
            .SelectMany(b => atEdge.Evaluate(b, [rule])).ToList();

        Assert.Equal(3UL, Assert.Single(inWindow).Height);
        Assert.Empty(outOfWindow);
    }

    [Fact]
    public void Velocity_time_window_ignores_how_many_blocks_passed()
    {
        // A thousand blocks in one second of block time: a time window still sees every payment.
        var rule = Velocity("fast", count: 2, windowMs: 1_000);

        var alerts = Run([rule], Block(1, 50_000, Pay(1, 1, 9, 5)), Block(1_000, 50_999, Pay(2, 1, 9, 5)));

        Assert.Equal(1_000UL, Assert.Single(alerts).Height);
    }

    [Fact]
    public void Velocity_with_both_limits_needs_both()
    {
        // Within 10 blocks but not within 1,000 ms of block time.
        var alerts = Run([Velocity("fast", count: 2, windowBlocks: 10, windowMs: 1_000)], Block(1, 0, Pay(1, 1, 9, 5)), Block(2, 1_000, Pay(2, 1, 9, 5)));

        Assert.Empty(alerts);
    }

    [Fact]
    public void Velocity_total_triggers_when_the_window_reaches_the_threshold()
    {
        var rules = new[] { Velocity("much", total: 1_000, windowBlocks: 10) };

        Assert.Empty(Run(rules, At(1, Pay(1, 1, 9, 400)), At(2, Pay(2, 1, 9, 599))));
        var alert = Assert.Single(Run(rules, At(3, Pay(3, 1, 9, 1))));
        Assert.Equal(1_000UL, alert.Amount);
        Assert.Equal(3U, alert.PaymentCount);
    }

    [Fact]
    public void Velocity_follows_each_payer_separately()
    {
        var alerts = Run([Velocity("fast", count: 2, windowBlocks: 10)], At(1, Pay(1, 1, 9, 5), Pay(2, 2, 9, 5)), At(2, Pay(3, 2, 9, 5)));

        Assert.Equal(Account(2), Subject(Assert.Single(alerts)));
    }

    [Fact]
    public void Sustained_velocity_raises_one_alert_per_window()
    {
        // Pays every block; the 5-block window is full from block 2 on. After the alert at 2 the rule is quiet while
        // block 2 is in the window (to block 6), then alerts again at 7 and 12.
        var blocks = Enumerable.Range(1, 12).Select(h => At((ulong)h, Pay((ulong)h, 1, 9, 5))).ToArray();

        var alerts = Run([Velocity("fast", count: 2, windowBlocks: 5)], blocks);

        Assert.Equal([2UL, 7UL, 12UL], alerts.Select(a => a.Height));
    }

    [Fact]
    public void Structuring_counts_amounts_in_the_band_just_under_the_threshold()
    {
        // Band [9,000, 10,000): exactly 9,000 is in, exactly the threshold and 8,999 are out.
        var rules = new[] { Structuring("smurf", 10_000, 1_000, 3, windowBlocks: 10) };

        Assert.Empty(Run(rules, At(1, Pay(1, 1, 9, 9_000), Pay(2, 1, 9, 10_000)), At(2, Pay(3, 1, 9, 8_999), Pay(4, 1, 9, 9_999))));
        var alert = Assert.Single(Run(rules, At(3, Pay(5, 1, 8, 9_500))));

        Assert.Equal(SupervisionRuleKind.Structuring, alert.Kind);
        Assert.Equal(3U, alert.PaymentCount);
        Assert.Equal(9_000UL + 9_999 + 9_500, alert.Amount);
        Assert.Equal([Tx(1), Tx(4), Tx(5)], alert.TransactionIds.Select(t => new Hash32(t.Span)));
        Assert.Contains("[9000, 10000)", alert.Detail);
    }

    [Fact]
    public void Structuring_is_not_raised_by_a_block_without_a_payment_in_the_band()
    {
        var rules = new[] { Structuring("smurf", 10_000, 1_000, 2, windowBlocks: 10) };

        // Two payments in the band in one block: alert. The next block's payment is outside the band: nothing new.
        Assert.Single(Run(rules, At(1, Pay(1, 1, 9, 9_100), Pay(2, 1, 9, 9_200))));
        Assert.Empty(Run(rules, At(2, Pay(3, 1, 9, 100))));
    }

    [Fact]
    public void Watched_account_alerts_as_payer_and_as_payee()
    {
        var alerts = Run([Watched("watch", 7)], At(1, Pay(1, 7, 1, 10), Pay(2, 2, 7, 20), Pay(3, 3, 4, 30)));

        Assert.Equal(2, alerts.Count);
        Assert.All(alerts, a => Assert.Equal(Account(7), Subject(a)));
        Assert.Equal([Account(1), Account(2)], alerts.Select(a => new AccountId(a.Counterparty.Span)));
        Assert.Contains("from watched", alerts[0].Detail);
        Assert.Contains("to watched", alerts[1].Detail);
    }

    [Fact]
    public void Payment_between_two_watched_accounts_alerts_for_each_but_a_self_payment_once()
    {
        var alerts = Run([Watched("watch", 7, 8)], At(1, Pay(1, 7, 8, 10), Pay(2, 7, 7, 10)));

        Assert.Equal([Account(7), Account(8), Account(7)], alerts.Select(Subject));
        Assert.Equal(3, alerts.Select(a => a.Id).Distinct().Count());
    }

    [Fact]
    public void Watched_account_threshold_is_a_minimum_amount()
    {
        var rule = Watched("watch", 7);
        rule.Threshold = 100;

        var alerts = Run([rule], At(1, Pay(1, 7, 1, 99), Pay(2, 7, 1, 100)));

        Assert.Equal(Tx(2), new Hash32(Assert.Single(alerts).TransactionIds.Single().Span));
    }

    [Fact]
    public void Disabled_rules_raise_nothing()
    {
        var rule = LargeValue("large", 1);
        rule.Enabled = false;

        Assert.Empty(Run([rule], At(1, Pay(1, 1, 2, 1_000))));
    }

    [Fact]
    public void Rule_applies_from_its_effective_height_and_counts_no_earlier_payment()
    {
        var rule = Velocity("fast", count: 2, windowBlocks: 100);
        rule.EffectiveHeight = 3;

        // Payments at 1 and 2 precede the rule; only 3 and 4 count, so the alert comes at 4.
        var alerts = Run([rule], At(1, Pay(1, 1, 9, 5)), At(2, Pay(2, 1, 9, 5)), At(3, Pay(3, 1, 9, 5)), At(4, Pay(4, 1, 9, 5)));

        var alert = Assert.Single(alerts);
        Assert.Equal(4UL, alert.Height);
        Assert.Equal(2U, alert.PaymentCount);
    }

    [Fact]
    public void Rule_for_another_asset_ignores_token_payments()
    {
        var rule = LargeValue("large", 1);
        rule.Asset = "dcep";

        var alerts = Run([rule], At(1, Pay(1, 1, 2, 1_000), Pay(2, 1, 2, 1_000, asset: "dcep")));

        Assert.Equal(Tx(2), new Hash32(Assert.Single(alerts).TransactionIds.Single().Span));
    }

    [Fact]
    public void Malformed_rule_is_skipped_and_counted()
    {
        var alerts = Run([LargeValue("broken", 0), LargeValue("fine", 10)], At(1, Pay(1, 1, 2, 10)));

        Assert.Equal("fine", Assert.Single(alerts).RuleId);
        Assert.Equal(1, _engine.RulesRefused);
    }

    [Fact]
    public void Blocks_out_of_height_order_are_refused()
    {
        _engine.Evaluate(At(5), []);

        var error = Assert.Throws<CustosException>(() => _engine.Evaluate(At(5), []));
        Assert.Equal(ErrorCode.InvalidArguments, error.Code);
        Assert.Throws<CustosException>(() => _engine.Evaluate(At(4), []));
    }

    [Fact]
    public void Windows_keep_only_what_a_rule_can_still_reach()
    {
        var rules = new[] { Velocity("fast", count: 1_000, windowBlocks: 5) };
        for (ulong h = 1; h <= 100; h++) _engine.Evaluate(At(h, Pay(h * 10, h % 7, 9, 5), Pay((h * 10) + 1, 50, 9, 5)), rules);

        Assert.Equal(10, _engine.RetainedPayments);

        _engine.Evaluate(At(101), [LargeValue("large", 1)]);
        Assert.Equal(0, _engine.RetainedPayments);
    }

    [Fact]
    public void Same_blocks_and_rules_give_the_same_alerts_with_the_same_ids_whatever_the_rule_order()
    {
        var rules = MixedRules();
        var blocks = RandomChain(seed: 42, blocks: 300);
        var first = new SupervisionEngine(Hash);
        var second = new SupervisionEngine(Hash);

        var once = blocks.SelectMany(b => first.Evaluate(b, rules)).ToList();
        var again = blocks.SelectMany(b => second.Evaluate(b, rules.AsEnumerable().Reverse().ToList())).ToList();

        Assert.True(once.Count > 20, $"the chain should raise alerts of every kind, got {once.Count}");
        Assert.Equal(4, once.Select(a => a.Kind).Distinct().Count());
        Assert.Equal(once.Select(a => a.ToByteString()), again.Select(a => a.ToByteString()));
        Assert.Equal(once.Count, once.Select(a => a.Id).Distinct().Count());
    }

    [Fact]
    public void Alert_id_is_the_suite_hash_of_the_documented_layout()
    {
        // Frozen: receivers deduplicate on this id, so its derivation is a wire format.
        var id = _engine.AlertId("large", 0x0102030405060708, Tx(9), 3, Account(5));

        var expected = new List<byte>();
        expected.AddRange("custos/v1/supervision_alert\0"u8.ToArray());
        expected.Add(5);
        expected.AddRange("large"u8.ToArray());
        expected.AddRange(BigEndian(0x0102030405060708));
        expected.AddRange(Tx(9).ToArray());
        expected.AddRange([0, 0, 0, 3]);
        expected.AddRange(Account(5).ToArray());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected.ToArray())), id.ToString());
    }

    [Fact]
    public void Alert_ids_differ_by_rule_height_payment_and_subject()
    {
        var ids = new[]
        {
            _engine.AlertId("a", 1, Tx(1), 0, Account(1)),
            _engine.AlertId("b", 1, Tx(1), 0, Account(1)),
            _engine.AlertId("a", 2, Tx(1), 0, Account(1)),
            _engine.AlertId("a", 1, Tx(2), 0, Account(1)),
            _engine.AlertId("a", 1, Tx(1), 1, Account(1)),
            _engine.AlertId("a", 1, Tx(1), 0, Account(2)),
        };

        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    internal static List<SupervisionRule> MixedRules() =>
    [
        LargeValue("large", 900),
        Velocity("fast", count: 4, windowBlocks: 10),
        Velocity("much", total: 2_000, windowMs: 8_000),
        Structuring("smurf", 1_000, 3_000, 2, windowBlocks: 20),
        Watched("watch", 3),
    ];

    /// <summary>A seeded chain of small payments from four payers to eight payees, with block times that advance irregularly.</summary>
    internal static List<CommittedBlock> RandomChain(int seed, int blocks)
    {
        var random = new Random(seed);
        var chain = new List<CommittedBlock>();
        var time = 1_000_000UL;
        ulong tx = 0;
        for (var h = 1; h <= blocks; h++)
        {
            time += (ulong)random.Next(200, 2_000);
            var payments = Enumerable.Range(0, random.Next(0, 4))
                .Select(_ => Pay(++tx, (ulong)random.Next(1, 5), (ulong)random.Next(1, 9), (ulong)random.Next(1, 1_000)))
                .ToArray();
            chain.Add(Block((ulong)h, time, payments));
        }

        return chain;
    }

    private static byte[] BigEndian(ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return bytes;
    }
}
