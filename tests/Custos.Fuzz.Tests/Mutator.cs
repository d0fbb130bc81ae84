namespace Custos.Fuzz.Tests;

/// <summary>
/// Deterministic mutations in the style of a fuzzer's havoc stage: bit flips, byte overwrites, truncation,
/// insertion, deletion, duplication, and protobuf-flavoured edits (lengths and varints), stacked one to four deep.
/// Seeded, so a failing run repeats exactly.
/// </summary>
internal sealed class Mutator(int seed)
{
    // Values that stress varint and length parsing: zero, one-byte limits, maximal and overlong varints.
    private static readonly byte[][] Interesting =
    [
        [0x00], [0x01], [0x7f], [0x80, 0x01], [0xff, 0x01],
        [0xff, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
        [0x0a, 0x00], [0x12, 0x00], [0x0b], [0x0c],
    ];

    private readonly Random _random = new(seed);

    public byte[] Mutate(byte[] input)
    {
        var bytes = new List<byte>(input);
        var rounds = _random.Next(1, 5);
        for (var i = 0; i < rounds; i++) MutateOnce(bytes);
        return [.. bytes];
    }

    public byte[] RandomBytes()
    {
        var bytes = new byte[_random.Next(0, 600)];
        _random.NextBytes(bytes);
        return bytes;
    }

    private void MutateOnce(List<byte> bytes)
    {
        var position = bytes.Count == 0 ? 0 : _random.Next(bytes.Count);
        switch (_random.Next(9))
        {
            case 0 when bytes.Count > 0:
                bytes[position] ^= (byte)(1 << _random.Next(8));
                break;
            case 1 when bytes.Count > 0:
                bytes[position] = (byte)_random.Next(256);
                break;
            case 2 when bytes.Count > 0:
                bytes.RemoveRange(position, bytes.Count - position);
                break;
            case 3:
                var inserted = new byte[_random.Next(1, 17)];
                _random.NextBytes(inserted);
                bytes.InsertRange(position, inserted);
                break;
            case 4 when bytes.Count > 0:
                bytes.RemoveRange(position, _random.Next(1, Math.Min(32, bytes.Count - position) + 1));
                break;
            case 5 when bytes.Count > 0:
                var length = _random.Next(1, Math.Min(64, bytes.Count - position) + 1);
                bytes.InsertRange(_random.Next(bytes.Count + 1), bytes.GetRange(position, length));
                break;
            case 6:
                bytes.InsertRange(position, Interesting[_random.Next(Interesting.Length)]);
                break;
            case 7 when bytes.Count > 0:
                // Nudge a byte by a small amount: turns lengths and counts into off-by-one values.
                bytes[position] = (byte)(bytes[position] + _random.Next(-2, 3));
                break;
            default:
                if (bytes.Count > 0) bytes[position] = 0xff;
                break;
        }
    }
}
