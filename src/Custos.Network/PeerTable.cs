using System.Collections.Frozen;
using System.Threading.Channels;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Network.Wire;

namespace Custos.Network;

/// <summary>What the inbound gate decided about one frame.</summary>
internal enum InboundVerdict
{
    /// <summary>Deliver it.</summary>
    Accept,

    /// <summary>Over the peer's rate: drop it, keep the link.</summary>
    Drop,

    /// <summary>Close the link (the peer is banned, unknown, or just got banned for this frame).</summary>
    Refuse,
}

/// <summary>A frame waiting in a peer's send queue.</summary>
internal readonly record struct OutboundFrame(FrameKind Kind, ReadOnlyMemory<byte> Payload);

/// <summary>
/// What both transports share: the configured peers with their send queues, rate limits and counters, the ban list,
/// the inbound gate and the queue of received frames. Keeping it in one place is what makes the in-memory transport
/// behave like the real one. Thread-safe.
/// </summary>
internal sealed class PeerTable
{
    // Replaced whole when governance adds a peer (rare), so that the send path reads a frozen map without locks.
    private volatile FrozenDictionary<string, PeerSlot> _slots;
    private readonly object _adding = new();
    private readonly Channel<ReceivedFrame> _received;

    public PeerTable(string localNode, IEnumerable<PeerEndpoint> peers, PeerNetworkOptions options, TimeProvider clock)
    {
        if (options.Validate() is { } invalid) throw invalid.ToException();
        if (!PeerEndpoint.IsValidName(localNode)) throw new CustosException(ErrorCode.InvalidField, $"node name '{localNode}' is not valid");
        var slots = new Dictionary<string, PeerSlot>(StringComparer.Ordinal);
        foreach (var peer in peers)
        {
            if (peer.Name == localNode) throw new CustosException(ErrorCode.InvalidField, $"node {localNode} lists itself as a peer");
            if (!slots.TryAdd(peer.Name, new PeerSlot(peer, options, clock))) throw new CustosException(ErrorCode.InvalidField, $"peer {peer.Name} is listed twice");
        }

        if (slots.Count > NetworkLimits.PeersMax) throw new CustosException(ErrorCode.InvalidField, $"at most {NetworkLimits.PeersMax} peers");
        LocalNode = localNode;
        Options = options;
        Clock = clock;
        Bans = new BanList(clock);
        _slots = slots.ToFrozenDictionary(StringComparer.Ordinal);
        _received = Channel.CreateBounded<ReceivedFrame>(new BoundedChannelOptions(options.ReceiveQueueFramesMax)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
    }

    public string LocalNode { get; }

    /// <summary>
    /// Adds a peer while running (a node the consortium admitted, CON-7). False when it is configured already or is
    /// this node; the caller starts its link.
    /// </summary>
    public bool TryAdd(PeerEndpoint peer, out PeerSlot slot)
    {
        lock (_adding)
        {
            if (peer.Name == LocalNode || _slots.TryGetValue(peer.Name, out slot!))
            {
                slot = null!;
                return false;
            }

            if (_slots.Count >= NetworkLimits.PeersMax) throw new CustosException(ErrorCode.InvalidField, $"at most {NetworkLimits.PeersMax} peers");
            slot = new PeerSlot(peer, Options, Clock);
            var slots = new Dictionary<string, PeerSlot>(_slots, StringComparer.Ordinal) { [peer.Name] = slot };
            _slots = slots.ToFrozenDictionary(StringComparer.Ordinal);
            return true;
        }
    }

    public PeerNetworkOptions Options { get; }

    public TimeProvider Clock { get; }

    public BanList Bans { get; }

    public IEnumerable<PeerSlot> Slots => _slots.Values;

    public ChannelReader<ReceivedFrame> Received => _received.Reader;

    public ChannelWriter<ReceivedFrame> ReceivedWriter => _received.Writer;

    /// <summary>Raised after a peer is banned, so the transport can cut its links.</summary>
    public event Action<PeerBan>? PeerBanned;

    public bool TryGet(string name, out PeerSlot slot) => _slots.TryGetValue(name, out slot!);

    public bool IsConfigured(string name) => _slots.ContainsKey(name);

    public int ConnectedCount => _slots.Values.Count(s => s.State == PeerState.Connected);

    public bool TrySend(string peer, FrameKind kind, ReadOnlyMemory<byte> payload, out CustosError error)
    {
        if (!_slots.TryGetValue(peer, out var slot))
        {
            error = new CustosError(ErrorCode.NotFound, $"{peer} is not a configured peer of {LocalNode}");
            return false;
        }

        if (!CheckOutbound(kind, payload.Length, out error)) return false;
        if (Bans.TryGet(peer, out var ban))
        {
            error = new CustosError(ErrorCode.NotAuthorised, $"{peer} is banned until {ban.Until:u}: {ban.Reason}");
            return false;
        }

        return slot.TryEnqueue(new OutboundFrame(kind, payload), out error);
    }

    public int Broadcast(FrameKind kind, ReadOnlyMemory<byte> payload)
    {
        if (!CheckOutbound(kind, payload.Length, out _)) return 0;
        var accepted = 0;
        foreach (var slot in _slots.Values)
        {
            if (!Bans.IsBanned(slot.Name) && slot.TryEnqueue(new OutboundFrame(kind, payload), out _)) accepted++;
        }

        return accepted;
    }

    /// <summary>
    /// The inbound gate, run for every frame before it is delivered: the sender must be a configured peer and not
    /// banned; the frame within the size limit and of a known kind (else the sender is banned); and within the
    /// sender's rate (else dropped, and a flood gets the sender banned).
    /// </summary>
    public InboundVerdict Admit(string peer, FrameKind kind, int payloadLength)
    {
        if (!_slots.TryGetValue(peer, out var slot) || Bans.IsBanned(peer)) return InboundVerdict.Refuse;
        if (payloadLength > Options.FrameSizeBytesLimit)
        {
            Ban(peer, new CustosError(ErrorCode.TooLarge, $"frame of {payloadLength} bytes, limit {Options.FrameSizeBytesLimit}"));
            return InboundVerdict.Refuse;
        }

        if (!IsKnownKind(kind))
        {
            Ban(peer, new CustosError(ErrorCode.Malformed, $"frame of unknown kind {(int)kind}"));
            return InboundVerdict.Refuse;
        }

        switch (slot.AdmitRate(payloadLength))
        {
            case RateDecision.Within:
                slot.CountReceived(payloadLength);
                return InboundVerdict.Accept;
            case RateDecision.Over:
                return InboundVerdict.Drop;
            default:
                Ban(peer, new CustosError(ErrorCode.LimitExceeded, $"flooding: more than {Options.FloodDropsPerSecondBeforeBan} frames over its rate limit in one second"));
                return InboundVerdict.Refuse;
        }
    }

    /// <summary>Bans a configured peer for the configured period and tells the transport to disconnect it.</summary>
    public void Ban(string peer, CustosError reason) => Ban(peer, reason.ToString());

    public void Ban(string peer, string reason)
    {
        if (!_slots.TryGetValue(peer, out var slot)) return;
        var ban = Bans.Ban(peer, reason, Options.BanDuration);
        slot.ClearQueue();
        slot.LastError = $"banned: {reason}";
        PeerBanned?.Invoke(ban);
    }

    public IReadOnlyList<PeerStatus> Snapshot() =>
        _slots.Values.OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => s.Snapshot(Bans)).ToList();

    public void CompleteReceived() => _received.Writer.TryComplete();

    internal static bool IsKnownKind(FrameKind kind) => kind != FrameKind.Unspecified && Enum.IsDefined(kind);

    private bool CheckOutbound(FrameKind kind, int length, out CustosError error)
    {
        if (!IsKnownKind(kind))
        {
            error = new CustosError(ErrorCode.InvalidField, $"frame kind {(int)kind} is not a known kind");
            return false;
        }

        if (length > Options.FrameSizeBytesLimit)
        {
            error = new CustosError(ErrorCode.TooLarge, $"payload of {length} bytes exceeds the frame limit of {Options.FrameSizeBytesLimit}");
            return false;
        }

        error = null!;
        return true;
    }
}

internal enum RateDecision
{
    Within,
    Over,
    Flood,
}

/// <summary>One configured peer: its send queue, inbound rate limiter, link state and counters.</summary>
internal sealed class PeerSlot
{
    private readonly PeerNetworkOptions _options;
    private readonly TimeProvider _clock;
    private readonly Channel<OutboundFrame> _queue = Channel.CreateUnbounded<OutboundFrame>(new UnboundedChannelOptions { SingleReader = true });
    private readonly object _rateLock = new();
    private readonly TokenBucket _frameBucket;
    private readonly TokenBucket _byteBucket;
    private int _queuedFrames;
    private long _queuedBytes;
    private long _dropWindowStart;
    private int _dropsInWindow;
    private long _framesSent;
    private long _bytesSent;
    private long _framesReceived;
    private long _bytesReceived;
    private long _framesDropped;
    private long _sendQueueRejections;
    private long _connectAttempts;
    private int _inboundLinks;

    public PeerSlot(PeerEndpoint endpoint, PeerNetworkOptions options, TimeProvider clock)
    {
        Endpoint = endpoint;
        _options = options;
        _clock = clock;
        _frameBucket = new TokenBucket(options.FramesPerSecondPerPeer, options.FrameBurstPerPeer, clock);
        _byteBucket = new TokenBucket(options.BytesPerSecondPerPeer, options.ByteBurstPerPeer, clock);
        _dropWindowStart = clock.GetTimestamp();
    }

    public PeerEndpoint Endpoint { get; }

    public string Name => Endpoint.Name;

    public volatile PeerState State = PeerState.Disconnected;

    public DateTimeOffset? ConnectedSince { get; set; }

    public string? CipherSuite { get; set; }

    public string? LastError { get; set; }

    public int QueuedFrames => Volatile.Read(ref _queuedFrames);

    public bool InboundConnected => Volatile.Read(ref _inboundLinks) > 0;

    public bool TryEnqueue(OutboundFrame frame, out CustosError error)
    {
        var frames = Interlocked.Increment(ref _queuedFrames);
        var bytes = Interlocked.Add(ref _queuedBytes, frame.Payload.Length);
        if (frames > _options.SendQueueFramesMax || bytes > _options.SendQueueBytesMax)
        {
            Interlocked.Decrement(ref _queuedFrames);
            Interlocked.Add(ref _queuedBytes, -frame.Payload.Length);
            Interlocked.Increment(ref _sendQueueRejections);
            error = new CustosError(ErrorCode.LimitExceeded, $"the send queue of {Name} is full ({_options.SendQueueFramesMax} frames or {_options.SendQueueBytesMax} bytes)");
            return false;
        }

        _queue.Writer.TryWrite(frame);
        error = null!;
        return true;
    }

    public ValueTask<bool> WaitToDequeueAsync(CancellationToken cancellationToken) => _queue.Reader.WaitToReadAsync(cancellationToken);

    public bool TryDequeue(out OutboundFrame frame)
    {
        if (!_queue.Reader.TryRead(out frame)) return false;
        Interlocked.Decrement(ref _queuedFrames);
        Interlocked.Add(ref _queuedBytes, -frame.Payload.Length);
        return true;
    }

    public void ClearQueue()
    {
        while (TryDequeue(out _))
        {
        }
    }

    public RateDecision AdmitRate(int payloadLength)
    {
        lock (_rateLock)
        {
            if (_frameBucket.CanTake(1) && _byteBucket.CanTake(payloadLength))
            {
                _frameBucket.Take(1);
                _byteBucket.Take(payloadLength);
                return RateDecision.Within;
            }

            Interlocked.Increment(ref _framesDropped);
            var now = _clock.GetTimestamp();
            if (_clock.GetElapsedTime(_dropWindowStart, now) >= TimeSpan.FromSeconds(1))
            {
                _dropWindowStart = now;
                _dropsInWindow = 0;
            }

            _dropsInWindow++;
            return _options.FloodDropsPerSecondBeforeBan > 0 && _dropsInWindow >= _options.FloodDropsPerSecondBeforeBan ? RateDecision.Flood : RateDecision.Over;
        }
    }

    public void CountReceived(int bytes)
    {
        Interlocked.Increment(ref _framesReceived);
        Interlocked.Add(ref _bytesReceived, bytes);
    }

    public void CountSent(int bytes)
    {
        Interlocked.Increment(ref _framesSent);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    public void CountConnectAttempt() => Interlocked.Increment(ref _connectAttempts);

    public void InboundOpened() => Interlocked.Increment(ref _inboundLinks);

    public void InboundClosed() => Interlocked.Decrement(ref _inboundLinks);

    public PeerStatus Snapshot(BanList bans)
    {
        var banned = bans.TryGet(Name, out var ban);
        return new PeerStatus
        {
            Name = Name,
            Address = Endpoint.Address,
            State = banned ? PeerState.Banned : State,
            InboundConnected = InboundConnected,
            ConnectedSince = State == PeerState.Connected ? ConnectedSince : null,
            BannedUntil = banned ? ban.Until : null,
            BanReason = banned ? ban.Reason : null,
            CipherSuite = State == PeerState.Connected ? CipherSuite : null,
            FramesSent = Interlocked.Read(ref _framesSent),
            BytesSent = Interlocked.Read(ref _bytesSent),
            FramesReceived = Interlocked.Read(ref _framesReceived),
            BytesReceived = Interlocked.Read(ref _bytesReceived),
            FramesDropped = Interlocked.Read(ref _framesDropped),
            SendQueueRejections = Interlocked.Read(ref _sendQueueRejections),
            SendQueueFrames = QueuedFrames,
            ConnectAttempts = Interlocked.Read(ref _connectAttempts),
            LastError = LastError,
        };
    }
}
