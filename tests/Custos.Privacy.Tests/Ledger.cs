// Copied from tests/Custos.Execution.Tests/Ledger.cs: runs blocks through the real BlockExecutor in memory.
using System.Diagnostics.CodeAnalysis;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Tests;

/// <summary>Committed state in memory, advanced block by block with the executor, as storage will do it.</summary>
internal sealed class Ledger : IStateReader
{
    public const string ChainId = "custos-test";
    private readonly SortedDictionary<byte[], byte[]> _state = new(ByteKeyComparer.Instance);

    public Ledger(ICryptoSuite suite, int accounts, ulong balance, AccountType type = AccountType.Ordinary,
        IReadOnlyList<ISystemContract>? contracts = null, Func<int, (string Organisation, AccountType Type)>? accountOf = null,
        IEnumerable<GenesisOrganisationRole>? organisations = null, ExecutionLimits? limits = null, IEnumerable<GenesisValidator>? validators = null)
    {
        Suite = suite;
        Executor = new BlockExecutor(suite, contracts ?? BlockExecutor.StandardContracts, limits);
        for (var i = 0; i < accounts; i++)
        {
            Keys.Add(suite.GenerateKey());
            Ids.Add(new AccountId(0, (ulong)i + 1));
        }

        accountOf ??= i => (i % 2 == 0 ? "org1" : "org2", i == 0 ? AccountType.SpecialPrivilege : type);
        Apply(GenesisState.Build(
            Ids.Select((id, i) => new GenesisAccount(id, accountOf(i).Organisation, Keys[i].PublicKey.ToArray(), accountOf(i).Type, balance)),
            organisations, validators));
    }

    public ICryptoSuite Suite { get; }

    public BlockExecutor Executor { get; }

    public List<SoftwareKey> Keys { get; } = [];

    public List<AccountId> Ids { get; } = [];

    public ulong Height { get; private set; }

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value) => _state.TryGetValue(key.ToArray(), out value);

    public void Apply(WriteSet writes)
    {
        foreach (var (key, value) in writes.Changes)
        {
            if (value is null) _state.Remove(key);
            else _state[key] = value;
        }
    }

    public int Count => _state.Count;

    public IEnumerable<KeyValuePair<byte[], byte[]>> Entries => _state;

    public BlockExecutionResult Execute(params Transaction[] transactions)
    {
        Height++;
        var result = Executor.Execute(new BlockContext(ChainId, Height, 1_767_225_600_000 + Height * 1000, 0), transactions, this);
        Apply(result.Writes);
        return result;
    }

    public ulong Balance(int account) => TokenContract.ReadBalance(this, Ids[account]);

    public ulong Supply => TokenContract.ReadSupply(this);

    public Transaction Transfer(int from, int to, ulong amount, ulong nonce = 1, ulong? expiry = null, ulong gasLimit = 0) =>
        Sign(from, TokenContract.ContractName, "transfer", new TransferArguments { To = Ids[to].ToByteString(), Amount = amount }, nonce, expiry, gasLimit);

    public Transaction Sign(int from, string contract, string method, IMessage arguments, ulong nonce = 1, ulong? expiry = null, ulong gasLimit = 0,
        uint version = 1, SoftwareKey? key = null, AccountId? sender = null) =>
        SignRaw(from, contract, method, arguments.ToByteString(), nonce, expiry, gasLimit, version, key, sender);

    public Transaction SignRaw(int from, string contract, string method, ByteString arguments, ulong nonce = 1, ulong? expiry = null, ulong gasLimit = 0,
        uint version = 1, SoftwareKey? key = null, AccountId? sender = null)
    {
        var body = new TransactionBody
        {
            ChainId = ChainId,
            Sender = (sender ?? Ids[from]).ToByteString(),
            Nonce = nonce,
            ExpiryHeight = expiry ?? Height + 100,
            Contract = contract,
            ContractVersion = version,
            Method = method,
            Arguments = arguments,
            Suite = Suite.Id,
            GasLimit = gasLimit,
        };
        var signer = key ?? Keys[from];
        var bodyBytes = body.ToByteArray();
        var envelope = new TransactionEnvelope
        {
            Body = ByteString.CopyFrom(bodyBytes),
            PublicKey = ByteString.CopyFrom(signer.PublicKey.Encoded),
            Signature = ByteString.CopyFrom(signer.SignObject(ObjectType.Transaction, bodyBytes)),
        };
        if (!Decoders.TryDecodeTransaction(envelope.ToByteArray(), out var transaction, out var error)) throw error.ToException();
        return transaction;
    }
}
