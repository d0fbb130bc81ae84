using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.DigitalCurrency.Tests;

/// <summary>
/// Committed state in memory, advanced block by block with the real executor. Unlike the execution tests' ledger it
/// sets each block's header timestamp (the limits' day and year windows come from it) and can be forked, so that a
/// property test starts every sample from one prepared state.
/// </summary>
internal sealed class Ledger : IStateReader
{
    public const string ChainId = "custos-dcep-test";

    /// <summary>2026-01-01T00:00:00Z.</summary>
    public const ulong Genesis2026Ms = 1_767_225_600_000;

    private readonly SortedDictionary<byte[], byte[]> _state;
    private ulong _nonce;

    public Ledger(ICryptoSuite suite, IReadOnlyList<(string Organisation, AccountType Type)> accounts, IEnumerable<GenesisOrganisationRole> organisations,
        IReadOnlyList<ISystemContract> contracts)
    {
        Suite = suite;
        Contracts = contracts;
        Executor = new BlockExecutor(suite, contracts);
        _state = new SortedDictionary<byte[], byte[]>(ByteKeyComparer.Instance);
        for (var i = 0; i < accounts.Count; i++)
        {
            Keys.Add(suite.GenerateKey());
            Ids.Add(new AccountId(0, (ulong)i + 1));
        }

        Apply(GenesisState.Build(Ids.Select((id, i) => new GenesisAccount(id, accounts[i].Organisation, Keys[i].PublicKey.ToArray(), accounts[i].Type, 0)), organisations));
    }

    private Ledger(Ledger source)
    {
        Suite = source.Suite;
        Contracts = source.Contracts;
        Executor = new BlockExecutor(Suite, Contracts);
        _state = new SortedDictionary<byte[], byte[]>(source._state, ByteKeyComparer.Instance);
        Keys.AddRange(source.Keys);
        Ids.AddRange(source.Ids);
        Height = source.Height;
        NowMs = source.NowMs;
        _nonce = source._nonce;
    }

    public ICryptoSuite Suite { get; }

    public IReadOnlyList<ISystemContract> Contracts { get; }

    public BlockExecutor Executor { get; }

    public List<SoftwareKey> Keys { get; } = [];

    public List<AccountId> Ids { get; } = [];

    public ulong Height { get; private set; }

    /// <summary>The next block's header timestamp; each block moves it on by a second unless a test sets it.</summary>
    public ulong NowMs { get; set; } = Genesis2026Ms;

    public IEnumerable<KeyValuePair<byte[], byte[]>> Entries => _state;

    public Ledger Fork() => new(this);

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value) => _state.TryGetValue(key.ToArray(), out value);

    public void Apply(WriteSet writes)
    {
        foreach (var (key, value) in writes.Changes)
        {
            if (value is null) _state.Remove(key);
            else _state[key] = value;
        }
    }

    /// <summary>Writes state directly, as a passed governance proposal or supervision decision would have.</summary>
    public void Put(byte[] key, byte[] value) => _state[key] = value;

    public void SetParameter(string name, ulong value)
    {
        var bytes = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        Put(ConsortiumRegistry.ParameterKey(name), bytes);
    }

    public BlockExecutionResult Execute(params Transaction[] transactions)
    {
        Height++;
        var result = Executor.Execute(new BlockContext(ChainId, Height, NowMs, 0), transactions, this);
        Apply(result.Writes);
        NowMs += 1_000;
        return result;
    }

    /// <summary>Runs one transaction in a block of its own and returns its receipt.</summary>
    public Receipt Run(Transaction transaction) => Assert.Single(Execute(transaction).Receipts);

    public Transaction Sign(int from, string contract, string method, IMessage arguments) =>
        Sign(Ids[from], Keys[from], contract, method, arguments);

    public Transaction Sign(AccountId sender, SoftwareKey key, string contract, string method, IMessage arguments) =>
        SignRaw(sender, key, contract, method, arguments.ToByteString());

    public Transaction SignRaw(AccountId sender, SoftwareKey key, string contract, string method, ByteString arguments)
    {
        var body = new TransactionBody
        {
            ChainId = ChainId,
            Sender = sender.ToByteString(),
            Nonce = ++_nonce,
            ExpiryHeight = Height + 100,
            Contract = contract,
            ContractVersion = 1,
            Method = method,
            Arguments = arguments,
            Suite = Suite.Id,
        };
        var bodyBytes = body.ToByteArray();
        var envelope = new TransactionEnvelope
        {
            Body = ByteString.CopyFrom(bodyBytes),
            PublicKey = ByteString.CopyFrom(key.PublicKey.Encoded),
            Signature = ByteString.CopyFrom(key.SignObject(ObjectType.Transaction, bodyBytes)),
        };
        if (!Decoders.TryDecodeTransaction(envelope.ToByteArray(), out var transaction, out var error)) throw error.ToException();
        return transaction;
    }

    public Hash32 IdOf(Transaction transaction) => transaction.ComputeId(Suite);
}
