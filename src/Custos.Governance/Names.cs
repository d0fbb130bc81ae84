using System.Text;
using Custos.Core.Wire;
using Custos.Execution;

namespace Custos.Governance;

/// <summary>Bounds and shapes of the texts governance stores: records stay small and names stay printable.</summary>
internal static class Names
{
    public const int NameCharsMax = 128;
    public const int TitleBytesMax = 256;
    public const int ReasonBytesMax = 2_048;
    public const int FactBytesMax = 256;

    /// <summary>An identifier: 1..128 characters of ASCII letters, digits and <c>. _ - @</c>.</summary>
    public static string RequireName(string value, string what, ErrorCode code = ErrorCode.ProposalInvalid)
    {
        if (value.Length is 0 or > NameCharsMax || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@'))
        {
            throw new ContractFailure(code, $"{what} '{Shorten(value)}' must be 1 to {NameCharsMax} ASCII letters, digits, '.', '_', '-' or '@'");
        }

        return value;
    }

    public static string RequireText(string value, string what, int bytesMax, bool required, ErrorCode code = ErrorCode.ProposalInvalid)
    {
        if (required && string.IsNullOrWhiteSpace(value)) throw new ContractFailure(code, $"{what} is required");
        if (Encoding.UTF8.GetByteCount(value) > bytesMax) throw new ContractFailure(code, $"{what} is longer than {bytesMax} bytes");
        return value;
    }

    public static ContractFailure Invalid(string message) => new(ErrorCode.ProposalInvalid, message);

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "...";
}
