using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Custos.IntegrationTests;

/// <summary>
/// A small real network made of Linux network namespaces: one namespace per node, each with one veth interface
/// (10.77.0.N/24) plugged into a bridge in a hub namespace. The first half of the nodes hang on bridge A, the second
/// half on bridge B, and the two bridges are joined by a trunk veth pair, so taking the trunk down splits the
/// network in two halves that can still talk among themselves. Nothing is created in the test's own namespace;
/// disposing deletes the namespaces, and with them every interface and bridge in them.
/// </summary>
internal sealed class NamespaceTopology : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);

    private readonly string _prefix;
    private readonly List<string> _created = [];
    private readonly IReadOnlyList<string> _nodes;

    private NamespaceTopology(string prefix, IReadOnlyList<string> nodes)
    {
        _prefix = prefix;
        _nodes = nodes;
    }

    private string Hub => $"{_prefix}-hub";

    /// <summary>Why this machine cannot build the topology (not root, no `ip`, or namespaces refused); null if it can.</summary>
    public static async Task<string?> UnavailableReasonAsync()
    {
        if (GetEffectiveUserId() != 0) return "creating network namespaces needs root (run as root in CI; test.sh installs iproute2 then)";
        if (SystemCommands.Find("ip") is null) return "the `ip` tool (iproute2) is not installed";
        var probe = $"cstprobe{Environment.ProcessId}";
        var (code, output) = await SystemCommands.RunAsync(SystemCommands.Ip, ["netns", "add", probe], CommandTimeout);
        if (code != 0) return $"`ip netns add` failed here: {output.Trim()}";
        await SystemCommands.RunAsync(SystemCommands.Ip, ["netns", "delete", probe], CommandTimeout);
        return null;
    }

    /// <summary>Creates the namespaces, bridges and links for <paramref name="nodes"/> (in order: first half on A, the rest on B).</summary>
    public static async Task<NamespaceTopology> CreateAsync(IReadOnlyList<string> nodes)
    {
        var topology = new NamespaceTopology($"cst{Environment.ProcessId}", nodes);
        try
        {
            await topology.BuildAsync();
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    public string NamespaceOf(string node) => $"{_prefix}-n{Index(node) + 1}";

    public IPAddress AddressOf(string node) => IPAddress.Parse($"10.77.0.{Index(node) + 1}");

    /// <summary>Takes the trunk between the bridges down: the halves no longer hear each other.</summary>
    public Task PartitionAsync() => RunAsync(["-n", Hub, "link", "set", "trunk-a", "down"]);

    public Task HealAsync() => RunAsync(["-n", Hub, "link", "set", "trunk-a", "up"]);

    private int Index(string node)
    {
        var index = _nodes.ToList().IndexOf(node);
        return index >= 0 ? index : throw new ArgumentException($"{node} is not in the topology", nameof(node));
    }

    private async Task BuildAsync()
    {
        await AddNamespaceAsync(Hub);
        await RunAsync(["-n", Hub, "link", "set", "lo", "up"]);
        foreach (var bridge in new[] { "bridge-a", "bridge-b" })
        {
            await RunAsync(["-n", Hub, "link", "add", bridge, "type", "bridge"]);
            await RunAsync(["-n", Hub, "link", "set", bridge, "up"]);
        }

        await RunAsync(["-n", Hub, "link", "add", "trunk-a", "type", "veth", "peer", "name", "trunk-b"]);
        await RunAsync(["-n", Hub, "link", "set", "trunk-a", "master", "bridge-a", "up"]);
        await RunAsync(["-n", Hub, "link", "set", "trunk-b", "master", "bridge-b", "up"]);

        for (var i = 0; i < _nodes.Count; i++)
        {
            var node = _nodes[i];
            var space = NamespaceOf(node);
            var port = $"port{i + 1}";
            await AddNamespaceAsync(space);
            // Both ends are made in the hub and one is moved into the node's namespace, so no interface ever
            // exists in the test's own namespace.
            await RunAsync(["-n", Hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", space]);
            await RunAsync(["-n", Hub, "link", "set", port, "master", i < _nodes.Count / 2 ? "bridge-a" : "bridge-b", "up"]);
            await RunAsync(["-n", space, "link", "set", "lo", "up"]);
            await RunAsync(["-n", space, "addr", "add", $"{AddressOf(node)}/24", "dev", "eth0"]);
            await RunAsync(["-n", space, "link", "set", "eth0", "up"]);
        }
    }

    private async Task AddNamespaceAsync(string name)
    {
        await RunAsync(["netns", "add", name]);
        _created.Add(name);
    }

    private static async Task RunAsync(string[] arguments)
    {
        var (code, output) = await SystemCommands.RunAsync(SystemCommands.Ip, arguments, CommandTimeout);
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed ({code}): {output.Trim()}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var name in Enumerable.Reverse(_created)) await SystemCommands.RunAsync(SystemCommands.Ip, ["netns", "delete", name], CommandTimeout);
        _created.Clear();
    }

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEffectiveUserId();
}

/// <summary>
/// Lets the test reach a service inside a network namespace: it listens on 127.0.0.1 in the test's namespace and,
/// for each connection, opens a socket inside the target namespace (a socket belongs to the namespace of the thread
/// that creates it, so a short-lived thread enters the namespace with setns to create it) and relays bytes both ways.
/// </summary>
internal sealed class NamespaceForwarder : IAsyncDisposable
{
    private const int NewNetworkNamespace = 0x40000000;

    private readonly string _namespace;
    private readonly IPEndPoint _target;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _relays = [];
    private readonly Task _accepting;

    public NamespaceForwarder(string networkNamespace, IPEndPoint target)
    {
        _namespace = networkNamespace;
        _target = target;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(AcceptAsync);
    }

    /// <summary>The port on 127.0.0.1 that leads to the target.</summary>
    public int Port { get; }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                lock (_relays) _relays.Add(Task.Run(() => RelayAsync(client)));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using (client)
        using (var server = CreateSocketInNamespace())
        {
            try
            {
                await server.ConnectAsync(_target, _stop.Token);
                using var one = new NetworkStream(client, ownsSocket: false);
                using var other = new NetworkStream(server, ownsSocket: false);
                using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var up = one.CopyToAsync(other, done.Token);
                var down = other.CopyToAsync(one, done.Token);
                await Task.WhenAny(up, down);
                await done.CancelAsync();
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // Either side went away; closing both ends tells the other.
            }
        }
    }

    private Socket CreateSocketInNamespace()
    {
        Socket? socket = null;
        string? failure = null;
        var thread = new Thread(() =>
        {
            using var handle = File.OpenHandle(Path.Combine("/run/netns", _namespace));
            if (SetNamespace((int)handle.DangerousGetHandle(), NewNetworkNamespace) != 0)
            {
                failure = $"setns into {_namespace} failed: errno {Marshal.GetLastPInvokeError().ToString(CultureInfo.InvariantCulture)}";
                return;
            }

            socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        });
        thread.Start();
        thread.Join();
        return socket ?? throw new IOException(failure ?? "no socket");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] relays;
        lock (_relays) relays = [.. _relays];
        await Task.WhenAll(relays);
        _stop.Dispose();
    }

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNamespace(int fd, int type);
}
