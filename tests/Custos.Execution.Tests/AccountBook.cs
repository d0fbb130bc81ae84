using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution.Tests;

/// <summary>
/// A ledger with the cast of the account lifecycle tests: two member organisations with an administrator (the
/// registrar) and ordinary accounts each, and a regulator organisation with an administrator and a clerk. The key
/// reset lock window is <see cref="LockBlocks"/> blocks.
/// </summary>
internal sealed class AccountBook
{
    public const int Issuer = 0;
    public const int Org1Admin = 1;
    public const int Alice = 2;
    public const int Bob = 3;
    public const int Org2Admin = 4;
    public const int Carol = 5;
    public const int Regulator = 6;
    public const int RegulatorClerk = 7;
    public const ulong LockBlocks = 5;
    public const ulong OpeningBalance = 1_000;

    private static readonly (string Organisation, AccountType Type)[] Cast =
    [
        ("org1", AccountType.SpecialPrivilege),
        ("org1", AccountType.Administrator),
        ("org1", AccountType.Ordinary),
        ("org1", AccountType.Ordinary),
        ("org2", AccountType.Administrator),
        ("org2", AccountType.Ordinary),
        ("pboc", AccountType.Administrator),
        ("pboc", AccountType.Ordinary),
    ];

    private static readonly byte[] LedgerPrefix = [.. Encoding.ASCII.GetBytes(BlockExecutor.LedgerNamespace), 0];

    private ulong _nonce;

    public AccountBook()
    {
        Ledger = new Ledger(CryptoSuites.Intl, Cast.Length, OpeningBalance, accountOf: i => Cast[i],
            organisations:
            [
                new GenesisOrganisationRole("org1", OrganisationRole.Member),
                new GenesisOrganisationRole("org2", OrganisationRole.Member),
                new GenesisOrganisationRole("pboc", OrganisationRole.Regulator),
            ],
            limits: new ExecutionLimits { KeyResetLockBlocks = LockBlocks });
    }

    public Ledger Ledger { get; }

    public Receipt Run(Transaction transaction) => Assert.Single(Ledger.Execute(transaction).Receipts);

    public Receipt Call(int from, string method, IMessage arguments, SoftwareKey? key = null) =>
        Run(Ledger.Sign(from, AccountRegistry.ContractName, method, arguments, nonce: ++_nonce, key: key));

    public Receipt Pay(int from, int to, ulong amount, SoftwareKey? key = null) =>
        Run(Ledger.Sign(from, TokenContract.ContractName, "transfer", new TransferArguments { To = Ledger.Ids[to].ToByteString(), Amount = amount },
            nonce: ++_nonce, key: key));

    public Receipt Freeze(int by, int account, string reason = "registrar: suspected fraud") => Call(by, "freeze", Decision(account, reason));

    public Receipt Unfreeze(int by, int account, string reason = "investigation closed") => Call(by, "unfreeze", Decision(account, reason));

    public Receipt Cancel(int by, int account, string reason = "customer request") => Call(by, "cancel", Decision(account, reason));

    public Receipt RequestKeyReset(int by, int account, SoftwareKey newKey, string reason = "key lost") =>
        Call(by, "request_key_reset", new KeyResetArguments { AccountId = Ledger.Ids[account].ToByteString(), NewPublicKey = Encoded(newKey), Reason = reason });

    public Receipt CancelKeyReset(int account, SoftwareKey? key = null) => Call(account, AccountRegistry.CancelKeyResetMethod, new AccountDecisionArguments(), key);

    public Receipt SetExpiry(int by, int account, ulong expiresAtHeight) =>
        Call(by, "set_expiry", new SetExpiryArguments { AccountId = Ledger.Ids[account].ToByteString(), ExpiresAtHeight = expiresAtHeight, Reason = "renewal" });

    public AccountDecisionArguments Decision(int account, string reason) => new() { AccountId = Ledger.Ids[account].ToByteString(), Reason = reason };

    public AccountRecord Record(int account) => AccountRegistry.Load(Ledger, Ledger.Ids[account])!;

    public ulong Balance(int account) => Ledger.Balance(account);

    public SoftwareKey NewKey() => Ledger.Suite.GenerateKey();

    public static ByteString Encoded(SoftwareKey key) => ByteString.CopyFrom(key.PublicKey.Encoded);

    /// <summary>Runs empty blocks until the ledger's height is <paramref name="height"/>.</summary>
    public void AdvanceTo(ulong height)
    {
        while (Ledger.Height < height) Ledger.Execute();
    }

    /// <summary>
    /// Asserts that <paramref name="act"/> is refused with <paramref name="code"/>, emits nothing and changes no
    /// state but the replay record every executed transaction leaves.
    /// </summary>
    public Receipt AssertRefused(ErrorCode code, Func<Receipt> act)
    {
        var before = Snapshot();
        var receipt = act();
        Assert.Equal(code, receipt.Code);
        Assert.Empty(receipt.Events);
        Assert.Equal(before, Snapshot());
        return receipt;
    }

    /// <summary>Every state entry outside system.ledger, hex-encoded in key order.</summary>
    private string Snapshot() => string.Join("\n", Ledger.Entries
        .Where(e => !e.Key.AsSpan().StartsWith(LedgerPrefix))
        .Select(e => Convert.ToHexString(e.Key) + "=" + Convert.ToHexString(e.Value)));
}
