using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Execution.Tests;

public sealed class VerificationPipelineTests
{
    private static (List<Transaction> Transactions, List<Hash32> Ids, bool[] Expected) Mixed(Ledger ledger, int count)
    {
        var transactions = new List<Transaction>();
        var expected = new bool[count];
        for (var i = 0; i < count; i++)
        {
            var transfer = ledger.Transfer(1 + i % 3, 0, 1, nonce: (ulong)i + 1);
            expected[i] = i % 7 != 3;
            if (!expected[i])
            {
                // Same body and key, a signature over something else: must be refused wherever it lands in the batch.
                var envelope = TransactionEnvelope.Parser.ParseFrom(transfer.Envelope.Span);
                envelope.Signature = ByteString.CopyFrom(ledger.Keys[1 + i % 3].SignObject(ObjectType.Transaction, [1, 2, 3]));
                Assert.True(Decoders.TryDecodeTransaction(envelope.ToByteArray(), out transfer, out _));
            }

            transactions.Add(transfer);
        }

        return (transactions, transactions.Select(t => t.ComputeId(ledger.Suite)).ToList(), expected);
    }

    [Fact]
    public void Batch_results_match_one_by_one_verification_in_order()
    {
        var ledger = new Ledger(CryptoSuites.Gm, 4, 1_000);
        var (transactions, ids, expected) = Mixed(ledger, 150);
        using var pipeline = new VerificationPipeline(new SignatureCheck(ledger.Suite), workers: 3);

        var results = pipeline.AreValid(transactions, ids);

        Assert.Equal(expected, results);
        Assert.Equal(expected, transactions.Select((t, i) => new SignatureCheck(ledger.Suite).IsValid(t, ids[i])));
    }

    [Fact]
    public void Only_signatures_actually_verified_are_counted_not_those_found_verified_already()
    {
        var ledger = new Ledger(CryptoSuites.Gm, 4, 1_000);
        var (transactions, ids, expected) = Mixed(ledger, 30);
        var check = new SignatureCheck(ledger.Suite);
        using var pipeline = new VerificationPipeline(check, workers: 2);

        pipeline.AreValid(transactions, ids);
        Assert.Equal(transactions.Count, check.Verifications);

        // Valid ones are remembered; the forged ones are verified (and refused) again.
        pipeline.AreValid(transactions, ids);
        Assert.Equal(transactions.Count + expected.Count(valid => !valid), check.Verifications);
    }

    [Fact]
    public async Task Concurrent_callers_each_get_their_own_results()
    {
        var ledger = new Ledger(CryptoSuites.Intl, 4, 1_000);
        var (transactions, ids, expected) = Mixed(ledger, 120);
        using var pipeline = new VerificationPipeline(new SignatureCheck(ledger.Suite), workers: 2);

        var callers = Enumerable.Range(0, 6).Select(c => Task.Run(() =>
        {
            // Each caller checks a different rotation of the same transactions.
            var order = Enumerable.Range(0, transactions.Count).Select(i => (i + c * 17) % transactions.Count).ToList();
            var results = pipeline.AreValid(order.Select(i => transactions[i]).ToList(), order.Select(i => ids[i]).ToList());
            return order.Select((i, k) => results[k] == expected[i]).All(same => same);
        })).ToArray();

        var outcomes = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        Assert.All(outcomes, Assert.True);
    }

    [Fact]
    public void A_stopped_pipeline_still_answers_on_the_callers_thread()
    {
        var ledger = new Ledger(CryptoSuites.Intl, 4, 1_000);
        var (transactions, ids, expected) = Mixed(ledger, 20);
        var pipeline = new VerificationPipeline(new SignatureCheck(ledger.Suite), workers: 2);
        pipeline.Dispose();

        Assert.Equal(expected, pipeline.AreValid(transactions, ids));
    }
}
