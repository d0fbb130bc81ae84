using Custos.Core;
using Custos.Core.Wire;
using static Custos.DigitalCurrency.Tests.CurrencyWorld;

namespace Custos.DigitalCurrency.Tests;

/// <summary>DC-2: wallets opened by operators under supervision pseudonyms; classes, upgrades, sub-wallets.</summary>
public sealed class WalletTests
{
    [Fact]
    public void Only_an_administrator_of_an_operator_opens_wallets()
    {
        var world = Running();
        var pseudonym = world.RegisterPseudonym(Bank1Admin);
        var open = DigitalCurrencyCalls.OpenWallet(pseudonym.Account, 4, pseudonym.CredentialId);

        // bank3 is a consortium member but no operator; the others hold no administrator role at an operator.
        foreach (var account in new[] { Bank3Admin, Bank1Settlement, Bank1Customer, CentralBank, Regulator })
        {
            Expect(world.Run(account, open), ErrorCode.NotAuthorised);
        }

        // Another operator's administrator may not open a pseudonym bank1 registered.
        Expect(world.Run(Bank2Admin, open), ErrorCode.NotAuthorised);
        Assert.Null(DigitalCurrencyContract.ReadWallet(world.Ledger, pseudonym.Account));

        world.Ok(Bank1Admin, open);
        var wallet = DigitalCurrencyContract.ReadWallet(world.Ledger, pseudonym.Account)!;
        Assert.Equal("bank1", wallet.Operator);
        Assert.Equal(4u, wallet.WalletClass);
        Assert.Equal(pseudonym.CredentialId.ToByteString(), wallet.CredentialId);
        Assert.True(wallet.IdentityAttestation.IsEmpty);
        Assert.Equal(1UL, world.Totals.Wallets);
        Expect(world.Run(Bank1Admin, open), ErrorCode.InvalidArguments);
    }

    [Fact]
    public void A_wallet_needs_the_pseudonym_supervision_registered_under_that_credential()
    {
        var world = Running();
        var first = world.RegisterPseudonym(Bank1Admin);
        var second = world.RegisterPseudonym(Bank1Admin);

        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(first.Account, 4, second.CredentialId)), ErrorCode.CredentialInvalid);
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(first.Account, 4, new Hash32(new byte[32]))), ErrorCode.CredentialInvalid);
        // A real-name account of the operator is no pseudonym.
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(world.Id(Bank1Customer), 4, first.CredentialId)), ErrorCode.CredentialInvalid);
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(new AccountId(5, 5), 4, first.CredentialId)), ErrorCode.SenderUnknown);
    }

    [Fact]
    public void Class_four_is_anonymous_and_stronger_classes_carry_the_real_name_attestation()
    {
        var world = Running();
        var pseudonym = world.RegisterPseudonym(Bank1Admin);

        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(pseudonym.Account, 4, pseudonym.CredentialId, identityAttestation: Attestation)), ErrorCode.InvalidArguments);
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(pseudonym.Account, 2, pseudonym.CredentialId)), ErrorCode.InvalidArguments);
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(pseudonym.Account, 5, pseudonym.CredentialId, identityAttestation: Attestation)), ErrorCode.InvalidArguments);
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(pseudonym.Account, 0, pseudonym.CredentialId, identityAttestation: Attestation)), ErrorCode.InvalidArguments);
        world.Ok(Bank1Admin, DigitalCurrencyCalls.OpenWallet(pseudonym.Account, 2, pseudonym.CredentialId, identityAttestation: Attestation));
    }

    [Fact]
    public void The_operator_upgrades_a_wallet_and_its_new_class_caps_apply()
    {
        var world = Running();
        var payer = world.OpenWallet(Bank1Admin, 4);
        var payee = world.OpenWallet(Bank2Admin, 2);
        world.Fund(payer, 1_000_000);

        Expect(world.Run(payer, DigitalCurrencyCalls.Pay(payee.Account, 300_000)), ErrorCode.LimitExceeded);
        Expect(world.Run(Bank2Admin, DigitalCurrencyCalls.UpgradeWallet(payer.Account, 2, Attestation)), ErrorCode.NotAuthorised);
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.UpgradeWallet(payer.Account, 2)), ErrorCode.InvalidArguments);
        world.Ok(Bank1Admin, DigitalCurrencyCalls.UpgradeWallet(payer.Account, 2, Attestation));
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.UpgradeWallet(payer.Account, 3, Attestation)), ErrorCode.InvalidArguments);

        world.Ok(payer, DigitalCurrencyCalls.Pay(payee.Account, 300_000));
        Assert.Equal(2u, DigitalCurrencyContract.ReadWallet(world.Ledger, payer.Account)!.WalletClass);
        Assert.Equal(300_000UL, world.Balance(payee));
    }

    [Fact]
    public void A_sub_wallet_belongs_to_a_wallet_of_its_operator_and_is_never_stronger()
    {
        var world = Running();
        var parent = world.OpenWallet(Bank1Admin, 2);
        var pseudonym = world.RegisterPseudonym(Bank1Admin);

        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(pseudonym.Account, 1, pseudonym.CredentialId, parent.Account, Attestation)), ErrorCode.InvalidArguments);
        world.Ok(Bank1Admin, DigitalCurrencyCalls.OpenWallet(pseudonym.Account, 3, pseudonym.CredentialId, parent.Account, Attestation));
        var child = new TestWallet(pseudonym.Account, pseudonym.Key, pseudonym.CredentialId, Bank1Admin);

        var grandchild = world.RegisterPseudonym(Bank1Admin);
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(grandchild.Account, 4, grandchild.CredentialId, child.Account)), ErrorCode.InvalidArguments);
        Expect(world.Run(Bank1Admin, DigitalCurrencyCalls.UpgradeWallet(child.Account, 1, Attestation)), ErrorCode.InvalidArguments);
        Assert.Equal(1u, DigitalCurrencyContract.ReadWallet(world.Ledger, parent.Account)!.SubWallets);
        Assert.Equal(parent.Account.ToByteString(), DigitalCurrencyContract.ReadWallet(world.Ledger, child.Account)!.Parent);
    }
}
