using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;
using static Custos.Supervision.Tests.Chain;

namespace Custos.Supervision.Tests;

public sealed class TokenPaymentsTests
{
    private static Event Transfer(ulong from, ulong to, ulong amount) => new()
    {
        Contract = "token",
        Name = "transfer",
        Data = new TransferEvent { From = Account(from).ToByteString(), To = Account(to).ToByteString(), Amount = amount }.ToByteString(),
    };

    private static Receipt Receipt(ulong tx, ErrorCode code, params Event[] events)
    {
        var receipt = new Receipt { TransactionId = Tx(tx).ToByteString(), Code = code };
        receipt.Events.AddRange(events);
        return receipt;
    }

    [Fact]
    public void Transfers_of_successful_transactions_become_payments_in_block_order()
    {
        var payments = TokenPayments.FromReceipts([Receipt(1, ErrorCode.Ok, Transfer(1, 2, 10)), Receipt(2, ErrorCode.Ok, Transfer(3, 4, 20))]);

        Assert.Equal([Pay(1, 1, 2, 10), Pay(2, 3, 4, 20)], payments);
    }

    [Fact]
    public void Failed_transactions_mints_and_other_contracts_events_are_left_out()
    {
        var mint = new Event { Contract = "token", Name = "mint", Data = new TransferEvent { To = Account(1).ToByteString(), Amount = 5 }.ToByteString() };
        var other = Transfer(1, 2, 10);
        other.Contract = "system.accounts";

        var payments = TokenPayments.FromReceipts(
        [
            Receipt(1, ErrorCode.InsufficientFunds, Transfer(1, 2, 10)),
            Receipt(2, ErrorCode.Ok, mint, other),
        ]);

        Assert.Empty(payments);
    }

    [Fact]
    public void Digital_currency_payments_are_payments_too_with_their_asset()
    {
        // The dcep payment event carries a conditional payment id after the fields a transfer has.
        var data = new TransferEvent { From = Account(5).ToByteString(), To = Account(6).ToByteString(), Amount = 700 }.ToByteArray()
            .Concat(new byte[] { 0x22, 0x02, 0xAB, 0xCD }).ToArray();
        var payment = new Event { Contract = "dcep", Name = "payment", Data = ByteString.CopyFrom(data) };
        var issuance = new Event { Contract = "dcep", Name = "issued", Data = ByteString.CopyFrom(data) };

        var payments = TokenPayments.FromReceipts([Receipt(1, ErrorCode.Ok, payment, issuance)]);

        var single = Assert.Single(payments);
        Assert.Equal((Account(5), Account(6), 700UL, "dcep"), (single.From, single.To, single.Amount, single.Asset));
    }

    [Fact]
    public void Event_index_tells_apart_two_transfers_of_one_transaction()
    {
        var payments = TokenPayments.FromReceipts([Receipt(1, ErrorCode.Ok, Transfer(1, 2, 10), Transfer(1, 2, 10))]);

        Assert.Equal([0U, 1U], payments.Select(p => p.EventIndex));
    }

    [Fact]
    public void Undecodable_transfer_is_skipped_and_counted()
    {
        var garbage = new Event { Contract = "token", Name = "transfer", Data = ByteString.CopyFrom(0xFF, 0xFF, 0xFF) };
        var shortAccount = new Event { Contract = "token", Name = "transfer", Data = new TransferEvent { From = ByteString.CopyFrom(1), To = Account(2).ToByteString(), Amount = 1 }.ToByteString() };

        var payments = TokenPayments.FromReceipts([Receipt(1, ErrorCode.Ok, garbage, shortAccount, Transfer(1, 2, 3))], out var skipped);

        Assert.Equal(2, skipped);
        Assert.Equal(3UL, Assert.Single(payments).Amount);
    }
}
