using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto;

/// <summary>The suites Custos supports, by id and by name.</summary>
public static class CryptoSuites
{
    public static ICryptoSuite Gm { get; } = new GmCryptoSuite();

    public static ICryptoSuite Intl { get; } = new IntlCryptoSuite();

    public static ICryptoSuite Get(CryptoSuiteId id) => id switch
    {
        CryptoSuiteId.Gm => Gm,
        CryptoSuiteId.Intl => Intl,
        _ => throw new CustosException(ErrorCode.SuiteMismatch, $"unknown crypto suite id {(int)id}"),
    };

    public static bool TryParse(string? name, out ICryptoSuite suite)
    {
        suite = name?.Trim().ToLowerInvariant() switch
        {
            "gm" or "sm" or "sm2" => Gm,
            "intl" or "p256" or "international" => Intl,
            _ => null!,
        };
        return suite is not null;
    }

    public static ICryptoSuite Parse(string name) =>
        TryParse(name, out var suite) ? suite : throw new CustosException(ErrorCode.SuiteMismatch, $"unknown crypto suite '{name}' (expected gm or intl)");
}
