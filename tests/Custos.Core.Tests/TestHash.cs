namespace Custos.Core.Tests;

/// <summary>
/// A stand-in for the chain hash in tests that only need a deterministic function of the input (Core references no
/// crypto): a 32-byte FNV-style digest. It counts the digests it starts, so that a test can see what was hashed again.
/// </summary>
internal sealed class TestHash : IHashFunction
{
    public int Begun { get; private set; }

    public IHashAccumulator Begin()
    {
        Begun++;
        return new Accumulator();
    }

    private sealed class Accumulator : IHashAccumulator
    {
        private ulong _state = 14695981039346656037UL;

        public void Append(ReadOnlySpan<byte> data)
        {
            foreach (var b in data) _state = (_state ^ b) * 1099511628211UL;
        }

        public Hash32 Finish()
        {
            var bytes = new byte[Hash32.SizeBytes];
            for (var i = 0; i < 4; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), _state * (ulong)(i + 1));
            _state = 14695981039346656037UL;
            return new Hash32(bytes);
        }

        public void Dispose()
        {
        }
    }
}
