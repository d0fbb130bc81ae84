namespace Custos.Core;

/// <summary>
/// The chain's 256-bit hash (SM3 on gm chains, SHA-256 on intl chains), as Core needs it for identifiers and
/// Merkle roots. Implemented by <c>Custos.Crypto</c>; Core only names it so that it depends on nothing.
/// </summary>
public interface IHashFunction
{
    /// <summary>Starts a fresh digest. The accumulator is not thread-safe; use one per thread.</summary>
    IHashAccumulator Begin();

    /// <summary>
    /// digests[i] = H(prefix ‖ messages[i]) for every message. A function may compute several at once (SM3 does,
    /// sixteen to a vector, where the processor allows); the results are those of hashing each alone.
    /// </summary>
    void HashEach(ReadOnlySpan<byte> prefix, IReadOnlyList<ReadOnlyMemory<byte>> messages, Span<Hash32> digests)
    {
        if (digests.Length < messages.Count) throw new ArgumentException("a digest for every message", nameof(digests));
        using var accumulator = Begin();
        for (var i = 0; i < messages.Count; i++)
        {
            accumulator.Append(prefix);
            accumulator.Append(messages[i].Span);
            digests[i] = accumulator.Finish();
        }
    }
}

public interface IHashAccumulator : IDisposable
{
    void Append(ReadOnlySpan<byte> data);

    /// <summary>Returns the digest of everything appended and resets the accumulator for reuse.</summary>
    Hash32 Finish();
}

public static class HashFunctionExtensions
{
    public static Hash32 Hash(this IHashFunction function, ReadOnlySpan<byte> data)
    {
        using var accumulator = function.Begin();
        accumulator.Append(data);
        return accumulator.Finish();
    }

    /// <summary>Hash of a domain-separated object: the type's signing domain followed by the object's exact bytes.</summary>
    public static Hash32 HashObject(this IHashFunction function, Wire.ObjectType type, ReadOnlySpan<byte> encoded)
    {
        using var accumulator = function.Begin();
        accumulator.Append(SigningDomain.Prefix(type));
        accumulator.Append(encoded);
        return accumulator.Finish();
    }
}
