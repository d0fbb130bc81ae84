using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Core.Tests;

/// <summary>
/// A block assembled from already decoded transactions (a proposal rebuilt from batches, or a node's own proposal)
/// must be exactly the block the decoder gives for the same bytes, and must be refused for the same reasons.
/// </summary>
public sealed class BlockAssemblyTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(200)]
    public void Assembled_block_has_the_canonical_encoding_and_decodes_to_the_same_block(int count)
    {
        var transactions = Transactions(count);
        var header = WireSamples.BlockHeader().ToByteArray();

        Assert.True(Decoders.TryAssembleBlock(header, transactions, out var assembled, out var error), error?.ToString());

        var wire = new Block { Header = ByteString.CopyFrom(header) };
        foreach (var transaction in transactions) wire.Transactions.Add(ByteString.CopyFrom(transaction.Envelope.Span));
        Assert.Equal(wire.ToByteArray(), assembled.Encoded.ToArray());
        Assert.True(Decoders.TryDecodeBlock(assembled.Encoded.Span, out var decoded, out error), error?.ToString());
        Assert.Equal(decoded.HeaderBytes.ToArray(), assembled.HeaderBytes.ToArray());
        Assert.Equal(decoded.Header, assembled.Header);
        Assert.Equal(decoded.Transactions.Select(t => t.Envelope.ToArray()), assembled.Transactions.Select(t => t.Envelope.ToArray()));
    }

    [Fact]
    public void Assembled_block_keeps_the_transaction_objects_and_their_remembered_ids()
    {
        var transactions = Transactions(2);
        var hash = new TestHash();
        var ids = transactions.Select(t => t.ComputeId(hash)).ToList();
        var calls = hash.Begun;

        Assert.True(Decoders.TryAssembleBlock(WireSamples.BlockHeader().ToByteArray(), transactions, out var block, out _));

        Assert.Same(transactions[0], block.Transactions[0]);
        Assert.Equal(ids, block.Transactions.Select(t => t.ComputeId(hash)));
        Assert.Equal(calls, hash.Begun);
    }

    [Fact]
    public void Transaction_of_another_chain_is_refused_as_in_decoding()
    {
        var body = WireSamples.Body();
        body.ChainId = "another-chain";
        Assert.True(Decoders.TryDecodeTransaction(WireSamples.Envelope(body).ToByteArray(), out var foreign, out _));
        var header = WireSamples.BlockHeader().ToByteArray();

        Assert.False(Decoders.TryAssembleBlock(header, [.. Transactions(1), foreign], out _, out var error));

        Assert.Equal(ErrorCode.ChainIdMismatch, error.Code);
    }

    [Fact]
    public void Header_that_does_not_decode_is_refused_as_in_decoding()
    {
        var header = WireSamples.BlockHeader();
        header.ChainId = "";

        Assert.False(Decoders.TryAssembleBlock(header.ToByteArray(), Transactions(1), out _, out var error));
        Assert.False(Decoders.TryDecodeBlockHeader(header.ToByteArray(), out _, out var expected));

        Assert.Equal(expected.Code, error.Code);
    }

    private static Transaction[] Transactions(int count) => Enumerable.Range(0, count).Select(i =>
    {
        var body = WireSamples.Body();
        body.Nonce = (ulong)i + 1;
        Assert.True(Decoders.TryDecodeTransaction(WireSamples.Envelope(body).ToByteArray(), out var transaction, out _));
        return transaction;
    }).ToArray();
}
