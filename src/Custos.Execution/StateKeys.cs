using System.Text;
using Custos.Core;

namespace Custos.Execution;

/// <summary>
/// How contracts' keys are laid out in the one state map: the contract's name, a zero byte, then the contract's own
/// key. A contract can only reach its own namespace (SC-2). The layout is frozen by golden tests.
/// </summary>
public static class StateKeys
{
    public static byte[] For(string contract, ReadOnlySpan<byte> key)
    {
        var name = Encoding.ASCII.GetBytes(contract);
        var result = new byte[name.Length + 1 + key.Length];
        name.CopyTo(result, 0);
        key.CopyTo(result.AsSpan(name.Length + 1));
        return result;
    }

    public static byte[] For(string contract, string key) => For(contract, Encoding.UTF8.GetBytes(key));

    public static byte[] For(string contract, string prefix, AccountId account)
    {
        var prefixBytes = Encoding.ASCII.GetBytes(prefix);
        var key = new byte[prefixBytes.Length + AccountId.SizeBytes];
        prefixBytes.CopyTo(key, 0);
        account.CopyTo(key.AsSpan(prefixBytes.Length));
        return For(contract, key);
    }

    public static byte[] For(string contract, string prefix, Hash32 hash)
    {
        var prefixBytes = Encoding.ASCII.GetBytes(prefix);
        var key = new byte[prefixBytes.Length + Hash32.SizeBytes];
        prefixBytes.CopyTo(key, 0);
        hash.CopyTo(key.AsSpan(prefixBytes.Length));
        return For(contract, key);
    }
}
