using System.Diagnostics.CodeAnalysis;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Mempool.Tests;

/// <summary>Genesis state with a few registered accounts, and a way to sign transfers between them.</summary>
internal sealed class Chain : IStateReader
{
    public const string Id = "custos-mempool";
    private readonly SortedDictionary<byte[], byte[]> _state = new(ByteKeyComparer.Instance);

    public Chain(int accounts = 3)
    {
        for (var i = 0; i < accounts; i++)
        {
            Keys.Add(Suite.GenerateKey());
            Accounts.Add(new AccountId(0, (ulong)i + 1));
        }

        Apply(GenesisState.Build(Accounts.Select((a, i) => new GenesisAccount(a, "org1", Keys[i].PublicKey.ToArray(), AccountType.Ordinary, 1_000))));
    }

    public ICryptoSuite Suite { get; } = CryptoSuites.Intl;

    public List<SoftwareKey> Keys { get; } = [];

    public List<AccountId> Accounts { get; } = [];

    public AdmissionContext At(ulong height) => new(height, this);

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value) => _state.TryGetValue(key.ToArray(), out value);

    public void Apply(WriteSet writes)
    {
        foreach (var (key, value) in writes.Changes)
        {
            if (value is null) _state.Remove(key);
            else _state[key] = value;
        }
    }

    public TransactionPool Pool(MempoolLimits? limits = null) => new(Suite, Id, new SignatureCheck(Suite), limits);

    public byte[] Transfer(int from, ulong nonce, ulong expiry = 50, string chainId = Id, SoftwareKey? key = null, AccountId? sender = null)
    {
        var body = new TransactionBody
        {
            ChainId = chainId,
            Sender = (sender ?? Accounts[from]).ToByteString(),
            Nonce = nonce,
            ExpiryHeight = expiry,
            Contract = TokenContract.ContractName,
            ContractVersion = 1,
            Method = "transfer",
            Arguments = new TransferArguments { To = Accounts[(from + 1) % Accounts.Count].ToByteString(), Amount = 1 }.ToByteString(),
            Suite = Suite.Id,
        }.ToByteArray();
        var signer = key ?? Keys[from];
        return new TransactionEnvelope
        {
            Body = ByteString.CopyFrom(body),
            PublicKey = ByteString.CopyFrom(signer.PublicKey.Encoded),
            Signature = ByteString.CopyFrom(signer.SignObject(ObjectType.Transaction, body)),
        }.ToByteArray();
    }

    public Transaction Decode(byte[] envelope) =>
        Decoders.TryDecodeTransaction(envelope, out var transaction, out var error) ? transaction : throw error.ToException();
}
