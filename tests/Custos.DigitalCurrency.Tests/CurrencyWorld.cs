using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.DigitalCurrency.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Identity.Pseudonyms;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.DigitalCurrency.Tests;

/// <summary>A wallet as its holder sees it: the pseudonymous account, its key and the credential it was opened under.</summary>
internal sealed record TestWallet(AccountId Account, SoftwareKey Key, Hash32 CredentialId, int Operator);

/// <summary>
/// A consortium with a central bank (pboc), two operators (bank1, bank2), a member that is not an operator (bank3) and
/// the regulator, with the escrow policy set, so that tests open wallets under real pseudonym credentials.
/// </summary>
internal sealed class CurrencyWorld
{
    public const int CentralBank = 0, Bank1Admin = 1, Bank1Settlement = 2, Bank2Admin = 3, Bank2Settlement = 4, Regulator = 5, Bank3Admin = 6,
        Bank1Customer = 7, CentralBankAdmin = 8;

    public const ulong Reserve = 1_000_000_000_000;

    private static readonly (string, AccountType)[] Accounts =
    [
        ("pboc", AccountType.SpecialPrivilege), ("bank1", AccountType.Administrator), ("bank1", AccountType.Ordinary),
        ("bank2", AccountType.Administrator), ("bank2", AccountType.Ordinary), ("regulator", AccountType.Administrator),
        ("bank3", AccountType.Administrator), ("bank1", AccountType.Ordinary), ("pboc", AccountType.Administrator),
    ];

    private static readonly int[] Authorities = [Regulator, Bank1Admin, Bank2Admin];

    private static readonly RealIdentity Customer = new()
    {
        LegalName = "Wang Fang", DocumentType = IdentityDocumentType.ResidentIdentityCard, DocumentNumber = "110101199001011234",
        IssuingCountry = "CN", DateOfBirth = "1990-01-01", CustomerReference = "KYC-1",
    };

    private ulong _nextWallet = 1;

    private CurrencyWorld(Ledger ledger) => Ledger = ledger;

    public Ledger Ledger { get; }

    public static byte[] Attestation { get; } = Enumerable.Repeat((byte)0xA5, DigitalCurrencyContract.IdentityAttestationSizeBytes).ToArray();

    /// <summary>The consortium with the escrow policy set; the currency is not initialised.</summary>
    public static CurrencyWorld Bare()
    {
        var ledger = new Ledger(CryptoSuites.Intl, Accounts,
            [new("pboc", OrganisationRole.Member), new("bank1", OrganisationRole.Member), new("bank2", OrganisationRole.Member),
             new("bank3", OrganisationRole.Member), new("regulator", OrganisationRole.Regulator)],
            [.. BlockExecutor.StandardContracts, new DigitalCurrencyContract()]);
        var policy = new EscrowPolicy
        {
            Threshold = 2,
            Authorities = { Authorities.Select(i => ledger.Ids[i].ToByteString()) },
            AuthorityPublicKeys = { Authorities.Select(i => ByteString.CopyFrom(ledger.Keys[i].PublicKey.Encoded)) },
            Decision = new SupervisionDecision { Reason = "escrow policy" },
        };
        Assert.Equal(ErrorCode.Ok, ledger.Run(ledger.Sign(Regulator, SupervisionContract.ContractName, "set_escrow_policy", policy)).Code);
        return new CurrencyWorld(ledger);
    }

    /// <summary>The currency initialised, both operators registered with <see cref="Reserve"/> and <paramref name="issued"/> issued to each.</summary>
    public static CurrencyWorld Running(ulong issued = 100_000_000_000)
    {
        var world = Bare();
        world.Ok(CentralBank, DigitalCurrencyCalls.Initialise());
        world.Ok(CentralBank, DigitalCurrencyCalls.RegisterOperator("bank1", world.Id(Bank1Settlement), Reserve));
        world.Ok(CentralBank, DigitalCurrencyCalls.RegisterOperator("bank2", world.Id(Bank2Settlement), Reserve));
        if (issued > 0)
        {
            world.Ok(CentralBank, DigitalCurrencyCalls.Issue("bank1", issued));
            world.Ok(CentralBank, DigitalCurrencyCalls.Issue("bank2", issued));
        }

        return world;
    }

    private CurrencyWorld(Ledger ledger, ulong nextWallet) : this(ledger) => _nextWallet = nextWallet;

    public CurrencyWorld Fork() => new(Ledger.Fork(), _nextWallet);

    public AccountId Id(int account) => Ledger.Ids[account];

    public Transaction Call(int from, CurrencyCall call) => Ledger.Sign(from, call.Contract, call.Method, call.Arguments);

    public Transaction Call(TestWallet from, CurrencyCall call) => Ledger.Sign(from.Account, from.Key, call.Contract, call.Method, call.Arguments);

    public Receipt Run(int from, CurrencyCall call) => Ledger.Run(Call(from, call));

    public Receipt Run(TestWallet from, CurrencyCall call) => Ledger.Run(Call(from, call));

    public Receipt Ok(int from, CurrencyCall call) => Expect(Run(from, call), ErrorCode.Ok);

    public Receipt Ok(TestWallet from, CurrencyCall call) => Expect(Run(from, call), ErrorCode.Ok);

    public static Receipt Expect(Receipt receipt, ErrorCode code)
    {
        Assert.True(receipt.Code == code, $"expected {code}, got {receipt.Code}: {receipt.Message}");
        return receipt;
    }

    /// <summary>Registers a fresh pseudonym through <paramref name="registrar"/>'s organisation (supervision), without a wallet.</summary>
    public TestWallet RegisterPseudonym(int registrar)
    {
        var key = Ledger.Suite.GenerateKey();
        var account = new AccountId(77, _nextWallet++);
        var organisation = registrar == Bank1Admin ? "bank1" : registrar == Bank2Admin ? "bank2" : "bank3";
        var credential = new PseudonymRegistrar(Ledger.Suite, Ledger.Keys[registrar], Ledger.ChainId, organisation).Issue(
            key.PublicKey, Customer, IdentityEscrowPolicy.Of(2, Authorities.Select(i => ($"authority{i}", Ledger.Keys[i].PublicKey))), CredentialValidity.Unbounded);
        Expect(Ledger.Run(Ledger.Sign(registrar, SupervisionContract.ContractName, "register_pseudonym",
            new RegisterPseudonymArguments { AccountId = account.ToByteString(), Credential = ByteString.CopyFrom(credential.Bytes.Span) })), ErrorCode.Ok);
        return new TestWallet(account, key, credential.Id, registrar);
    }

    /// <summary>Registers a pseudonym and opens its wallet at the operator whose administrator is <paramref name="operatorAdmin"/>.</summary>
    public TestWallet OpenWallet(int operatorAdmin, uint walletClass, TestWallet? parent = null)
    {
        var wallet = RegisterPseudonym(operatorAdmin);
        Ok(operatorAdmin, DigitalCurrencyCalls.OpenWallet(wallet.Account, walletClass, wallet.CredentialId, parent?.Account,
            walletClass == CurrencyParameters.WeakestClass ? default : Attestation));
        return wallet;
    }

    /// <summary>Moves money from an operator's settlement account to a wallet.</summary>
    public void Fund(TestWallet wallet, ulong amount)
    {
        var settlement = wallet.Operator == Bank1Admin ? Bank1Settlement : Bank2Settlement;
        Ok(settlement, DigitalCurrencyCalls.Pay(wallet.Account, amount));
    }

    public ulong Balance(TestWallet wallet) => DigitalCurrencyContract.ReadBalance(Ledger, wallet.Account);

    public ulong Balance(int account) => DigitalCurrencyContract.ReadBalance(Ledger, Id(account));

    public CurrencyTotals Totals => DigitalCurrencyContract.ReadTotals(Ledger);

    /// <summary>Every balance the contract holds, summed by scanning state (the ledger is small).</summary>
    public ulong SumOfBalances()
    {
        var prefix = DigitalCurrencyContract.BalanceKey(default)[..^AccountId.SizeBytes];
        return Ledger.Entries.Where(e => e.Key.AsSpan().StartsWith(prefix))
            .Aggregate(0UL, (sum, e) => checked(sum + System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(e.Value)));
    }

    /// <summary>What held conditional payments keep, summed by scanning their records.</summary>
    public ulong SumOfEscrows()
    {
        var prefix = DigitalCurrencyContract.ConditionalKey(default)[..^Hash32.SizeBytes];
        return Ledger.Entries.Where(e => e.Key.AsSpan().StartsWith(prefix))
            .Select(e => ConditionalPaymentRecord.Parser.ParseFrom(e.Value))
            .Where(r => r.Status == ConditionalPaymentStatus.Held)
            .Aggregate(0UL, (sum, r) => checked(sum + r.Amount));
    }
}
