using System.Collections.Concurrent;

namespace Custos.Network.InMemory;

/// <summary>
/// The "wire" between <see cref="InMemoryPeerNetwork"/>s of one test: a node is reachable while it is started and
/// attached. Starting a node of the same name again after disposing the old one is a restart.
/// </summary>
public sealed class InMemoryPeerFabric
{
    private readonly ConcurrentDictionary<string, InMemoryPeerNetwork> _attached = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal bool TryAttach(InMemoryPeerNetwork network)
    {
        if (!_attached.TryAdd(network.LocalNode, network)) return false;
        SignalChange();
        return true;
    }

    internal void Detach(InMemoryPeerNetwork network)
    {
        if (_attached.TryRemove(new KeyValuePair<string, InMemoryPeerNetwork>(network.LocalNode, network))) SignalChange();
    }

    internal InMemoryPeerNetwork? Find(string name) => _attached.TryGetValue(name, out var network) ? network : null;

    /// <summary>Completes at the next attach, detach or ban anywhere on the fabric.</summary>
    internal Task Changed => Volatile.Read(ref _changed).Task;

    internal void SignalChange() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
