using Custos.Core.Wire;

namespace Custos.Crypto;

/// <summary>
/// A validated public key of one suite: its SEC1 uncompressed encoding plus whatever the suite precomputes to
/// verify quickly (decoded point, SM2 Z_A digest). Immutable and thread-safe; obtain one through
/// <see cref="ICryptoSuite.TryDecodePublicKey"/>.
/// </summary>
public sealed class PublicKey : IEquatable<PublicKey>
{
    private readonly byte[] _encoded;

    internal PublicKey(CryptoSuiteId suite, byte[] encoded, object prepared)
    {
        Suite = suite;
        _encoded = encoded;
        Prepared = prepared;
    }

    public CryptoSuiteId Suite { get; }

    /// <summary>0x04 || X || Y, 65 bytes.</summary>
    public ReadOnlySpan<byte> Encoded => _encoded;

    public byte[] ToArray() => (byte[])_encoded.Clone();

    /// <summary>The suite's verification-ready form of the key.</summary>
    internal object Prepared { get; }

    public string ToHex() => Convert.ToHexStringLower(_encoded);

    public bool Equals(PublicKey? other) => other is not null && other.Suite == Suite && other._encoded.AsSpan().SequenceEqual(_encoded);

    public override bool Equals(object? obj) => obj is PublicKey other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_encoded);
        return hash.ToHashCode();
    }
}
