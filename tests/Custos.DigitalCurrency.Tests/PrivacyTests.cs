using Google.Protobuf;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.DigitalCurrency.Wire;
using Custos.Execution.Wire;
using Custos.Identity.Pseudonyms;
using Custos.Privacy.Envelopes;
using Custos.Privacy.Wire;
using static Custos.DigitalCurrency.Tests.CurrencyWorld;

namespace Custos.DigitalCurrency.Tests;

/// <summary>
/// PRI-1 and PRI-2 in the currency: it declares the class of what it stores and the chain's privacy policy applies the
/// mechanism. Remittance information (C2) is kept on chain encrypted to the payee and the supervisor; the customer record
/// behind a real-name wallet (C3) stays off chain with only its commitment on chain.
/// </summary>
public sealed class PrivacyTests
{
    private static readonly byte[] Remittance = Encoding.UTF8.GetBytes("invoice 2026-118, Wang Fang, rent for November");
    private static readonly byte[] Reference = [0x01, 0x02, 0x03];

    private static (CurrencyWorld World, TestWallet Alice, TestWallet Bob) Funded()
    {
        var world = Running();
        var alice = world.OpenWallet(Bank1Admin, 2);
        var bob = world.OpenWallet(Bank2Admin, 2);
        world.Fund(alice, 1_000_000);
        return (world, alice, bob);
    }

    private static byte[] Seal(CurrencyWorld world, ISigningKey writer, AccountId payer, byte[] reference, PublicKey payee, PublicKey supervisor, DataClass dataClass = DataClass.C2)
    {
        var address = new EnvelopeAddress(Ledger.ChainId, DigitalCurrencyContract.ContractName, DigitalCurrencyContract.RemittanceKey(payer, reference), dataClass);
        return PrivacyEnvelope.Seal(world.Ledger.Suite, writer, address, Remittance, [payee], supervisor).ToByteArray();
    }

    private static PublicKey SupervisorKey(CurrencyWorld world) => world.Ledger.Keys[Regulator].PublicKey;

    [Fact]
    public void Remittance_is_kept_encrypted_and_only_the_payee_and_the_supervisor_open_it()
    {
        var (world, alice, bob) = Funded();
        var envelope = Seal(world, alice.Key, alice.Account, Reference, bob.Key.PublicKey, SupervisorKey(world));

        var receipt = world.Ok(alice, DigitalCurrencyCalls.Pay(bob.Account, 2_000, envelope, Reference));

        var key = DigitalCurrencyContract.RemittanceKey(alice.Account, Reference);
        var payment = PaymentEvent.Parser.ParseFrom(Assert.Single(receipt.Events, e => e.Name == "payment").Data);
        Assert.Equal(key, payment.RemittanceKey.ToByteArray());
        Assert.True(world.Ledger.TryGet(key, out var stored));
        Assert.Equal(envelope, stored);
        // The plaintext is nowhere in the chain's record of the payment.
        Assert.Equal(-1, Convert.ToHexString(stored).IndexOf(Convert.ToHexString(Remittance), StringComparison.Ordinal));

        var onChain = PrivateEnvelope.Parser.ParseFrom(stored);
        Assert.True(PrivacyEnvelope.TryOpen(world.Ledger.Suite, onChain, bob.Key.AsDecryptionKey(), out var byPayee, out _));
        Assert.Equal(Remittance, byPayee);
        Assert.True(PrivacyEnvelope.TryOpen(world.Ledger.Suite, onChain, world.Ledger.Keys[Regulator].AsDecryptionKey(), out var bySupervisor, out _));
        Assert.Equal(Remittance, bySupervisor);
        Assert.False(PrivacyEnvelope.TryOpen(world.Ledger.Suite, onChain, world.Ledger.Keys[Bank3Admin].AsDecryptionKey(), out _, out _));
        Assert.Equal(998_000UL, world.Balance(alice));
    }

    [Fact]
    public void Remittance_sealed_to_a_key_other_than_the_regulators_escrow_key_is_refused_and_changes_nothing()
    {
        var (world, alice, bob) = Funded();
        // The payer picks its own bank as "supervisor": the grant would go to a key the regulator does not hold.
        var envelope = Seal(world, alice.Key, alice.Account, Reference, bob.Key.PublicKey, world.Ledger.Keys[Bank1Admin].PublicKey);
        var payments = world.Totals.Payments;

        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 2_000, envelope, Reference)), ErrorCode.EnvelopeInvalid);

        Assert.Equal(1_000_000UL, world.Balance(alice));
        Assert.False(world.Ledger.TryGet(DigitalCurrencyContract.RemittanceKey(alice.Account, Reference), out _));
        Assert.Equal(payments, world.Totals.Payments);
    }

    [Fact]
    public void Remittance_written_by_another_key_or_for_another_record_or_class_is_refused()
    {
        var (world, alice, bob) = Funded();
        var supervisor = SupervisorKey(world);

        var byBob = Seal(world, bob.Key, alice.Account, Reference, bob.Key.PublicKey, supervisor);
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 2_000, byBob, Reference)), ErrorCode.EnvelopeInvalid);

        var otherReference = Seal(world, alice.Key, alice.Account, [0x09], bob.Key.PublicKey, supervisor);
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 2_000, otherReference, Reference)), ErrorCode.EnvelopeInvalid);

        var wrongClass = Seal(world, alice.Key, alice.Account, Reference, bob.Key.PublicKey, supervisor, DataClass.C3);
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 2_000, wrongClass, Reference)), ErrorCode.EnvelopeInvalid);

        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 2_000, [0x0A, 0x0B], Reference)), ErrorCode.Malformed);
        Assert.Equal(1_000_000UL, world.Balance(alice));
    }

    [Fact]
    public void Remittance_reference_is_used_once_per_payer()
    {
        var (world, alice, bob) = Funded();
        var envelope = Seal(world, alice.Key, alice.Account, Reference, bob.Key.PublicKey, SupervisorKey(world));
        var payments = world.Totals.Payments;
        world.Ok(alice, DigitalCurrencyCalls.Pay(bob.Account, 2_000, envelope, Reference));

        var again = Seal(world, alice.Key, alice.Account, Reference, bob.Key.PublicKey, SupervisorKey(world));
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 2_000, again, Reference)), ErrorCode.InvalidArguments);

        Assert.Equal(998_000UL, world.Balance(alice));
        Assert.Equal(payments + 1, world.Totals.Payments);
    }

    [Fact]
    public void Real_name_wallet_takes_the_commitment_of_its_customer_record_not_the_record()
    {
        var world = Running();
        var pseudonym = world.RegisterPseudonym(Bank1Admin);
        var record = Encoding.UTF8.GetBytes("Wang Fang, resident identity card 110101199001011234, +86 138 0000 5678");

        var receipt = world.Run(Bank1Admin, DigitalCurrencyCalls.OpenWallet(pseudonym.Account, 2, pseudonym.CredentialId, identityAttestation: record));

        Expect(receipt, ErrorCode.InvalidArguments);
        Assert.Contains("designated nodes", receipt.Message, StringComparison.Ordinal);
        Assert.Contains("C3", receipt.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_declares_every_field_the_currency_stores_and_classes_the_private_ones_above_public()
    {
        var schema = DigitalCurrencyContract.Privacy;
        Assert.Equal(DataClass.C3, schema.Classify("wallet.customer_record"));
        Assert.Equal(DataClass.C2, schema.Classify("payment.remittance"));
        Assert.Equal(DataClass.C1, schema.Classify("payment.parties", "payment.amount", "wallet.balance"));
        Assert.False(schema.TryClassify(["wallet.nickname"], out _, out var error));
        Assert.Equal(ErrorCode.FieldUndeclared, error.Code);
    }

    [Fact]
    public void Direct_payments_are_counted_in_the_totals()
    {
        var (world, alice, bob) = Funded();
        var payments = world.Totals.Payments;
        world.Ok(alice, DigitalCurrencyCalls.Pay(bob.Account, 100));
        world.Ok(alice, DigitalCurrencyCalls.Pay(bob.Account, 200));
        Expect(world.Run(alice, DigitalCurrencyCalls.Pay(bob.Account, 100_000_000)), ErrorCode.LimitExceeded);

        Assert.Equal(payments + 2, world.Totals.Payments);
    }
}
