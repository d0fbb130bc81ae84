using Custos.Core.Wire;
using CsCheck;
using Google.Protobuf;
using static Custos.DigitalCurrency.Tests.CurrencyWorld;

namespace Custos.DigitalCurrency.Tests;

/// <summary>Smoke test of the contract's argument decoding: arbitrary bytes are refused with a typed code, never trap.</summary>
public sealed class ArgumentFuzzTests
{
    private static readonly string[] Methods =
    [
        "initialise", "register_operator", "set_reserve", "issue", "redeem", "open_wallet", "upgrade_wallet",
        "pay", "pay_conditional", "release", "refund", "forced_transfer",
    ];

    private static readonly int[] Senders = [CentralBank, Bank1Admin, Bank1Settlement, Regulator, Bank1Customer];

    [Fact]
    public void Arbitrary_arguments_to_any_method_are_refused_or_accepted_but_never_trap()
    {
        var world = Running();
        var codes = new List<ErrorCode>();
        Gen.Select(Gen.Int[0, Methods.Length - 1], Gen.Int[0, Senders.Length - 1], Gen.Byte.Array[0, 96]).Sample((method, sender, bytes) =>
        {
            var transaction = world.Ledger.SignRaw(world.Id(Senders[sender]), world.Ledger.Keys[Senders[sender]], DigitalCurrencyContract.ContractName,
                Methods[method], ByteString.CopyFrom(bytes));
            var receipt = world.Ledger.Run(transaction);
            codes.Add(receipt.Code);
            return receipt.Code != ErrorCode.ContractTrapped && receipt.Code != ErrorCode.OutOfGas;
        }, iter: 300, threads: 1);

        Assert.Contains(ErrorCode.InvalidArguments, codes);
        Assert.Equal(world.Totals.Supply, world.SumOfBalances() + world.Totals.Escrowed);
    }
}
