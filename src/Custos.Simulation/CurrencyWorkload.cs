using System.Collections.Concurrent;
using System.Globalization;
using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.DigitalCurrency;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Identity.Pseudonyms;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Simulation;

/// <summary>An account of the currency's institutions (central bank, operators, regulator) and its key.</summary>
internal sealed record CurrencyAccount(AccountId Id, DeterministicSigningKey Key, string Organisation, AccountType Type);

/// <summary>A wallet: its pseudonymous account and key, the operator (0 or 1) that opened it, its class and opening balance.</summary>
internal sealed record CurrencyWallet(AccountId Id, DeterministicSigningKey Key, int Operator, uint WalletClass, ulong Funding);

/// <summary>
/// Who takes part in the currency workload: the central bank (pboc), two operators (bank1, bank2: an administrator
/// and a settlement account each), the regulator, and 6 to 12 wallets of mixed classes. Keys come from fixed labels.
/// </summary>
internal sealed class CurrencyParticipants
{
    public const int WalletsMax = 12;
    public const ulong Reserve = 1_000_000_000;
    public const ulong OpeningIssue = 200_000_000;

    public static readonly string[] Operators = ["bank1", "bank2"];

    public CurrencyParticipants(ICryptoSuite suite, Random random)
    {
        CentralBank = Institution(suite, 1, "pboc", AccountType.SpecialPrivilege);
        Regulator = Institution(suite, 2, "regulator", AccountType.Administrator);
        OperatorAdmins = [Institution(suite, 3, Operators[0], AccountType.Administrator), Institution(suite, 5, Operators[1], AccountType.Administrator)];
        Settlements = [Institution(suite, 4, Operators[0], AccountType.Ordinary), Institution(suite, 6, Operators[1], AccountType.Ordinary)];
        var count = random.Next(6, WalletsMax + 1);
        for (var i = 0; i < count; i++)
        {
            // Classes cycle so that every run has each; the funding stays under the class's balance cap.
            var walletClass = (uint)(i % 4) + 1;
            var funding = walletClass switch { 1 => 5_000_000UL, 2 => 2_000_000UL, 3 => 1_000_000UL, _ => 400_000UL } + (ulong)random.Next(0, 100_000);
            Wallets.Add(new CurrencyWallet(WalletId(i), WalletKey(suite, i), i % 2, walletClass, funding));
        }
    }

    public CurrencyAccount CentralBank { get; }

    public CurrencyAccount Regulator { get; }

    public CurrencyAccount[] OperatorAdmins { get; }

    public CurrencyAccount[] Settlements { get; }

    public List<CurrencyWallet> Wallets { get; } = [];

    public IEnumerable<CurrencyAccount> Institutions => [CentralBank, Regulator, .. OperatorAdmins, .. Settlements];

    /// <summary>Every account that may hold money: the settlement accounts and the wallets (the supply audit's holders).</summary>
    public IReadOnlyList<AccountId> Holders => [.. Settlements.Select(s => s.Id), .. Wallets.Select(w => w.Id)];

    /// <summary>The escrow authorities of the pseudonym credentials: the regulator and both operators' administrators.</summary>
    public CurrencyAccount[] Authorities => [Regulator, OperatorAdmins[0], OperatorAdmins[1]];

    public static AccountId WalletId(int index) => new(77, (ulong)index + 1);

    public static DeterministicSigningKey WalletKey(ICryptoSuite suite, int index) => DeterministicSigningKey.ForLabel(suite, $"dcep/wallet-{index}");

    private static CurrencyAccount Institution(ICryptoSuite suite, ulong number, string organisation, AccountType type) =>
        new(new AccountId(66, number), DeterministicSigningKey.ForLabel(suite, $"dcep/{organisation}/{type}"), organisation, type);
}

/// <summary>
/// The currency's state at height 0, made by the real executor and contracts: the consortium's accounts, then one
/// genesis block (height 0) in which the regulator sets the escrow policy, pboc becomes the central bank, registers
/// both operators and issues to them, each operator registers its wallets' pseudonyms with supervision and opens
/// their wallets, and the settlement accounts fund them.
/// </summary>
internal static class CurrencyGenesis
{
    private static readonly RealIdentity Customer = new()
    {
        LegalName = "Simulated Customer", DocumentType = IdentityDocumentType.ResidentIdentityCard, DocumentNumber = "110101199001011234",
        IssuingCountry = "CN", DateOfBirth = "1990-01-01",
    };

    private static readonly byte[] Attestation = Enumerable.Repeat((byte)0x5A, DigitalCurrencyContract.IdentityAttestationSizeBytes).ToArray();

    // A credential escrows the customer's identity under fresh randomness (PseudonymRegistrar), so issuing it again
    // gives other bytes. One credential per (suite, wallet) for the whole process keeps every run of a seed in this
    // process identical, hashes included; another process issues its own, so its hashes (only) differ.
    private static readonly ConcurrentDictionary<(CryptoSuiteId Suite, int Wallet), Lazy<DecodedCredential>> Credentials = new();

    public static SortedDictionary<byte[], byte[]> Build(string chainId, ICryptoSuite suite, CurrencyParticipants cast, BlockExecutor executor, long timestampMs)
    {
        var state = new SortedDictionary<byte[], byte[]>(ByteKeyComparer.Instance);
        var accounts = cast.Institutions.Select(a => new GenesisAccount(a.Id, a.Organisation, a.Key.PublicKey.ToArray(), a.Type, 0));
        OrganisationRole[] roles = [OrganisationRole.Member, OrganisationRole.Regulator, OrganisationRole.Member, OrganisationRole.Member];
        var organisations = new[] { "pboc", "regulator", CurrencyParticipants.Operators[0], CurrencyParticipants.Operators[1] }
            .Select((id, i) => new GenesisOrganisationRole(id, roles[i]));
        CurrencyLedger.Apply(state, GenesisState.Build(accounts, organisations));

        var signer = new CurrencySigner(chainId, suite);
        var transactions = new List<Transaction>
        {
            signer.Sign(cast.Regulator, SupervisionContract.ContractName, "set_escrow_policy", EscrowPolicyOf(cast), height: 0),
            signer.Sign(cast.CentralBank, DigitalCurrencyCalls.Initialise(), height: 0),
        };
        for (var o = 0; o < 2; o++)
        {
            transactions.Add(signer.Sign(cast.CentralBank, DigitalCurrencyCalls.RegisterOperator(CurrencyParticipants.Operators[o], cast.Settlements[o].Id, CurrencyParticipants.Reserve), height: 0));
            transactions.Add(signer.Sign(cast.CentralBank, DigitalCurrencyCalls.Issue(CurrencyParticipants.Operators[o], CurrencyParticipants.OpeningIssue), height: 0));
        }

        for (var i = 0; i < cast.Wallets.Count; i++)
        {
            var wallet = cast.Wallets[i];
            var admin = cast.OperatorAdmins[wallet.Operator];
            var credential = CredentialFor(chainId, suite, cast, i);
            transactions.Add(signer.Sign(admin, SupervisionContract.ContractName, "register_pseudonym",
                new RegisterPseudonymArguments { AccountId = wallet.Id.ToByteString(), Credential = ByteString.CopyFrom(credential.Bytes.Span) }, height: 0));
            transactions.Add(signer.Sign(admin, DigitalCurrencyCalls.OpenWallet(wallet.Id, wallet.WalletClass, credential.Id, parent: null,
                wallet.WalletClass == CurrencyParameters.WeakestClass ? default : Attestation), height: 0));
            transactions.Add(signer.Sign(cast.Settlements[wallet.Operator], DigitalCurrencyCalls.Pay(wallet.Id, wallet.Funding), height: 0));
        }

        var result = executor.Execute(new BlockContext(chainId, 0, (ulong)timestampMs, 0), transactions, new SortedState(state));
        if (result.Receipts.FirstOrDefault(r => r.Code != ErrorCode.Ok) is { } refused)
        {
            throw new InvalidOperationException($"the currency genesis transaction {refused.Index} was refused: {refused.Code} {refused.Message}");
        }

        CurrencyLedger.Apply(state, result.Writes);
        return state;
    }

    private static EscrowPolicy EscrowPolicyOf(CurrencyParticipants cast) => new()
    {
        Threshold = 2,
        Authorities = { cast.Authorities.Select(a => a.Id.ToByteString()) },
        AuthorityPublicKeys = { cast.Authorities.Select(a => ByteString.CopyFrom(a.Key.PublicKey.Encoded)) },
        Decision = new SupervisionDecision { Reason = "simulation escrow policy" },
    };

    private static DecodedCredential CredentialFor(string chainId, ICryptoSuite suite, CurrencyParticipants cast, int index) =>
        Credentials.GetOrAdd((suite.Id, index), _ => new Lazy<DecodedCredential>(() =>
        {
            // Everything but the escrow's randomness is fixed: keys come from labels, the operator from the index.
            var admin = cast.OperatorAdmins[index % 2];
            var policy = IdentityEscrowPolicy.Of(2, cast.Authorities.Select(a => ($"authority-{a.Organisation}", a.Key.PublicKey)));
            var customer = Customer.Clone();
            customer.CustomerReference = string.Create(CultureInfo.InvariantCulture, $"KYC-{index}");
            return new PseudonymRegistrar(suite, admin.Key, chainId, admin.Organisation).Issue(CurrencyParticipants.WalletKey(suite, index).PublicKey, customer, policy, CredentialValidity.Unbounded);
        })).Value;
}

/// <summary>Signs the workload's transactions with the participants' deterministic keys; nonces count up, so no two ids repeat.</summary>
internal sealed class CurrencySigner(string chainId, ICryptoSuite suite)
{
    /// <summary>Transactions expire this many blocks after the height they were made for (a lost proposal's are not re-proposed).</summary>
    public const ulong ExpiryBlocks = 20;

    private ulong _nonce;

    public Transaction Sign(CurrencyAccount from, CurrencyCall call, ulong height) => Sign(from.Id, from.Key, call.Contract, call.Method, call.Arguments, height);

    public Transaction Sign(CurrencyAccount from, string contract, string method, IMessage arguments, ulong height) => Sign(from.Id, from.Key, contract, method, arguments, height);

    public Transaction Sign(CurrencyWallet from, CurrencyCall call, ulong height) => Sign(from.Id, from.Key, call.Contract, call.Method, call.Arguments, height);

    private Transaction Sign(AccountId sender, ISigningKey key, string contract, string method, IMessage arguments, ulong height)
    {
        var body = new TransactionBody
        {
            ChainId = chainId,
            Sender = sender.ToByteString(),
            Nonce = ++_nonce,
            ExpiryHeight = height + ExpiryBlocks,
            Contract = contract,
            ContractVersion = 1,
            Method = method,
            Arguments = arguments.ToByteString(),
            Suite = suite.Id,
        }.ToByteString();
        return SimulatedTransactions.Seal(key, body);
    }
}

/// <summary>
/// The clients of the currency: each call makes a few signed transactions for a proposal, drawn from the run's
/// seed: mostly payments between random wallets (across operators too), some of them beyond a class's limits or
/// the payer's balance so that the contract must refuse them; settlement accounts funding wallets and wallets paying
/// back; issues (a few beyond the operator's reserve) and redemptions (a few beyond what is outstanding).
/// </summary>
internal sealed class CurrencyTraffic(CurrencySigner signer, CurrencyParticipants cast, Random random)
{
    public const int TransactionsPerProposalMax = 4;

    public IReadOnlyList<Transaction> Next(ulong height)
    {
        var count = random.Next(1, TransactionsPerProposalMax + 1);
        var transactions = new List<Transaction>(count);
        for (var i = 0; i < count; i++) transactions.Add(NextTransaction(height));
        return transactions;
    }

    private Transaction NextTransaction(ulong height)
    {
        var wallets = cast.Wallets;
        var draw = random.Next(100);
        if (draw < 70)
        {
            var from = random.Next(wallets.Count);
            var to = (from + 1 + random.Next(wallets.Count - 1)) % wallets.Count;
            return signer.Sign(wallets[from], DigitalCurrencyCalls.Pay(wallets[to].Id, PaymentAmount()), height);
        }

        var operatorIndex = random.Next(2);
        var organisation = CurrencyParticipants.Operators[operatorIndex];
        if (draw < 80)
        {
            var to = wallets[random.Next(wallets.Count)];
            return signer.Sign(cast.Settlements[operatorIndex], DigitalCurrencyCalls.Pay(to.Id, (ulong)random.Next(1, 300_000)), height);
        }

        if (draw < 86)
        {
            var from = wallets[random.Next(wallets.Count)];
            return signer.Sign(from, DigitalCurrencyCalls.Pay(cast.Settlements[operatorIndex].Id, (ulong)random.Next(1, 100_000)), height);
        }

        if (draw < 93)
        {
            // One issue in ten asks for more than the whole reserve: refused.
            var amount = random.Next(10) == 0 ? CurrencyParticipants.Reserve + 1 : (ulong)random.Next(1, 5_000_000);
            return signer.Sign(cast.CentralBank, DigitalCurrencyCalls.Issue(organisation, amount), height);
        }

        // One redemption in ten asks for more than the operator can have outstanding: refused.
        var redeemed = random.Next(10) == 0 ? CurrencyParticipants.Reserve + 1 : (ulong)random.Next(1, 2_000_000);
        var by = random.Next(2) == 0 ? cast.OperatorAdmins[operatorIndex] : cast.CentralBank;
        return signer.Sign(by, DigitalCurrencyCalls.Redeem(organisation, redeemed), height);
    }

    /// <summary>Mostly small; a quarter above class 4's per-payment cap, a tenth above class 2's or the payer's balance.</summary>
    private ulong PaymentAmount()
    {
        var draw = random.Next(100);
        return draw < 65 ? (ulong)random.Next(1, 30_000)
            : draw < 90 ? (ulong)random.Next(150_000, 450_000)
            : (ulong)random.Next(1_000_000, 8_000_000);
    }
}

/// <summary>Fills a proposal with the clients' next transactions and the proposer's latest executed state root.</summary>
internal sealed class CurrencyPayloadSource(CurrencyTraffic traffic, Func<Hash32> latestStateRoot) : IPayloadSource
{
    public BlockPayload NextPayload(BlockRecord parent, ulong height, ulong round, long nowMs) => new(traffic.Next(height), latestStateRoot());
}
