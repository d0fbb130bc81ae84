using Custos.Identity;

namespace Custos.Network.Tls;

/// <summary>
/// An established, mutually authenticated TLS 1.3 session: the decrypted stream, who is on the other end, and what
/// was negotiated. Disposing it closes the session (close_notify) and the transport under it.
/// </summary>
public sealed class SecureChannel : IAsyncDisposable
{
    internal SecureChannel(Stream stream, ValidatedIdentity peer, string stack, int cipherSuiteCode, string cipherSuite)
    {
        Stream = stream;
        Peer = peer;
        Stack = stack;
        CipherSuiteCode = cipherSuiteCode;
        CipherSuite = cipherSuite;
    }

    /// <summary>Application bytes in both directions; reads and writes may run concurrently.</summary>
    public Stream Stream { get; }

    /// <summary>The validated certificate of the other side.</summary>
    public ValidatedIdentity Peer { get; }

    /// <summary>"gm" (BouncyCastle, RFC 8998 suites) or "intl" (.NET SslStream).</summary>
    public string Stack { get; }

    /// <summary>Always TLS 1.3: both stacks refuse anything older.</summary>
    public string Protocol => "TLSv1.3";

    /// <summary>IANA code of the negotiated suite (0x00C6 is TLS_SM4_GCM_SM3).</summary>
    public int CipherSuiteCode { get; }

    /// <summary>IANA name of the negotiated suite.</summary>
    public string CipherSuite { get; }

    /// <summary>Whether <see cref="UpdateKeysAsync"/> works (gm: TLS 1.3 KeyUpdate; intl: the link is redialled instead).</summary>
    public bool SupportsKeyUpdate => Stream is IKeyUpdatingStream;

    /// <summary>Key updates this side sent (periodic and explicit).</summary>
    public long KeyUpdatesSent => (Stream as IKeyUpdatingStream)?.KeyUpdatesSent ?? 0;

    /// <summary>Key updates received from the peer.</summary>
    public long KeyUpdatesReceived => (Stream as IKeyUpdatingStream)?.KeyUpdatesReceived ?? 0;

    /// <summary>Sends a TLS 1.3 KeyUpdate asking the peer to update too, so both directions get fresh traffic keys.</summary>
    public Task UpdateKeysAsync(CancellationToken cancellationToken = default) =>
        Stream is IKeyUpdatingStream updating
            ? updating.UpdateKeysAsync(cancellationToken)
            : throw new NotSupportedException($"the {Stack} TLS stack cannot update keys in place");

    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}

/// <summary>A secured stream that can rotate its traffic keys in place.</summary>
internal interface IKeyUpdatingStream
{
    long KeyUpdatesSent { get; }

    long KeyUpdatesReceived { get; }

    Task UpdateKeysAsync(CancellationToken cancellationToken);
}
