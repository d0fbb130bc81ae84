using System.Collections.Concurrent;
using Custos.Api;
using Custos.Cli.Init;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Node;
using Custos.Sdk;
using Grpc.Core;
using Xunit.Sdk;

namespace Custos.IntegrationTests;

/// <summary>What a test asks of its network before the nodes start.</summary>
internal sealed record LocalNetworkOptions
{
    /// <summary>Names the temporary directory, so that a leftover one tells which test left it.</summary>
    public required string Name { get; init; }

    /// <summary>P2P base+1.., client API base+1001.., HTTP base+2001.. (distinct per test, so tests cannot collide).</summary>
    public required int BasePort { get; init; }

    public int Observers { get; init; }

    /// <summary>Rewrites the node configurations after `custos init` (the partition test moves nodes into namespaces).</summary>
    public Action<NetworkDirectory>? Reconfigure { get; init; }

    /// <summary>The network namespace a node runs in; null: the test's own.</summary>
    public Func<string, string?> NamespaceOf { get; init; } = _ => null;

    /// <summary>Where the test reaches a node's client API; null: the API address of its configuration.</summary>
    public Func<string, (string Host, int Port)>? ApiEndpointOf { get; init; }
}

/// <summary>
/// A fresh network written by `custos init` (4 validators) in a temporary directory, every node its own `custos
/// node` process. Tests act on it as the network directory's users through the SDK, kill and restart nodes, and
/// compare what the nodes hold. Disposing stops every process, even after a failure, and deletes the directory.
/// </summary>
internal sealed class LocalNetwork : IAsyncDisposable
{
    public const string Sender = "client1@org1";

    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    private readonly LocalNetworkOptions _options;
    private readonly ConcurrentDictionary<string, LocalNode> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, NetworkUser> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string User, string Node), CustosClient> _clients = new();
    private readonly string _temporary;
    private readonly Lock _haltScan = new();
    private readonly Dictionary<string, long> _scannedOffsets = [];
    private readonly List<string> _haltLines = [];

    private LocalNetwork(LocalNetworkOptions options, string temporary, NetworkDirectory directory)
    {
        _options = options;
        _temporary = temporary;
        Directory = directory;
    }

    public NetworkDirectory Directory { get; }

    public ChainSetup Chain => Directory.Chain;

    public ICryptoSuite Suite => Chain.Suite;

    public IReadOnlyList<string> NodeNames => Chain.Nodes.Select(n => n.Name).ToList();

    public IReadOnlyList<string> Validators => Chain.Genesis.Validators.Select(n => n.Name).ToList();

    /// <summary>Funded accounts' users (one client per member organisation).</summary>
    public IReadOnlyList<string> FundedUsers => Chain.Genesis.Accounts.Where(a => a.Balance > 0).Select(a => a.Label).ToList();

    public LocalNode this[string node] => _nodes[node];

    /// <summary>Creates the network and starts every node; returns once each answers the client API.</summary>
    public static async Task<LocalNetwork> StartAsync(LocalNetworkOptions options, CancellationToken cancellationToken)
    {
        var temporary = System.IO.Directory.CreateTempSubdirectory($"custos-integ-{options.Name}-").FullName;
        LocalNetwork? network = null;
        try
        {
            var root = Path.Combine(temporary, "net");
            new ConsortiumInitializer(TextWriter.Null).Run(new InitOptions
            {
                OutputDirectory = root,
                Validators = 4,
                Observers = options.Observers,
                Suite = CryptoSuites.Gm,
                BasePort = options.BasePort,
                // A throwaway network: the fastest key-file KDF the format allows.
                KdfIterations = EncryptedKeyFile.MinimumIterations,
                Overwrite = true,
            });
            var directory = NetworkDirectory.Open(root);
            options.Reconfigure?.Invoke(directory);
            System.IO.Directory.CreateDirectory(Path.Combine(root, "logs"));
            network = new LocalNetwork(options, temporary, directory);
            foreach (var node in network.NodeNames) network.StartNode(node);
            await network.WaitServingAsync(network.NodeNames, TimeSpan.FromSeconds(120), cancellationToken);
            return network;
        }
        catch (Exception e)
        {
            if (network is not null)
            {
                var diagnostics = network.Diagnostics();
                await network.DisposeAsync();
                throw new InvalidOperationException($"the network did not start: {e.Message}{diagnostics}", e);
            }

            System.IO.Directory.Delete(temporary, recursive: true);
            throw;
        }
    }

    public string LogPath(string node) => Path.Combine(Directory.Root, "logs", $"{node}.log");

    /// <summary>Starts (or restarts, with the same configuration and data) one node's process.</summary>
    public LocalNode StartNode(string node)
    {
        if (_nodes.TryGetValue(node, out var running) && !running.HasExited) throw new InvalidOperationException($"{node} is running already");
        var started = LocalNode.Start(node, Directory.ConfigPath(node), LogPath(node), _options.NamespaceOf(node));
        _nodes[node] = started;
        return started;
    }

    /// <summary>SIGKILL, and the API connections to the node are dropped so that a restart gets fresh ones.</summary>
    public async Task KillAsync(string node)
    {
        await _nodes[node].KillAsync();
        ForgetClients(node);
    }

    public async Task StopNodeAsync(string node)
    {
        await _nodes[node].StopAsync(StopGrace);
        ForgetClients(node);
    }

    public NetworkUser User(string label) => _users.GetOrAdd(label, Directory.User);

    /// <summary>A client API connection to <paramref name="node"/> as <paramref name="user"/> (cached; thread-safe).</summary>
    public CustosClient Client(string node, string user = Sender) => _clients.GetOrAdd((user, node), key =>
    {
        var (host, port) = ApiEndpoint(key.Node);
        var identity = User(key.User);
        return CustosClient.Connect(Directory.Trust, identity.Certificate, identity.Key, key.Node, host, port);
    });

    public (string Host, int Port) ApiEndpoint(string node)
    {
        if (_options.ApiEndpointOf is { } endpointOf) return endpointOf(node);
        var address = NodeConfigurationFile.Load(Directory.ConfigPath(node)).ApiListen;
        var separator = address.LastIndexOf(':');
        return (address[..separator], int.Parse(address[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task<ulong> HeightAsync(string node, CancellationToken cancellationToken)
    {
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        call.CancelAfter(TimeSpan.FromSeconds(10));
        return (await Client(node).StatusAsync(call.Token)).Height;
    }

    public async Task<Dictionary<string, ulong>> HeightsAsync(IEnumerable<string> nodes, CancellationToken cancellationToken)
    {
        var heights = new Dictionary<string, ulong>();
        foreach (var node in nodes) heights[node] = await HeightAsync(node, cancellationToken);
        return heights;
    }

    /// <summary>Waits until every node answers a status request (bounded); fails at once if one exits.</summary>
    public async Task WaitServingAsync(IEnumerable<string> nodes, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var node in nodes)
        {
            while (true)
            {
                if (_nodes[node].HasExited) throw new InvalidOperationException($"{node} exited while starting");
                try
                {
                    await HeightAsync(node, cancellationToken);
                    break;
                }
                catch (RpcException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(250, cancellationToken);
                }
            }
        }
    }

    /// <summary>Polls the nodes' heights until <paramref name="condition"/> holds; false when the time is up.</summary>
    public async Task<bool> WaitForHeightsAsync(IReadOnlyList<string> nodes, Func<IReadOnlyDictionary<string, ulong>, bool> condition, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            ThrowIfHalted();
            try
            {
                if (condition(await HeightsAsync(nodes, cancellationToken))) return true;
            }
            catch (RpcException) when (DateTime.UtcNow < deadline)
            {
                // A node that was just restarted may not serve yet.
            }

            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>The hash of the block each node holds at each height up to <paramref name="upTo"/>; fails on the first difference.</summary>
    public async Task AssertSameBlocksAsync(IReadOnlyList<string> nodes, ulong upTo, CancellationToken cancellationToken)
    {
        for (ulong height = 0; height <= upTo; height++)
        {
            Hash32? expected = null;
            foreach (var node in nodes)
            {
                var hash = await BlockHashAsync(node, height, cancellationToken);
                expected ??= hash;
                Assert.True(hash == expected, $"FORK: block {height} is {expected.Value.ToShortString()} on {nodes[0]} but {hash.ToShortString()} on {node}");
            }
        }
    }

    public async Task<Hash32> BlockHashAsync(string node, ulong height, CancellationToken cancellationToken)
    {
        var block = Block.Parser.ParseFrom((await Client(node).BlockAsync(height, cancellationToken)).Block);
        return Suite.HashObject(ObjectType.BlockHeader, block.Header.Span);
    }

    /// <summary>The transaction as <paramref name="node"/> records it.</summary>
    public async Task<TransactionStatus> TransactionAsync(string node, Hash32 id, CancellationToken cancellationToken) =>
        await Client(node).Ledger.GetTransactionAsync(new TransactionQuery { TransactionId = id.ToByteString() }, cancellationToken: cancellationToken);

    /// <summary>Each node's process state and the tail of its log, for failure messages.</summary>
    public string Diagnostics(int lines = 25)
    {
        var text = new System.Text.StringBuilder();
        foreach (var node in NodeNames)
        {
            var state = _nodes.TryGetValue(node, out var process) ? process.HasExited ? "exited" : $"running, pid {process.ProcessId}" : "never started";
            text.Append($"\n--- {node} ({state}), last lines of {LogPath(node)}:\n").Append(LocalNode.Tail(LogPath(node), lines));
        }

        return text.ToString();
    }

    /// <summary>The log lines in which a node says its consensus stopped (it then serves reads but orders nothing).</summary>
    public IReadOnlyList<string> HaltLines()
    {
        lock (_haltScan)
        {
            foreach (var node in NodeNames)
            {
                // Logs only grow: each scan reads what was appended since the last one, up to the last whole line.
                var path = LogPath(node);
                if (!File.Exists(path)) continue;
                _scannedOffsets.TryGetValue(path, out var offset);
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                stream.Seek(offset, SeekOrigin.Begin);
                using var reader = new StreamReader(stream);
                var appended = reader.ReadToEnd();
                var complete = appended.LastIndexOf('\n') + 1;
                _scannedOffsets[path] = offset + System.Text.Encoding.UTF8.GetByteCount(appended.AsSpan(0, complete));
                _haltLines.AddRange(appended[..complete].Split('\n').Where(l =>
                    l.Contains("\"event\":\"consensus-stopped\"", StringComparison.Ordinal) || l.Contains("\"event\":\"consensus-halted\"", StringComparison.Ordinal)));
            }

            return [.. _haltLines];
        }
    }

    /// <summary>Fails at once, instead of waiting out a timeout, when a node has stopped its consensus.</summary>
    public void ThrowIfHalted()
    {
        var halts = HaltLines();
        if (halts.Count > 0) throw new InvalidOperationException($"a node stopped its consensus: {halts[0]}");
    }

    public void AssertNoNodeHalted()
    {
        var halts = HaltLines();
        Assert.True(halts.Count == 0, $"a node stopped its consensus:\n{string.Join('\n', halts)}");
    }

    /// <summary>
    /// Runs a test's steps; any failure is reported with every node's state and log tail. A failure caused by a node
    /// defect this suite has found and reported (<see cref="KnownNodeDefects"/>) is reported as a skip naming it.
    /// </summary>
    public async Task ExplainFailuresAsync(Func<Task> steps)
    {
        try
        {
            await steps();
        }
        catch (Exception e) when (e is not SkipException && (e is not OperationCanceledException || !TestContext.Current.CancellationToken.IsCancellationRequested))
        {
            if (KnownNodeDefects.Recognise(HaltLines()) is { } defect) Assert.Fail(defect);
            throw new XunitException($"{e.GetType().Name}: {e.Message}{Diagnostics()}", e);
        }
    }

    private void ForgetClients(string node)
    {
        foreach (var key in _clients.Keys.Where(k => k.Node == node).ToList())
        {
            if (_clients.TryRemove(key, out var client)) client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values) client.Dispose();
        _clients.Clear();
        await Task.WhenAll(_nodes.Values.Select(n => n.StopAsync(StopGrace)));
        foreach (var user in _users.Values) user.Dispose();
        // For investigating a failure by hand: CUSTOS_INTEGRATION_KEEP=1 leaves the network directory and its logs.
        if (Environment.GetEnvironmentVariable("CUSTOS_INTEGRATION_KEEP") == "1") return;
        try
        {
            System.IO.Directory.Delete(_temporary, recursive: true);
        }
        catch (IOException)
        {
            // A node that was killed may still be letting go of a file; the temporary directory is left behind.
        }
    }
}
