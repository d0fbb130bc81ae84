using System.Net;
using System.Net.Sockets;
using Custos.Crypto;
using Custos.Network.Grpc;
using Custos.Network.Hosting;
using Custos.Network.InMemory;
using Custos.Network.Tls;
using Custos.Network.Wire;
using Grpc.Core;

namespace Custos.Network.Tests;

/// <summary>
/// A few nodes that all list each other as peers, on one transport: "memory", or "gm" / "intl" (gRPC over real
/// TLS on 127.0.0.1). Behavioural tests run unchanged on each.
/// </summary>
internal abstract class TestCluster : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    protected TestCluster(IReadOnlyList<string> names, PeerNetworkOptions options, ManualClock clock)
    {
        Names = names;
        Options = options;
        Clock = clock;
    }

    public IReadOnlyList<string> Names { get; }

    /// <summary>Nodes the others do not list at start (admitted later with AddPeer); they list everyone.</summary>
    public HashSet<string> Late { get; } = [];

    /// <summary>The peers <paramref name="name"/> is configured with at start.</summary>
    protected IEnumerable<string> InitialPeersOf(string name) => Names.Where(n => n != name && (Late.Contains(name) || !Late.Contains(n)));

    /// <summary>The endpoint other nodes dial to reach <paramref name="name"/>.</summary>
    public abstract PeerEndpoint EndpointOf(string name);

    public PeerNetworkOptions Options { get; }

    public ManualClock Clock { get; }

    public abstract IPeerNetwork this[string name] { get; }

    public static TestCluster Create(string transport, string[] names, PeerNetworkOptions? options = null, ManualClock? clock = null)
    {
        options ??= FastOptions;
        clock ??= new ManualClock();
        return transport == "memory"
            ? new MemoryCluster(names, options, clock)
            : new GrpcCluster(transport == "gm" ? CryptoSuites.Gm : CryptoSuites.Intl, names, options, clock);
    }

    /// <summary>Defaults with reconnect timings short enough for tests.</summary>
    public static PeerNetworkOptions FastOptions { get; } = new()
    {
        ReconnectDelayInitial = TimeSpan.FromMilliseconds(50),
        ReconnectDelayMax = TimeSpan.FromMilliseconds(500),
        ReconnectDelayIsolatedMax = TimeSpan.FromMilliseconds(250),
        HandshakeTimeout = TimeSpan.FromSeconds(10),
    };

    public abstract Task StartAsync();

    /// <summary>Stops the node and starts a new one under the same name, identity and address.</summary>
    public abstract Task RestartAsync(string name);

    public abstract Task StopAsync(string name);

    /// <summary>Delivers a frame from <paramref name="from"/> to <paramref name="to"/> without the sender's own checks.</summary>
    public abstract Task InjectAsync(string from, string to, FrameKind kind, byte[] payload);

    /// <summary>Waits until every running node has its links to and from every other running node up.</summary>
    public async Task WaitConnectedAsync(params string[] running)
    {
        running = running.Length == 0 ? [.. Names] : running;
        var connected = await Wait.UntilAsync(() => running.All(n => this[n].Peers.Where(p => running.Contains(p.Name))
            .All(p => p.State == PeerState.Connected && p.InboundConnected)));
        Assert.True(connected, $"links did not come up: {Describe(running)}");
    }

    public string Describe(IEnumerable<string> names) =>
        string.Join("; ", names.Select(n => $"{n}: " + string.Join(", ", this[n].Peers.Select(p => $"{p.Name}={p.State}/{(p.InboundConnected ? "in" : "-")} {p.LastError}"))));

    public abstract ValueTask DisposeAsync();
}

internal sealed class MemoryCluster : TestCluster
{
    private readonly InMemoryPeerFabric _fabric = new();
    private readonly Dictionary<string, InMemoryPeerNetwork> _nodes = [];

    public MemoryCluster(IReadOnlyList<string> names, PeerNetworkOptions options, ManualClock clock)
        : base(names, options, clock)
    {
        foreach (var name in names) _nodes[name] = Create(name);
    }

    public override IPeerNetwork this[string name] => _nodes[name];

    public override async Task StartAsync()
    {
        foreach (var node in _nodes.Values) await node.StartAsync();
    }

    public override async Task RestartAsync(string name)
    {
        await StopAsync(name);
        _nodes[name] = Create(name);
        await _nodes[name].StartAsync();
    }

    public override async Task StopAsync(string name) => await _nodes[name].DisposeAsync();

    public override Task InjectAsync(string from, string to, FrameKind kind, byte[] payload)
    {
        _nodes[to].Deliver(from, new OutboundFrame(kind, payload));
        return Task.CompletedTask;
    }

    private InMemoryPeerNetwork Create(string name) => new(_fabric, name, InitialPeersOf(name), Options, Clock);

    public override PeerEndpoint EndpointOf(string name) => new(name, "memory", 1);

    public override async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Values) await node.DisposeAsync();
    }
}

internal sealed class GrpcCluster : TestCluster
{
    private static readonly Method<byte[], byte[]> RawExchange = new(MethodType.DuplexStreaming, "custos.v1.PeerLink", "Exchange",
        Marshallers.Create<byte[]>(b => b, b => b), Marshallers.Create<byte[]>(b => b, b => b));

    private readonly Dictionary<string, GrpcPeerNetwork> _nodes = [];
    private readonly Dictionary<string, int> _ports = [];

    public GrpcCluster(ICryptoSuite suite, IReadOnlyList<string> names, PeerNetworkOptions options, ManualClock clock)
        : base(names, options, clock)
    {
        Consortium = new TestConsortium(suite, "org1", "org2");
        foreach (var name in names)
        {
            Identities[name] = Consortium.Issue(name, organisation: Consortium.Authorities.Keys.ElementAt(_ports.Count % 2));
            _ports[name] = FreePort();
            Trusts[name] = Consortium.Trust(clock);
        }

        foreach (var name in names) _nodes[name] = Create(name);
    }

    public TestConsortium Consortium { get; }

    public Dictionary<string, TlsIdentity> Identities { get; } = [];

    public Dictionary<string, TrustStore> Trusts { get; } = [];

    public override IPeerNetwork this[string name] => _nodes[name];

    public GrpcPeerNetwork Node(string name) => _nodes[name];

    public int Port(string name) => _ports[name];

    public override PeerEndpoint EndpointOf(string name) => new(name, "127.0.0.1", _ports[name]);

    public override async Task StartAsync()
    {
        foreach (var node in _nodes.Values) await node.StartAsync();
    }

    public override async Task RestartAsync(string name)
    {
        await StopAsync(name);
        _nodes[name] = Create(name);
        await _nodes[name].StartAsync();
    }

    public override async Task StopAsync(string name) => await _nodes[name].DisposeAsync();

    public override Task InjectAsync(string from, string to, FrameKind kind, byte[] payload) =>
        InjectRawAsync(from, to, PeerLinkProtocol.Encode(kind, payload));

    /// <summary>Opens a link as <paramref name="from"/> (its real certificate) and writes raw gRPC messages on it.</summary>
    public async Task InjectRawAsync(string from, string to, params byte[][] messages)
    {
        var stack = TlsStack.For(Consortium.Suite, Identities[from]);
        using var timeout = new CancellationTokenSource(Patience);
        using var channel = SecureHttpHandler.CreateGrpcChannel(stack, HandshakePolicy.ForNode(Trusts[from], to), "127.0.0.1", _ports[to]);
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(RawExchange, null, new CallOptions(cancellationToken: timeout.Token));
        try
        {
            await call.ResponseHeadersAsync;
            foreach (var message in messages) await call.RequestStream.WriteAsync(message);
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
            }
        }
        catch (Exception e) when (e is RpcException or IOException)
        {
            // The receiver cuts the link when it bans the sender; that is what the tests look for.
        }
    }

    private GrpcPeerNetwork Create(string name) => new(new GrpcPeerNetworkConfiguration
    {
        LocalNode = name,
        Listen = new IPEndPoint(IPAddress.Loopback, _ports[name]),
        Peers = InitialPeersOf(name).Select(EndpointOf).ToList(),
        Identity = Identities[name],
        Trust = Trusts[name],
        Options = Options,
        Random = new Random(name.GetHashCode(StringComparison.Ordinal)),
    });

    // Below the kernel's ephemeral range (32768 and up here) and the integration tests' fixed ports (30100 and up),
    // from a start that differs between test processes. A port the OS hands out for probing is an ephemeral one: free a
    // moment ago, but a node keeps it across restarts, and in between an outgoing connection (its own peers
    // reconnecting, another test) could be given it (seen once in CI: "address already in use" on a restart).
    private static int s_nextPort = 20_000 + Environment.ProcessId % 50 * 200;

    /// <summary>A port free a moment ago, outside the range outgoing connections take theirs from; the node binds it right after.</summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 1_000; attempt++)
        {
            var port = Interlocked.Increment(ref s_nextPort);
            if (port >= 30_000)
            {
                Interlocked.CompareExchange(ref s_nextPort, 20_000, port);
                continue;
            }

            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken by someone else: the next one.
            }
        }

        throw new InvalidOperationException("no free port below the ephemeral range");
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Values) await node.DisposeAsync();
    }
}

internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds or the time is up; never waits unboundedly.</summary>
    public static async Task<bool> UntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TestCluster.Patience);
        while (DateTime.UtcNow < deadline)
        {
            if (condition()) return true;
            await Task.Delay(20);
        }

        return condition();
    }

    /// <summary>Reads up to <paramref name="count"/> frames, stopping at the timeout.</summary>
    public static async Task<List<ReceivedFrame>> ReceiveAsync(this IPeerNetwork network, int count, TimeSpan? timeout = null)
    {
        var frames = new List<ReceivedFrame>();
        using var cancellation = new CancellationTokenSource(timeout ?? TestCluster.Patience);
        try
        {
            while (frames.Count < count) frames.Add(await network.Received.ReadAsync(cancellation.Token));
        }
        catch (OperationCanceledException)
        {
        }

        return frames;
    }

    /// <summary>Every frame that arrives until none has for <paramref name="quiet"/>.</summary>
    public static async Task<List<ReceivedFrame>> DrainAsync(this IPeerNetwork network, TimeSpan quiet)
    {
        var frames = new List<ReceivedFrame>();
        while (true)
        {
            using var cancellation = new CancellationTokenSource(quiet);
            try
            {
                frames.Add(await network.Received.ReadAsync(cancellation.Token));
            }
            catch (OperationCanceledException)
            {
                return frames;
            }
        }
    }

    public static PeerStatus Peer(this IPeerNetwork network, string name) => network.Peers.Single(p => p.Name == name);
}
