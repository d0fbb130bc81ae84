using System.Buffers.Binary;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Supervision;

/// <summary>
/// Evaluates the regulator's rules on each committed block (SUP-4) and returns the alerts it raises (SUP-6).
/// Deterministic: the alerts, their order and their ids depend only on the blocks and the rules, never on a clock
/// (windows use block heights and header timestamps), on randomness or on the order of a hash table. Blocks are
/// given in increasing height.
///
/// Boundaries: a large-value payment triggers at exactly the threshold (amount ≥ threshold); structuring counts
/// amounts in [threshold − threshold·fraction_bps/10000, threshold), so exactly the threshold is not "just under";
/// velocity triggers when the window holds at least <c>count</c> payments or totals at least <c>threshold</c>.
/// Velocity and structuring follow payers, are evaluated for the payers of the current block, and raise at most one
/// alert per rule and payer per window: after an alert the rule stays quiet for that payer until the alert's block
/// has left the window.
///
/// State: the payments the window rules may still reach (<see cref="PaymentWindows"/>) and the last window alert per
/// rule and payer. After a restart it is rebuilt exactly by <see cref="Warm"/> with the blocks the windows reach and
/// <see cref="Remember"/> with the stored alerts (<see cref="SupervisionMonitor"/> does both). Not thread-safe.
/// </summary>
public sealed class SupervisionEngine(IHashFunction hash)
{
    /// <summary>Transaction ids listed on a window alert (the most recent).</summary>
    public const int AlertTransactionIdsMax = 64;

    private static readonly byte[] IdDomain = "custos/v1/supervision_alert\0"u8.ToArray();
    private const int PruneAlertsEveryBlocks = 256;

    private readonly PaymentWindows _windows = new();
    private readonly Dictionary<(string Rule, AccountId Subject), (ulong Height, ulong TimeMs)> _lastWindowAlerts = [];
    private ulong? _lastHeight;

    /// <summary>The last block given to <see cref="Evaluate"/> or <see cref="Warm"/>.</summary>
    public ulong? LastHeight => _lastHeight;

    /// <summary>Payments currently kept for windows.</summary>
    public int RetainedPayments => _windows.Count;

    /// <summary>Rules skipped because they were not well formed (system.supervision never stores one; counted for the operator).</summary>
    public long RulesRefused { get; private set; }

    /// <summary>Adds a block's payments to the windows without evaluating (rebuilding state after a restart).</summary>
    public void Warm(CommittedBlock block)
    {
        CheckOrder(block);
        _windows.Add(block);
        _lastHeight = block.Height;
    }

    /// <summary>Takes note of an alert raised before (read back from the alert store after a restart).</summary>
    public void Remember(Alert alert)
    {
        if (alert.Kind is not (SupervisionRuleKind.Velocity or SupervisionRuleKind.Structuring)) return;
        if (!AccountId.TryCreate(alert.SubjectAccount.Span, out var subject)) return;
        var key = (alert.RuleId, subject);
        if (!_lastWindowAlerts.TryGetValue(key, out var last) || last.Height < alert.Height) _lastWindowAlerts[key] = (alert.Height, alert.BlockTimeMs);
    }

    /// <summary>The alerts of <paramref name="block"/> under <paramref name="rules"/> (the rules in force at that block).</summary>
    public IReadOnlyList<Alert> Evaluate(CommittedBlock block, IReadOnlyList<SupervisionRule> rules)
    {
        CheckOrder(block);
        var stored = Applicable(rules, block.Height);
        _windows.Add(block);
        _lastHeight = block.Height;

        var alerts = new List<Alert>();
        foreach (var rule in stored)
        {
            if (!rule.Enabled) continue;
            switch (rule.Kind)
            {
                case SupervisionRuleKind.LargeValue:
                    LargeValue(rule, block, alerts);
                    break;
                case SupervisionRuleKind.WatchedAccount:
                    WatchedAccount(rule, block, alerts);
                    break;
                case SupervisionRuleKind.Velocity:
                case SupervisionRuleKind.Structuring:
                    Window(rule, block, alerts);
                    break;
            }
        }

        // Disabled rules keep their windows, so that enabling one again finds the payments it would have seen.
        var windowRules = WindowRules(stored);
        _windows.Prune(windowRules, block.Height, block.TimestampMs);
        if (block.Height % PruneAlertsEveryBlocks == 0) PruneWindowAlerts(windowRules, block);
        return alerts;
    }

    /// <summary>The alert id: a hash of the rule id, the height, the payment (or zeros) and the subject.</summary>
    public Hash32 AlertId(string ruleId, ulong height, Hash32 transactionId, uint eventIndex, AccountId subject)
    {
        var rule = Encoding.UTF8.GetBytes(ruleId);
        var buffer = new byte[IdDomain.Length + 1 + rule.Length + 8 + Hash32.SizeBytes + 4 + Core.AccountId.SizeBytes];
        var span = buffer.AsSpan();
        IdDomain.CopyTo(span);
        var at = IdDomain.Length;
        // Rule ids are at most 64 ASCII characters (validated), so one length byte is unambiguous.
        buffer[at++] = (byte)rule.Length;
        rule.CopyTo(span[at..]);
        at += rule.Length;
        BinaryPrimitives.WriteUInt64BigEndian(span[at..], height);
        at += 8;
        transactionId.CopyTo(span[at..]);
        at += Hash32.SizeBytes;
        BinaryPrimitives.WriteUInt32BigEndian(span[at..], eventIndex);
        at += 4;
        subject.CopyTo(span[at..]);
        return hash.Hash(buffer);
    }

    private void CheckOrder(CommittedBlock block)
    {
        if (_lastHeight is { } last && block.Height <= last)
        {
            throw new CustosException(ErrorCode.InvalidArguments, $"blocks are evaluated in increasing height: {block.Height} after {last}");
        }
    }

    /// <summary>The well-formed rules in effect at <paramref name="height"/>, enabled or not, ordered by id (the first of a repeated id).</summary>
    private List<SupervisionRule> Applicable(IReadOnlyList<SupervisionRule> rules, ulong height)
    {
        var applicable = new List<SupervisionRule>();
        foreach (var rule in rules.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            if (rule.EffectiveHeight > height) continue;
            if (SupervisionRuleValidation.Validate(rule) is not null || (applicable.Count > 0 && applicable[^1].Id == rule.Id))
            {
                RulesRefused++;
                continue;
            }

            applicable.Add(rule);
        }

        return applicable;
    }

    /// <summary>The velocity and structuring rules among <paramref name="rules"/>, enabled or not, well formed.</summary>
    internal static List<SupervisionRule> WindowRules(IEnumerable<SupervisionRule> rules) =>
        rules.Where(r => r.Kind is SupervisionRuleKind.Velocity or SupervisionRuleKind.Structuring && SupervisionRuleValidation.Validate(r) is null).ToList();

    private void LargeValue(SupervisionRule rule, CommittedBlock block, List<Alert> alerts)
    {
        var asset = SupervisionRuleValidation.AssetOf(rule);
        foreach (var payment in block.Payments)
        {
            if (payment.Asset != asset || payment.Amount < rule.Threshold) continue;
            alerts.Add(PaymentAlert(rule, block, payment, payment.From, payment.To,
                $"payment of {payment.Amount} {asset}, at or above the threshold {rule.Threshold}"));
        }
    }

    private void WatchedAccount(SupervisionRule rule, CommittedBlock block, List<Alert> alerts)
    {
        var asset = SupervisionRuleValidation.AssetOf(rule);
        var watched = rule.WatchedAccounts.Select(a => new AccountId(a.Span)).ToHashSet();
        foreach (var payment in block.Payments)
        {
            if (payment.Asset != asset || payment.Amount < rule.Threshold) continue;
            if (watched.Contains(payment.From))
            {
                alerts.Add(PaymentAlert(rule, block, payment, payment.From, payment.To, $"payment of {payment.Amount} {asset} from watched account {payment.From}"));
            }

            if (payment.To != payment.From && watched.Contains(payment.To))
            {
                alerts.Add(PaymentAlert(rule, block, payment, payment.To, payment.From, $"payment of {payment.Amount} {asset} to watched account {payment.To}"));
            }
        }
    }

    private void Window(SupervisionRule rule, CommittedBlock block, List<Alert> alerts)
    {
        var asset = SupervisionRuleValidation.AssetOf(rule);
        var structuring = rule.Kind == SupervisionRuleKind.Structuring;
        var lower = structuring ? SupervisionRuleValidation.StructuringLowerBound(rule) : 0;
        var payers = new List<AccountId>();
        var seen = new HashSet<AccountId>();
        foreach (var payment in block.Payments)
        {
            if (payment.Asset != asset) continue;
            if (structuring && !InBand(payment.Amount, lower, rule.Threshold)) continue;
            if (seen.Add(payment.From)) payers.Add(payment.From);
        }

        foreach (var payer in payers)
        {
            if (_lastWindowAlerts.TryGetValue((rule.Id, payer), out var last) && Windows.Reaches(rule, last.Height, last.TimeMs, block.Height, block.TimestampMs))
            {
                continue;
            }

            if (_windows.Log(asset, payer) is not { } log) continue;
            var count = 0u;
            UInt128 total = 0;
            var transactions = new List<Hash32>();
            foreach (var entry in log.NewestFirst())
            {
                if (!Windows.Reaches(rule, entry.Height, entry.TimeMs, block.Height, block.TimestampMs)) break;
                if (structuring && !InBand(entry.Amount, lower, rule.Threshold)) continue;
                count++;
                total += entry.Amount;
                if (transactions.Count < AlertTransactionIdsMax) transactions.Add(entry.TransactionId);
            }

            var triggered = structuring
                ? count >= rule.Count
                : (rule.Count != 0 && count >= rule.Count) || (rule.Threshold != 0 && total >= rule.Threshold);
            if (!triggered) continue;

            var amount = total > ulong.MaxValue ? ulong.MaxValue : (ulong)total;
            var detail = structuring
                ? $"{count} payments of {asset} in [{lower}, {rule.Threshold}) totalling {amount} within {Describe(rule)}"
                : $"{count} payments of {asset} totalling {amount} within {Describe(rule)}";
            transactions.Reverse();
            var alert = NewAlert(rule, block, payer, AlertId(rule.Id, block.Height, Hash32.Zero, 0, payer), amount, count, detail, asset);
            alert.TransactionIds.AddRange(transactions.Select(t => t.ToByteString()));
            alerts.Add(alert);
            _lastWindowAlerts[(rule.Id, payer)] = (block.Height, block.TimestampMs);
        }
    }

    private Alert PaymentAlert(SupervisionRule rule, CommittedBlock block, Payment payment, AccountId subject, AccountId counterparty, string detail)
    {
        var alert = NewAlert(rule, block, subject, AlertId(rule.Id, block.Height, payment.TransactionId, payment.EventIndex, subject), payment.Amount, 1, detail, payment.Asset);
        alert.Counterparty = counterparty.ToByteString();
        alert.TransactionIds.Add(payment.TransactionId.ToByteString());
        return alert;
    }

    private static Alert NewAlert(SupervisionRule rule, CommittedBlock block, AccountId subject, Hash32 id, ulong amount, uint count, string detail, string asset) => new()
    {
        Id = id.ToByteString(),
        RuleId = rule.Id,
        Kind = rule.Kind,
        Severity = rule.Severity,
        Height = block.Height,
        BlockTimeMs = block.TimestampMs,
        SubjectAccount = subject.ToByteString(),
        Amount = amount,
        PaymentCount = count,
        Detail = detail,
        Asset = asset,
    };

    private static bool InBand(ulong amount, ulong lower, ulong threshold) => amount >= lower && amount < threshold;

    private static string Describe(SupervisionRule rule) => (rule.WindowBlocks, rule.WindowMs) switch
    {
        (0, var ms) => $"{ms} ms of block time",
        (var blocks, 0) => $"{blocks} blocks",
        var (blocks, ms) => $"{blocks} blocks and {ms} ms of block time",
    };

    /// <summary>
    /// Forgets window alerts that can no longer silence their rule: out of the window of the stored rule, or from
    /// before its effective height. Alerts of rules no longer stored are kept (a rule of that id may come back), so
    /// what is forgotten is never needed again as long as a rule's effective height never decreases.
    /// </summary>
    private void PruneWindowAlerts(IReadOnlyList<SupervisionRule> windowRules, CommittedBlock block)
    {
        var byId = windowRules.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var stale = _lastWindowAlerts
            .Where(p => byId.TryGetValue(p.Key.Rule, out var rule) && !Windows.Reaches(rule, p.Value.Height, p.Value.TimeMs, block.Height, block.TimestampMs))
            .Select(p => p.Key)
            .ToList();
        foreach (var key in stale) _lastWindowAlerts.Remove(key);
    }
}
