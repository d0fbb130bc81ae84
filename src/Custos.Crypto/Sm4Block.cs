using Custos.Core;
using Custos.Core.Wire;
using Org.BouncyCastle.Crypto.Parameters;

namespace Custos.Crypto;

/// <summary>
/// One SM4 key schedule applied to single 16-byte blocks (GB/T 32907 with no mode of operation), so that the
/// standard's block examples run through Custos.Crypto (on <see cref="Sm4Engine"/>).
/// </summary>
internal sealed class Sm4Block
{
    public const int SizeBytes = 16;

    private readonly Sm4Engine _encryption = new();
    private readonly Sm4Engine _decryption = new();

    public Sm4Block(ReadOnlySpan<byte> key)
    {
        if (key.Length != SizeBytes) throw new CustosException(ErrorCode.InvalidLength, $"an SM4 key is 16 bytes, got {key.Length}");
        _encryption.Init(true, new KeyParameter(key));
        _decryption.Init(false, new KeyParameter(key));
    }

    public void Encrypt(ReadOnlySpan<byte> input, Span<byte> output) => Process(_encryption, input, output);

    public void Decrypt(ReadOnlySpan<byte> input, Span<byte> output) => Process(_decryption, input, output);

    private static void Process(Sm4Engine engine, ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (input.Length != SizeBytes || output.Length < SizeBytes) throw new CustosException(ErrorCode.InvalidLength, "SM4 works on 16-byte blocks");
        engine.ProcessBlock(input, output);
    }
}
