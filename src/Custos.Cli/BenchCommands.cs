using System.CommandLine;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage.Benchmarks;

namespace Custos.Cli;

/// <summary>
/// `custos bench &lt;subsystem&gt;`: measurements that print ratios against this machine's own limits. Each subsystem is
/// one subcommand (storage here; crypto and network join as siblings).
/// </summary>
internal static class BenchCommands
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("bench", "Measure a subsystem against this machine's own limits");
        command.Subcommands.Add(Storage(output));
        command.Subcommands.Add(NetworkBench.Create(output));
        command.Subcommands.Add(ExecutionBench.Create(output));
        command.Subcommands.Add(ContractBench.Create(output));
        command.Subcommands.Add(CryptoBench.Create(output));
        return command;
    }

    private static Command Storage(TextWriter output)
    {
        var keys = new Option<long>("--keys") { Description = "Keys loaded into the state before updates are measured", DefaultValueFactory = _ => 1_000_000 };
        var perBlock = new Option<int>("--updates-per-block") { Description = "State updates per block (puts per raw batch)", DefaultValueFactory = _ => 5_000 };
        var blocks = new Option<int>("--update-blocks") { Description = "Blocks of random updates measured after the load", DefaultValueFactory = _ => 60 };
        var valueBytes = new Option<int>("--value-bytes") { Description = "Size of each state value", DefaultValueFactory = _ => 128 };
        var proofs = new Option<int>("--proofs") { Description = "Proofs generated and verified", DefaultValueFactory = _ => 20_000 };
        var crypto = new Option<string>("--crypto") { Description = "Hash of the tree: gm (SM3, default) or intl (SHA-256)", DefaultValueFactory = _ => "gm" };
        crypto.AcceptOnlyFromAmong("gm", "intl");
        var directory = new Option<string?>("--dir") { Description = "Directory for the two databases (default: a fresh temporary one, removed afterwards)" };
        var command = new Command("storage", "Authenticated state updates, proofs, and raw RocksDB puts of the same sizes, measured in one run")
        {
            keys, perBlock, blocks, valueBytes, proofs, crypto, directory,
        };
        command.SetAction(parse =>
        {
            var suite = CryptoSuites.Parse(parse.GetValue(crypto)!);
            var options = new StorageBenchmarkOptions
            {
                Keys = parse.GetValue(keys),
                UpdatesPerBlock = parse.GetValue(perBlock),
                UpdateBlocks = parse.GetValue(blocks),
                ValueBytes = parse.GetValue(valueBytes),
                Proofs = parse.GetValue(proofs),
                Suite = suite.Id,
                Directory = parse.GetValue(directory),
            };
            if (options.UpdateBlocks <= 0 || options.Proofs <= 0)
            {
                throw new CustosException(ErrorCode.InvalidField, "--update-blocks and --proofs must be positive");
            }

            var hashName = suite.Id == CryptoSuiteId.Gm ? "SM3" : "SHA-256";
            output.WriteLine($"custos bench storage: {options.Keys:N0} keys, {options.UpdatesPerBlock:N0} updates per block (synced), {options.KeyBytes}-byte keys, {options.ValueBytes}-byte values, suite {suite.Name} ({hashName}), {Environment.ProcessorCount} cores");
            var report = StorageBenchmark.Run(options, output);
            var perBlockCount = options.UpdatesPerBlock;
            output.WriteLine($"load:      authenticated {report.LoadAuthenticatedPerSecond,10:N0} inserts/s   raw RocksDB {report.LoadRawPerSecond,10:N0} puts/s");
            output.WriteLine($"update:    authenticated {report.UpdateAuthenticatedPerSecond,10:N0} updates/s   raw RocksDB {report.UpdateRawPerSecond,10:N0} puts/s");
            output.WriteLine($"proofs:    generated {report.ProofsGeneratedPerSecond:N0}/s, verified {report.ProofsVerifiedPerSecond:N0}/s, {report.ProofBytesMean:N0} bytes on average");
            output.WriteLine($"where a block of {perBlockCount:N0} updates goes (update phase):");
            output.WriteLine($"  stage: hash keys, values and leaves; walk the tree; hash changed nodes ({Environment.ProcessorCount} threads)  {report.StageMillisecondsPerBlock,7:F1} ms");
            output.WriteLine($"    of which {hashName} alone, single-threaded equivalent                             {report.HashMillisecondsPerBlockSingleThread,7:F1} ms");
            output.WriteLine($"    tree nodes read from RocksDB (node cache misses)                                {report.NodesReadFromDiskPerBlock,7:F1} per block");
            output.WriteLine($"  persist: encode {report.NodesPerBlock:N0} nodes and values ({report.NodeBytesPerBlock / 1024 / 1024:F2} MiB), one synced RocksDB batch    {report.PersistMillisecondsPerBlock,7:F1} ms");
            output.WriteLine($"  raw RocksDB: one synced batch of the same puts ({perBlockCount * (options.KeyBytes + options.ValueBytes) / 1024.0 / 1024:F2} MiB)                {report.RawMillisecondsPerBatch,7:F1} ms");
            output.WriteLine($"  cpu time (all threads): authenticated {report.UpdateCpuMillisecondsPerBlock:F1} ms per block, raw {report.RawCpuMillisecondsPerBatch:F1} ms per batch; garbage collection pauses {report.GcPauseMillisecondsPerBlock:F1} ms per block (batch GC)");
            output.WriteLine($"ratio: {report.Ratio:F3} (authenticated updates/s ÷ raw RocksDB puts/s, update phase)");
            return 0;
        });
        return command;
    }
}
