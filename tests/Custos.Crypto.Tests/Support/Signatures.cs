using Org.BouncyCastle.Math;

namespace Custos.Crypto.Tests.Support;

/// <summary>The ways a differential test spoils a valid signature; every one must be rejected by every verifier.</summary>
internal enum SignatureCorruption
{
    BitFlipInR,
    BitFlipInS,
    RZero,
    SZero,
    REqualsOrder,
    SEqualsOrder,
    RAndSSwapped,
    MessageAltered,
    WrongKey,
}

internal static class Signatures
{
    public static readonly SignatureCorruption[] AllCorruptions = Enum.GetValues<SignatureCorruption>();

    /// <summary>
    /// The <paramref name="count"/> corruptions for signature <paramref name="signer"/> of case <paramref name="index"/>:
    /// consecutive cases rotate through every kind, so over 10,000 cases each kind is tried on thousands of
    /// signatures of every signer while each signature costs only a few extra verifications.
    /// </summary>
    public static IEnumerable<SignatureCorruption> CorruptionsFor(int index, int signer, int count)
    {
        var start = (index * count) + signer;
        return Enumerable.Range(start, count).Select(i => AllCorruptions[i % AllCorruptions.Length]);
    }

    /// <summary>A uniformly drawn 32-byte scalar in [1, <paramref name="limit"/>).</summary>
    public static byte[] RandomScalar(this Random random, BigInteger limit)
    {
        var bytes = new byte[32];
        while (true)
        {
            random.NextBytes(bytes);
            var value = new BigInteger(1, bytes);
            if (value.SignValue > 0 && value.CompareTo(limit) < 0) return bytes;
        }
    }

    /// <summary>
    /// The spoiled (message, signature) pair; <paramref name="wrongKey"/> is set when the verifier must use another key.
    /// Alterations that would leave the pair unchanged (swapping equal r and s) cannot arise with overwhelming probability.
    /// </summary>
    public static (byte[] Message, byte[] Signature, bool WrongKey) Corrupt(
        SignatureCorruption corruption, Random random, BigInteger order, byte[] message, byte[] signature)
    {
        var altered = signature.ToArray();
        var alteredMessage = message;
        var orderBytes = order.ToByteArrayUnsigned();
        switch (corruption)
        {
            case SignatureCorruption.BitFlipInR:
                altered[random.Next(32)] ^= (byte)(1 << random.Next(8));
                break;
            case SignatureCorruption.BitFlipInS:
                altered[32 + random.Next(32)] ^= (byte)(1 << random.Next(8));
                break;
            case SignatureCorruption.RZero:
                altered.AsSpan(0, 32).Clear();
                break;
            case SignatureCorruption.SZero:
                altered.AsSpan(32, 32).Clear();
                break;
            case SignatureCorruption.REqualsOrder:
                orderBytes.CopyTo(altered, 0);
                break;
            case SignatureCorruption.SEqualsOrder:
                orderBytes.CopyTo(altered, 32);
                break;
            case SignatureCorruption.RAndSSwapped:
                signature.AsSpan(0, 32).CopyTo(altered.AsSpan(32));
                signature.AsSpan(32, 32).CopyTo(altered);
                break;
            case SignatureCorruption.MessageAltered:
                alteredMessage = AlterMessage(random, message);
                break;
            case SignatureCorruption.WrongKey:
                return (message, signature, true);
        }

        return (alteredMessage, altered, false);
    }

    /// <summary>One bit flipped, or one byte appended to an empty message.</summary>
    public static byte[] AlterMessage(Random random, byte[] message)
    {
        if (message.Length == 0) return [(byte)random.Next(256)];
        var altered = message.ToArray();
        altered[random.Next(altered.Length)] ^= (byte)(1 << random.Next(8));
        return altered;
    }
}
