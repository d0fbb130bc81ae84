using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Sdk;

/// <summary>A signed transaction ready to submit: its envelope bytes and its id.</summary>
public sealed record SignedTransaction(byte[] Envelope, Hash32 Id);

/// <summary>
/// Builds and signs transactions for one sender account with the chain's suite. The key may be a software key or
/// a PKCS#11 key (anything implementing <see cref="ISigningKey"/>). Replay protection is by expiry height and id:
/// the nonce only makes otherwise identical transactions distinct.
/// </summary>
public sealed class TransactionSigner(string chainId, ICryptoSuite suite, ISigningKey key, AccountId sender)
{
    private long _nonce = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;

    public AccountId Sender => sender;

    public SignedTransaction Sign(string contract, uint contractVersion, string method, IMessage arguments, ulong expiryHeight, ulong? nonce = null) =>
        Sign(contract, contractVersion, method, arguments.ToByteArray(), expiryHeight, gasLimit: 0, nonce);

    /// <summary>
    /// Signs a call whose arguments are raw bytes (application contracts define their own argument formats), with a
    /// gas limit (0: the chain's default).
    /// </summary>
    public SignedTransaction Sign(string contract, uint contractVersion, string method, ReadOnlySpan<byte> arguments, ulong expiryHeight, ulong gasLimit, ulong? nonce = null)
    {
        var body = new TransactionBody
        {
            ChainId = chainId,
            Sender = sender.ToByteString(),
            Nonce = nonce ?? (ulong)Interlocked.Increment(ref _nonce),
            ExpiryHeight = expiryHeight,
            Contract = contract,
            ContractVersion = contractVersion,
            Method = method,
            Arguments = ByteString.CopyFrom(arguments),
            Suite = suite.Id,
            GasLimit = gasLimit,
        }.ToByteString();
        var envelope = new TransactionEnvelope
        {
            Body = body,
            PublicKey = ByteString.CopyFrom(key.PublicKey.Encoded),
            Signature = ByteString.CopyFrom(key.SignObject(ObjectType.Transaction, body.Span)),
        };
        return new SignedTransaction(envelope.ToByteArray(), suite.HashObject(ObjectType.Transaction, body.Span));
    }

    public SignedTransaction Transfer(AccountId to, ulong amount, ulong expiryHeight, ulong? nonce = null) =>
        Sign(TokenContract.ContractName, 1, "transfer", new TransferArguments { To = to.ToByteString(), Amount = amount }, expiryHeight, nonce);
}
