using Custos.Core;
using Custos.Execution.Wire;

namespace Custos.Supervision;

/// <summary>One payment kept for sliding windows: where and when it was committed, and how much it moved.</summary>
internal readonly record struct WindowEntry(ulong Height, ulong TimeMs, ulong Amount, Hash32 TransactionId);

/// <summary>
/// A payer's recent payments of one asset, oldest first. Old entries leave from the front, new ones join at the
/// back, and rules read from the back until an entry falls out of their window.
/// </summary>
internal sealed class PayerLog
{
    private readonly List<WindowEntry> _entries = [];
    private int _head;

    public int Count => _entries.Count - _head;

    public void Add(WindowEntry entry) => _entries.Add(entry);

    public WindowEntry RemoveOldest()
    {
        var oldest = _entries[_head++];
        // Compact once the dead prefix is half the list, so that removal stays amortised O(1).
        if (_head > 32 && _head * 2 > _entries.Count)
        {
            _entries.RemoveRange(0, _head);
            _head = 0;
        }

        return oldest;
    }

    /// <summary>Newest first; the caller stops at the first entry outside its window.</summary>
    public IEnumerable<WindowEntry> NewestFirst()
    {
        for (var i = _entries.Count - 1; i >= _head; i--) yield return _entries[i];
    }
}

/// <summary>
/// The payments the window rules (velocity, structuring) may still need, per payer and asset. An entry is dropped
/// once no rule in force can reach it: windows only move forward and a rule stored later counts only payments from
/// its own effective height on, so a dropped entry is never needed again. What is kept therefore depends only on
/// the chain and the rules, never on when the node started.
/// </summary>
internal sealed class PaymentWindows
{
    private readonly Dictionary<(string Asset, AccountId Payer), PayerLog> _byPayer = [];
    private readonly Queue<(string Asset, AccountId Payer, ulong Height, ulong TimeMs)> _chronological = new();

    public int Count => _chronological.Count;

    public PayerLog? Log(string asset, AccountId payer) => _byPayer.GetValueOrDefault((asset, payer));

    public void Add(CommittedBlock block)
    {
        foreach (var payment in block.Payments)
        {
            var key = (payment.Asset, payment.From);
            if (!_byPayer.TryGetValue(key, out var log))
            {
                log = new PayerLog();
                _byPayer.Add(key, log);
            }

            log.Add(new WindowEntry(block.Height, block.TimestampMs, payment.Amount, payment.TransactionId));
            _chronological.Enqueue((payment.Asset, payment.From, block.Height, block.TimestampMs));
        }
    }

    /// <summary>Drops the oldest entries that no rule of <paramref name="windowRules"/> reaches from block (<paramref name="height"/>, <paramref name="timeMs"/>).</summary>
    public void Prune(IReadOnlyList<SupervisionRule> windowRules, ulong height, ulong timeMs)
    {
        while (_chronological.TryPeek(out var oldest) && !Needed(windowRules, oldest.Asset, oldest.Height, oldest.TimeMs, height, timeMs))
        {
            _chronological.Dequeue();
            var key = (oldest.Asset, oldest.Payer);
            var log = _byPayer[key];
            var removed = log.RemoveOldest();
            if (removed.Height != oldest.Height) Environment.FailFast($"payment windows out of order: {removed.Height} left a payer's log for {oldest.Height}");
            if (log.Count == 0) _byPayer.Remove(key);
        }
    }

    private static bool Needed(IReadOnlyList<SupervisionRule> windowRules, string asset, ulong entryHeight, ulong entryTimeMs, ulong height, ulong timeMs)
    {
        foreach (var rule in windowRules)
        {
            if (Windows.Reaches(rule, entryHeight, entryTimeMs, height, timeMs) && Execution.SupervisionRuleValidation.AssetOf(rule) == asset) return true;
        }

        return false;
    }
}

/// <summary>The window arithmetic every rule uses, on block heights and block timestamps only.</summary>
internal static class Windows
{
    /// <summary>
    /// True when something committed at (<paramref name="atHeight"/>, <paramref name="atTimeMs"/>) lies in the
    /// rule's window as seen from the block (<paramref name="height"/>, <paramref name="timeMs"/>): at or after the
    /// rule's effective height, among the last <c>window_blocks</c> blocks (the current one included) and less than
    /// <c>window_ms</c> before the current block's time. The window is half-open: a payment exactly
    /// <c>window_ms</c> earlier is out.
    /// </summary>
    public static bool Reaches(SupervisionRule rule, ulong atHeight, ulong atTimeMs, ulong height, ulong timeMs)
    {
        if (atHeight < rule.EffectiveHeight) return false;
        if (rule.WindowBlocks != 0 && height - Math.Min(atHeight, height) >= rule.WindowBlocks) return false;
        // Block times never go backwards on a chain; if one did, the difference is taken as zero rather than wrapping.
        if (rule.WindowMs != 0 && timeMs - Math.Min(atTimeMs, timeMs) >= rule.WindowMs) return false;
        return true;
    }
}
