using Custos.Core.Wire;
using CsCheck;
using Google.Protobuf;

namespace Custos.Core.Tests;

/// <summary>Properties that hold for all inputs, checked on generated ones.</summary>
public sealed class DecoderPropertyTests
{
    private const string NameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";

    private static readonly Gen<string> GenName = Gen.Char[NameChars].Array[1, 64].Select(chars => new string(chars));

    private static readonly Gen<TransactionBody> GenBody =
        from chainId in GenName
        from sender in Gen.Byte.Array[AccountId.SizeBytes]
        from nonce in Gen.ULong
        from expiry in Gen.ULong[1, ulong.MaxValue]
        from contract in GenName
        from contractVersion in Gen.UInt
        from method in GenName
        from arguments in Gen.Byte.Array[0, 512]
        from suite in Gen.OneOfConst(CryptoSuiteId.Gm, CryptoSuiteId.Intl)
        from gasLimit in Gen.ULong
        select new TransactionBody
        {
            ChainId = chainId,
            Sender = ByteString.CopyFrom(sender),
            Nonce = nonce,
            ExpiryHeight = expiry,
            Contract = contract,
            ContractVersion = contractVersion,
            Method = method,
            Arguments = ByteString.CopyFrom(arguments),
            Suite = suite,
            GasLimit = gasLimit,
        };

    // Protobuf-shaped input: a sequence of fields with plausible numbers and wire types, so that parsing gets past
    // the first byte far more often than with uniform random bytes. Length-delimited values are sometimes a valid
    // nested object, to reach the validation of inner messages.
    private static readonly Gen<byte[]> GenProtobufShaped =
        Gen.Select(Gen.Int[1, 12], Gen.OneOfConst(0, 2), Gen.ULong, Gen.Int[0, DecoderCases.All.Count + 3], Gen.Byte.Array[0, 80])
            .Select((number, wireType, value, nested, bytes) =>
            {
                var tag = RawField.Varint((ulong)((number << 3) | wireType));
                if (wireType == 0) return (byte[])[.. tag, .. RawField.Varint(value)];
                var content = nested < DecoderCases.All.Count ? DecoderCases.All[nested].Valid : bytes;
                return (byte[])[.. tag, .. RawField.Varint((ulong)content.Length), .. content];
            })
            .Array[0, 8]
            .Select(fields => fields.SelectMany(f => f).ToArray());

    [Fact]
    public void Random_valid_transaction_bodies_round_trip_through_the_decoder()
    {
        GenBody.Select(Gen.Byte.Array[64], Gen.Byte.Array[64]).Sample((body, key, signature) =>
        {
            var envelope = new TransactionEnvelope
            {
                Body = body.ToByteString(),
                PublicKey = ByteString.CopyFrom([0x04, .. key]),
                Signature = ByteString.CopyFrom(signature),
            };
            var bytes = envelope.ToByteArray();
            Assert.True(Decoders.TryDecodeTransaction(bytes, out var transaction, out var error), error?.ToString());
            Assert.Equal(body, transaction.Body);
            Assert.Equal(bytes, transaction.Wire.ToByteArray());
            Assert.Equal(body.ToByteArray(), transaction.BodyBytes.ToArray());
            Assert.Equal(new AccountId(body.Sender.Span), transaction.Sender);
        }, iter: 500);
    }

    [Fact]
    public void Random_bytes_never_make_a_decoder_throw()
    {
        Gen.Byte.Array[0, 400].Sample(bytes =>
        {
            foreach (var @case in DecoderCases.All) AssertWellBehaved(@case, bytes);
        }, iter: 3000);
    }

    [Fact]
    public void Random_protobuf_shaped_bytes_never_make_a_decoder_throw()
    {
        GenProtobufShaped.Sample(bytes =>
        {
            foreach (var @case in DecoderCases.All) AssertWellBehaved(@case, bytes);
        }, iter: 3000);
    }

    [Fact]
    public void Single_byte_mutation_of_a_valid_encoding_is_either_refused_or_reencodes_to_exactly_the_mutated_bytes()
    {
        Gen.Select(Gen.Int[0, DecoderCases.All.Count - 1], Gen.Int[0, int.MaxValue], Gen.Byte).Sample((index, position, value) =>
        {
            var @case = DecoderCases.All[index];
            var mutated = (byte[])@case.Valid.Clone();
            mutated[position % mutated.Length] = value;
            AssertWellBehaved(@case, mutated);
        }, iter: 5000);
    }

    [Fact]
    public void Every_single_bit_flip_of_every_valid_encoding_is_either_refused_or_reencodes_exactly()
    {
        // Exhaustive over bit positions: cheap, and it leaves no byte of the samples untried.
        foreach (var @case in DecoderCases.All)
        {
            for (var bit = 0; bit < @case.Valid.Length * 8; bit++)
            {
                var mutated = (byte[])@case.Valid.Clone();
                mutated[bit / 8] ^= (byte)(1 << (bit % 8));
                AssertWellBehaved(@case, mutated);
            }
        }
    }

    /// <summary>
    /// The decoder contract: never throw; a refusal carries a real error code; an acceptance means every byte
    /// string the decoder consumed is exactly the canonical encoding of what it produced (one object, one encoding).
    /// </summary>
    private static void AssertWellBehaved(DecoderCase @case, byte[] bytes)
    {
        var outcome = @case.Decode(bytes);
        if (!outcome.Accepted)
        {
            Assert.NotNull(outcome.Error);
            Assert.NotEqual(ErrorCode.Ok, outcome.Error.Code);
            Assert.False(string.IsNullOrEmpty(outcome.Error.Message));
            return;
        }

        Assert.Null(outcome.Error);
        Assert.Equal(bytes, outcome.Carried[0].Carried);
        foreach (var (carried, reencoded) in outcome.Carried) Assert.Equal(carried, reencoded);
    }
}
