using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;

namespace Custos.Supervision;

/// <summary>
/// One movement of value the rules look at: a token transfer today, the digital currency's payments later. The
/// caller fills it from whatever the contract emitted; <see cref="EventIndex"/> tells apart two payments of one
/// transaction.
/// </summary>
public sealed record Payment(Hash32 TransactionId, uint EventIndex, AccountId From, AccountId To, ulong Amount, string Asset);

/// <summary>A committed block as the rules see it: its height, its header's timestamp and its successful payments in block order.</summary>
public sealed record CommittedBlock(ulong Height, ulong TimestampMs, IReadOnlyList<Payment> Payments);

/// <summary>Reads the token contract's transfers out of a block's receipts.</summary>
public static class TokenPayments
{
    public const string TransferEvent = "transfer";

    /// <summary>The digital currency's contract and payment event; its first three fields are laid out as a transfer's.</summary>
    public const string DigitalCurrencyContract = "dcep";

    public const string DigitalCurrencyPaymentEvent = "payment";

    private static bool IsPayment(Event @event) =>
        (@event.Contract == TokenContract.ContractName && @event.Name == TransferEvent)
        || (@event.Contract == DigitalCurrencyContract && @event.Name == DigitalCurrencyPaymentEvent);

    /// <summary>
    /// The transfers of the successful transactions, in block order. Failed transactions changed nothing and are
    /// left out; mints move no value between accounts and are left out too. An event that does not decode (which
    /// the token contract never emits) is skipped rather than stopping supervision; <paramref name="skipped"/>
    /// counts them so that the caller can report it.
    /// </summary>
    public static IReadOnlyList<Payment> FromReceipts(IEnumerable<Receipt> receipts, out int skipped)
    {
        skipped = 0;
        var payments = new List<Payment>();
        foreach (var receipt in receipts)
        {
            if (receipt.Code != ErrorCode.Ok) continue;
            if (!Hash32.TryCreate(receipt.TransactionId.Span, out var transactionId))
            {
                skipped += receipt.Events.Count;
                continue;
            }

            for (var i = 0; i < receipt.Events.Count; i++)
            {
                var @event = receipt.Events[i];
                if (!IsPayment(@event)) continue;
                if (TryDecode(@event.Data, out var from, out var to, out var amount))
                {
                    payments.Add(new Payment(transactionId, (uint)i, from, to, amount, @event.Contract));
                }
                else
                {
                    skipped++;
                }
            }
        }

        return payments;
    }

    public static IReadOnlyList<Payment> FromReceipts(IEnumerable<Receipt> receipts) => FromReceipts(receipts, out _);

    private static bool TryDecode(Google.Protobuf.ByteString data, out AccountId from, out AccountId to, out ulong amount)
    {
        from = to = default;
        amount = 0;
        Execution.Wire.TransferEvent transfer;
        try
        {
            transfer = Execution.Wire.TransferEvent.Parser.ParseFrom(data);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return false;
        }

        amount = transfer.Amount;
        return AccountId.TryCreate(transfer.From.Span, out from) && AccountId.TryCreate(transfer.To.Span, out to);
    }
}
