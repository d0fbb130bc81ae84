using System.CommandLine;
using Custos.Cli.Audit;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage;

namespace Custos.Cli;

/// <summary>
/// `custos audit consensus --data DIR [--from H --to H]`: re-verifies a node's consensus history from its data
/// directory alone (docs/consensus.md, section 10): every QC and TC of the blocks and journal entries in the range,
/// the journal's whole hash chain, and the equivocations the journal shows, with the culprits' identities. Prints one
/// line per finding and per culprit, then
/// `audit: B blocks, Q certificates verified, J journal entries, E equivocations, F failures`; exits 1 if anything
/// failed to verify, and with a typed error (exit 2) if the directory is missing, damaged or in use.
/// </summary>
internal static class AuditCommands
{
    public const int ExitFailures = 1;

    public static Command Create(TextWriter output)
    {
        var command = new Command("audit", "Re-verify what a node recorded");
        command.Subcommands.Add(Consensus(output));
        return command;
    }

    private static Command Consensus(TextWriter output)
    {
        var data = new Option<string>("--data") { Description = "The node's data directory (stop the node first, or audit a backup)", Required = true };
        var from = new Option<ulong?>("--from") { Description = "First block height to audit (default: 0); the journal is audited from the entry after the last commit below it" };
        var to = new Option<ulong?>("--to") { Description = "Last block height to audit (default: the head); the journal is audited up to the last commit at or below it" };
        var command = new Command("consensus", "Re-verify every QC and TC, the journal's hash chain, and list equivocations with their culprits") { data, from, to };
        command.SetAction(parse =>
        {
            var directory = parse.GetValue(data)!;
            using var store = OpenStore(directory);
            var result = LedgerAuditSource.Audit(store, parse.GetValue(from), parse.GetValue(to));
            Print(output, directory, result);
            return result.Passed ? 0 : ExitFailures;
        });
        return command;
    }

    private static LedgerStore OpenStore(string directory)
    {
        try
        {
            return LedgerStore.Open(directory);
        }
        catch (CustosException e) when (e.Code == ErrorCode.StorageIo && e.Message.Contains("lock", StringComparison.OrdinalIgnoreCase))
        {
            // RocksDB lets one process open a directory; a running node holds it for as long as it runs.
            throw new CustosException(ErrorCode.StorageIo, $"{directory} is in use by another process (a running node holds its lock): stop the node or audit a backup (custos backup)", e);
        }
    }

    private static void Print(TextWriter output, string directory, LedgerAuditResult result)
    {
        var input = result.Input;
        var blocks = input.Heights is { } heights
            ? $"blocks {heights.From} to {heights.To} (head {input.HeadHeight})"
            : "no committed block";
        output.WriteLine($"audit consensus of chain '{input.ChainId}' ({input.Suite.Name}) in {directory}: {blocks}, journal entries [{input.JournalFrom}, {input.JournalTo}) of {input.JournalLength}");
        foreach (var finding in result.Findings) output.WriteLine(finding);
        foreach (var culprit in result.Culprits) output.WriteLine(Describe(culprit));
        output.WriteLine($"audit: {result.BlocksAudited} blocks, {result.Report.CertificatesVerified} certificates verified, {input.Journal.Count} journal entries, {result.EquivocationCount} equivocations, {result.FailureCount} failures");
    }

    private static string Describe(AuditCulprit culprit)
    {
        var node = culprit.Node is { } id ? $"node {id}{(culprit.Name is null ? "" : $" ({culprit.Name})")}" : "node unknown";
        var key = culprit.KeyFingerprint is null ? $"key unknown (no stored validator set for epoch {culprit.Epoch})" : $"key fingerprint {culprit.KeyFingerprint}";
        return $"culprit: validator {culprit.Index} of epoch {culprit.Epoch}, {node}, {key}, equivocated in round{(culprit.Rounds.Count == 1 ? "" : "s")} {string.Join(", ", culprit.Rounds)}";
    }
}
