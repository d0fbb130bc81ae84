using Custos.Core;
using Custos.Core.Wire;
using Custos.Mempool.Wire;
using Google.Protobuf;

namespace Custos.Mempool.Tests;

public sealed class BatchStoreTests
{
    [Fact]
    public void Batch_formed_by_one_validator_is_accepted_by_another_under_the_same_digest()
    {
        var chain = new Chain();
        var author = new BatchStore(chain.Suite, Chain.Id);
        var peer = new BatchStore(chain.Suite, Chain.Id);
        var transactions = Enumerable.Range(0, 5).Select(i => chain.Decode(chain.Transfer(i % 3, (ulong)i))).ToList();

        var formed = author.Form(author: 2, transactions);
        var accepted = peer.TryAccept(formed.Encoded, out var received, out var error);

        Assert.True(accepted, error?.ToString());
        Assert.Equal(formed.Digest, received.Digest);
        Assert.Equal(formed.Ids, received.Ids);
        Assert.Equal(2u, received.Author);
        Assert.True(peer.TryGet(formed.Digest, out _));
    }

    [Fact]
    public void A_batch_digest_binds_chain_author_sequence_and_the_transactions_in_order()
    {
        var chain = new Chain();
        var store = new BatchStore(chain.Suite, Chain.Id);
        var ids = Enumerable.Range(0, 3).Select(i => chain.Decode(chain.Transfer(i, (ulong)i)).ComputeId(chain.Suite)).ToList();
        var digest = store.Digest(Chain.Id, 1, 7, ids);

        Assert.Equal(digest, store.Digest(Chain.Id, 1, 7, [.. ids]));
        Assert.NotEqual(digest, store.Digest(Chain.Id + "-other", 1, 7, ids));
        Assert.NotEqual(digest, store.Digest(Chain.Id, 2, 7, ids));
        Assert.NotEqual(digest, store.Digest(Chain.Id, 1, 8, ids));
        Assert.NotEqual(digest, store.Digest(Chain.Id, 1, 7, [ids[1], ids[0], ids[2]]));
        Assert.NotEqual(digest, store.Digest(Chain.Id, 1, 7, ids[..2]));

        // A formed batch is named by exactly this digest of its fields and its transactions' ids.
        var formed = store.Form(author: 1, ids.Select((_, i) => chain.Decode(chain.Transfer(i, (ulong)i))).ToList());
        var wire = TransactionBatch.Parser.ParseFrom(formed.Encoded);
        Assert.Equal(store.Digest(wire.ChainId, wire.Author, wire.Sequence, formed.Ids), formed.Digest);
        Assert.Equal(ids, formed.Ids);
    }

    [Fact]
    public void Malformed_oversized_foreign_or_empty_batches_are_refused_with_typed_errors()
    {
        var chain = new Chain();
        var store = new BatchStore(chain.Suite, Chain.Id, new BatchLimits { BatchBytesMax = 4096 });
        var foreign = new TransactionBatch { ChainId = "elsewhere", Transactions = { ByteString.CopyFrom(chain.Transfer(0, 1)) } }.ToByteArray();
        var empty = new TransactionBatch { ChainId = Chain.Id }.ToByteArray();
        var badTransaction = new TransactionBatch { ChainId = Chain.Id, Transactions = { ByteString.CopyFrom(1, 2, 3) } }.ToByteArray();

        var outcomes = new[] { new byte[] { 0xff, 0xff }, new byte[5000], foreign, empty, badTransaction }
            .Select(bytes => store.TryAccept(bytes, out _, out var error) ? ErrorCode.Ok : error.Code).ToList();

        Assert.Equal([ErrorCode.Malformed, ErrorCode.TooLarge, ErrorCode.ChainIdMismatch, ErrorCode.InvalidField, ErrorCode.Malformed], outcomes);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Proposal_selection_skips_batches_in_flight_and_committed_batches_are_forgotten()
    {
        var chain = new Chain();
        var store = new BatchStore(chain.Suite, Chain.Id);
        var batches = Enumerable.Range(0, 3).Select(i => store.Form(0, [chain.Decode(chain.Transfer(0, (ulong)i))])).ToList();

        var selected = store.SelectForProposal(new HashSet<Hash32> { batches[0].Digest }, transactionsMax: 100);
        store.OnCommitted([batches[1].Digest]);
        var afterCommit = store.SelectForProposal(new HashSet<Hash32>(), transactionsMax: 100);

        Assert.Equal([batches[1].Digest, batches[2].Digest], selected.Select(b => b.Digest));
        Assert.Equal([batches[0].Digest, batches[2].Digest], afterCommit.Select(b => b.Digest));
        Assert.Equal([batches[1].Digest], store.Missing(batches.Select(b => b.Digest)));
    }

    [Fact]
    public void Payload_references_round_trip_and_bad_payloads_are_refused()
    {
        var chain = new Chain();
        var store = new BatchStore(chain.Suite, Chain.Id);
        var digests = new[] { new Hash32(new byte[32]), Hash32.Parse(new string('a', 64)) };

        Assert.True(store.TryDecodeReferences(BatchStore.EncodeReferences(digests), out var decoded, out _));
        Assert.Equal(digests, decoded);
        Assert.False(store.TryDecodeReferences(BatchStore.EncodeReferences([digests[0], digests[0]]), out _, out var twice));
        Assert.Equal(ErrorCode.InvalidField, twice.Code);
        Assert.False(store.TryDecodeReferences(new BatchReferences { Digests = { ByteString.CopyFrom(1, 2) } }.ToByteArray(), out _, out var shortDigest));
        Assert.Equal(ErrorCode.InvalidLength, shortDigest.Code);
        Assert.False(store.TryDecodeReferences([0xff], out _, out var garbage));
        Assert.Equal(ErrorCode.Malformed, garbage.Code);
    }
}
