using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Custos.Crypto;
using Custos.Execution;
using Custos.Network;
using Custos.Network.InMemory;
using Custos.Network.Wire;
using Custos.Privacy.Audit;
using Custos.Privacy.Policy;
using Custos.Privacy.PrivateData;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Node.Tests.Support;

/// <summary>Committed state that a test writes directly: the privacy policy and on-chain commitments.</summary>
internal sealed class ChainState : IStateReader
{
    private readonly ConcurrentDictionary<byte[], byte[]> _values = new(ByteKeyComparer.Instance);

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value) => _values.TryGetValue(key.ToArray(), out value);

    public void Put(byte[] key, byte[] value) => _values[key] = value;

    public void SetPolicy(params (string Contract, string Collection, string[] Organisations)[] collections)
    {
        var record = PrivacyPolicy.Default.Record.Clone();
        record.Version = 1;
        foreach (var (contract, collection, organisations) in collections)
        {
            var entry = new CollectionEntitlement { Contract = contract, Collection = collection };
            entry.Organisations.AddRange(organisations);
            record.Collections.Add(entry);
        }

        Assert.True(PrivacyPolicy.TryCreate(record, out var policy, out var error), error?.ToString());
        Put(PrivacyPolicyContract.PolicyKey, policy.Record.ToByteArray());
    }

    /// <summary>What system.privacy / commit records.</summary>
    public void Commit(string contract, string collection, byte[] key, Custos.Core.Hash32 commitment, string organisation) =>
        Put(PrivacyPolicyContract.CommitmentKey(contract, collection, key),
            new PrivateDataCommitment { Commitment = commitment.ToByteString(), Version = 1, Organisation = organisation, Height = 1 }.ToByteArray());
}

/// <summary>
/// Nodes of different organisations on an in-memory peer network, each with its own private data store and
/// <see cref="PrivateDataService"/>, sharing one committed state. Each node's frames are read the way
/// <see cref="PeerRelay"/> reads them: privacy frames are posted to its service; every frame is also recorded.
/// </summary>
internal sealed class PrivacyCluster : IAsyncDisposable
{
    public static readonly ICryptoSuite Suite = CryptoSuites.Gm;

    private readonly TempDirectory _directory = new();
    private readonly InMemoryPeerFabric _fabric = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];
    private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);

    public PrivacyCluster(params (string Node, string Organisation)[] nodes)
    {
        var organisations = new NodeOrganisations(nodes, State);
        foreach (var (node, organisation) in nodes)
        {
            var network = new InMemoryPeerNetwork(_fabric, node, nodes.Select(n => n.Node).Where(n => n != node));
            var directory = _directory.Sub(node);
            Directory.CreateDirectory(directory);
            var dataKey = NodeDataKey.Ephemeral(Suite);
            var audit = PrivacyAuditLog.Open(Path.Combine(directory, "audit.log"), Suite, TimeProvider.System);
            var store = new PrivateDataStore(directory, organisation, dataKey, audit, TimeProvider.System);
            var log = new LogCapture();
            var service = new PrivateDataService(store, Suite, State, organisations, network, new NodeLog(node, log, TimeProvider.System), audit, dataKey);
            _members[node] = new Member(network, store, service, Path.Combine(directory, "audit.log"), log);
        }
    }

    public ChainState State { get; } = new();

    public PrivateDataService this[string node] => _members[node].Service;

    public PrivateDataStore Store(string node) => _members[node].Store;

    public InMemoryPeerNetwork Network(string node) => _members[node].Network;

    public string AuditLog(string node) => _members[node].AuditLog;

    /// <summary>What the node's service logged so far.</summary>
    public string Log(string node) => _members[node].Log.ToString();

    /// <summary>Every frame a node received, in arrival order.</summary>
    public IReadOnlyList<ReceivedFrame> Received(string node)
    {
        lock (_members[node].Received) return [.. _members[node].Received];
    }

    public async Task StartAsync()
    {
        foreach (var (node, member) in _members)
        {
            await member.Network.StartAsync();
            member.Service.Start();
            _pumps.Add(Task.Run(() => PumpAsync(member)));
        }

        foreach (var (node, member) in _members)
        {
            Assert.True(await Eventually(() => member.Network.Peers.All(p => p.State == PeerState.Connected && p.InboundConnected)), $"{node} did not connect");
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or ten seconds pass (a liveness bound, not a speed check).</summary>
    public static async Task<bool> Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (condition()) return true;
            await Task.Delay(10);
        }

        return condition();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var member in _members.Values) await member.Network.DisposeAsync();
        try
        {
            await Task.WhenAll(_pumps);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var member in _members.Values) await member.Service.DisposeAsync();
        _stop.Dispose();
        _directory.Dispose();
    }

    private async Task PumpAsync(Member member)
    {
        try
        {
            await foreach (var frame in member.Network.Received.ReadAllAsync(_stop.Token))
            {
                lock (member.Received) member.Received.Add(frame);
                if (frame.Kind == FrameKind.Privacy) member.Service.Post(frame.Peer, frame.Payload);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed record Member(InMemoryPeerNetwork Network, PrivateDataStore Store, PrivateDataService Service, string AuditLog, LogCapture Log)
    {
        public List<ReceivedFrame> Received { get; } = [];
    }
}

/// <summary>Log lines kept in memory; the service's worker writes while the test reads.</summary>
internal sealed class LogCapture : StringWriter
{
    private readonly Lock _gate = new();

    public override void WriteLine(string? value)
    {
        lock (_gate) base.WriteLine(value);
    }

    public override string ToString()
    {
        lock (_gate) return base.ToString();
    }
}
