using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;

namespace Custos.Network.Tls;

/// <summary>Timings of a TLS stack.</summary>
public sealed record TlsStackOptions
{
    /// <summary>Gm: a sender rotates its traffic keys after this long.</summary>
    public TimeSpan KeyUpdateInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Gm: a sender rotates its traffic keys after this many application bytes.</summary>
    public long KeyUpdateBytes { get; init; } = 1L << 30;

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    internal static TlsStackOptions From(PeerNetworkOptions options, TimeProvider clock) => new()
    {
        KeyUpdateInterval = options.KeyUpdateInterval,
        KeyUpdateBytes = options.KeyUpdateBytes,
        Clock = clock,
    };
}

/// <summary>
/// Mutually authenticated TLS 1.3 over a byte stream, chosen by the chain's suite: on gm chains BouncyCastle's
/// TLS 1.3 with TLS_SM4_GCM_SM3 only, curveSM2 and sm2sig_sm3 (RFC 8998); on intl chains .NET's SslStream with
/// P-256 certificates. Both check the peer's certificate with the same <see cref="HandshakePolicy"/> inside the
/// handshake. Failures are <see cref="CustosException"/>s (refusals: the validator's code, or NOT_AUTHORISED when
/// the peer refused us, SUITE_MISMATCH when no suite or version is shared, MALFORMED for protocol garbage);
/// transport failures stay <see cref="IOException"/> and a timeout is an <see cref="OperationCanceledException"/>.
/// </summary>
public abstract class TlsStack
{
    private protected TlsStack(TlsIdentity identity, TlsStackOptions options)
    {
        Identity = identity;
        Options = options;
    }

    public TlsIdentity Identity { get; }

    public TlsStackOptions Options { get; }

    /// <summary>"gm" or "intl".</summary>
    public abstract string Name { get; }

    /// <summary>Whether established channels can rotate keys in place (TLS 1.3 KeyUpdate).</summary>
    public abstract bool SupportsKeyUpdate { get; }

    /// <summary>The stack for <paramref name="suite"/>, presenting <paramref name="identity"/>.</summary>
    public static TlsStack For(ICryptoSuite suite, TlsIdentity identity, TlsStackOptions? options = null)
    {
        options ??= new TlsStackOptions();
        if (identity.Key.Suite != suite.Id)
        {
            throw new CustosException(ErrorCode.SuiteMismatch, $"the TLS key is of suite {identity.Key.Suite}, the chain's suite is '{suite.Name}'");
        }

        return suite.Id switch
        {
            CryptoSuiteId.Gm => new GmTlsStack(identity, options),
            CryptoSuiteId.Intl => new IntlTlsStack(identity, options),
            _ => throw new CustosException(ErrorCode.SuiteMismatch, $"no TLS stack for suite {suite.Name}"),
        };
    }

    /// <summary>Runs the server side of the handshake on <paramref name="transport"/>, which the channel then owns.</summary>
    public abstract Task<SecureChannel> AcceptAsync(Stream transport, HandshakePolicy policy, CancellationToken cancellationToken);

    /// <summary>Runs the client side; <paramref name="serverName"/> is sent as SNI where the stack sends one.</summary>
    public abstract Task<SecureChannel> ConnectAsync(Stream transport, string serverName, HandshakePolicy policy, CancellationToken cancellationToken);
}
