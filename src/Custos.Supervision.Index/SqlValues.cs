using System.Text;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Supervision.Index;

/// <summary>Conversions of ledger values to what PostgreSQL accepts.</summary>
internal static class SqlValues
{
    /// <summary>A height as bigint; no chain reaches 2^63 blocks, but a bad source must not wrap around.</summary>
    public static long Height(ulong height) => height <= long.MaxValue
        ? (long)height
        : throw new CustosException(ErrorCode.InvalidField, $"height {height} is beyond what the index stores");

    public static DateTime Time(ulong timestampMs) => DateTime.UnixEpoch.AddMilliseconds(timestampMs);

    /// <summary>
    /// Text PostgreSQL stores: it refuses the NUL character, and invalid UTF-16 (a lone surrogate) cannot be encoded.
    /// Both are replaced by U+FFFD; ledger names are validated upstream, so this only matters for free text.
    /// </summary>
    public static string Text(string value)
    {
        if (!value.Contains('\0') && Encoding.UTF8.GetByteCount(value) == StrictByteCount(value)) return value;
        var builder = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                builder.Append(c).Append(value[++i]);
            }
            else
            {
                builder.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return builder.ToString();
    }

    private static int StrictByteCount(string value)
    {
        try
        {
            return Strict.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            return -1;
        }
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
