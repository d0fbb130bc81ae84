using Custos.Core;
using Custos.DigitalCurrency.Wire;
using Google.Protobuf;

namespace Custos.DigitalCurrency;

/// <summary>
/// One call of the currency contract as a client submits it. Sign it with the SDK's signer:
/// <c>signer.Sign(call.Contract, call.Version, call.Method, call.Arguments, expiryHeight)</c>.
/// </summary>
public sealed record CurrencyCall(string Method, IMessage Arguments)
{
    public string Contract => DigitalCurrencyContract.ContractName;

    public uint Version => DigitalCurrencyContract.ContractVersion;
}

/// <summary>
/// Builds the currency's calls for clients (the CLI's scenario, tests, applications), so that none of them
/// assembles argument messages by hand. The sender is whoever signs: the central bank, an operator's administrator,
/// a wallet or the regulator, as each method requires.
/// </summary>
public static class DigitalCurrencyCalls
{
    /// <summary>By a special-privilege account: its organisation becomes the central bank (once).</summary>
    public static CurrencyCall Initialise() => new("initialise", new InitialiseArguments());

    public static CurrencyCall RegisterOperator(string organisation, AccountId settlementAccount, ulong reserve) =>
        new("register_operator", new RegisterOperatorArguments { Organisation = organisation, SettlementAccount = settlementAccount.ToByteString(), Reserve = reserve });

    public static CurrencyCall SetReserve(string organisation, ulong reserve) =>
        new("set_reserve", new SetReserveArguments { Organisation = organisation, Reserve = reserve });

    public static CurrencyCall Issue(string organisation, ulong amount) => new("issue", new SupplyArguments { Operator = organisation, Amount = amount });

    public static CurrencyCall Redeem(string organisation, ulong amount) => new("redeem", new SupplyArguments { Operator = organisation, Amount = amount });

    /// <summary>
    /// By an operator's administrator, for a pseudonym its organisation registered with supervision. Classes 1 to 3
    /// need <paramref name="identityAttestation"/> (32 bytes: the hash of the operator's customer record); class 4 none.
    /// </summary>
    public static CurrencyCall OpenWallet(AccountId account, uint walletClass, Hash32 credentialId, AccountId? parent = null, ReadOnlySpan<byte> identityAttestation = default) =>
        new("open_wallet", new OpenWalletArguments
        {
            Account = account.ToByteString(),
            WalletClass = walletClass,
            CredentialId = credentialId.ToByteString(),
            Parent = parent is { } p ? p.ToByteString() : ByteString.Empty,
            IdentityAttestation = ByteString.CopyFrom(identityAttestation),
        });

    public static CurrencyCall UpgradeWallet(AccountId account, uint walletClass, ReadOnlySpan<byte> identityAttestation = default) =>
        new("upgrade_wallet", new UpgradeWalletArguments { Account = account.ToByteString(), WalletClass = walletClass, IdentityAttestation = ByteString.CopyFrom(identityAttestation) });

    public static CurrencyCall Pay(AccountId to, ulong amount) => new("pay", new PayArguments { To = to.ToByteString(), Amount = amount });

    /// <summary>
    /// A payment carrying remittance information: <paramref name="remittance"/> is an encoded envelope the payer sealed
    /// for <see cref="DigitalCurrencyContract.RemittanceKey"/>(payer, <paramref name="reference"/>).
    /// </summary>
    public static CurrencyCall Pay(AccountId to, ulong amount, ReadOnlySpan<byte> remittance, ReadOnlySpan<byte> reference) =>
        new("pay", new PayArguments { To = to.ToByteString(), Amount = amount, Remittance = ByteString.CopyFrom(remittance), RemittanceReference = ByteString.CopyFrom(reference) });

    /// <summary>A conditional payment; its id, for release and refund, is the id of the signed transaction that carries it.</summary>
    public static CurrencyCall PayConditional(AccountId to, ulong amount, ulong expiryHeight, AccountId? coSigner = null, ulong releaseHeight = 0) =>
        new("pay_conditional", new ConditionalPaymentArguments
        {
            To = to.ToByteString(),
            Amount = amount,
            CoSigner = coSigner is { } c ? c.ToByteString() : ByteString.Empty,
            ReleaseHeight = releaseHeight,
            ExpiryHeight = expiryHeight,
        });

    public static CurrencyCall Release(Hash32 conditionalPayment) => new("release", new SettleConditionalArguments { Id = conditionalPayment.ToByteString() });

    public static CurrencyCall Refund(Hash32 conditionalPayment) => new("refund", new SettleConditionalArguments { Id = conditionalPayment.ToByteString() });

    /// <summary>By the regulator only.</summary>
    public static CurrencyCall ForcedTransfer(AccountId from, AccountId to, ulong amount, string caseReference, string legalBasis, string reason = "") =>
        new("forced_transfer", new ForcedTransferArguments
        {
            From = from.ToByteString(), To = to.ToByteString(), Amount = amount, CaseReference = caseReference, LegalBasis = legalBasis, Reason = reason,
        });
}
