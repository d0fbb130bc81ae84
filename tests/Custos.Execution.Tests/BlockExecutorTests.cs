using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution.Wire;
using CsCheck;
using Google.Protobuf;

namespace Custos.Execution.Tests;

public sealed class BlockExecutorTests
{
    private static Ledger NewLedger(int accounts = 4, ulong balance = 1_000) => new(CryptoSuites.Intl, accounts, balance);

    [Fact]
    public void Transfer_moves_the_amount_and_keeps_the_supply()
    {
        var ledger = NewLedger();

        var result = ledger.Execute(ledger.Transfer(1, 2, 300));

        Assert.Equal(ErrorCode.Ok, Assert.Single(result.Receipts).Code);
        Assert.Equal(700UL, ledger.Balance(1));
        Assert.Equal(1_300UL, ledger.Balance(2));
        Assert.Equal(4_000UL, ledger.Supply);
        Assert.Equal("transfer", Assert.Single(result.Receipts[0].Events).Name);
    }

    [Fact]
    public void Transfer_beyond_the_balance_is_refused_and_changes_no_balance()
    {
        var ledger = NewLedger();

        var receipt = Assert.Single(ledger.Execute(ledger.Transfer(1, 2, 1_001)).Receipts);

        Assert.Equal(ErrorCode.InsufficientFunds, receipt.Code);
        Assert.Equal(1_000UL, ledger.Balance(1));
        Assert.Equal(1_000UL, ledger.Balance(2));
    }

    [Fact]
    public void Replayed_transaction_is_refused_in_the_same_block_and_in_a_later_one()
    {
        var ledger = NewLedger();
        var transfer = ledger.Transfer(1, 2, 10);

        var first = ledger.Execute(transfer, transfer);
        var later = ledger.Execute(transfer);

        Assert.Equal([ErrorCode.Ok, ErrorCode.DuplicateTransaction], first.Receipts.Select(r => r.Code));
        Assert.Equal(ErrorCode.DuplicateTransaction, Assert.Single(later.Receipts).Code);
        Assert.Equal(990UL, ledger.Balance(1));
    }

    [Fact]
    public void Failed_transaction_cannot_be_replayed_either()
    {
        var ledger = NewLedger();
        var tooMuch = ledger.Transfer(1, 2, 5_000);

        ledger.Execute(tooMuch);
        ledger.Execute(ledger.Transfer(3, 1, 1_000));
        var replay = ledger.Execute(tooMuch);

        Assert.Equal(ErrorCode.DuplicateTransaction, Assert.Single(replay.Receipts).Code);
        Assert.Equal(2_000UL, ledger.Balance(1));
    }

    [Fact]
    public void Expired_transaction_is_refused_and_one_too_far_ahead_too()
    {
        var ledger = NewLedger();
        ledger.Execute();
        ledger.Execute();

        var expired = ledger.Execute(ledger.Transfer(1, 2, 1, expiry: 1));
        var tooFar = ledger.Execute(ledger.Transfer(1, 2, 1, nonce: 2, expiry: 1_000_000));

        Assert.Equal(ErrorCode.TransactionExpired, Assert.Single(expired.Receipts).Code);
        Assert.Equal(ErrorCode.InvalidField, Assert.Single(tooFar.Receipts).Code);
    }

    [Fact]
    public void Replay_records_keep_their_key_layout_under_the_prefix_the_store_keeps_beside_the_tree()
    {
        var id = new Hash32(Enumerable.Range(0, Hash32.SizeBytes).Select(i => (byte)i).ToArray());
        var key = BlockExecutor.SeenKey(id);
        Assert.Equal(StateKeys.For(BlockExecutor.LedgerNamespace, "seen/", id), key);
        Assert.True(ReplayRecords.IsReplayRecord(key));
        Assert.False(ReplayRecords.IsReplayRecord(BlockExecutor.ExpiringKey(3)));
        Assert.False(ReplayRecords.IsReplayRecord(BlockExecutor.ExpiringInBlockKey(3, 1)));
    }

    [Fact]
    public void Replay_records_are_forgotten_once_the_transaction_has_expired()
    {
        var ledger = NewLedger();
        var transfer = ledger.Transfer(1, 2, 1, expiry: 3);
        ledger.Execute(transfer);
        Assert.True(ledger.TryGet(BlockExecutor.SeenKey(transfer.ComputeId(ledger.Suite)), out _));

        for (var i = 0; i < 3; i++) ledger.Execute();

        Assert.False(ledger.TryGet(BlockExecutor.SeenKey(transfer.ComputeId(ledger.Suite)), out _));
        Assert.False(ledger.TryGet(BlockExecutor.ExpiringKey(3), out _));
        Assert.False(ledger.TryGet(BlockExecutor.ExpiringInBlockKey(3, 1), out _));
    }

    [Fact]
    public void Replay_records_of_one_expiry_are_kept_per_block_so_a_block_writes_only_its_own()
    {
        var ledger = NewLedger();
        var first = ledger.Transfer(1, 2, 1, nonce: 1, expiry: 5);
        var second = ledger.Transfer(1, 2, 1, nonce: 2, expiry: 5);

        ledger.Execute(first);
        var later = ledger.Execute(second);

        Assert.True(ledger.TryGet(BlockExecutor.ExpiringInBlockKey(5, 1), out var firstList));
        Assert.True(ledger.TryGet(BlockExecutor.ExpiringInBlockKey(5, 2), out var secondList));
        Assert.Equal(first.ComputeId(ledger.Suite).ToArray(), firstList);
        Assert.Equal(second.ComputeId(ledger.Suite).ToArray(), secondList);
        Assert.DoesNotContain(later.Writes.Changes, c => c.Key.AsSpan().SequenceEqual(BlockExecutor.ExpiringInBlockKey(5, 1)));

        while (ledger.Height < 6) ledger.Execute();

        Assert.False(ledger.TryGet(BlockExecutor.SeenKey(first.ComputeId(ledger.Suite)), out _));
        Assert.False(ledger.TryGet(BlockExecutor.SeenKey(second.ComputeId(ledger.Suite)), out _));
        Assert.False(ledger.TryGet(BlockExecutor.ExpiringKey(5), out _));
    }

    [Fact]
    public void Transaction_signed_with_a_key_not_bound_to_the_sender_is_refused()
    {
        var ledger = NewLedger();
        var impostor = ledger.Sign(1, TokenContract.ContractName, "transfer", new TransferArguments { To = ledger.Ids[2].ToByteString(), Amount = 1 }, key: ledger.Keys[3]);

        Assert.Equal(ErrorCode.SignatureInvalid, Assert.Single(ledger.Execute(impostor).Receipts).Code);
        Assert.Equal(1_000UL, ledger.Balance(1));
    }

    [Fact]
    public void Transaction_with_a_forged_signature_is_refused()
    {
        var ledger = NewLedger();
        var genuine = ledger.Transfer(1, 2, 1);
        var envelope = genuine.Wire.Clone();
        var signature = envelope.Signature.ToByteArray();
        signature[10] ^= 0x01;
        envelope.Signature = ByteString.CopyFrom(signature);
        Assert.True(Decoders.TryDecodeTransaction(envelope.ToByteArray(), out var forged, out _));

        Assert.Equal(ErrorCode.SignatureInvalid, Assert.Single(ledger.Execute(forged).Receipts).Code);
        Assert.Equal(1_000UL, ledger.Balance(1));
    }

    [Fact]
    public void Unregistered_sender_is_refused()
    {
        var ledger = NewLedger();
        var stranger = ledger.Sign(1, TokenContract.ContractName, "transfer", new TransferArguments { To = ledger.Ids[2].ToByteString(), Amount = 1 },
            sender: new AccountId(9, 9));

        Assert.Equal(ErrorCode.SenderUnknown, Assert.Single(ledger.Execute(stranger).Receipts).Code);
    }

    [Theory]
    [InlineData("no.such.contract", "transfer", 1u, ErrorCode.ContractNotFound)]
    [InlineData("token", "transfer", 2u, ErrorCode.ContractNotFound)]
    [InlineData("token", "burn", 1u, ErrorCode.MethodNotFound)]
    public void Call_to_an_unknown_contract_version_or_method_is_refused(string contract, string method, uint version, ErrorCode expected)
    {
        var ledger = NewLedger();
        var call = ledger.Sign(1, contract, method, new TransferArguments { To = ledger.Ids[2].ToByteString(), Amount = 1 }, version: version);

        Assert.Equal(expected, Assert.Single(ledger.Execute(call).Receipts).Code);
    }

    [Fact]
    public void Arguments_that_do_not_decode_are_refused_as_invalid_arguments()
    {
        var ledger = NewLedger();
        var call = ledger.SignRaw(1, TokenContract.ContractName, "transfer", ByteString.CopyFrom(0xff, 0xff, 0xff));

        Assert.Equal(ErrorCode.InvalidArguments, Assert.Single(ledger.Execute(call).Receipts).Code);
    }

    [Fact]
    public void Transaction_that_runs_out_of_gas_changes_nothing()
    {
        var ledger = NewLedger();

        var receipt = Assert.Single(ledger.Execute(ledger.Transfer(1, 2, 5, gasLimit: 1_200)).Receipts);

        Assert.Equal(ErrorCode.OutOfGas, receipt.Code);
        Assert.Equal(1_200UL, receipt.GasUsed);
        Assert.Equal(1_000UL, ledger.Balance(1));
        Assert.Equal(1_000UL, ledger.Balance(2));
    }

    [Fact]
    public void Only_a_special_privilege_account_mints_and_minting_grows_the_supply()
    {
        var ledger = NewLedger();
        var mint = new MintArguments { To = ledger.Ids[2].ToByteString(), Amount = 500 };

        var byOrdinary = ledger.Execute(ledger.Sign(1, TokenContract.ContractName, "mint", mint));
        var byIssuer = ledger.Execute(ledger.Sign(0, TokenContract.ContractName, "mint", mint));

        Assert.Equal(ErrorCode.PermissionDenied, Assert.Single(byOrdinary.Receipts).Code);
        Assert.Equal(ErrorCode.Ok, Assert.Single(byIssuer.Receipts).Code);
        Assert.Equal(4_500UL, ledger.Supply);
        Assert.Equal(1_500UL, ledger.Balance(2));
    }

    [Fact]
    public void Administrator_registers_an_account_of_its_organisation_and_an_id_is_never_reused()
    {
        var ledger = new Ledger(CryptoSuites.Intl, 3, 100, AccountType.Administrator);
        var newKey = ledger.Suite.GenerateKey();
        var register = new RegisterAccountArguments { AccountId = new AccountId(7, 7).ToByteString(), PublicKey = ByteString.CopyFrom(newKey.PublicKey.Encoded), Type = AccountType.Ordinary };

        var first = ledger.Execute(ledger.Sign(1, AccountRegistry.ContractName, "register", register));
        var again = ledger.Execute(ledger.Sign(1, AccountRegistry.ContractName, "register", register, nonce: 2));

        Assert.Equal(ErrorCode.Ok, Assert.Single(first.Receipts).Code);
        Assert.Equal(ErrorCode.InvalidArguments, Assert.Single(again.Receipts).Code);
        var record = AccountRegistry.Load(ledger, new AccountId(7, 7))!;
        Assert.Equal("org2", record.Organisation);
        Assert.Equal(AccountStatus.Active, record.Status);
    }

    [Fact]
    public void Ordinary_account_cannot_register_accounts()
    {
        var ledger = NewLedger();
        var register = new RegisterAccountArguments { AccountId = new AccountId(7, 7).ToByteString(), PublicKey = ByteString.CopyFrom(ledger.Keys[1].PublicKey.Encoded), Type = AccountType.Ordinary };

        Assert.Equal(ErrorCode.PermissionDenied, Assert.Single(ledger.Execute(ledger.Sign(1, AccountRegistry.ContractName, "register", register)).Receipts).Code);
        Assert.Null(AccountRegistry.Load(ledger, new AccountId(7, 7)));
    }

    [Fact]
    public void Frozen_account_cannot_pay_nor_be_paid()
    {
        var ledger = NewLedger();
        var record = AccountRegistry.Load(ledger, ledger.Ids[2])!;
        record.Status = AccountStatus.Frozen;
        var freeze = new StateOverlay(ledger);
        freeze.Put(AccountRegistry.RecordKey(ledger.Ids[2]), record.ToByteArray());
        freeze.CommitTransaction();
        ledger.Apply(freeze.BlockWrites);

        var pays = ledger.Execute(ledger.Transfer(2, 1, 1));
        var paid = ledger.Execute(ledger.Transfer(1, 2, 1));

        Assert.Equal(ErrorCode.AccountFrozen, Assert.Single(pays.Receipts).Code);
        Assert.Equal(ErrorCode.AccountFrozen, Assert.Single(paid.Receipts).Code);
    }

    [Fact]
    public void Same_block_over_the_same_state_gives_identical_writes_and_receipts()
    {
        var a = NewLedger();
        var transactions = Enumerable.Range(0, 20).Select(i => a.Transfer(i % 4, (i + 1) % 4, (ulong)(i * 37 % 400), nonce: (ulong)i)).ToArray();

        var first = a.Executor.Execute(new BlockContext(Ledger.ChainId, 1, 5, 0), transactions, a);
        var second = new BlockExecutor(a.Suite, BlockExecutor.StandardContracts).Execute(new BlockContext(Ledger.ChainId, 1, 5, 0), transactions, a);

        Assert.Equal(Encode(first), Encode(second));
    }

    [Fact]
    public void Random_payments_never_create_or_destroy_money()
    {
        Gen.Select(Gen.Int[0, 5], Gen.Int[0, 5], Gen.ULong[0, 700]).Array[1, 12].Array[1, 4].Sample(blocks =>
        {
            var ledger = NewLedger(accounts: 6, balance: 500);
            var nonce = 0UL;
            foreach (var payments in blocks)
            {
                ledger.Execute(payments.Select(p => ledger.Transfer(p.Item1, p.Item2, p.Item3, nonce: ++nonce)).ToArray());
            }

            var balances = Enumerable.Range(0, 6).Select(ledger.Balance).ToList();
            return balances.Aggregate(0UL, (total, b) => total + b) == 3_000UL && ledger.Supply == 3_000UL;
        }, iter: 40);
    }

    private static string Encode(BlockExecutionResult result) =>
        string.Join("|", result.Writes.Changes.Select(c => Convert.ToHexString(c.Key) + "=" + (c.Value is null ? "-" : Convert.ToHexString(c.Value))))
        + "#" + string.Join("|", result.Receipts.Select(r => Convert.ToHexString(r.ToByteArray())));
}
