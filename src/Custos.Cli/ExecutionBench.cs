using System.CommandLine;
using System.Diagnostics;
using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Sdk;
using Custos.Storage;
using Custos.Storage.State;
using Google.Protobuf;

namespace Custos.Cli;

/// <summary>
/// `custos bench execution`: where a validator's time goes per transaction, phase by phase, on one block pipeline
/// over a real store: signature verification (parallel, as admission and batch acceptance do it), execution by the
/// system contracts, staging the state tree, and the synced persist of the block.
/// </summary>
internal static class ExecutionBench
{
    public static Command Create(TextWriter output)
    {
        var transactions = new Option<int>("--transactions") { DefaultValueFactory = _ => 5_000, Description = "Transfers per block" };
        var blocks = new Option<int>("--blocks") { DefaultValueFactory = _ => 4, Description = "Blocks measured" };
        var accounts = new Option<int>("--accounts") { DefaultValueFactory = _ => 1_000, Description = "Funded accounts" };
        var suite = new Option<string>("--suite") { DefaultValueFactory = _ => "gm", Description = "gm or intl" };
        var command = new Command("execution", "Per-transaction cost of verification, execution, state staging and persist") { transactions, blocks, accounts, suite };
        command.SetAction(parse =>
        {
            var chainSuite = CryptoSuites.Parse(parse.GetValue(suite)!);
            var perBlock = parse.GetValue(transactions);
            var blockCount = parse.GetValue(blocks);
            var accountCount = parse.GetValue(accounts);
            if (perBlock < 1 || blockCount < 1 || accountCount < 2) throw new CustosException(ErrorCode.InvalidField, "need at least one transaction, one block and two accounts");
            var directory = Path.Combine(Path.GetTempPath(), $"custos-bench-execution-{Environment.ProcessId}");
            try
            {
                Run(output, chainSuite, perBlock, blockCount, accountCount, directory);
            }
            finally
            {
                if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            }

            return 0;
        });
        return command;
    }

    private static void Run(TextWriter output, ICryptoSuite suite, int perBlock, int blockCount, int accountCount, string directory)
    {
        const string chainId = "custos-bench";
        var keys = Enumerable.Range(0, accountCount).Select(_ => suite.GenerateKey()).ToList();
        var ids = keys.Select((_, i) => new AccountId(BitConverter.GetBytes((long)i + 1).Concat(new byte[8]).ToArray())).ToList();
        var genesisWrites = GenesisState.Build(keys.Select((k, i) => new GenesisAccount(ids[i], "org1", k.PublicKey.ToArray(), AccountType.Ordinary, 1_000_000_000)));
        using var store = LedgerStore.Create(directory, new ChainIdentity(chainId, Hash32.Zero, suite.Id));
        var genesis = Genesis.CreateBlock(chainId, 0, 1, StateHashing.EmptyRoot(suite), suite);
        store.Persist(new BlockPersist { Block = genesis.Decoded, StateWrites = genesisWrites.Changes.Select(c => new StateWrite(c.Key, c.Value)).ToList() });

        var signers = keys.Select((k, i) => new TransactionSigner(chainId, suite, k, ids[i])).ToList();
        var watch = Stopwatch.StartNew();
        var all = new Transaction[blockCount][];
        for (var b = 0; b < blockCount; b++)
        {
            var block = new Transaction[perBlock];
            Parallel.For(0, perBlock, i =>
            {
                var from = (b * perBlock + i) % accountCount;
                var signed = signers[from].Transfer(ids[(from + 1) % accountCount], 1, 1_000, (ulong)(b * perBlock + i));
                block[i] = Decoders.TryDecodeTransaction(signed.Envelope, out var t, out var e) ? t : throw e.ToException();
            });
            all[b] = block;
        }

        var signMs = watch.Elapsed.TotalMilliseconds;
        var signatures = new SignatureCheck(suite);
        var executor = new BlockExecutor(suite, BlockExecutor.StandardContracts, signatures: signatures);
        double verifyMs = 0, executeMs = 0, stageMs = 0, persistMs = 0;
        var parent = genesis;
        var failed = 0;
        for (var b = 0; b < blockCount; b++)
        {
            var transactions = all[b];
            watch.Restart();
            Parallel.For(0, transactions.Length, i => signatures.IsValid(transactions[i], transactions[i].ComputeId(suite)));
            verifyMs += watch.Elapsed.TotalMilliseconds;

            watch.Restart();
            var result = executor.Execute(new BlockContext(chainId, (ulong)b + 1, (ulong)b + 2, 0), transactions, new Custos.Node.Api.StoreStateReader(store));
            executeMs += watch.Elapsed.TotalMilliseconds;
            failed += result.Receipts.Count(r => r.Code != ErrorCode.Ok);

            watch.Restart();
            var delta = store.State.Stage(result.Writes.Changes.Select(c => new StateWrite(c.Key, c.Value)).ToList());
            stageMs += watch.Elapsed.TotalMilliseconds;

            var header = new BlockHeader
            {
                ChainId = chainId,
                Height = (ulong)b + 1,
                Round = (ulong)b + 1,
                ParentHash = parent.Hash.ToByteString(),
                TransactionRoot = MerkleRoot.Compute(suite, transactions.Select(t => t.ComputeId(suite)).ToArray()).ToByteString(),
                StateRoot = store.State.LatestRoot.ToByteString(),
                TimestampMs = (ulong)b + 2,
                ParentQc = Certify(parent, keys[0]),
            };
            var wire = new Block { Header = header.ToByteString() };
            foreach (var t in transactions) wire.Transactions.Add(ByteString.CopyFrom(t.Envelope.Span));
            var record = BlockRecord.Decode(wire.ToByteArray(), suite);
            watch.Restart();
            store.Persist(new BlockPersist { Block = record.Decoded, StateDelta = delta, Receipts = result.Receipts.Select(r => (ReadOnlyMemory<byte>)r.ToByteArray()).ToList() });
            persistMs += watch.Elapsed.TotalMilliseconds;
            parent = record;
        }

        if (failed > 0) throw new CustosException(ErrorCode.InvalidField, $"{failed} transfers failed in the benchmark");
        var n = (double)perBlock * blockCount;
        output.WriteLine($"execution bench: {blockCount} blocks of {perBlock} {suite.Name} transfers over {accountCount} accounts, {Environment.ProcessorCount} cores");
        output.WriteLine($"sign:    {signMs * 1000 / n,8:0.0} us/tx wall ({n / (signMs / 1000):0} per second, all cores)");
        output.WriteLine($"verify:  {verifyMs * 1000 / n,8:0.0} us/tx wall ({n / (verifyMs / 1000):0} per second, all cores, keys cached after first use)");
        output.WriteLine($"execute: {executeMs * 1000 / n,8:0.0} us/tx (one thread: replay checks, accounts, token contract)");
        output.WriteLine($"stage:   {stageMs * 1000 / n,8:0.0} us/tx (state tree: hashing and node writes)");
        output.WriteLine($"persist: {persistMs * 1000 / n,8:0.0} us/tx (one synced RocksDB batch per block)");
        output.WriteLine($"pipeline bound: {n / ((verifyMs + executeMs + stageMs + persistMs) / 1000):0} transactions per second on one validator");
    }

    /// <summary>A one-signer QC naming the parent: storage checks that it names the parent; no engine runs here.</summary>
    private static QuorumCertificate Certify(BlockRecord parent, ISigningKey key)
    {
        var data = new VoteData
        {
            ChainId = parent.Header.ChainId,
            Epoch = parent.Epoch,
            Round = parent.Round,
            Height = parent.Height,
            BlockHash = parent.Hash.ToByteString(),
            ParentRound = 0,
            ParentHash = parent.ParentHash.ToByteString(),
        }.ToByteString();
        return QuorumCertificates.Assemble(data, [(0u, key.SignObject(ObjectType.Vote, data.Span))]);
    }
}
