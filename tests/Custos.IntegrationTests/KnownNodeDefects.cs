namespace Custos.IntegrationTests;

/// <summary>
/// Node defects these tests found (both fixed since: storage keeps a repeated transaction's first location instead
/// of refusing the block, and the relay bans a peer sending undecodable consensus messages), recognised by the log
/// line a node writes when one strikes. Should one come back, the failing test names it in its message.
/// </summary>
internal static class KnownNodeDefects
{
    private static readonly (string Signature, string Description)[] Defects =
    [
        ("is already stored",
            "node defect: a block repeating transactions that are already committed gets proposed, certified and committed, and "
            + "LedgerStore.Persist refuses it ('transaction ... in block N is already stored'), which stops consensus on every "
            + "validator that commits it. BatchStore forgets a batch only when a committed block's batch digests were recorded "
            + "(own proposals, rebuilt compact proposals; not blocks got by sync, whose compact proposal was still parked for a missing batch, or sent in full), and it accepts again any "
            + "batch it no longer holds (a late broadcast copy, send queues flushed to a restarted peer); nothing checks a batch's "
            + "transactions against those already committed before proposing or voting, since execution merely gives them "
            + "DUPLICATE_TRANSACTION receipts"),
    ];

    /// <summary>Checked directly by the test that expects the ban, since the node writes nothing when it does not ban.</summary>
    public const string ConsensusGarbageNotBanned =
        "node defect: a peer that sends an undecodable CONSENSUS frame is not banned (docs/network.md, NET-4: a payload that "
        + "fails validation bans its sender). PeerRelay passes consensus payloads to the engine unchecked, and the engine only "
        + "journals them as Rejected; nothing reports the sender through IPeerNetwork.ReportMisbehaviour. The message was "
        + "delivered on an admitted link as node4 and node4's next handshakes were still admitted 15 s later";

    /// <summary>The description of the defect behind these halt lines, with the first line as evidence; null if none is known.</summary>
    public static string? Recognise(IReadOnlyList<string> haltLines)
    {
        foreach (var (signature, description) in Defects)
        {
            var line = haltLines.FirstOrDefault(l => l.Contains(signature, StringComparison.Ordinal));
            if (line is not null) return $"{description}. Seen: {line}";
        }

        return null;
    }
}
