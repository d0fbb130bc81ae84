using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Mempool.Tests;

public sealed class TransactionPoolTests
{
    [Fact]
    public void Valid_transactions_are_admitted_in_parallel_and_taken_in_arrival_order()
    {
        var chain = new Chain();
        var pool = chain.Pool();
        var envelopes = Enumerable.Range(0, 30).Select(i => (ReadOnlyMemory<byte>)chain.Transfer(i % 3, (ulong)i)).ToList();

        var admissions = pool.Admit(envelopes, chain.At(1));
        var taken = pool.TakeUnbatched(countMax: 10, bytesMax: int.MaxValue);

        Assert.All(admissions, a => Assert.True(a.Admitted, a.Error?.ToString()));
        Assert.Equal(30, pool.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (ulong)i), taken.Select(t => t.Nonce));
        Assert.Equal(20, pool.UnbatchedCount);
    }

    [Fact]
    public void Each_kind_of_bad_transaction_is_refused_with_its_typed_error()
    {
        var chain = new Chain();
        var pool = chain.Pool();
        var forged = chain.Transfer(0, 1);
        forged[^3] ^= 0x01; // inside the signature
        var cases = new (byte[] Envelope, ErrorCode Expected)[]
        {
            ([1, 2, 3], ErrorCode.Malformed),
            (chain.Transfer(0, 2, chainId: "other-chain"), ErrorCode.ChainIdMismatch),
            (chain.Transfer(0, 3, expiry: 1), ErrorCode.TransactionExpired),
            (chain.Transfer(0, 4, expiry: 1_000_000), ErrorCode.InvalidField),
            (chain.Transfer(0, 5, sender: new AccountId(9, 9)), ErrorCode.SenderUnknown),
            (chain.Transfer(0, 6, key: chain.Keys[1]), ErrorCode.SignatureInvalid),
            (forged, ErrorCode.SignatureInvalid),
        };

        var admissions = pool.Admit(cases.Select(c => (ReadOnlyMemory<byte>)c.Envelope).ToList(), chain.At(1));

        Assert.Equal(cases.Select(c => c.Expected), admissions.Select(a => a.Error!.Code));
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void Transaction_already_pending_or_already_executed_is_a_duplicate()
    {
        var chain = new Chain();
        var pool = chain.Pool();
        var envelope = chain.Transfer(0, 1);
        var executed = chain.Transfer(1, 1);
        var seen = new StateOverlay(chain);
        seen.Put(BlockExecutor.SeenKey(chain.Decode(executed).ComputeId(chain.Suite)), new byte[8]);
        seen.CommitTransaction();
        chain.Apply(seen.BlockWrites);

        Assert.True(pool.Admit(envelope, chain.At(1)).Admitted);
        Assert.Equal(ErrorCode.DuplicateTransaction, pool.Admit(envelope, chain.At(1)).Error!.Code);
        Assert.Equal(ErrorCode.DuplicateTransaction, pool.Admit(executed, chain.At(1)).Error!.Code);
    }

    [Fact]
    public void Frozen_sender_is_refused_at_admission()
    {
        var chain = new Chain();
        var record = AccountRegistry.Load(chain, chain.Accounts[0])!;
        record.Status = AccountStatus.Frozen;
        var freeze = new StateOverlay(chain);
        freeze.Put(AccountRegistry.RecordKey(chain.Accounts[0]), record.ToByteArray());
        freeze.CommitTransaction();
        chain.Apply(freeze.BlockWrites);

        Assert.Equal(ErrorCode.AccountFrozen, chain.Pool().Admit(chain.Transfer(0, 1), chain.At(1)).Error!.Code);
    }

    [Fact]
    public void Full_pool_pushes_back_and_one_sender_cannot_fill_it()
    {
        var chain = new Chain();
        var signatures = new SignatureCheck(chain.Suite);
        var pool = new TransactionPool(chain.Suite, Chain.Id, signatures, new MempoolLimits { TransactionsMax = 5, PerSenderMax = 3 });

        var fromOne = pool.Admit(Enumerable.Range(0, 4).Select(i => (ReadOnlyMemory<byte>)chain.Transfer(0, (ulong)i)).ToList(), chain.At(1));
        var fromOthers = pool.Admit(Enumerable.Range(0, 4).Select(i => (ReadOnlyMemory<byte>)chain.Transfer(1 + i % 2, (ulong)i)).ToList(), chain.At(1));

        Assert.Equal([null, null, null, ErrorCode.SenderLimitExceeded], fromOne.Select(a => a.Error?.Code));
        Assert.Equal([null, null, ErrorCode.MempoolFull, ErrorCode.MempoolFull], fromOthers.Select(a => a.Error?.Code));
        Assert.Equal(5, pool.Count);
        // What the pool could not take was refused before its signature was verified.
        Assert.Equal(5, signatures.Verifications);
    }

    [Fact]
    public void Transactions_held_in_batches_count_against_the_backlog_and_nothing_more_is_checked()
    {
        var chain = new Chain();
        var batches = new BatchStore(chain.Suite, Chain.Id);
        var limits = new MempoolLimits { TransactionsMax = 4 };
        var pool = new TransactionPool(chain.Suite, Chain.Id, new SignatureCheck(chain.Suite), limits) { HeldElsewhere = () => batches.HeldTransactions };
        var held = batches.Form(1, Enumerable.Range(0, 3).Select(i => chain.Decode(chain.Transfer(1, (ulong)i))).ToList());

        var first = pool.Admit(chain.Transfer(0, 10), chain.At(1));
        var refused = pool.Admit([chain.Transfer(0, 11), chain.Transfer(2, 12)], chain.At(1));
        batches.OnCommitted([held.Digest]);
        var afterCommit = pool.Admit(chain.Transfer(0, 13), chain.At(1));

        Assert.Equal(3, held.Transactions.Count);
        Assert.True(first.Admitted);
        Assert.All(refused, a => Assert.Equal(ErrorCode.MempoolFull, a.Error?.Code));
        Assert.Equal([chain.Decode(chain.Transfer(0, 11)).ComputeId(chain.Suite), chain.Decode(chain.Transfer(2, 12)).ComputeId(chain.Suite)], refused.Select(a => a.Id));
        Assert.True(afterCommit.Admitted, afterCommit.Error?.ToString());
        Assert.Equal(0, batches.HeldTransactions);
        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public void A_peers_batch_waiting_for_verification_counts_against_the_backlog_until_its_verification_ends()
    {
        var chain = new Chain();
        var peers = new BatchStore(chain.Suite, Chain.Id);
        var batches = new BatchStore(chain.Suite, Chain.Id);
        var limits = new MempoolLimits { TransactionsMax = 4 };
        var pool = new TransactionPool(chain.Suite, Chain.Id, new SignatureCheck(chain.Suite), limits) { HeldElsewhere = () => batches.HeldTransactions };
        var sent = peers.Form(2, Enumerable.Range(0, 3).Select(i => chain.Decode(chain.Transfer(1, (ulong)i))).ToList());
        var arriving = BatchStore.CountTransactions(sent.Encoded);

        batches.AwaitVerification(arriving);
        var admitted = pool.Admit(chain.Transfer(0, 10), chain.At(1));
        var whileWaiting = pool.Admit(chain.Transfer(0, 11), chain.At(1));
        batches.VerificationEnded(arriving);
        var afterRefusal = pool.Admit(chain.Transfer(0, 12), chain.At(1));

        Assert.Equal(3, arriving);
        Assert.True(admitted.Admitted);
        Assert.Equal(ErrorCode.MempoolFull, whileWaiting.Error?.Code);
        Assert.Equal(0, batches.Count);
        Assert.True(afterRefusal.Admitted, afterRefusal.Error?.ToString());
        Assert.Equal(0, batches.HeldTransactions);
    }

    [Fact]
    public void Counting_a_batchs_transactions_walks_its_fields_and_gives_zero_for_what_is_not_a_batch()
    {
        var chain = new Chain();
        var sent = new BatchStore(chain.Suite, Chain.Id).Form(2, Enumerable.Range(0, 5).Select(i => chain.Decode(chain.Transfer(1, (ulong)i))).ToList());

        Assert.Equal(5, BatchStore.CountTransactions(sent.Encoded));
        Assert.Equal(0, BatchStore.CountTransactions(sent.Encoded.AsSpan(0, sent.Encoded.Length - 1)));
        Assert.Equal(0, BatchStore.CountTransactions([0xFF, 0xFF]));
        Assert.Equal(0, BatchStore.CountTransactions([]));
    }

    [Fact]
    public void Committed_and_expired_transactions_leave_the_pool()
    {
        var chain = new Chain();
        var pool = chain.Pool();
        var committed = chain.Transfer(0, 1);
        var expiring = chain.Transfer(1, 1, expiry: 5);
        var staying = chain.Transfer(2, 1, expiry: 50);
        pool.Admit([committed, expiring, staying], chain.At(1));

        pool.OnCommitted([chain.Decode(committed).ComputeId(chain.Suite)], height: 5);

        Assert.Equal(1, pool.Count);
        Assert.True(pool.Contains(chain.Decode(staying).ComputeId(chain.Suite)));
        Assert.True(pool.Admit(chain.Transfer(0, 2), chain.At(5)).Admitted);
    }

    [Fact]
    public void Taking_respects_the_byte_bound_but_always_makes_progress()
    {
        var chain = new Chain();
        var pool = chain.Pool();
        pool.Admit(Enumerable.Range(0, 5).Select(i => (ReadOnlyMemory<byte>)chain.Transfer(0, (ulong)i)).ToList(), chain.At(1));

        var one = pool.TakeUnbatched(countMax: 100, bytesMax: 1);
        var rest = pool.TakeUnbatched(countMax: 100, bytesMax: int.MaxValue);

        Assert.Single(one);
        Assert.Equal(4, rest.Count);
        Assert.Empty(pool.TakeUnbatched(100, int.MaxValue));
    }
}
