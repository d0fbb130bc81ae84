using System.CommandLine;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage;

namespace Custos.Cli;

/// <summary>
/// `custos backup`, `custos restore` and `custos storage info|verify`: the operator's tools for a node's data
/// directory. Every refusal (missing or damaged directory, another chain's data, a non-empty target, a full disk) is a
/// typed error and a non-zero exit, and nothing existing is overwritten.
/// </summary>
internal static class StorageCommands
{
    public static Command Backup(TextWriter output)
    {
        var data = new Option<string>("--data") { Description = "The node's data directory", Required = true };
        var target = new Option<string>("--out") { Description = "Directory to write the backup to (absent or empty)", Required = true };
        var command = new Command("backup", "Write a consistent checkpoint of a data directory (RocksDB checkpoint: hard links where possible)") { data, target };
        command.SetAction(parse =>
        {
            using var store = LedgerStore.Open(parse.GetValue(data)!);
            var outDirectory = parse.GetValue(target)!;
            store.Checkpoint(outDirectory);
            output.WriteLine($"backup of {store.Identity} written to {outDirectory}");
            PrintHead(output, store.Head);
            return 0;
        });
        return command;
    }

    public static Command Restore(TextWriter output)
    {
        var backup = new Option<string>("--backup") { Description = "A directory written by `custos backup`", Required = true };
        var data = new Option<string>("--data") { Description = "Data directory to restore into (absent or empty)", Required = true };
        var chainId = new Option<string?>("--chain-id") { Description = "Refuse a backup of any other chain" };
        var command = new Command("restore", "Restore a backup into an empty data directory, verifying the whole chain and state before it is put in place") { backup, data, chainId };
        command.SetAction(parse =>
        {
            var backupDirectory = parse.GetValue(backup)!;
            var identity = LedgerStore.ReadIdentity(backupDirectory);
            var expectedChain = parse.GetValue(chainId);
            if (expectedChain is not null && expectedChain != identity.ChainId)
            {
                throw new CustosException(ErrorCode.WrongChain, $"the backup holds {identity}, not chain '{expectedChain}'");
            }

            var verification = LedgerStore.Restore(backupDirectory, parse.GetValue(data)!, identity);
            output.WriteLine($"restored {identity} into {parse.GetValue(data)}");
            PrintVerification(output, verification);
            return 0;
        });
        return command;
    }

    public static Command Storage(TextWriter output)
    {
        var command = new Command("storage", "Inspect and verify a data directory");
        var infoData = new Option<string>("--data") { Description = "The node's data directory", Required = true };
        var info = new Command("info", "Print a data directory's chain identity and head") { infoData };
        info.SetAction(parse =>
        {
            using var store = LedgerStore.Open(parse.GetValue(infoData)!);
            output.WriteLine($"chain:         {store.Identity.ChainId}");
            output.WriteLine($"genesis hash:  {store.Identity.GenesisHash}");
            output.WriteLine($"suite:         {store.Identity.Suite.ToString().ToLowerInvariant()}");
            PrintHead(output, store.Head);
            output.WriteLine($"journal:       {store.Journal.Head.Length} entries");
            output.WriteLine($"oldest state:  version {store.State.OldestRetainedVersion}");
            return 0;
        });
        var verifyData = new Option<string>("--data") { Description = "The node's data directory", Required = true };
        var quick = new Option<bool>("--quick") { Description = "Check blocks, links and the journal but do not walk the state tree" };
        var verify = new Command("verify", "Verify the chain (hash links, parent QCs, state roots), the journal and the latest state tree") { verifyData, quick };
        verify.SetAction(parse =>
        {
            using var store = LedgerStore.Open(parse.GetValue(verifyData)!);
            PrintVerification(output, store.VerifyChain(recomputeState: !parse.GetValue(quick)));
            return 0;
        });
        command.Subcommands.Add(info);
        command.Subcommands.Add(verify);
        return command;
    }

    private static void PrintHead(TextWriter output, StoreHead? head)
    {
        if (head is null)
        {
            output.WriteLine("head:          no block yet");
            return;
        }

        output.WriteLine($"head:          block {head.Height} {head.BlockHash}");
        output.WriteLine($"state root:    {head.StateRoot}");
    }

    private static void PrintVerification(TextWriter output, ChainVerification verification)
    {
        output.WriteLine($"verified:      {verification.BlocksChecked} blocks, {verification.JournalEntries} journal entries");
        PrintHead(output, verification.Head);
        if (verification.StateKeys >= 0) output.WriteLine($"state:         {verification.StateKeys} keys, root recomputed {verification.StateRoot}");
    }
}
