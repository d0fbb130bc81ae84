using System.Text;
using Custos.Core;

namespace Custos.Execution;

/// <summary>
/// How contracts' keys are laid out in the one state map: the contract's name, a zero byte, then the contract's own
/// key. A contract can only reach its own namespace (SC-2). The layout is frozen by golden tests.
/// </summary>
public static class StateKeys
{
    // Each key is built in one array: a transfer builds several, and the intermediate arrays they were once built from
    // were a noticeable share of what executing a transaction allocated. Names are ASCII (others encode as '?').
    public static byte[] For(string contract, ReadOnlySpan<byte> key)
    {
        var name = Encoding.ASCII.GetByteCount(contract);
        var result = new byte[name + 1 + key.Length];
        Encoding.ASCII.GetBytes(contract, result);
        key.CopyTo(result.AsSpan(name + 1));
        return result;
    }

    public static byte[] For(string contract, string key)
    {
        var name = Encoding.ASCII.GetByteCount(contract);
        var result = new byte[name + 1 + Encoding.UTF8.GetByteCount(key)];
        Encoding.ASCII.GetBytes(contract, result);
        Encoding.UTF8.GetBytes(key, result.AsSpan(name + 1));
        return result;
    }

    public static byte[] For(string contract, string prefix, AccountId account)
    {
        var result = WithPrefix(contract, prefix, AccountId.SizeBytes, out var tail);
        account.CopyTo(result.AsSpan(tail));
        return result;
    }

    public static byte[] For(string contract, string prefix, Hash32 hash)
    {
        var result = WithPrefix(contract, prefix, Hash32.SizeBytes, out var tail);
        hash.CopyTo(result.AsSpan(tail));
        return result;
    }

    private static byte[] WithPrefix(string contract, string prefix, int suffixBytes, out int tail)
    {
        var name = Encoding.ASCII.GetByteCount(contract);
        var prefixBytes = Encoding.ASCII.GetByteCount(prefix);
        var result = new byte[name + 1 + prefixBytes + suffixBytes];
        Encoding.ASCII.GetBytes(contract, result);
        Encoding.ASCII.GetBytes(prefix, result.AsSpan(name + 1));
        tail = name + 1 + prefixBytes;
        return result;
    }
}
