using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Core.Tests;

/// <summary>The id of an envelope found without decoding it (refusals before decoding still name the transaction).</summary>
public sealed class EnvelopeIdTests
{
    [Fact]
    public void Id_of_an_undecoded_envelope_is_the_id_of_the_decoded_transaction()
    {
        var envelope = WireSamples.Envelope().ToByteArray();
        var hash = new TestHash();
        Assert.True(Decoders.TryDecodeTransaction(envelope, out var transaction, out _));

        Assert.True(Transaction.TryComputeIdOfEnvelope(envelope, hash, out var id));

        Assert.Equal(transaction.ComputeId(hash), id);
    }

    [Fact]
    public void Envelope_fields_in_another_order_give_the_same_id()
    {
        var sample = WireSamples.Envelope();
        var reordered = new TransactionEnvelope { Signature = sample.Signature }.ToByteArray()
            .Concat(new TransactionEnvelope { PublicKey = sample.PublicKey }.ToByteArray())
            .Concat(new TransactionEnvelope { Body = sample.Body }.ToByteArray()).ToArray();
        var hash = new TestHash();

        Assert.True(Transaction.TryComputeIdOfEnvelope(reordered, hash, out var id));
        Assert.True(Transaction.TryComputeIdOfEnvelope(sample.ToByteArray(), hash, out var expected));

        Assert.Equal(expected, id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0a")]
    [InlineData("0a05aabb")]
    [InlineData("1201aa")]
    [InlineData("0f")]
    [InlineData("0aff")]
    public void Bytes_that_are_not_an_envelope_with_a_body_have_no_id(string hex)
    {
        Assert.False(Transaction.TryComputeIdOfEnvelope(Convert.FromHexString(hex), new TestHash(), out var id));
        Assert.Equal(default, id);
    }
}
