using Custos.Core.Wire;
using CsCheck;

namespace Custos.Core.Tests;

/// <summary>Hash32 and AccountId: value semantics, bytewise order, hex form, length checks.</summary>
public sealed class IdentifierTests
{
    // Pairs that often share a prefix, so that comparison has to look past the first 64-bit word.
    private static Gen<(byte[], byte[])> GenPair(int length) =>
        Gen.Select(Gen.Byte.Array[length], Gen.Int[0, length], Gen.Byte.Array[length])
            .Select((a, shared, tail) => (a, (byte[])[.. a.AsSpan(0, shared), .. tail.AsSpan(shared)]));

    [Fact]
    public void Hash32_order_is_bytewise_order()
    {
        GenPair(Hash32.SizeBytes).Sample((a, b) =>
        {
            var expected = Math.Sign(a.AsSpan().SequenceCompareTo(b));
            Assert.Equal(expected, Math.Sign(new Hash32(a).CompareTo(new Hash32(b))));
            Assert.Equal(expected == 0, new Hash32(a) == new Hash32(b));
            if (expected == 0) Assert.Equal(new Hash32(a).GetHashCode(), new Hash32(b).GetHashCode());
        }, iter: 2000);
    }

    [Fact]
    public void AccountId_order_is_bytewise_order()
    {
        GenPair(AccountId.SizeBytes).Sample((a, b) =>
        {
            var expected = Math.Sign(a.AsSpan().SequenceCompareTo(b));
            Assert.Equal(expected, Math.Sign(new AccountId(a).CompareTo(new AccountId(b))));
            Assert.Equal(expected == 0, new AccountId(a) == new AccountId(b));
        }, iter: 2000);
    }

    [Fact]
    public void Hash32_bytes_and_hex_round_trip()
    {
        Gen.Byte.Array[Hash32.SizeBytes].Sample(bytes =>
        {
            var hash = new Hash32(bytes);
            Assert.Equal(bytes, hash.ToArray());
            Assert.Equal(bytes, hash.ToByteString().ToByteArray());
            var hex = hash.ToString();
            Assert.Equal(Convert.ToHexStringLower(bytes), hex);
            Assert.Equal(hash, Hash32.Parse(hex));
            Assert.Equal(hash, Hash32.Parse(hex.ToUpperInvariant()));
            Assert.Equal(hex[..12], hash.ToShortString());
            Assert.True(Hash32.TryCreate(bytes, out var created));
            Assert.Equal(hash, created);
        }, iter: 500);
    }

    [Fact]
    public void AccountId_bytes_and_hex_round_trip()
    {
        Gen.Byte.Array[AccountId.SizeBytes].Sample(bytes =>
        {
            var id = new AccountId(bytes);
            Assert.Equal(bytes, id.ToArray());
            Assert.Equal(bytes, id.ToByteString().ToByteArray());
            Assert.Equal(id, AccountId.Parse(id.ToString()));
            Assert.Equal(Convert.ToHexStringLower(bytes), id.ToString());
            Assert.True(AccountId.TryCreate(bytes, out var created));
            Assert.Equal(id, created);
            Assert.Equal(bytes.All(b => b == 0), id.IsEmpty);
        }, iter: 500);
    }

    [Fact]
    public void AccountId_from_two_words_is_big_endian()
    {
        var id = new AccountId(0x0001020304050607, 0x08090a0b0c0d0e0f);
        Assert.Equal(WireSamples.SenderBytes, id.ToArray());
        Assert.Equal(new AccountId(WireSamples.SenderBytes), id);
    }

    [Fact]
    public void Zero_values_are_recognised()
    {
        Assert.True(Hash32.Zero.IsZero);
        Assert.Equal(new Hash32(new byte[32]), Hash32.Zero);
        Assert.False(new Hash32(WireSamples.Filled(32, 0x01)).IsZero);
        Assert.True(default(AccountId).IsEmpty);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void Hash32_of_the_wrong_length_is_refused_as_InvalidLength(int length)
    {
        var bytes = new byte[length];
        Assert.Equal(ErrorCode.InvalidLength, Assert.Throws<CustosException>(() => new Hash32(bytes)).Code);
        Assert.False(Hash32.TryCreate(bytes, out _));
        Assert.Equal(ErrorCode.InvalidLength, Assert.Throws<CustosException>(() => Hash32.Parse(Convert.ToHexString(bytes))).Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(32)]
    public void AccountId_of_the_wrong_length_is_refused_as_InvalidLength(int length)
    {
        var bytes = new byte[length];
        Assert.Equal(ErrorCode.InvalidLength, Assert.Throws<CustosException>(() => new AccountId(bytes)).Code);
        Assert.False(AccountId.TryCreate(bytes, out _));
        Assert.Equal(ErrorCode.InvalidLength, Assert.Throws<CustosException>(() => AccountId.Parse(Convert.ToHexString(bytes))).Code);
    }
}
