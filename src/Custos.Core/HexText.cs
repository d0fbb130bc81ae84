using Custos.Core.Wire;

namespace Custos.Core;

/// <summary>
/// Hexadecimal text from people and configuration files, decoded with typed errors instead of a FormatException:
/// the wrong number of digits is <see cref="ErrorCode.InvalidLength"/>, a non-hex digit <see cref="ErrorCode.InvalidField"/>.
/// </summary>
public static class HexText
{
    public static byte[] Decode(string? text, int sizeBytes, string what)
    {
        if (text is null || text.Length != sizeBytes * 2)
        {
            throw new CustosException(ErrorCode.InvalidLength, $"a {what} is {sizeBytes * 2} hexadecimal digits, got {text?.Length ?? 0}");
        }

        try
        {
            return Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            throw new CustosException(ErrorCode.InvalidField, $"a {what} is {sizeBytes * 2} hexadecimal digits");
        }
    }
}
