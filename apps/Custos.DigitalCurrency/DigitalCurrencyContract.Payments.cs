using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.DigitalCurrency.Wire;
using Custos.Execution;
using Custos.Privacy.Classification;
using Google.Protobuf;

namespace Custos.DigitalCurrency;

/// <summary>
/// Payments (DC-3..DC-6): direct, conditional and forced. Each moves money from one balance to another or through a
/// conditional payment's escrow, so none changes the supply. A payment is final once its block commits.
/// </summary>
public sealed partial class DigitalCurrencyContract
{
    public const int CaseReferenceBytesMax = 128;
    public const int LegalTextBytesMax = 1024;

    /// <summary>One side of a payment: a wallet (capped by its class) or an operator's settlement account (uncapped).</summary>
    private sealed record Party(AccountId Account, WalletRecord? Wallet, string Operator);

    private static Party LoadParty(ContractCall call, AccountId account)
    {
        if (call.Get(WalletKey(account)) is { } wallet)
        {
            var record = WalletRecord.Parser.ParseFrom(wallet);
            return new Party(account, record, record.Operator);
        }

        if (call.Get(SettlementKey(account)) is { } settlement) return new Party(account, null, Encoding.UTF8.GetString(settlement));
        throw new ContractFailure(ErrorCode.WalletNotFound, $"account {account} holds no wallet and settles for no operator");
    }

    private static void Pay(ContractCall call)
    {
        var arguments = call.ParseArguments(PayArguments.Parser);
        var to = ContractCall.ParseAccount(arguments.To, "to");
        RequirePositive(arguments.Amount);
        var from = call.CallerId;
        if (from == to) throw new ContractFailure(ErrorCode.InvalidArguments, "a payment goes to another wallet");
        var payer = LoadParty(call, from);
        var payee = LoadParty(call, to);
        RequireMayReceive(call, to);
        SupervisionContract.EnforceAsset(call, AssetName, from);
        SupervisionContract.EnforceAsset(call, AssetName, to);

        var remittanceKey = StoreRemittance(call, from, arguments);
        ChargeOutflow(call, payer, arguments.Amount);
        Debit(call, from, arguments.Amount);
        CreditWithinCap(call, payee, arguments.Amount);
        var totals = LoadTotals(call);
        totals.Payments++;
        SaveTotals(call, totals);
        call.Emit("payment", new PaymentEvent { From = from.ToByteString(), To = arguments.To, Amount = arguments.Amount, RemittanceKey = remittanceKey });
        ReportIfLarge(call, payer, payee, arguments.Amount, "payment");
    }

    /// <summary>
    /// Keeps a payment's remittance information (C2) as the privacy policy says, by default encrypted to the parties
    /// and the supervisor (<see cref="PrivacyGuard"/>); a reference is used once per payer.
    /// </summary>
    private static ByteString StoreRemittance(ContractCall call, AccountId payer, PayArguments arguments)
    {
        if (arguments.Remittance.IsEmpty)
        {
            if (!arguments.RemittanceReference.IsEmpty) throw new ContractFailure(ErrorCode.InvalidArguments, "a remittance reference without remittance information");
            return ByteString.Empty;
        }

        if (arguments.RemittanceReference.Length is 0 or > RemittanceReferenceBytesMax)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"remittance information needs a reference of 1 to {RemittanceReferenceBytesMax} bytes");
        }

        var key = RemittanceKey(payer, arguments.RemittanceReference.Span);
        if (call.Get(key) is not null) throw new ContractFailure(ErrorCode.InvalidArguments, "the payer has used this remittance reference already");
        PrivacyGuard.Admit(call, new CallState(call), Privacy, "payment.remittance", key, arguments.Remittance.Span);
        call.Put(key, arguments.Remittance.ToByteArray());
        return ByteString.CopyFrom(key);
    }

    /// <summary>
    /// Checks and records a payment out of <paramref name="payer"/> against its class's per-payment, daily and annual
    /// caps and, for a sub-wallet, its parent's as well. Settlement accounts are uncapped.
    /// </summary>
    private static void ChargeOutflow(ContractCall call, Party payer, ulong amount)
    {
        if (payer.Wallet is not { } wallet) return;
        Charge(call, payer.Account, wallet, amount, "wallet");
        if (wallet.Parent.IsEmpty) return;
        var parentAccount = new AccountId(wallet.Parent.Span);
        Charge(call, parentAccount, LoadWallet(call, parentAccount), amount, "parent wallet");
    }

    private static void Charge(ContractCall call, AccountId account, WalletRecord wallet, ulong amount, string whose)
    {
        var limits = CurrencyParameters.Read(new CallState(call), wallet.WalletClass);
        var yuan = CurrencyParameters.Yuan(amount);
        if (amount > limits.PaymentMax)
        {
            throw new ContractFailure(ErrorCode.LimitExceeded,
                $"{yuan} exceeds the per-payment limit {CurrencyParameters.Yuan(limits.PaymentMax)} of class {wallet.WalletClass} {whose} {account}");
        }

        if (limits.TracksNoUsage) return;
        var usage = call.Get(UsageKey(account)) is { } bytes ? WalletUsage.Parser.ParseFrom(bytes) : new WalletUsage();
        var day = CivilCalendar.DayNumber(call.Block.TimestampMs);
        var date = CivilCalendar.DateOf(day);
        if (usage.Day != day)
        {
            usage.Day = day;
            usage.DayTotal = 0;
        }

        if (usage.Year != (ulong)date.Year)
        {
            usage.Year = (ulong)date.Year;
            usage.YearTotal = 0;
        }

        if (!CurrencyParameters.Fits(usage.DayTotal, amount, limits.DailyMax))
        {
            throw new ContractFailure(ErrorCode.LimitExceeded,
                $"{yuan} after {CurrencyParameters.Yuan(usage.DayTotal)} paid on {date.Year:D4}-{date.Month:D2}-{date.Day:D2} (UTC) exceeds the daily limit {CurrencyParameters.Yuan(limits.DailyMax)} of class {wallet.WalletClass} {whose} {account}");
        }

        if (!CurrencyParameters.Fits(usage.YearTotal, amount, limits.AnnualMax))
        {
            throw new ContractFailure(ErrorCode.LimitExceeded,
                $"{yuan} after {CurrencyParameters.Yuan(usage.YearTotal)} paid in {date.Year} exceeds the annual limit {CurrencyParameters.Yuan(limits.AnnualMax)} of class {wallet.WalletClass} {whose} {account}");
        }

        usage.DayTotal += amount;
        usage.YearTotal += amount;
        call.Put(UsageKey(account), usage.ToByteArray());
    }

    /// <summary>Credits a payee, refusing when a wallet would hold more than its class's balance cap.</summary>
    private static void CreditWithinCap(ContractCall call, Party payee, ulong amount)
    {
        if (payee.Wallet is { } wallet)
        {
            var limits = CurrencyParameters.Read(new CallState(call), wallet.WalletClass);
            var balance = Balance(call, payee.Account);
            if (!CurrencyParameters.Fits(balance, amount, limits.BalanceMax))
            {
                throw new ContractFailure(ErrorCode.LimitExceeded,
                    $"{CurrencyParameters.Yuan(amount)} would take the recipient's balance past the balance limit {CurrencyParameters.Yuan(limits.BalanceMax)} of class {wallet.WalletClass} wallet {payee.Account} (it holds {CurrencyParameters.Yuan(balance)})");
            }
        }

        Credit(call, payee.Account, amount);
    }

    /// <summary>
    /// Managed anonymity (DC-4): a payment names pseudonyms only; at or above the threshold the supervisor gets both
    /// sides' credential ids (the escrow reference that opens an identity under the supervision procedure) and operators.
    /// </summary>
    private static void ReportIfLarge(ContractCall call, Party payer, Party payee, ulong amount, string kind)
    {
        var threshold = CurrencyParameters.ReadLargeValueThreshold(new CallState(call));
        if (amount < threshold) return;
        call.Emit("large_value_report", new LargeValueReport
        {
            TransactionId = call.TransactionId.ToByteString(),
            From = payer.Account.ToByteString(),
            To = payee.Account.ToByteString(),
            Amount = amount,
            FromCredentialId = payer.Wallet?.CredentialId ?? ByteString.Empty,
            ToCredentialId = payee.Wallet?.CredentialId ?? ByteString.Empty,
            FromOperator = payer.Operator,
            ToOperator = payee.Operator,
            Height = call.Block.Height,
            TimestampMs = call.Block.TimestampMs,
            Threshold = threshold,
            Kind = kind,
        });
        var totals = LoadTotals(call);
        totals.LargeValueReports++;
        SaveTotals(call, totals);
    }

    // ---- conditional payments (DC-5) ----

    /// <summary>
    /// The amount leaves the payer now (within its caps, as a payment) into an escrow the contract keeps under the
    /// transaction's id; the payee's balance cap is checked when it is released.
    /// </summary>
    private static void PayConditional(ContractCall call)
    {
        var arguments = call.ParseArguments(ConditionalPaymentArguments.Parser);
        var to = ContractCall.ParseAccount(arguments.To, "to");
        RequirePositive(arguments.Amount);
        var from = call.CallerId;
        if (from == to) throw new ContractFailure(ErrorCode.InvalidArguments, "a payment goes to another wallet");
        if (arguments.CoSigner.IsEmpty && arguments.ReleaseHeight == 0) throw new ContractFailure(ErrorCode.InvalidArguments, "name a co-signer, a release height or both");
        if (!arguments.CoSigner.IsEmpty)
        {
            var coSigner = ContractCall.ParseAccount(arguments.CoSigner, "co_signer");
            if (coSigner == to) throw new ContractFailure(ErrorCode.InvalidArguments, "the payee cannot co-sign its own payment");
            if (AccountRegistry.Load(new CallState(call), coSigner) is null) throw new ContractFailure(ErrorCode.SenderUnknown, $"co-signer {coSigner} is not registered");
        }

        if (arguments.ExpiryHeight <= call.Block.Height) throw new ContractFailure(ErrorCode.InvalidArguments, $"the expiry height must be after the current height {call.Block.Height}");
        if (arguments.ReleaseHeight != 0 && arguments.ReleaseHeight >= arguments.ExpiryHeight)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, "the release height must come before the expiry height");
        }

        var payer = LoadParty(call, from);
        var payee = LoadParty(call, to);
        RequireMayReceive(call, to);
        SupervisionContract.EnforceAsset(call, AssetName, from);
        SupervisionContract.EnforceAsset(call, AssetName, to);
        ChargeOutflow(call, payer, arguments.Amount);
        Debit(call, from, arguments.Amount);

        var record = new ConditionalPaymentRecord
        {
            Id = call.TransactionId.ToByteString(),
            From = from.ToByteString(),
            To = arguments.To,
            Amount = arguments.Amount,
            CoSigner = arguments.CoSigner,
            ReleaseHeight = arguments.ReleaseHeight,
            ExpiryHeight = arguments.ExpiryHeight,
            Status = ConditionalPaymentStatus.Held,
            CreatedHeight = call.Block.Height,
        };
        call.Put(ConditionalKey(call.TransactionId), record.ToByteArray());
        var totals = LoadTotals(call);
        totals.Escrowed = checked(totals.Escrowed + arguments.Amount);
        totals.ConditionalPayments++;
        SaveTotals(call, totals);
        call.Emit("conditional_created", record);
        ReportIfLarge(call, payer, payee, arguments.Amount, "conditional");
    }

    /// <summary>
    /// Releases the escrow to the payee: the co-signer may at any height before expiry; the payer or payee from the
    /// release height. From the expiry height only a refund remains.
    /// </summary>
    private static void Release(ContractCall call)
    {
        var (id, record) = LoadHeld(call);
        if (call.Block.Height >= record.ExpiryHeight)
        {
            throw new ContractFailure(ErrorCode.PaymentExpired, $"conditional payment {id.ToShortString()} expired at height {record.ExpiryHeight}; only a refund remains");
        }

        var caller = call.CallerId.ToByteString();
        var byCoSigner = !record.CoSigner.IsEmpty && caller == record.CoSigner;
        if (!byCoSigner)
        {
            if (record.ReleaseHeight == 0)
            {
                throw new ContractFailure(ErrorCode.NotAuthorised, $"only co-signer {new AccountId(record.CoSigner.Span)} releases conditional payment {id.ToShortString()}");
            }

            if (caller != record.From && caller != record.To)
            {
                throw new ContractFailure(ErrorCode.NotAuthorised, $"only the payer, the payee or the co-signer releases conditional payment {id.ToShortString()}");
            }

            if (call.Block.Height < record.ReleaseHeight)
            {
                throw new ContractFailure(ErrorCode.PaymentNotReleasable, $"conditional payment {id.ToShortString()} is releasable from height {record.ReleaseHeight}");
            }
        }

        var to = new AccountId(record.To.Span);
        var payee = LoadParty(call, to);
        RequireMayReceive(call, to);
        SupervisionContract.EnforceAsset(call, AssetName, to);
        CreditWithinCap(call, payee, record.Amount);
        Settle(call, id, record, ConditionalPaymentStatus.Released);
        call.Emit("conditional_released", new PaymentEvent { From = record.From, To = record.To, Amount = record.Amount, ConditionalId = record.Id });
    }

    /// <summary>
    /// Returns the escrow to the payer from the expiry height, at the request of any party. A refund restores the
    /// payer's own money, so neither the payer's balance cap nor a freeze holds it back (a frozen wallet still cannot pay).
    /// </summary>
    private static void Refund(ContractCall call)
    {
        var (id, record) = LoadHeld(call);
        var caller = call.CallerId.ToByteString();
        if (caller != record.From && caller != record.To && caller != record.CoSigner)
        {
            throw new ContractFailure(ErrorCode.NotAuthorised, $"only the payer, the payee or the co-signer asks for the refund of {id.ToShortString()}");
        }

        if (call.Block.Height < record.ExpiryHeight)
        {
            throw new ContractFailure(ErrorCode.PaymentNotReleasable, $"conditional payment {id.ToShortString()} is refundable from its expiry height {record.ExpiryHeight}");
        }

        Credit(call, new AccountId(record.From.Span), record.Amount);
        Settle(call, id, record, ConditionalPaymentStatus.Refunded);
        call.Emit("conditional_refunded", new PaymentEvent { From = record.To, To = record.From, Amount = record.Amount, ConditionalId = record.Id });
    }

    private static (Hash32 Id, ConditionalPaymentRecord Record) LoadHeld(ContractCall call)
    {
        var arguments = call.ParseArguments(SettleConditionalArguments.Parser);
        if (!Hash32.TryCreate(arguments.Id.Span, out var id)) throw new ContractFailure(ErrorCode.InvalidArguments, "id is not a 32-byte transaction id");
        var record = call.Get(ConditionalKey(id)) is { } bytes
            ? ConditionalPaymentRecord.Parser.ParseFrom(bytes)
            : throw new ContractFailure(ErrorCode.NotFound, $"no conditional payment {id.ToShortString()}");
        if (record.Status != ConditionalPaymentStatus.Held)
        {
            throw new ContractFailure(ErrorCode.PaymentSettled, $"conditional payment {id.ToShortString()} was {(record.Status == ConditionalPaymentStatus.Released ? "released" : "refunded")} at height {record.SettledHeight}");
        }

        return (id, record);
    }

    private static void Settle(ContractCall call, Hash32 id, ConditionalPaymentRecord record, ConditionalPaymentStatus status)
    {
        record.Status = status;
        record.SettledHeight = call.Block.Height;
        record.SettledBy = call.CallerId.ToByteString();
        call.Put(ConditionalKey(id), record.ToByteArray());
        var totals = LoadTotals(call);
        totals.Escrowed = checked(totals.Escrowed - record.Amount);
        SaveTotals(call, totals);
    }

    // ---- forced transfer (DC-6) ----

    /// <summary>
    /// The regulator moves funds between two positions in the currency, deliberately past freezes and class caps
    /// (moving frozen funds is what it is for), under a case reference used once and a legal basis, both recorded.
    /// </summary>
    private static void ForcedTransfer(ContractCall call)
    {
        if (!call.CallerIsRegulator) throw new ContractFailure(ErrorCode.NotAuthorised, $"{ContractName}.forced_transfer is a power of the regulator");
        var arguments = call.ParseArguments(ForcedTransferArguments.Parser);
        RequireText(arguments.CaseReference, "case_reference", CaseReferenceBytesMax);
        RequireText(arguments.LegalBasis, "legal_basis", LegalTextBytesMax);
        if (Encoding.UTF8.GetByteCount(arguments.Reason) > LegalTextBytesMax) throw new ContractFailure(ErrorCode.InvalidArguments, $"the reason is longer than {LegalTextBytesMax} bytes");
        var from = ContractCall.ParseAccount(arguments.From, "from");
        var to = ContractCall.ParseAccount(arguments.To, "to");
        RequirePositive(arguments.Amount);
        if (from == to) throw new ContractFailure(ErrorCode.InvalidArguments, "a forced transfer moves money between two accounts");
        LoadParty(call, from);
        LoadParty(call, to);
        var key = ForcedTransferKey(arguments.CaseReference);
        if (call.Get(key) is not null) throw new ContractFailure(ErrorCode.CaseReferenceReused, $"case reference '{arguments.CaseReference}' was used before");

        Debit(call, from, arguments.Amount);
        Credit(call, to, arguments.Amount);
        var record = new ForcedTransferRecord
        {
            Order = arguments, By = call.CallerId.ToByteString(), Height = call.Block.Height, TransactionId = call.TransactionId.ToByteString(),
        };
        call.Put(key, record.ToByteArray());
        var totals = LoadTotals(call);
        totals.ForcedTransfers++;
        SaveTotals(call, totals);
        call.Emit("forced_transfer", record);
    }

    private static void RequireText(string text, string what, int bytesMax)
    {
        if (string.IsNullOrWhiteSpace(text) || Encoding.UTF8.GetByteCount(text) > bytesMax || text.Any(char.IsControl))
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"{what} must be 1 to {bytesMax} bytes of printable text");
        }
    }
}
