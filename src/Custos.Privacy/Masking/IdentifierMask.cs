using System.Globalization;
using System.Text;
using Custos.Core;

namespace Custos.Privacy.Masking;

/// <summary>The kinds of identifier that API output and logs mask, each with its own rule.</summary>
public enum IdentifierKind
{
    /// <summary>A 16-byte account id in hex: keep 4 characters each side.</summary>
    Account,

    /// <summary>A pseudonym id (hex or text): keep 4 characters each side.</summary>
    Pseudonym,

    /// <summary>A person's name: keep the first character, and the last of names of three or more.</summary>
    Name,

    /// <summary>A bank-card-like number: keep the first 4 and last 4 digits.</summary>
    CardNumber,

    /// <summary>A telephone number: keep the first 3 and last 4 digits.</summary>
    Phone,

    /// <summary>An identity document number: keep the first 2 and last 2 characters.</summary>
    IdentityNumber,

    /// <summary>Anything else: keep 2 characters each side.</summary>
    Opaque,
}

/// <summary>
/// Masks identifiers for display (§14.4: identifiers partly hidden by default; PRI-4). Every API output and log
/// line that names an account, pseudonym, name or number goes through here; a full display is a separate,
/// authorised and audited act by the caller. The mask keeps a short prefix and suffix so that people can still
/// tell records apart, and it always hides at least four characters and at least a third of a value (all of a value
/// of four characters or fewer).
/// </summary>
public static class IdentifierMask
{
    public const char MaskCharacter = '*';

    public static string Account(AccountId account) => Mask(IdentifierKind.Account, account.ToString());

    public static string Pseudonym(string pseudonym) => Mask(IdentifierKind.Pseudonym, pseudonym);

    public static string Name(string name) => Mask(IdentifierKind.Name, name);

    public static string CardNumber(string number) => Mask(IdentifierKind.CardNumber, number);

    /// <summary>Bytes shown as masked hex (state keys, hashes of identifiers).</summary>
    public static string Bytes(ReadOnlySpan<byte> value) => Mask(IdentifierKind.Opaque, Convert.ToHexStringLower(value));

    public static string Mask(IdentifierKind kind, string? value)
    {
        if (string.IsNullOrEmpty(value)) return string.Empty;
        return kind switch
        {
            IdentifierKind.Account or IdentifierKind.Pseudonym => Keep(value, 4, 4),
            IdentifierKind.Name => MaskName(value),
            IdentifierKind.CardNumber or IdentifierKind.Phone => MaskDigits(value, kind == IdentifierKind.CardNumber ? 4 : 3, 4),
            IdentifierKind.IdentityNumber => Keep(value, 2, 2),
            _ => Keep(value, 2, 2),
        };
    }

    /// <summary>
    /// Keeps <paramref name="prefix"/> and <paramref name="suffix"/> text elements, masking the rest; shrinks what
    /// it keeps so that enough stays hidden (<see cref="HiddenMin"/>).
    /// </summary>
    public static string Keep(string value, int prefix, int suffix)
    {
        var elements = TextElements(value);
        var count = elements.Count;
        Shrink(count, ref prefix, ref suffix);

        var builder = new StringBuilder(value.Length);
        for (var i = 0; i < count; i++)
        {
            if (i < prefix || i >= count - suffix) builder.Append(elements[i]);
            else builder.Append(MaskCharacter);
        }

        return builder.ToString();
    }

    // Names: "张三" → "张*", "欧阳娜娜" → "欧**娜": the usual display in Chinese financial services.
    private static string MaskName(string name)
    {
        var elements = TextElements(name);
        if (elements.Count == 1) return MaskCharacter.ToString();
        var builder = new StringBuilder(elements[0]);
        if (elements.Count == 2) return builder.Append(MaskCharacter).ToString();
        builder.Append(MaskCharacter, elements.Count - 2);
        return builder.Append(elements[^1]).ToString();
    }

    // Digits only count; separators (spaces, dashes) are kept in place so the shape stays readable.
    private static string MaskDigits(string value, int prefix, int suffix)
    {
        var digits = value.Count(char.IsAsciiDigit);
        if (digits == 0) return Keep(value, 2, 2);
        Shrink(digits, ref prefix, ref suffix);

        var builder = new StringBuilder(value.Length);
        var seen = 0;
        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                builder.Append(c);
                continue;
            }

            builder.Append(seen < prefix || seen >= digits - suffix ? c : MaskCharacter);
            seen++;
        }

        return builder.ToString();
    }

    /// <summary>How many of <paramref name="count"/> characters a mask hides at least: a third, and four (or all).</summary>
    public static int HiddenMin(int count) => Math.Min(count, Math.Max(4, (count + 2) / 3));

    private static void Shrink(int count, ref int prefix, ref int suffix)
    {
        while (prefix + suffix > count - HiddenMin(count))
        {
            if (prefix >= suffix && prefix > 0) prefix--;
            else suffix--;
        }
    }

    private static List<string> TextElements(string value)
    {
        var elements = new List<string>(value.Length);
        var enumerator = StringInfo.GetTextElementEnumerator(value);
        while (enumerator.MoveNext()) elements.Add(enumerator.GetTextElement());
        return elements;
    }
}

/// <summary>
/// An identifier that formats masked, for structured logs: passing the raw string to a logger would print it whole,
/// passing this prints the mask. <see cref="Reveal"/> is the explicit full display.
/// </summary>
public readonly record struct MaskedIdentifier(IdentifierKind Kind, string Value)
{
    public override string ToString() => IdentifierMask.Mask(Kind, Value);

    public string Reveal() => Value;
}
