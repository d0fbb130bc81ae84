using System.Buffers.Binary;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.DigitalCurrency.Wire;
using Custos.Execution;
using Custos.Privacy.Wire;
using Custos.Privacy.Classification;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.DigitalCurrency;

/// <summary>
/// The two-tier digital currency (system contract <c>dcep</c>; DC-1..6, docs/digital-currency.md). The central bank
/// issues to operating institutions' settlement accounts, capped by each one's reserve less what it has outstanding,
/// and redeems from them; only issue and redeem change the supply, so that at every height
/// supply == issued − redeemed == the sum of all balances and conditional-payment escrows. Operators open wallets
/// under supervision pseudonyms, in classes whose caps are governance parameters; wallets pay each other across
/// operators, directly or conditionally; large payments are reported to the supervisor with the escrow reference that
/// opens the identities; the regulator alone forces transfers. Every method is a transaction, emits an event, and
/// changes nothing when it refuses.
/// </summary>
public sealed partial class DigitalCurrencyContract : ISystemContract
{
    public const string ContractName = "dcep";

    public const uint ContractVersion = 1;

    /// <summary>Where supervision's asset freezes name this currency (<see cref="SupervisionContract.EnforceAsset"/>).</summary>
    public const string AssetName = ContractName;

    /// <summary>Sub-wallets one parent may have: bounded, so that a parent's record stays small.</summary>
    public const uint SubWalletsMax = 16;

    public const int OrganisationBytesMax = 128;

    public string Name => ContractName;

    public uint Version => ContractVersion;

    // ---- state layout (frozen by golden tests) ----

    public static byte[] ConfigurationKey { get; } = StateKeys.For(ContractName, "config");

    public static byte[] TotalsKey { get; } = StateKeys.For(ContractName, "totals");

    public static byte[] OperatorIndexKey { get; } = StateKeys.For(ContractName, "operators");

    public static byte[] OperatorKey(string organisation) => StateKeys.For(ContractName, "operator/" + organisation);

    /// <summary>Settlement account → the operator organisation it settles for (UTF-8).</summary>
    public static byte[] SettlementKey(AccountId account) => StateKeys.For(ContractName, "settlement/", account);

    public static byte[] WalletKey(AccountId account) => StateKeys.For(ContractName, "wallet/", account);

    public static byte[] BalanceKey(AccountId account) => StateKeys.For(ContractName, "balance/", account);

    public static byte[] UsageKey(AccountId account) => StateKeys.For(ContractName, "usage/", account);

    public static byte[] ConditionalKey(Hash32 id) => StateKeys.For(ContractName, "conditional/", id);

    public static byte[] ForcedTransferKey(string caseReference) => StateKeys.For(ContractName, "forced/" + caseReference);

    public const int RemittanceReferenceBytesMax = 32;

    /// <summary>Where a payment's encrypted remittance information is kept: the payer's account and its own reference.</summary>
    public static byte[] RemittanceKey(AccountId payer, ReadOnlySpan<byte> reference)
    {
        var prefix = StateKeys.For(ContractName, "remittance/", payer);
        return [.. prefix, .. reference];
    }

    /// <summary>
    /// What the currency stores, by class (PRI-1, JR/T 0171-2020). Wallets and payments name pseudonyms that nothing
    /// links to a person without an escrow opening, so account ids, amounts and balances are C1 and public; the
    /// operator's customer record behind a real-name wallet is C3 and a payment's remittance information (names,
    /// invoice and order numbers) C2. The chain's privacy policy maps each class to its mechanism
    /// (<see cref="PrivacyGuard"/>).
    /// </summary>
    public static PrivacySchema Privacy { get; } = PrivacySchema.For(ContractName)
        .Field("wallet.account", DataClass.C1)
        .Field("wallet.operator", DataClass.C1)
        .Field("wallet.class", DataClass.C1)
        .Field("wallet.credential_id", DataClass.C1)
        .Field("wallet.balance", DataClass.C1)
        .Field("wallet.customer_record", DataClass.C3)
        .Field("payment.parties", DataClass.C1)
        .Field("payment.amount", DataClass.C1)
        .Field("payment.remittance", DataClass.C2)
        .Build();

    // ---- readers, for the API, the CLI and tests ----

    public static CurrencyConfiguration? ReadConfiguration(IStateReader state) =>
        state.TryGet(ConfigurationKey, out var bytes) ? CurrencyConfiguration.Parser.ParseFrom(bytes) : null;

    public static CurrencyTotals ReadTotals(IStateReader state) =>
        state.TryGet(TotalsKey, out var bytes) ? CurrencyTotals.Parser.ParseFrom(bytes) : new CurrencyTotals();

    public static OperatorRecord? ReadOperator(IStateReader state, string organisation) =>
        state.TryGet(OperatorKey(organisation), out var bytes) ? OperatorRecord.Parser.ParseFrom(bytes) : null;

    public static IReadOnlyList<OperatorRecord> ReadOperators(IStateReader state) =>
        state.TryGet(OperatorIndexKey, out var bytes)
            ? OperatorIndex.Parser.ParseFrom(bytes).Organisations.Select(o => ReadOperator(state, o)).OfType<OperatorRecord>().ToList()
            : [];

    public static WalletRecord? ReadWallet(IStateReader state, AccountId account) =>
        state.TryGet(WalletKey(account), out var bytes) ? WalletRecord.Parser.ParseFrom(bytes) : null;

    public static ulong ReadBalance(IStateReader state, AccountId account) =>
        state.TryGet(BalanceKey(account), out var bytes) ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;

    public static WalletUsage ReadUsage(IStateReader state, AccountId account) =>
        state.TryGet(UsageKey(account), out var bytes) ? WalletUsage.Parser.ParseFrom(bytes) : new WalletUsage();

    public static ConditionalPaymentRecord? ReadConditionalPayment(IStateReader state, Hash32 id) =>
        state.TryGet(ConditionalKey(id), out var bytes) ? ConditionalPaymentRecord.Parser.ParseFrom(bytes) : null;

    public static ForcedTransferRecord? ReadForcedTransfer(IStateReader state, string caseReference) =>
        state.TryGet(ForcedTransferKey(caseReference), out var bytes) ? ForcedTransferRecord.Parser.ParseFrom(bytes) : null;

    /// <summary>The operator whose settlement account <paramref name="account"/> is, or null.</summary>
    public static string? ReadSettlementOperator(IStateReader state, AccountId account) =>
        state.TryGet(SettlementKey(account), out var bytes) ? Encoding.UTF8.GetString(bytes) : null;

    public void Invoke(ContractCall call)
    {
        switch (call.Method)
        {
            case "initialise": Initialise(call); break;
            case "register_operator": RegisterOperator(call); break;
            case "set_reserve": SetReserve(call); break;
            case "issue": Issue(call); break;
            case "redeem": Redeem(call); break;
            case "open_wallet": OpenWallet(call); break;
            case "upgrade_wallet": UpgradeWallet(call); break;
            case "pay": Pay(call); break;
            case "pay_conditional": PayConditional(call); break;
            case "release": Release(call); break;
            case "refund": Refund(call); break;
            case "forced_transfer": ForcedTransfer(call); break;
            default: throw new ContractFailure(ErrorCode.MethodNotFound, $"{ContractName} has no method '{call.Method}'");
        }
    }

    // ---- the central bank and the operators ----

    private static void Initialise(ContractCall call)
    {
        call.ParseArguments(InitialiseArguments.Parser);
        if (call.Caller.Type != AccountType.SpecialPrivilege) throw new ContractFailure(ErrorCode.NotAuthorised, "only a special-privilege account designates the central bank");
        if (call.Get(ConfigurationKey) is { } bytes)
        {
            throw new ContractFailure(ErrorCode.NotAuthorised, $"the central bank is {CurrencyConfiguration.Parser.ParseFrom(bytes).CentralBank} already; it is designated once");
        }

        var configuration = new CurrencyConfiguration
        {
            CentralBank = call.Caller.Organisation, InitialisedBy = call.CallerId.ToByteString(), InitialisedHeight = call.Block.Height,
        };
        call.Put(ConfigurationKey, configuration.ToByteArray());
        call.Emit("initialised", configuration);
    }

    /// <summary>The central bank's administrators and special-privilege accounts hold its powers.</summary>
    private static CurrencyConfiguration RequireCentralBank(ContractCall call)
    {
        var configuration = call.Get(ConfigurationKey) is { } bytes
            ? CurrencyConfiguration.Parser.ParseFrom(bytes)
            : throw new ContractFailure(ErrorCode.NotAuthorised, "no central bank is designated yet (initialise)");
        if (call.Caller.Organisation != configuration.CentralBank || call.Caller.Type is not (AccountType.Administrator or AccountType.SpecialPrivilege))
        {
            throw new ContractFailure(ErrorCode.NotAuthorised, $"{ContractName}.{call.Method} is a power of the central bank ({configuration.CentralBank})");
        }

        return configuration;
    }

    private static void RegisterOperator(ContractCall call)
    {
        var configuration = RequireCentralBank(call);
        var arguments = call.ParseArguments(RegisterOperatorArguments.Parser);
        var organisation = arguments.Organisation;
        if (string.IsNullOrEmpty(organisation) || Encoding.UTF8.GetByteCount(organisation) > OrganisationBytesMax || organisation.Any(char.IsControl))
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"organisation must be 1 to {OrganisationBytesMax} bytes of printable text");
        }

        if (organisation == configuration.CentralBank) throw new ContractFailure(ErrorCode.InvalidArguments, "the central bank is not an operator of its own currency");
        var state = new CallState(call);
        if (ConsortiumRegistry.Load(state, organisation) is not { Removed: false }) throw new ContractFailure(ErrorCode.NotFound, $"organisation {organisation} is not a member of the consortium");
        if (call.Get(OperatorKey(organisation)) is not null) throw new ContractFailure(ErrorCode.InvalidArguments, $"{organisation} is an operator already");
        var settlement = ContractCall.ParseAccount(arguments.SettlementAccount, "settlement_account");
        var account = AccountRegistry.Load(state, settlement) ?? throw new ContractFailure(ErrorCode.SenderUnknown, $"account {settlement} is not registered");
        if (account.Organisation != organisation) throw new ContractFailure(ErrorCode.InvalidArguments, $"account {settlement} belongs to {account.Organisation}, not {organisation}");
        if (call.Get(SettlementKey(settlement)) is not null || call.Get(WalletKey(settlement)) is not null)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"account {settlement} is a wallet or settles for another operator");
        }

        var record = new OperatorRecord
        {
            Organisation = organisation, SettlementAccount = arguments.SettlementAccount, Reserve = arguments.Reserve, RegisteredHeight = call.Block.Height,
        };
        call.Put(OperatorKey(organisation), record.ToByteArray());
        call.Put(SettlementKey(settlement), Encoding.UTF8.GetBytes(organisation));
        var index = call.Get(OperatorIndexKey) is { } bytes ? OperatorIndex.Parser.ParseFrom(bytes) : new OperatorIndex();
        var organisations = index.Organisations.Append(organisation).Order(StringComparer.Ordinal).ToList();
        index.Organisations.Clear();
        index.Organisations.AddRange(organisations);
        call.Put(OperatorIndexKey, index.ToByteArray());
        call.Emit("operator_registered", record);
    }

    private static void SetReserve(ContractCall call)
    {
        RequireCentralBank(call);
        var arguments = call.ParseArguments(SetReserveArguments.Parser);
        var record = LoadOperator(call, arguments.Organisation);
        record.Reserve = arguments.Reserve;
        call.Put(OperatorKey(record.Organisation), record.ToByteArray());
        call.Emit("reserve_set", record);
    }

    private static void Issue(ContractCall call)
    {
        RequireCentralBank(call);
        var arguments = call.ParseArguments(SupplyArguments.Parser);
        RequirePositive(arguments.Amount);
        var record = LoadOperator(call, arguments.Operator);
        var outstanding = Outstanding(record);
        var room = record.Reserve > outstanding ? record.Reserve - outstanding : 0;
        if (arguments.Amount > room)
        {
            throw new ContractFailure(ErrorCode.ReserveExceeded,
                $"issuing {CurrencyParameters.Yuan(arguments.Amount)} to {record.Organisation} exceeds its reserve {CurrencyParameters.Yuan(record.Reserve)} less {CurrencyParameters.Yuan(outstanding)} outstanding");
        }

        var settlement = new AccountId(record.SettlementAccount.Span);
        RequireMayReceive(call, settlement);
        SupervisionContract.EnforceAsset(call, AssetName, settlement);
        Credit(call, settlement, arguments.Amount);
        record.Issued = checked(record.Issued + arguments.Amount);
        call.Put(OperatorKey(record.Organisation), record.ToByteArray());
        var totals = LoadTotals(call);
        totals.Issued = checked(totals.Issued + arguments.Amount);
        totals.Supply = checked(totals.Supply + arguments.Amount);
        SaveTotals(call, totals);
        call.Emit("issued", new SupplyEvent { Operator = record.Organisation, Amount = arguments.Amount, Supply = totals.Supply, Outstanding = Outstanding(record) });
    }

    /// <summary>
    /// Money returns to the central bank from an operator's settlement account: by the central bank, or by the
    /// operator's own administrator. An operator redeems at most what it has outstanding, so that no operator's
    /// issued − redeemed goes below zero even when other operators' money reached its settlement account.
    /// </summary>
    private static void Redeem(ContractCall call)
    {
        var arguments = call.ParseArguments(SupplyArguments.Parser);
        var record = LoadOperator(call, arguments.Operator);
        if (!IsOperatorAdministrator(call, record.Organisation)) RequireCentralBank(call);
        RequirePositive(arguments.Amount);
        var outstanding = Outstanding(record);
        if (arguments.Amount > outstanding)
        {
            throw new ContractFailure(ErrorCode.LimitExceeded,
                $"redeeming {CurrencyParameters.Yuan(arguments.Amount)} exceeds the {CurrencyParameters.Yuan(outstanding)} {record.Organisation} has outstanding");
        }

        var settlement = new AccountId(record.SettlementAccount.Span);
        SupervisionContract.EnforceAsset(call, AssetName, settlement);
        Debit(call, settlement, arguments.Amount);
        record.Redeemed = checked(record.Redeemed + arguments.Amount);
        call.Put(OperatorKey(record.Organisation), record.ToByteArray());
        var totals = LoadTotals(call);
        totals.Redeemed = checked(totals.Redeemed + arguments.Amount);
        totals.Supply = checked(totals.Supply - arguments.Amount);
        SaveTotals(call, totals);
        call.Emit("redeemed", new SupplyEvent { Operator = record.Organisation, Amount = arguments.Amount, Supply = totals.Supply, Outstanding = Outstanding(record) });
    }

    private static ulong Outstanding(OperatorRecord record) => checked(record.Issued - record.Redeemed);

    private static OperatorRecord LoadOperator(ContractCall call, string organisation) =>
        !string.IsNullOrEmpty(organisation) && call.Get(OperatorKey(organisation)) is { } bytes
            ? OperatorRecord.Parser.ParseFrom(bytes)
            : throw new ContractFailure(ErrorCode.NotFound, $"'{organisation}' is not an operator of the currency");

    private static bool IsOperatorAdministrator(ContractCall call, string organisation) =>
        call.Caller.Type == AccountType.Administrator && call.Caller.Organisation == organisation
        && ConsortiumRegistry.IsMemberAdministrator(new CallState(call), call.Caller);

    // ---- totals and balances ----

    private static CurrencyTotals LoadTotals(ContractCall call) =>
        call.Get(TotalsKey) is { } bytes ? CurrencyTotals.Parser.ParseFrom(bytes) : new CurrencyTotals();

    /// <summary>Stores the totals after checking the supply identity: a break is a bug, and the call is trapped rather than stored.</summary>
    private static void SaveTotals(ContractCall call, CurrencyTotals totals)
    {
        if (totals.Supply != totals.Issued - totals.Redeemed || totals.Escrowed > totals.Supply)
        {
            throw new InvalidOperationException("currency totals broke supply == issued - redeemed >= escrowed");
        }

        call.Put(TotalsKey, totals.ToByteArray());
    }

    private static ulong Balance(ContractCall call, AccountId account) =>
        call.Get(BalanceKey(account)) is { } bytes ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;

    private static void SetBalance(ContractCall call, AccountId account, ulong value)
    {
        var bytes = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        call.Put(BalanceKey(account), bytes);
    }

    private static void Credit(ContractCall call, AccountId account, ulong amount)
    {
        var balance = Balance(call, account);
        if (balance > ulong.MaxValue - amount) throw new ContractFailure(ErrorCode.InvalidArguments, $"the balance of {account} would overflow");
        SetBalance(call, account, balance + amount);
    }

    private static void Debit(ContractCall call, AccountId account, ulong amount)
    {
        var balance = Balance(call, account);
        if (balance < amount)
        {
            throw new ContractFailure(ErrorCode.InsufficientFunds, $"account {account} holds {CurrencyParameters.Yuan(balance)}, less than {CurrencyParameters.Yuan(amount)}");
        }

        SetBalance(call, account, balance - amount);
    }

    private static void RequirePositive(ulong amount)
    {
        if (amount == 0) throw new ContractFailure(ErrorCode.InvalidArguments, "amount must be positive (in fen)");
    }

    private static void RequireMayReceive(ContractCall call, AccountId account)
    {
        var record = AccountRegistry.Load(new CallState(call), account) ?? throw new ContractFailure(ErrorCode.SenderUnknown, $"account {account} is not registered");
        AccountRegistry.RequireMayReceive(record, call.Block.Height);
    }
}
