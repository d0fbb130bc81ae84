using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;

namespace Custos.Network.Tls;

/// <summary>
/// Standard TLS 1.3 by .NET's SslStream (OpenSSL underneath) with the consortium's P-256 certificates, client
/// certificates required, and the same <see cref="HandshakePolicy"/> as the gm stack in the validation callback (the
/// platform's chain building is ignored: only the consortium CAs count). SslStream has no KeyUpdate API, so links on
/// this stack are redialled after <see cref="PeerNetworkOptions.ConnectionLifetimeMax"/> instead.
/// </summary>
internal sealed class IntlTlsStack : TlsStack
{
    private readonly X509Certificate2 _certificate;
    private readonly SslStreamCertificateContext _context;

    public IntlTlsStack(TlsIdentity identity, TlsStackOptions options)
        : base(identity, options)
    {
        _certificate = CreateCertificateWithKey(identity);
        _context = SslStreamCertificateContext.Create(_certificate, additionalCertificates: null, offline: true);
    }

    public override string Name => "intl";

    public override bool SupportsKeyUpdate => false;

    public override async Task<SecureChannel> AcceptAsync(Stream transport, HandshakePolicy policy, CancellationToken cancellationToken)
    {
        var judge = new PeerJudge(policy, "client");
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _context,
            ClientCertificateRequired = true,
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = judge.Validate,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
        };
        await AuthenticateAsync(ssl, judge, () => ssl.AuthenticateAsServerAsync(options, cancellationToken)).ConfigureAwait(false);
        return new SecureChannel(ssl, judge.Peer!, Name, (int)ssl.NegotiatedCipherSuite, ssl.NegotiatedCipherSuite.ToString());
    }

    public override async Task<SecureChannel> ConnectAsync(Stream transport, string serverName, HandshakePolicy policy, CancellationToken cancellationToken)
    {
        var judge = new PeerJudge(policy, "server");
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            ClientCertificateContext = _context,
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = judge.Validate,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
        };
        await AuthenticateAsync(ssl, judge, () => ssl.AuthenticateAsClientAsync(options, cancellationToken)).ConfigureAwait(false);
        return new SecureChannel(ssl, judge.Peer!, Name, (int)ssl.NegotiatedCipherSuite, ssl.NegotiatedCipherSuite.ToString());
    }

    private static async Task AuthenticateAsync(SslStream ssl, PeerJudge judge, Func<Task> handshake)
    {
        try
        {
            await handshake().ConfigureAwait(false);
            if (judge.Peer is null) throw new CustosException(ErrorCode.NotAuthorised, "the handshake ended without a peer certificate");
        }
        catch (Exception e) when (e is AuthenticationException or IOException or CustosException or OperationCanceledException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            if (judge.Refusal is { } refusal) throw refusal.ToException();
            if (e is AuthenticationException) throw new CustosException(ErrorCode.NotAuthorised, $"TLS handshake failed: {e.Message}", e);
            throw;
        }
    }

    /// <summary>
    /// An X509Certificate2 with the private key, built in memory from the key's scalar, as SslStream requires.
    /// Only software keys can do this; the scalar copy is wiped at once and never written anywhere.
    /// </summary>
    private static X509Certificate2 CreateCertificateWithKey(TlsIdentity identity)
    {
        if (identity.Key is not SoftwareKey software)
        {
            throw new CustosException(ErrorCode.HsmFailure, $"intl TLS needs the node key in process memory; a {identity.Key.Custody} key cannot be handed to SslStream");
        }

        var scalar = software.ExportPrivateScalar();
        try
        {
            var point = identity.Key.PublicKey.Encoded;
            using var ecdsa = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                D = scalar,
                Q = new ECPoint { X = point[1..33].ToArray(), Y = point[33..65].ToArray() },
            });
            using var publicOnly = X509CertificateLoader.LoadCertificate(identity.Certificate.Der);
            return publicOnly.CopyWithPrivateKey(ecdsa);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    /// <summary>The validation callback: ignores the platform's verdict and applies the policy to the leaf.</summary>
    private sealed class PeerJudge(HandshakePolicy policy, string side)
    {
        public ValidatedIdentity? Peer { get; private set; }

        public CustosError? Refusal { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (certificate is null)
            {
                Refusal = new CustosError(ErrorCode.NotAuthorised, $"the {side} presented no certificate");
                return false;
            }

            if (!policy.TryAdmit(certificate.GetRawCertData(), out var peer, out var error))
            {
                Refusal = error;
                return false;
            }

            Peer = peer;
            return true;
        }
    }
}
