using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Custos.Privacy.Audit;
using Custos.Privacy.Masking;
using Microsoft.AspNetCore.Http;

namespace Custos.Node.Api;

/// <summary>
/// How one response shows the identifiers it renders (PRI-4, §14.4): masked by default; in full only when the request
/// asks for it (<c>reveal=true</c> with a <c>purpose</c>) and its caller's role allows it. Every identifier a revealed
/// response shows is recorded before it is handed out, once per response: the node's log (and the privacy audit log,
/// where the node has one) names who revealed it, on which path, for what purpose, and the identifier masked and as a
/// hash (<see cref="PrivacyAuditLog.KeyHash"/>), so an auditor holding an account finds its reveals without the log
/// listing accounts. Not thread-safe: one instance serves one request.
/// </summary>
public sealed class IdentifierDisplay
{
    public const string RevealParameter = "reveal";
    public const string PurposeParameter = "purpose";
    public const int PurposeLengthMax = 256;

    private readonly Reveal? _reveal;

    private IdentifierDisplay(Reveal? reveal) => _reveal = reveal;

    /// <summary>The default: every identifier masked.</summary>
    public static IdentifierDisplay Masked { get; } = new(null);

    public bool Revealed => _reveal is not null;

    /// <summary>Whether the request asks for a full display (<c>reveal=true</c>); anything but true or false is refused.</summary>
    public static bool Requested(IQueryCollection query)
    {
        if (!query.TryGetValue(RevealParameter, out var text)) return false;
        return text.ToString() switch
        {
            "true" or "1" => true,
            "false" or "0" or "" => false,
            _ => throw new CustosException(ErrorCode.InvalidField, $"{RevealParameter} is true or false"),
        };
    }

    /// <summary>
    /// A full display for <paramref name="caller"/>, who is already authorised to reveal; the request must say why
    /// (<c>purpose</c>, 1 to <see cref="PurposeLengthMax"/> characters).
    /// </summary>
    public static IdentifierDisplay RevealTo(ValidatedIdentity caller, HttpRequest request, NodeLog log, IHashFunction hash, PrivacyAuditLog? audit)
    {
        var purpose = request.Query.TryGetValue(PurposeParameter, out var text) ? text.ToString().Trim() : "";
        if (purpose.Length == 0) throw new CustosException(ErrorCode.InvalidField, $"a reveal names its {PurposeParameter}");
        if (purpose.Length > PurposeLengthMax) throw new CustosException(ErrorCode.TooLarge, $"{PurposeParameter} is at most {PurposeLengthMax} characters");
        return new IdentifierDisplay(new Reveal(caller, request.Path.Value ?? "", purpose, log, hash, audit));
    }

    /// <summary>An account (or pseudonym), masked or in hexadecimal.</summary>
    public string Account(AccountId account)
    {
        if (_reveal is null) return IdentifierMask.Account(account);
        _reveal.Record(account);
        return account.ToString();
    }

    /// <summary>An account as stored bytes: empty stays empty; bytes that are not an account are masked as bytes.</summary>
    public string Account(ReadOnlySpan<byte> account)
    {
        if (account.IsEmpty) return string.Empty;
        if (AccountId.TryCreate(account, out var id)) return Account(id);
        return _reveal is null ? IdentifierMask.Bytes(account) : Convert.ToHexStringLower(account);
    }

    /// <summary>An account in hexadecimal, as the index returns it.</summary>
    public string? Account(string? hex)
    {
        if (string.IsNullOrEmpty(hex)) return hex;
        byte[] bytes;
        try
        {
            bytes = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return _reveal is null ? IdentifierMask.Mask(IdentifierKind.Opaque, hex) : hex;
        }

        return Account(bytes);
    }

    /// <summary>
    /// Free text that may name accounts (an alert's detail): masked, or whole when revealed. The accounts a detail
    /// names are the alert's own, which the response records as it renders them.
    /// </summary>
    public string Text(string text) => _reveal is null ? IdentifierText.Mask(text) : text;

    private sealed class Reveal(ValidatedIdentity caller, string path, string purpose, NodeLog log, IHashFunction hash, PrivacyAuditLog? audit)
    {
        private readonly HashSet<AccountId> _recorded = [];

        public void Record(AccountId account)
        {
            if (!_recorded.Add(account)) return;
            var key = account.ToArray();
            // The audit log first: if it cannot be written, the exception stops the response before the identifier leaves.
            audit?.Append(new PrivacyAccess(caller.CommonName, caller.Organisation, "supervision", path, key, purpose, "reveal"));
            log.Info("identifier-revealed", ("by", caller.CommonName), ("organisation", caller.Organisation), ("role", caller.Role.ToString()), ("path", path),
                ("identifier", new MaskedIdentifier(IdentifierKind.Account, account.ToString())), ("identifier-hash", PrivacyAuditLog.KeyHash(hash, key).ToString()),
                ("purpose", purpose));
        }
    }
}
