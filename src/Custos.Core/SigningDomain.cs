using System.Text;
using Custos.Core.Wire;

namespace Custos.Core;

/// <summary>
/// The prefix put in front of an object's bytes before they are signed or hashed. Each object type has its own,
/// so a vote's signature can never pass for a transaction's and a block hash can never equal a transaction hash.
/// The prefixes are part of the format and frozen by golden tests.
/// </summary>
public static class SigningDomain
{
    private static readonly byte[][] Prefixes = BuildPrefixes();

    /// <summary>ASCII <c>custos/v1/&lt;type&gt;</c> followed by a zero byte.</summary>
    public static ReadOnlySpan<byte> Prefix(ObjectType type)
    {
        var index = (int)type;
        if (index <= 0 || index >= Prefixes.Length)
        {
            throw new CustosException(ErrorCode.InvalidField, $"object type {index} has no signing domain");
        }

        return Prefixes[index];
    }

    /// <summary>Prefix followed by payload, for APIs that need one contiguous message (tests, external tools).</summary>
    public static byte[] Wrap(ObjectType type, ReadOnlySpan<byte> payload)
    {
        var prefix = Prefix(type);
        var message = new byte[prefix.Length + payload.Length];
        prefix.CopyTo(message);
        payload.CopyTo(message.AsSpan(prefix.Length));
        return message;
    }

    private static byte[][] BuildPrefixes()
    {
        var values = Enum.GetValues<ObjectType>();
        var prefixes = new byte[values.Max(v => (int)v) + 1][];
        foreach (var value in values)
        {
            if (value == ObjectType.Unspecified) continue;
            var name = TypesReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("ObjectType").FindValueByNumber((int)value).Name["OBJECT_TYPE_".Length..].ToLowerInvariant();
            prefixes[(int)value] = Encoding.ASCII.GetBytes($"custos/v1/{name}\0");
        }

        return prefixes;
    }
}
