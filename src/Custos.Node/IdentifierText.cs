using System.Text.RegularExpressions;
using Custos.Core;
using Custos.Privacy.Masking;

namespace Custos.Node;

/// <summary>
/// Masks the account ids inside free text (error messages, alert details, query strings) before a log line or an API
/// response carries it (PRI-4). An account id prints as exactly 32 hexadecimal digits (<see cref="AccountId"/>), and a
/// pseudonym is an account, so any run of exactly 32 hexadecimal digits is masked as an account. Longer runs are left
/// alone: transaction and block hashes (64 digits) are not personal identifiers. Masking something that only looks
/// like an account costs nothing; printing an account whole is what must not happen.
/// </summary>
public static partial class IdentifierText
{
    public static string Mask(string text) =>
        text.Length < AccountId.SizeBytes * 2 ? text : AccountHex().Replace(text, m => IdentifierMask.Mask(IdentifierKind.Account, m.Value));

    /// <summary>Whether <paramref name="text"/> holds an account id in full (what a scan of logs looks for).</summary>
    public static bool HoldsAccount(string text) => AccountHex().IsMatch(text);

    [GeneratedRegex("(?<![0-9A-Fa-f])[0-9A-Fa-f]{32}(?![0-9A-Fa-f])", RegexOptions.CultureInvariant)]
    private static partial Regex AccountHex();
}
