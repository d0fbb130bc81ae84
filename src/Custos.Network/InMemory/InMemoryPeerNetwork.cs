using System.Collections.Concurrent;
using System.Threading.Channels;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Network.Wire;

namespace Custos.Network.InMemory;

/// <summary>
/// A peer network inside one process, for tests of the layers above: the same <see cref="IPeerNetwork"/>, the same
/// <see cref="PeerNetworkOptions"/> limits, inbound gate (size, kind, rate, flood) and ban list as the gRPC
/// transport, without sockets or TLS. A link is up while both nodes are attached to the fabric, list each other
/// and neither bans the other. One pump task per peer moves its send queue across, in order.
/// Unlike the gRPC transport, a full receive queue drops the frame (counted as dropped) instead of pushing back.
/// </summary>
public sealed class InMemoryPeerNetwork : IPeerNetwork
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private readonly InMemoryPeerFabric _fabric;
    private readonly PeerTable _table;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _links = new(StringComparer.Ordinal);
    private readonly List<Task> _pumps = [];
    private bool _pumping;
    private readonly TaskCompletionSource _detached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _disposed;

    public InMemoryPeerNetwork(InMemoryPeerFabric fabric, string localNode, IEnumerable<string> peers, PeerNetworkOptions? options = null, TimeProvider? clock = null)
    {
        _fabric = fabric;
        _table = new PeerTable(localNode, peers.Select(p => new PeerEndpoint(p, "memory", 1)), options ?? new PeerNetworkOptions(), clock ?? TimeProvider.System);
        _table.PeerBanned += OnPeerBanned;
    }

    public string LocalNode => _table.LocalNode;

    public BanList Bans => _table.Bans;

    public ChannelReader<ReceivedFrame> Received => _table.Received;

    public IReadOnlyList<PeerStatus> Peers => _table.Snapshot();

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new CustosException(ErrorCode.InvalidField, "the network is started already");
        if (!_fabric.TryAttach(this)) throw new CustosException(ErrorCode.InvalidField, $"a node named {LocalNode} is attached already");
        lock (_pumps)
        {
            foreach (var slot in _table.Slots) _pumps.Add(Task.Run(() => PumpAsync(slot)));
            _pumping = true;
        }
        return Task.CompletedTask;
    }

    public bool AddPeer(PeerEndpoint peer)
    {
        lock (_pumps)
        {
            if (Volatile.Read(ref _disposed) != 0 || !_table.TryAdd(new PeerEndpoint(peer.Name, "memory", 1), out var slot)) return false;
            if (_pumping) _pumps.Add(Task.Run(() => PumpAsync(slot)));
            return true;
        }
    }

    public bool TrySend(string peer, FrameKind kind, ReadOnlyMemory<byte> payload, out CustosError error) => _table.TrySend(peer, kind, payload, out error);

    public int Broadcast(FrameKind kind, ReadOnlyMemory<byte> payload) => _table.Broadcast(kind, payload);

    public void ReportMisbehaviour(string peer, string reason) => _table.Ban(peer, $"reported by the node: {reason}");

    /// <summary>Whether <paramref name="peer"/> may hold a link to this node (what the TLS handshake policy decides on the real transport).</summary>
    internal bool Admits(string peer) =>
        Volatile.Read(ref _disposed) == 0 && _table.IsConfigured(peer) && !_table.Bans.IsBanned(peer);

    /// <summary>A frame arriving from <paramref name="peer"/>'s pump: the same gate as a gRPC inbound link.</summary>
    internal InboundVerdict Deliver(string peer, OutboundFrame frame)
    {
        var verdict = _table.Admit(peer, frame.Kind, frame.Payload.Length);
        if (verdict == InboundVerdict.Accept && !_table.ReceivedWriter.TryWrite(new ReceivedFrame(peer, frame.Kind, frame.Payload)))
        {
            return InboundVerdict.Drop;
        }

        return verdict;
    }

    internal void InboundChanged(string peer, bool opened)
    {
        if (!_table.TryGet(peer, out var slot)) return;
        if (opened) slot.InboundOpened();
        else slot.InboundClosed();
    }

    /// <summary>Cuts this node's link to <paramref name="peer"/> (the peer banned us, or we banned it).</summary>
    internal void DropLink(string peer)
    {
        if (_links.TryGetValue(peer, out var link))
        {
            try
            {
                link.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task PumpAsync(PeerSlot slot)
    {
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            var changed = _fabric.Changed;
            var target = _fabric.Find(slot.Name);
            if (_table.Bans.IsBanned(slot.Name) || target is null || !target.Admits(LocalNode) || !Admits(slot.Name))
            {
                slot.State = PeerState.Disconnected;
                await WaitAsync(changed, stopping).ConfigureAwait(false);
                continue;
            }

            slot.CountConnectAttempt();
            using var link = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            _links[slot.Name] = link;
            slot.State = PeerState.Connected;
            slot.ConnectedSince = _table.Clock.GetUtcNow();
            target.InboundChanged(LocalNode, opened: true);
            try
            {
                await MoveFramesAsync(slot, target, link.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                _links.TryRemove(new KeyValuePair<string, CancellationTokenSource>(slot.Name, link));
                target.InboundChanged(LocalNode, opened: false);
                slot.State = PeerState.Disconnected;
                slot.ConnectedSince = null;
            }
        }
    }

    private async Task MoveFramesAsync(PeerSlot slot, InMemoryPeerNetwork target, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Wake up for frames, or now and then to notice that the peer went away.
            var ready = slot.WaitToDequeueAsync(cancellationToken).AsTask();
            var gone = target.Detached(cancellationToken);
            await Task.WhenAny(ready, gone).ConfigureAwait(false);
            if (gone.IsCompleted || !target.Admits(LocalNode)) return;
            while (slot.TryDequeue(out var frame))
            {
                var verdict = target.Deliver(LocalNode, frame);
                slot.CountSent(frame.Payload.Length);
                if (verdict == InboundVerdict.Refuse) return;
            }
        }
    }

    private Task Detached(CancellationToken cancellationToken) => _detached.Task.WaitAsync(cancellationToken);

    private async Task WaitAsync(Task changed, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAny(changed, Task.Delay(PollInterval, _table.Clock, cancellationToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void OnPeerBanned(PeerBan ban)
    {
        DropLink(ban.Peer);
        _fabric.Find(ban.Peer)?.DropLink(LocalNode);
        _fabric.SignalChange();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _fabric.Detach(this);
        _detached.TrySetResult();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            Task[] pumps;
            lock (_pumps) pumps = [.. _pumps];
            await Task.WhenAll(pumps).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _table.CompleteReceived();
        _stopping.Dispose();
    }
}
