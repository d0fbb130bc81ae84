using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Custos.Contracts.Wasm;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Cli;

/// <summary>
/// `custos bench contracts`: calls per second of a token transfer as a WASM contract (contracts/examples/token.wat)
/// and as the native <c>token</c> system contract, through the same <see cref="BlockExecutor"/> over the same
/// in-memory state, in one run, blocks of each kind alternating. Signatures are verified (and cached) before the
/// blocks are timed, as admission does, so that only execution is measured. Figures only; no assertion on speed.
/// </summary>
internal static class ContractBench
{
    private const string ChainId = "custos-bench";
    private const string Token = "coin";

    public static Command Create(TextWriter output)
    {
        var transactions = new Option<int>("--transactions") { DefaultValueFactory = _ => 2_000, Description = "Transfers per block" };
        var blocks = new Option<int>("--blocks") { DefaultValueFactory = _ => 5, Description = "Blocks measured of each kind" };
        var accounts = new Option<int>("--accounts") { DefaultValueFactory = _ => 1_000, Description = "Funded accounts" };
        var suite = new Option<string>("--suite") { DefaultValueFactory = _ => "gm", Description = "gm or intl" };
        var command = new Command("contracts", "Token transfers per second: WASM contract against the native system contract, same executor and state")
        {
            transactions, blocks, accounts, suite,
        };
        command.SetAction(parse =>
        {
            var perBlock = parse.GetValue(transactions);
            var blockCount = parse.GetValue(blocks);
            var accountCount = parse.GetValue(accounts);
            if (perBlock < 1 || blockCount < 1 || accountCount < 2) throw new CustosException(ErrorCode.InvalidField, "need at least one transaction, one block and two accounts");
            Run(output, CryptoSuites.Parse(parse.GetValue(suite)!), perBlock, blockCount, accountCount);
            return 0;
        });
        return command;
    }

    private static void Run(TextWriter output, ICryptoSuite suite, int perBlock, int blockCount, int accountCount)
    {
        var keys = Enumerable.Range(0, accountCount).Select(_ => suite.GenerateKey()).ToList();
        var ids = keys.Select((_, i) => new AccountId(0, (ulong)i + 1)).ToList();
        var state = new MemoryState();
        state.Apply(GenesisState.Build(keys.Select((k, i) =>
            new GenesisAccount(ids[i], "org1", k.PublicKey.ToArray(), i == 0 ? AccountType.SpecialPrivilege : AccountType.Ordinary, 1_000_000_000))));

        using var runtime = new WasmContractRuntime();
        var signatures = new SignatureCheck(suite);
        var executor = new BlockExecutor(suite, [.. BlockExecutor.StandardContracts, new ContractRegistryContract(runtime)], signatures: signatures, runtime: runtime);
        var module = ExampleContracts.Module("token");
        ApproveDirectly(state, suite, module);

        ulong height = 0;
        ulong nonce = 0;
        Transaction Sign(int from, string contract, string method, byte[] arguments) => SignRaw(suite, keys[from], ids[from], contract, method, arguments, ++nonce, height + 1_000);
        BlockExecutionResult Execute(IReadOnlyList<Transaction> block, out double milliseconds)
        {
            height++;
            var watch = Stopwatch.StartNew();
            var result = executor.Execute(new BlockContext(ChainId, height, 1_767_225_600_000 + height * 1000, 0), block, state);
            milliseconds = watch.Elapsed.TotalMilliseconds;
            state.Apply(result.Writes);
            var failed = result.Receipts.FirstOrDefault(r => r.Code != ErrorCode.Ok);
            if (failed is not null) throw new CustosException(ErrorCode.InvalidField, $"a benchmark transaction failed: {failed.Code} {failed.Message}");
            return result;
        }

        Execute([Sign(0, ContractRegistry.Namespace, "deploy", new ContractDeployArguments { Name = Token, Version = 1, Module = ByteString.CopyFrom(module) }.ToByteArray())], out _);
        Execute(ids.Select(id => Sign(0, Token, "mint", TokenArguments(id, 1_000_000_000))).ToList(), out _);

        // Every block is signed and its signatures verified (cached) before anything is timed.
        var native = new List<Transaction[]>();
        var wasm = new List<Transaction[]>();
        for (var b = 0; b <= blockCount; b++)
        {
            native.Add(Transfers(b, (from, to) => Sign(from, TokenContract.ContractName, "transfer", new TransferArguments { To = ids[to].ToByteString(), Amount = 1 }.ToByteArray())));
            wasm.Add(Transfers(b, (from, to) => Sign(from, Token, "transfer", TokenArguments(ids[to], 1))));
        }

        Transaction[] Transfers(int block, Func<int, int, Transaction> transfer) =>
            [.. Enumerable.Range(0, perBlock).Select(i => (block * perBlock + i) % accountCount).Select(from => transfer(from, (from + 1) % accountCount))];

        foreach (var block in native.Concat(wasm)) Parallel.ForEach(block, t => signatures.IsValid(t, t.ComputeId(suite)));

        // Block 0 of each kind warms up (compilation, caches); the rest alternate and are timed.
        Execute(native[0], out _);
        Execute(wasm[0], out _);
        double nativeMs = 0, wasmMs = 0;
        ulong nativeGas = 0, wasmGas = 0;
        for (var b = 1; b <= blockCount; b++)
        {
            nativeGas += (ulong)Execute(native[b], out var n).Receipts.Sum(r => (long)r.GasUsed);
            wasmGas += (ulong)Execute(wasm[b], out var w).Receipts.Sum(r => (long)r.GasUsed);
            nativeMs += n;
            wasmMs += w;
        }

        var calls = (double)perBlock * blockCount;
        var nativeRate = calls / (nativeMs / 1000);
        var wasmRate = calls / (wasmMs / 1000);
        output.WriteLine($"contracts bench: {blockCount} blocks of {perBlock} transfers of each kind over {accountCount} accounts, suite {suite.Name}, in-memory state, {Environment.ProcessorCount} cores");
        output.WriteLine($"token module: {module.Length} bytes (contracts/examples/token.wat), signatures verified before timing");
        output.WriteLine($"native token (system contract):  {nativeRate,10:N0} calls/s  {nativeMs * 1000 / calls,7:F1} us/call  {nativeGas / calls,8:N0} gas/call");
        output.WriteLine($"wasm token (Wasmtime):           {wasmRate,10:N0} calls/s  {wasmMs * 1000 / calls,7:F1} us/call  {wasmGas / calls,8:N0} gas/call");
        output.WriteLine($"ratio: {wasmRate / nativeRate:F3} (wasm calls/s ÷ native calls/s)");
    }

    /// <summary>Stands in for a passed governance proposal: the approval record governance would write.</summary>
    private static void ApproveDirectly(MemoryState state, ICryptoSuite suite, byte[] module)
    {
        var decision = new ContractDecision { Proposal = "bench", Height = 0, Reason = "bench" };
        var approval = new ContractApproval { Name = Token, Version = 1, CodeHash = suite.Hash(module).ToByteString(), Decision = decision };
        var record = new ContractRecord { Name = Token, Status = ContractStatus.Approved };
        record.History.Add(new ContractStatusChange { Status = ContractStatus.Approved, Version = 1, Decision = decision });
        state.Put(ContractRegistry.ApprovalKey(Token, 1), approval.ToByteArray());
        state.Put(ContractRegistry.RecordKey(Token), record.ToByteArray());
    }

    private static byte[] TokenArguments(AccountId to, ulong amount)
    {
        var bytes = new byte[24];
        to.CopyTo(bytes);
        BitConverter.TryWriteBytes(bytes.AsSpan(16), amount);
        return bytes;
    }

    private static Transaction SignRaw(ICryptoSuite suite, SoftwareKey key, AccountId sender, string contract, string method, byte[] arguments, ulong nonce, ulong expiry)
    {
        var body = new TransactionBody
        {
            ChainId = ChainId,
            Sender = sender.ToByteString(),
            Nonce = nonce,
            ExpiryHeight = expiry,
            Contract = contract,
            ContractVersion = 1,
            Method = method,
            Arguments = ByteString.CopyFrom(arguments),
            Suite = suite.Id,
        }.ToByteArray();
        var envelope = new TransactionEnvelope
        {
            Body = ByteString.CopyFrom(body),
            PublicKey = ByteString.CopyFrom(key.PublicKey.Encoded),
            Signature = ByteString.CopyFrom(key.SignObject(ObjectType.Transaction, body)),
        };
        return Decoders.TryDecodeTransaction(envelope.ToByteArray(), out var transaction, out var error) ? transaction : throw error.ToException();
    }

    private sealed class MemoryState : IStateReader
    {
        private readonly Dictionary<byte[], byte[]> _values = new(ByteKeyComparer.Instance);

        public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value) =>
            _values.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out value);

        public void Put(byte[] key, byte[] value) => _values[key] = value;

        public void Apply(WriteSet writes)
        {
            foreach (var (key, value) in writes.Changes)
            {
                if (value is null) _values.Remove(key);
                else _values[key] = value;
            }
        }
    }
}
