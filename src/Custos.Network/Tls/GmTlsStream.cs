using System.Buffers;
using System.Runtime.InteropServices;
using Custos.Core;
using Custos.Core.Wire;
using Org.BouncyCastle.Tls;

namespace Custos.Network.Tls;

/// <summary>
/// Drives a BouncyCastle TLS protocol in non-blocking mode (OfferInput / ReadOutput) over an asynchronous transport
/// and exposes the application data as a <see cref="Stream"/> whose reads and writes may run at the same time, as
/// HTTP/2 needs. BouncyCastle's blocking stream serialises them, which deadlocks HTTP/2 (see
/// shared/docs/GM-TLS-NOTES.md).
/// <para>
/// Threading: the protocol object is not thread-safe, so every call into it holds <c>_sync</c> (CPU work only, never
/// I/O). Records must reach the wire in the order the protocol produced them, because their sequence numbers are in
/// the AEAD nonce; so output is drained from the protocol and written to the transport only while holding
/// <c>_writeGate</c>. One reader at a time (HTTP/2 and pipes read from a single loop).
/// </para>
/// </summary>
internal sealed class GmTlsStream : Stream, IKeyUpdatingStream
{
    // One TLS 1.3 record is at most 2^14 + 256 bytes of ciphertext plus a 5-byte header.
    private const int TransportReadBytes = 32 * 1024;

    private readonly Stream _transport;
    private readonly TlsProtocol _protocol;
    private readonly IGmProtocol _keys;
    private readonly TlsStackOptions _options;
    private readonly object _sync = new();
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly byte[] _inbound = new byte[TransportReadBytes];
    private long _lastKeyUpdate;
    private long _bytesSinceKeyUpdate;
    private long _keyUpdatesSent;
    private int _disposed;

    private GmTlsStream(Stream transport, TlsProtocol protocol, TlsStackOptions options)
    {
        _transport = transport;
        _protocol = protocol;
        _keys = (IGmProtocol)protocol;
        _options = options;
        _lastKeyUpdate = options.Clock.GetTimestamp();
    }

    public long KeyUpdatesSent => Interlocked.Read(ref _keyUpdatesSent);

    public long KeyUpdatesReceived => _keys.KeyUpdatesReceived;

    /// <summary>
    /// Runs the handshake: <paramref name="begin"/> (Accept or Connect) queues the first flight, then records are
    /// pumped until the protocol leaves the handshake. On failure the transport is disposed after a best-effort
    /// flush of the alert that says why.
    /// </summary>
    public static async Task<GmTlsStream> HandshakeAsync(Stream transport, TlsProtocol protocol, Action begin, IGmHandshakeOutcome outcome,
        TlsStackOptions options, CancellationToken cancellationToken)
    {
        var stream = new GmTlsStream(transport, protocol, options);
        try
        {
            lock (stream._sync) begin();
            while (true)
            {
                await stream.FlushOutputAsync(cancellationToken).ConfigureAwait(false);
                if (!protocol.IsHandshaking) break;
                var read = await transport.ReadAsync(stream._inbound, cancellationToken).ConfigureAwait(false);
                if (read == 0) throw new IOException("the peer closed the connection during the TLS handshake");
                lock (stream._sync) protocol.OfferInput(stream._inbound, 0, read);
            }

            if (outcome.PeerIdentity is null) throw new CustosException(ErrorCode.NotAuthorised, "the handshake ended without a peer certificate");
            return stream;
        }
        catch (Exception e) when (e is TlsException or IOException or CustosException or OperationCanceledException or InvalidOperationException)
        {
            await stream.AbortAsync().ConfigureAwait(false);
            if (outcome.Refusal is { } refusal) throw refusal.ToException();
            throw e switch
            {
                TlsFatalAlertReceived received => new CustosException(ErrorForAlert(received.AlertDescription, byPeer: true), $"the peer refused the TLS handshake: {AlertDescription.GetText(received.AlertDescription)}", e),
                TlsFatalAlert raised => new CustosException(ErrorForAlert(raised.AlertDescription, byPeer: false), $"TLS handshake failed: {AlertDescription.GetText(raised.AlertDescription)}", e),
                TlsException => new CustosException(ErrorCode.Malformed, $"TLS handshake failed: {e.Message}", e),
                _ => e,
            };
        }
    }

    /// <summary>Alerts that mean "nothing in common" are a suite mismatch (a downgrade attempt fails this way).</summary>
    private static ErrorCode ErrorForAlert(short alert, bool byPeer) => alert switch
    {
        AlertDescription.handshake_failure or AlertDescription.protocol_version or AlertDescription.insufficient_security => ErrorCode.SuiteMismatch,
        AlertDescription.decode_error or AlertDescription.unexpected_message or AlertDescription.illegal_parameter or AlertDescription.record_overflow
            or AlertDescription.bad_record_mac or AlertDescription.decrypt_error => ErrorCode.Malformed,
        AlertDescription.certificate_expired => ErrorCode.CertificateExpired,
        AlertDescription.certificate_revoked => ErrorCode.CertificateRevoked,
        AlertDescription.unknown_ca => ErrorCode.CertificateUntrusted,
        _ => byPeer ? ErrorCode.NotAuthorised : ErrorCode.Malformed,
    };

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty) return 0;
        while (true)
        {
            lock (_sync)
            {
                if (_protocol.GetAvailableInputBytes() > 0) return ReadDecrypted(buffer);
                if (_protocol.IsClosed) return 0;
            }

            var read = await _transport.ReadAsync(_inbound, cancellationToken).ConfigureAwait(false);
            bool hasOutput;
            lock (_sync)
            {
                if (read == 0)
                {
                    // The transport ended. With close_notify the protocol is closed already; without, treat it as
                    // the end of the stream too: HTTP/2 has its own GOAWAY framing to detect truncation.
                    if (!_protocol.IsClosed)
                    {
                        try
                        {
                            _protocol.CloseInput();
                        }
                        catch (IOException)
                        {
                        }
                    }

                    return 0;
                }

                _protocol.OfferInput(_inbound, 0, read);
                hasOutput = _protocol.GetAvailableOutputBytes() > 0;
            }

            if (hasOutput) await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private int ReadDecrypted(Memory<byte> buffer)
    {
        var count = Math.Min(buffer.Length, _protocol.GetAvailableInputBytes());
        if (MemoryMarshal.TryGetArray<byte>(buffer, out var segment))
        {
            return _protocol.ReadInput(segment.Array!, segment.Offset, count);
        }

        var rented = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            var read = _protocol.ReadInput(rented, 0, count);
            rented.AsSpan(0, read).CopyTo(buffer.Span);
            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty) return;
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        byte[]? output = null;
        try
        {
            int length;
            lock (_sync)
            {
                if (KeyUpdateDue()) SendKeyUpdateLocked();
                _protocol.WriteApplicationData(buffer.Span);
                _bytesSinceKeyUpdate += buffer.Length;
                output = DrainLocked(out length);
            }

            if (length > 0) await _transport.WriteAsync(output.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (output is not null) ArrayPool<byte>.Shared.Return(output);
            _writeGate.Release();
        }
    }

    public async Task UpdateKeysAsync(CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        byte[]? output = null;
        try
        {
            int length;
            lock (_sync)
            {
                SendKeyUpdateLocked();
                output = DrainLocked(out length);
            }

            if (length > 0)
            {
                await _transport.WriteAsync(output.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                await _transport.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (output is not null) ArrayPool<byte>.Shared.Return(output);
            _writeGate.Release();
        }
    }

    private bool KeyUpdateDue() =>
        _bytesSinceKeyUpdate >= _options.KeyUpdateBytes || _options.Clock.GetElapsedTime(_lastKeyUpdate) >= _options.KeyUpdateInterval;

    private void SendKeyUpdateLocked()
    {
        _keys.SendKeyUpdate();
        _bytesSinceKeyUpdate = 0;
        _lastKeyUpdate = _options.Clock.GetTimestamp();
        Interlocked.Increment(ref _keyUpdatesSent);
    }

    /// <summary>Takes every record the protocol has produced; the caller holds both locks and returns the array to the pool.</summary>
    private byte[] DrainLocked(out int length)
    {
        length = _protocol.GetAvailableOutputBytes();
        var output = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        if (length > 0) length = _protocol.ReadOutput(output, 0, length);
        return output;
    }

    private async Task FlushOutputAsync(CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        byte[]? output = null;
        try
        {
            int length;
            lock (_sync) output = DrainLocked(out length);
            if (length > 0)
            {
                await _transport.WriteAsync(output.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                await _transport.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (output is not null) ArrayPool<byte>.Shared.Return(output);
            _writeGate.Release();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => _transport.FlushAsync(cancellationToken);

    public override void Flush() => _transport.Flush();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Flushes whatever the protocol queued (an alert, a close_notify) within a short time, then drops the transport.</summary>
    private async Task AbortAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await FlushOutputAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or TlsException or InvalidOperationException)
        {
            // The peer may be gone already; the alert is a courtesy.
        }

        await _transport.DisposeAsync().ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        try
        {
            lock (_sync)
            {
                if (!_protocol.IsClosed) _protocol.Close();
            }
        }
        catch (Exception e) when (e is IOException or TlsException or InvalidOperationException)
        {
        }

        await AbortAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) DisposeAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose(disposing);
    }
}
