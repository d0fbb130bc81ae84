using Custos.Crypto.Reference;

namespace Custos.Crypto.Tests.Support;

internal static class OpenSslReference
{
    /// <summary>Skips the calling test where the system has no OpenSSL 3 with the SM algorithms.</summary>
    public static void Require()
    {
        if (!OpenSslLibCrypto.IsAvailable) Assert.Skip($"OpenSSL reference unavailable: {OpenSslLibCrypto.UnavailableReason}");
    }
}
