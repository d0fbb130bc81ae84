using Org.BouncyCastle.Security;

namespace Custos.Crypto.Tests.Support;

/// <summary>
/// A random source that hands out the given bytes in order, as BouncyCastle's own FixedSecureRandom test helper
/// does, so that signing, encryption and key generation use the k or d a standard's example prescribes. BouncyCastle
/// draws a 256-bit scalar as 32 big-endian bytes, so passing the scalar's bytes reproduces it exactly.
/// </summary>
internal sealed class FixedRandom(params byte[][] values) : SecureRandom
{
    private readonly byte[] _data = [.. values.SelectMany(value => value)];
    private int _position;

    public static FixedRandom FromHex(params string[] values) => new([.. values.Select(Convert.FromHexString)]);

    public bool IsExhausted => _position == _data.Length;

    public override void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());

    public override void NextBytes(byte[] buffer, int offset, int length) => NextBytes(buffer.AsSpan(offset, length));

    public override void NextBytes(Span<byte> buffer)
    {
        if (_position + buffer.Length > _data.Length)
        {
            throw new InvalidOperationException($"the fixed random bytes are used up ({_data.Length - _position} left, {buffer.Length} asked)");
        }

        _data.AsSpan(_position, buffer.Length).CopyTo(buffer);
        _position += buffer.Length;
    }
}
