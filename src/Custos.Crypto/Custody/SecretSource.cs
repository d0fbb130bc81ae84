using System.Text;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto.Custody;

/// <summary>
/// Where a secret (an HSM PIN or a key-file passphrase) is read from: an environment variable (<c>env:NAME</c>) or a
/// file (<c>file:PATH</c>). Configuration names the place, never the secret itself, so that secrets stay out of
/// config files, command lines and logs. <see cref="ToString"/> shows only the place.
/// </summary>
public sealed class SecretSource : IEquatable<SecretSource>
{
    /// <summary>Secrets are short; a larger file is a misconfiguration (say, a key file named by mistake).</summary>
    internal const int MaximumFileBytes = 4096;

    private SecretSource(SecretSourceKind kind, string location)
    {
        Kind = kind;
        Location = location;
    }

    public SecretSourceKind Kind { get; }

    /// <summary>The variable name or the file path.</summary>
    public string Location { get; }

    public static SecretSource FromEnvironment(string variableName)
    {
        if (string.IsNullOrEmpty(variableName) || variableName.Contains('=') || variableName.Contains('\0'))
        {
            throw new CustosException(ErrorCode.InvalidField, "an environment variable name is non-empty and contains neither '=' nor NUL");
        }

        return new SecretSource(SecretSourceKind.Environment, variableName);
    }

    public static SecretSource FromFile(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0')) throw new CustosException(ErrorCode.InvalidField, "a secret file path is non-empty and contains no NUL");
        return new SecretSource(SecretSourceKind.File, path);
    }

    /// <summary>Parses <c>env:NAME</c> or <c>file:PATH</c>.</summary>
    public static bool TryParse(string? text, out SecretSource source, out CustosError error)
    {
        source = null!;
        if (text is null)
        {
            error = new CustosError(ErrorCode.InvalidField, "a secret source is required (env:NAME or file:PATH)");
            return false;
        }

        try
        {
            if (text.StartsWith("env:", StringComparison.Ordinal))
            {
                source = FromEnvironment(text["env:".Length..]);
            }
            else if (text.StartsWith("file:", StringComparison.Ordinal))
            {
                source = FromFile(text["file:".Length..]);
            }
            else
            {
                // The text may be a secret pasted in the wrong place, so it is not echoed back.
                error = new CustosError(ErrorCode.InvalidField, "a secret source is env:NAME or file:PATH");
                return false;
            }
        }
        catch (CustosException e)
        {
            error = e.Error;
            return false;
        }

        error = null!;
        return true;
    }

    public static SecretSource Parse(string text) =>
        TryParse(text, out var source, out var error) ? source : throw error.ToException();

    /// <summary>
    /// Reads the secret as UTF-8 bytes; the caller wipes them. One trailing line break is dropped from a file, as
    /// editors and <c>echo</c> add one. Failures are raised with <paramref name="failureCode"/> and name only the place.
    /// </summary>
    internal byte[] ReadUtf8(ErrorCode failureCode, string purpose)
    {
        if (Kind == SecretSourceKind.Environment)
        {
            var value = Environment.GetEnvironmentVariable(Location);
            if (string.IsNullOrEmpty(value)) throw new CustosException(failureCode, $"the {purpose} variable {Location} is not set");
            return Encoding.UTF8.GetBytes(value);
        }

        byte[] content;
        try
        {
            var info = new FileInfo(Location);
            if (!info.Exists) throw new CustosException(failureCode, $"the {purpose} file {Location} does not exist");
            if (info.Length > MaximumFileBytes) throw new CustosException(failureCode, $"the {purpose} file {Location} is larger than {MaximumFileBytes} bytes");
            content = File.ReadAllBytes(Location);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CustosException(failureCode, $"the {purpose} file {Location} cannot be read: {e.GetType().Name}");
        }

        var length = content.Length;
        if (length > 0 && content[length - 1] == (byte)'\n') length--;
        if (length > 0 && content[length - 1] == (byte)'\r') length--;
        if (length == 0)
        {
            Array.Clear(content);
            throw new CustosException(failureCode, $"the {purpose} file {Location} is empty");
        }

        if (length == content.Length) return content;
        var trimmed = content[..length];
        Array.Clear(content);
        return trimmed;
    }

    /// <summary>Reads the secret as characters (for passphrases); the caller wipes them.</summary>
    internal char[] ReadChars(ErrorCode failureCode, string purpose)
    {
        var bytes = ReadUtf8(failureCode, purpose);
        try
        {
            var decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
            return decoder.GetChars(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new CustosException(failureCode, $"the {purpose} from {this} is not valid UTF-8");
        }
        finally
        {
            Array.Clear(bytes);
        }
    }

    public override string ToString() => Kind == SecretSourceKind.Environment ? $"env:{Location}" : $"file:{Location}";

    public bool Equals(SecretSource? other) => other is not null && other.Kind == Kind && other.Location == Location;

    public override bool Equals(object? obj) => obj is SecretSource other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Kind, Location);
}

public enum SecretSourceKind
{
    Environment,
    File,
}
