using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using TlsCertificateMessage = Org.BouncyCastle.Tls.Certificate;
using TlsCertificateRequest = Org.BouncyCastle.Tls.CertificateRequest;

namespace Custos.Network.Tls;

/// <summary>
/// TLS 1.3 with the RFC 8998 suite TLS_SM4_GCM_SM3, key exchange on curveSM2 and sm2sig_sm3 signatures, by
/// BouncyCastle's TLS API in non-blocking mode (<see cref="GmTlsStream"/> drives it asynchronously). Both sides
/// offer exactly that suite, group and signature scheme: a peer that offers anything else, or an older TLS version,
/// fails the handshake, so there is nothing to downgrade to.
/// </summary>
internal sealed class GmTlsStack(TlsIdentity identity, TlsStackOptions options) : TlsStack(identity, options)
{
    public override string Name => "gm";

    public override bool SupportsKeyUpdate => true;

    public override async Task<SecureChannel> AcceptAsync(Stream transport, HandshakePolicy policy, CancellationToken cancellationToken)
    {
        var server = new GmTlsServer(new GmTlsCrypto(new SecureRandom()), Identity, policy);
        var protocol = new GmServerProtocol();
        var stream = await GmTlsStream.HandshakeAsync(transport, protocol, () => protocol.Accept(server), server, Options, cancellationToken).ConfigureAwait(false);
        return new SecureChannel(stream, server.PeerIdentity!, Name, server.NegotiatedCipherSuite, CipherSuiteName(server.NegotiatedCipherSuite));
    }

    public override async Task<SecureChannel> ConnectAsync(Stream transport, string serverName, HandshakePolicy policy, CancellationToken cancellationToken)
    {
        var client = new GmTlsClient(new GmTlsCrypto(new SecureRandom()), Identity, policy);
        var protocol = new GmClientProtocol();
        var stream = await GmTlsStream.HandshakeAsync(transport, protocol, () => protocol.Connect(client), client, Options, cancellationToken).ConfigureAwait(false);
        return new SecureChannel(stream, client.PeerIdentity!, Name, client.NegotiatedCipherSuite, CipherSuiteName(client.NegotiatedCipherSuite));
    }

    internal static string CipherSuiteName(int suite) => suite switch
    {
        CipherSuite.TLS_SM4_GCM_SM3 => "TLS_SM4_GCM_SM3",
        CipherSuite.TLS_SM4_CCM_SM3 => "TLS_SM4_CCM_SM3",
        _ => $"0x{suite:X4}",
    };

    /// <summary>The alert that tells a refused peer why, without saying more than the standard alerts do.</summary>
    internal static short AlertFor(CustosError error) => error.Code switch
    {
        ErrorCode.CertificateExpired or ErrorCode.CertificateNotYetValid => AlertDescription.certificate_expired,
        ErrorCode.CertificateRevoked => AlertDescription.certificate_revoked,
        ErrorCode.CertificateUntrusted or ErrorCode.CertificateSignatureInvalid => AlertDescription.unknown_ca,
        ErrorCode.CertificateWrongRole or ErrorCode.NotAuthorised => AlertDescription.access_denied,
        _ => AlertDescription.bad_certificate,
    };

    internal static readonly SignatureAndHashAlgorithm[] SignatureAlgorithms = [SignatureAndHashAlgorithm.sm2sig_sm3];

    internal static TlsCertificateMessage LocalCertificate(TlsCrypto crypto, TlsIdentity identity) =>
        new(TlsUtilities.EmptyBytes, [new CertificateEntry(crypto.CreateCertificate(CertificateType.X509, identity.Certificate.Der.ToArray()), null)]);

    internal static TlsCredentialedSigner Credentials(TlsContext context, TlsIdentity identity) =>
        new DefaultTlsCredentialedSigner(new TlsCryptoParameters(context), new SigningKeyTlsSigner(identity.Key),
            LocalCertificate(context.Crypto, identity), SignatureAndHashAlgorithm.sm2sig_sm3);
}

/// <summary>What the stream driver needs from either side's peer object after the handshake.</summary>
internal interface IGmHandshakeOutcome
{
    /// <summary>Set when this side refused the peer's certificate.</summary>
    CustosError? Refusal { get; }

    ValidatedIdentity? PeerIdentity { get; }
}

/// <summary>
/// BouncyCastle's TLS crypto with Custos's SM4 under TLS_SM4_GCM_SM3's GCM: BouncyCastle's byte-wise SM4 was most of a
/// record's cost, and every transaction crosses several links. TLS 1.3 uses SM4 only in GCM, that is only to encrypt
/// counter blocks, which the counter engine does sixteen at a time where the processor allows.
/// </summary>
internal sealed class GmTlsCrypto(SecureRandom random) : BcTlsCrypto(random)
{
    protected override Org.BouncyCastle.Crypto.IBlockCipher CreateSM4Engine() => new Sm4CounterEngine();
}

/// <summary>The server peer: offers only the SM suite, requires a client certificate and judges it by the policy.</summary>
internal sealed class GmTlsServer(TlsCrypto crypto, TlsIdentity identity, HandshakePolicy policy) : DefaultTlsServer(crypto), IGmHandshakeOutcome
{
    public CustosError? Refusal { get; private set; }

    public ValidatedIdentity? PeerIdentity { get; private set; }

    public int NegotiatedCipherSuite { get; private set; } = -1;

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.TLSv13.Only();

    protected override int[] GetSupportedCipherSuites() => [CipherSuite.TLS_SM4_GCM_SM3];

    public override int[] GetSupportedGroups() => [NamedGroup.curveSM2];

    // DefaultTlsServer picks credentials by key-exchange algorithm, which TLS 1.3 no longer has.
    public override TlsCredentials GetCredentials() => GmTlsStack.Credentials(m_context, identity);

    public override TlsCertificateRequest GetCertificateRequest() =>
        new(TlsUtilities.EmptyBytes, GmTlsStack.SignatureAlgorithms, GmTlsStack.SignatureAlgorithms, null);

    public override void NotifyClientCertificate(TlsCertificateMessage clientCertificate)
    {
        if (clientCertificate is null || clientCertificate.IsEmpty)
        {
            Refusal = new CustosError(ErrorCode.NotAuthorised, "the client presented no certificate");
            throw new TlsFatalAlert(AlertDescription.certificate_required);
        }

        if (!policy.TryAdmit(clientCertificate.GetCertificateAt(0).GetEncoded(), out var peer, out var error))
        {
            Refusal = error;
            throw new TlsFatalAlert(GmTlsStack.AlertFor(error));
        }

        PeerIdentity = peer;
    }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        NegotiatedCipherSuite = m_context.SecurityParameters.CipherSuite;
    }
}

/// <summary>The client peer: the same single suite, group and scheme; judges the server's certificate by the policy.</summary>
internal sealed class GmTlsClient(TlsCrypto crypto, TlsIdentity identity, HandshakePolicy policy) : DefaultTlsClient(crypto), IGmHandshakeOutcome
{
    public CustosError? Refusal { get; private set; }

    public ValidatedIdentity? PeerIdentity { get; private set; }

    public int NegotiatedCipherSuite { get; private set; } = -1;

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.TLSv13.Only();

    protected override int[] GetSupportedCipherSuites() => [CipherSuite.TLS_SM4_GCM_SM3];

    protected override IList<int> GetSupportedGroups(IList<int> namedGroupRoles) => [NamedGroup.curveSM2];

    public override IList<int> GetEarlyKeyShareGroups() => [NamedGroup.curveSM2];

    protected override IList<SignatureAndHashAlgorithm> GetSupportedSignatureAlgorithms() => GmTlsStack.SignatureAlgorithms;

    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        NegotiatedCipherSuite = m_context.SecurityParameters.CipherSuite;
    }

    private sealed class Authentication(GmTlsClient owner) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
            var message = serverCertificate.Certificate;
            if (message is null || message.IsEmpty)
            {
                owner.Refusal = new CustosError(ErrorCode.NotAuthorised, "the server presented no certificate");
                throw new TlsFatalAlert(AlertDescription.certificate_required);
            }

            if (!owner.Policy.TryAdmit(message.GetCertificateAt(0).GetEncoded(), out var peer, out var error))
            {
                owner.Refusal = error;
                throw new TlsFatalAlert(GmTlsStack.AlertFor(error));
            }

            owner.PeerIdentity = peer;
        }

        public TlsCredentials GetClientCredentials(TlsCertificateRequest certificateRequest) => GmTlsStack.Credentials(owner.Context, owner.Identity);
    }

    private HandshakePolicy Policy => policy;

    private TlsIdentity Identity => identity;

    private TlsContext Context => m_context;
}

/// <summary>The server protocol, with TLS 1.3 KeyUpdate reachable (BouncyCastle keeps it protected).</summary>
internal sealed class GmServerProtocol : TlsServerProtocol, IGmProtocol
{
    private long _keyUpdatesReceived;

    public long KeyUpdatesReceived => Interlocked.Read(ref _keyUpdatesReceived);

    public void SendKeyUpdate() => Send13KeyUpdate(updateRequested: true);

    protected override void Receive13KeyUpdate(MemoryStream buf)
    {
        base.Receive13KeyUpdate(buf);
        Interlocked.Increment(ref _keyUpdatesReceived);
    }
}

internal sealed class GmClientProtocol : TlsClientProtocol, IGmProtocol
{
    private long _keyUpdatesReceived;

    public long KeyUpdatesReceived => Interlocked.Read(ref _keyUpdatesReceived);

    public void SendKeyUpdate() => Send13KeyUpdate(updateRequested: true);

    protected override void Receive13KeyUpdate(MemoryStream buf)
    {
        base.Receive13KeyUpdate(buf);
        Interlocked.Increment(ref _keyUpdatesReceived);
    }
}

internal interface IGmProtocol
{
    long KeyUpdatesReceived { get; }

    /// <summary>Queues a KeyUpdate(update_requested) and switches this side's sending keys.</summary>
    void SendKeyUpdate();
}

/// <summary>
/// Signs the TLS 1.3 CertificateVerify with an <see cref="ISigningKey"/> (key file or HSM), so the private key never
/// has to be handed to BouncyCastle. RFC 8998 §3.2.1 fixes the SM2 signer identity of TLS 1.3 to
/// "TLSv1.3+GM+Cipher+Suite"; the signature is DER SEQUENCE { r, s } as in X.509.
/// </summary>
internal sealed class SigningKeyTlsSigner(ISigningKey key) : TlsSigner
{
    public static ReadOnlySpan<byte> Tls13SignerId => "TLSv1.3+GM+Cipher+Suite"u8;

    public byte[] GenerateRawSignature(SignatureAndHashAlgorithm algorithm, byte[] hash) =>
        throw new TlsFatalAlert(AlertDescription.internal_error, "sm2sig_sm3 signs the message, not a prehash");

    public TlsStreamSigner GetStreamSigner(SignatureAndHashAlgorithm algorithm)
    {
        if (algorithm is null || SignatureScheme.From(algorithm) != SignatureScheme.sm2sig_sm3)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, $"only sm2sig_sm3 is offered, asked for {algorithm}");
        }

        return new StreamSigner(key);
    }

    private sealed class StreamSigner(ISigningKey key) : TlsStreamSigner
    {
        private readonly MemoryStream _message = new();

        public Stream Stream => _message;

        public byte[] GetSignature()
        {
            Span<byte> rs = stackalloc byte[WireLimits.SignatureSizeBytes];
            key.Sign(_message.ToArray(), Tls13SignerId, rs);
            return new DerSequence(new DerInteger(new BigInteger(1, rs[..32])), new DerInteger(new BigInteger(1, rs[32..]))).GetEncoded(Asn1Encodable.Der);
        }
    }
}
