using System.Globalization;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto.Custody;

/// <summary>
/// Where a private key is, as configuration writes it: <c>file:/path/to/node.key</c> for an encrypted key file, or
/// an RFC 7512 PKCS#11 URI such as
/// <c>pkcs11:token=custos;object=node1?module-path=/usr/lib/softhsm/libsofthsm2.so&amp;pin-source=env:CUSTOS_HSM_PIN</c>.
/// A reference holds no secret: the PIN or passphrase is named by a <see cref="SecretSource"/>.
/// </summary>
public abstract class KeyReference
{
    private protected KeyReference()
    {
    }

    public static KeyReference Parse(string text) =>
        TryParse(text, out var reference, out var error) ? reference : throw error.ToException();

    public static bool TryParse(string? text, out KeyReference reference, out CustosError error)
    {
        reference = null!;
        if (string.IsNullOrEmpty(text))
        {
            error = new CustosError(ErrorCode.InvalidField, "a key reference is required (file:PATH or pkcs11:…)");
            return false;
        }

        try
        {
            if (text.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            {
                reference = KeyFileReference.ParseBody(text["file:".Length..]);
            }
            else if (text.StartsWith("pkcs11:", StringComparison.OrdinalIgnoreCase))
            {
                reference = Pkcs11KeyReference.ParseBody(text["pkcs11:".Length..]);
            }
            else
            {
                error = new CustosError(ErrorCode.Malformed, "a key reference starts with file: or pkcs11:");
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
}

/// <summary>An encrypted key file (<see cref="EncryptedKeyFile"/>): <c>file:/abs/path</c>, <c>file:relative/path</c> or <c>file:///abs/path</c>.</summary>
public sealed class KeyFileReference : KeyReference
{
    public KeyFileReference(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0')) throw new CustosException(ErrorCode.InvalidField, "a key file path is non-empty and contains no NUL");
        Path = path;
    }

    public string Path { get; }

    internal static KeyFileReference ParseBody(string body)
    {
        // RFC 8089: file:///p has an empty authority; file://host/p names another machine, which a key never is.
        if (body.StartsWith("//", StringComparison.Ordinal))
        {
            if (!body.StartsWith("///", StringComparison.Ordinal)) throw new CustosException(ErrorCode.InvalidField, "a key file must be local (file:///path, not file://host/path)");
            body = body[2..];
        }

        return new KeyFileReference(body);
    }

    /// <summary>file:PATH; a path starting with "//" gets an empty authority so that it parses back unchanged.</summary>
    public override string ToString() => Path.StartsWith("//", StringComparison.Ordinal) ? "file://" + Path : "file:" + Path;

    public override bool Equals(object? obj) => obj is KeyFileReference other && other.Path == Path;

    public override int GetHashCode() => Path.GetHashCode(StringComparison.Ordinal);
}

/// <summary>
/// A key in a PKCS#11 token, from an RFC 7512 URI. Path attributes: <c>token</c> (required), <c>serial</c>,
/// <c>object</c> (the key's label) and/or <c>id</c> (its CKA_ID, percent-encoded bytes), <c>type=private</c>.
/// Query attributes: <c>module-path</c> (required), <c>pin-source</c> (required; <c>env:NAME</c> or <c>file:PATH</c>),
/// and the vendor extensions <c>x-custos-key-type</c>, <c>x-custos-keygen-mechanism</c>,
/// <c>x-custos-sign-mechanism</c> (numbers, decimal or 0x-hex) and <c>x-custos-token-hashes</c> (true/false), which
/// override the suite's <see cref="Pkcs11MechanismSet"/>. <c>pin-value</c> is refused: a PIN does not belong in
/// configuration. Other standard attributes are refused rather than silently ignored, since each would narrow the
/// match; unknown <c>x-</c> attributes are ignored as RFC 7512 allows.
/// </summary>
public sealed class Pkcs11KeyReference : KeyReference
{
    private static readonly string[] UnsupportedStandardAttributes =
    [
        "manufacturer", "model", "library-manufacturer", "library-description", "library-version", "slot-description", "slot-manufacturer",
        "slot-id", "module-name",
    ];

    private readonly byte[]? _objectId;

    public Pkcs11KeyReference(string modulePath, string tokenLabel, string? objectLabel, ReadOnlySpan<byte> objectId, SecretSource pinSource,
        string? tokenSerial = null, Pkcs11MechanismOverrides? mechanismOverrides = null)
    {
        if (string.IsNullOrEmpty(modulePath)) throw new CustosException(ErrorCode.InvalidField, "a PKCS#11 key reference needs module-path");
        if (string.IsNullOrEmpty(tokenLabel)) throw new CustosException(ErrorCode.InvalidField, "a PKCS#11 key reference needs token=");
        if (string.IsNullOrEmpty(objectLabel) && objectId.IsEmpty) throw new CustosException(ErrorCode.InvalidField, "a PKCS#11 key reference needs object= or id=");
        ModulePath = modulePath;
        TokenLabel = tokenLabel;
        ObjectLabel = string.IsNullOrEmpty(objectLabel) ? null : objectLabel;
        _objectId = objectId.IsEmpty ? null : objectId.ToArray();
        PinSource = pinSource;
        TokenSerial = string.IsNullOrEmpty(tokenSerial) ? null : tokenSerial;
        MechanismOverrides = mechanismOverrides ?? Pkcs11MechanismOverrides.None;
    }

    public string ModulePath { get; }

    public string TokenLabel { get; }

    public string? TokenSerial { get; }

    /// <summary>CKA_LABEL of the key.</summary>
    public string? ObjectLabel { get; }

    /// <summary>CKA_ID of the key, if the URI names one.</summary>
    public byte[]? ObjectId => _objectId is null ? null : (byte[])_objectId.Clone();

    public SecretSource PinSource { get; }

    public Pkcs11MechanismOverrides MechanismOverrides { get; }

    internal static Pkcs11KeyReference ParseBody(string body)
    {
        var queryStart = body.IndexOf('?', StringComparison.Ordinal);
        var path = queryStart < 0 ? body : body[..queryStart];
        var query = queryStart < 0 ? "" : body[(queryStart + 1)..];
        var attributes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        ReadAttributes(path, ';', attributes, "path");
        ReadAttributes(query, '&', attributes, "query");

        foreach (var name in attributes.Keys)
        {
            if (name == "pin-value") throw new CustosException(ErrorCode.InvalidField, "pin-value is refused: name where the PIN is with pin-source=env:NAME or pin-source=file:PATH");
            if (Array.IndexOf(UnsupportedStandardAttributes, name) >= 0)
            {
                throw new CustosException(ErrorCode.InvalidField, $"the PKCS#11 URI attribute '{name}' is not supported; identify the token by token= (and serial=) and the module by module-path=");
            }
        }

        if (attributes.TryGetValue("type", out var type) && Text(type, "type") != "private")
        {
            throw new CustosException(ErrorCode.InvalidField, "a signing key reference names a private key (type=private or no type)");
        }

        var modulePath = attributes.TryGetValue("module-path", out var module) ? Text(module, "module-path") : null;
        var token = attributes.TryGetValue("token", out var tokenBytes) ? Text(tokenBytes, "token") : null;
        var pinText = attributes.TryGetValue("pin-source", out var pin) ? Text(pin, "pin-source") : null;
        if (string.IsNullOrEmpty(modulePath)) throw new CustosException(ErrorCode.InvalidField, "a PKCS#11 key reference needs module-path=");
        if (string.IsNullOrEmpty(token)) throw new CustosException(ErrorCode.InvalidField, "a PKCS#11 key reference needs token=");
        if (pinText is null) throw new CustosException(ErrorCode.InvalidField, "a PKCS#11 key reference needs pin-source=env:NAME or pin-source=file:PATH");
        if (!SecretSource.TryParse(pinText, out var pinSource, out var pinError)) throw pinError.ToException();

        var overrides = new Pkcs11MechanismOverrides(
            Number(attributes, "x-custos-key-type"),
            Number(attributes, "x-custos-keygen-mechanism"),
            Number(attributes, "x-custos-sign-mechanism"),
            Flag(attributes, "x-custos-token-hashes"));
        return new Pkcs11KeyReference(
            modulePath,
            token,
            attributes.TryGetValue("object", out var objectLabel) ? Text(objectLabel, "object") : null,
            attributes.TryGetValue("id", out var id) ? id : [],
            pinSource,
            attributes.TryGetValue("serial", out var serial) ? Text(serial, "serial") : null,
            overrides);
    }

    private static void ReadAttributes(string part, char separator, Dictionary<string, byte[]> attributes, string where)
    {
        if (part.Length == 0) return;
        foreach (var attribute in part.Split(separator))
        {
            var equals = attribute.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0) throw new CustosException(ErrorCode.Malformed, $"a PKCS#11 URI {where} attribute is name=value");
            var name = attribute[..equals].ToLowerInvariant();
            foreach (var c in name)
            {
                if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')) throw new CustosException(ErrorCode.Malformed, "a PKCS#11 URI attribute name is letters, digits and '-'");
            }

            // RFC 7512 §2.3: an attribute appears at most once. Unknown vendor attributes are dropped here.
            if (!attributes.TryAdd(name, PercentDecode(attribute[(equals + 1)..]))) throw new CustosException(ErrorCode.Malformed, $"the PKCS#11 URI attribute '{name}' appears twice");
            if (name.StartsWith("x-", StringComparison.Ordinal) && !name.StartsWith("x-custos-", StringComparison.Ordinal)) attributes.Remove(name);
            else if (!IsKnown(name)) throw new CustosException(ErrorCode.InvalidField, $"'{name}' is not a PKCS#11 URI attribute");
        }
    }

    private static bool IsKnown(string name) => name is "token" or "serial" or "object" or "id" or "type" or "module-path" or "pin-source" or "pin-value"
        or "x-custos-key-type" or "x-custos-keygen-mechanism" or "x-custos-sign-mechanism" or "x-custos-token-hashes"
        || Array.IndexOf(UnsupportedStandardAttributes, name) >= 0;

    private static byte[] PercentDecode(string value)
    {
        var bytes = new List<byte>(value.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%')
            {
                if (i + 2 >= value.Length || !IsHex(value[i + 1]) || !IsHex(value[i + 2])) throw new CustosException(ErrorCode.Malformed, "a '%' in a PKCS#11 URI is followed by two hex digits");
                bytes.Add(byte.Parse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 2;
            }
            else if (char.IsControl(c) || c == ' ')
            {
                throw new CustosException(ErrorCode.Malformed, "spaces and control characters in a PKCS#11 URI are percent-encoded");
            }
            else if (char.IsSurrogate(c))
            {
                if (!char.IsHighSurrogate(c) || i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1])) throw new CustosException(ErrorCode.Malformed, "a PKCS#11 URI is not valid UTF-16");
                var written = new Rune(c, value[i + 1]).EncodeToUtf8(utf8);
                for (var j = 0; j < written; j++) bytes.Add(utf8[j]);
                i++;
            }
            else
            {
                var written = new Rune(c).EncodeToUtf8(utf8);
                for (var j = 0; j < written; j++) bytes.Add(utf8[j]);
            }
        }

        return [.. bytes];
    }

    private static bool IsHex(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f') or (>= 'A' and <= 'F');

    private static string Text(byte[] value, string name)
    {
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(value);
        }
        catch (DecoderFallbackException)
        {
            throw new CustosException(ErrorCode.Malformed, $"the PKCS#11 URI attribute '{name}' is not UTF-8");
        }
    }

    private static ulong? Number(Dictionary<string, byte[]> attributes, string name)
    {
        if (!attributes.TryGetValue(name, out var value)) return null;
        var text = Text(value, name);
        var parsed = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var number)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out number);
        return parsed ? number : throw new CustosException(ErrorCode.InvalidField, $"{name} is a number (decimal or 0x-hex)");
    }

    private static bool? Flag(Dictionary<string, byte[]> attributes, string name)
    {
        if (!attributes.TryGetValue(name, out var value)) return null;
        return Text(value, name) switch
        {
            "true" => true,
            "false" => false,
            _ => throw new CustosException(ErrorCode.InvalidField, $"{name} is true or false"),
        };
    }

    /// <summary>The canonical RFC 7512 form; parsing it gives an equal reference.</summary>
    public override string ToString()
    {
        var builder = new StringBuilder("pkcs11:");
        builder.Append("token=").Append(Encode(Encoding.UTF8.GetBytes(TokenLabel), keepSlash: false));
        if (TokenSerial is not null) builder.Append(";serial=").Append(Encode(Encoding.UTF8.GetBytes(TokenSerial), keepSlash: false));
        if (ObjectLabel is not null) builder.Append(";object=").Append(Encode(Encoding.UTF8.GetBytes(ObjectLabel), keepSlash: false));
        if (_objectId is not null) builder.Append(";id=").Append(Encode(_objectId, keepSlash: false, encodeAll: true));
        builder.Append("?module-path=").Append(Encode(Encoding.UTF8.GetBytes(ModulePath), keepSlash: true));
        builder.Append("&pin-source=").Append(Encode(Encoding.UTF8.GetBytes(PinSource.ToString()), keepSlash: true));
        var o = MechanismOverrides;
        if (o.KeyType is { } keyType) builder.Append("&x-custos-key-type=0x").Append(keyType.ToString("x", CultureInfo.InvariantCulture));
        if (o.KeyGenerationMechanism is { } keyGen) builder.Append("&x-custos-keygen-mechanism=0x").Append(keyGen.ToString("x", CultureInfo.InvariantCulture));
        if (o.SignMechanism is { } sign) builder.Append("&x-custos-sign-mechanism=0x").Append(sign.ToString("x", CultureInfo.InvariantCulture));
        if (o.TokenHashesMessage is { } hashes) builder.Append("&x-custos-token-hashes=").Append(hashes ? "true" : "false");
        return builder.ToString();
    }

    private static string Encode(byte[] value, bool keepSlash, bool encodeAll = false)
    {
        var builder = new StringBuilder(value.Length * 3);
        foreach (var b in value)
        {
            var c = (char)b;
            var plain = !encodeAll && b < 0x80 && (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or ':' || (keepSlash && c == '/'));
            if (plain) builder.Append(c);
            else builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }

    public override bool Equals(object? obj) => obj is Pkcs11KeyReference other && other.ToString() == ToString();

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}

/// <summary>Per-reference changes to the suite's default <see cref="Pkcs11MechanismSet"/>; null leaves a value as it is.</summary>
public sealed record Pkcs11MechanismOverrides(ulong? KeyType, ulong? KeyGenerationMechanism, ulong? SignMechanism, bool? TokenHashesMessage)
{
    public static Pkcs11MechanismOverrides None { get; } = new(null, null, null, null);

    public Pkcs11MechanismSet ApplyTo(Pkcs11MechanismSet set) => set with
    {
        KeyType = KeyType ?? set.KeyType,
        KeyGenerationMechanism = KeyGenerationMechanism ?? set.KeyGenerationMechanism,
        SignMechanism = SignMechanism ?? set.SignMechanism,
        TokenHashesMessage = TokenHashesMessage ?? set.TokenHashesMessage,
    };
}
