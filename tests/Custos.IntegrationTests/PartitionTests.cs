using System.Globalization;
using System.Net;
using Custos.Api;
using Custos.Cli.Network;
using Custos.Core.Wire;
using Custos.Node;

namespace Custos.IntegrationTests;

/// <summary>
/// A real network partition: each validator runs in its own network namespace behind a bridge, and the link between
/// the bridges of {node1, node2} and {node3, node4} is taken down. Neither half holds a quorum of three, so neither
/// commits anything new and they cannot fork; when the link comes back, progress resumes.
/// </summary>
public sealed class PartitionTests
{
    private const int BasePort = 30400;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact(Timeout = 300_000)]
    public async Task Network_partition_two_two_makes_no_progress_and_heals()
    {
        if (await NamespaceTopology.UnavailableReasonAsync() is { } reason) Assert.Skip(reason);
        var cancellationToken = TestContext.Current.CancellationToken;
        string[] nodes = ["node1", "node2", "node3", "node4"];
        await using var topology = await NamespaceTopology.CreateAsync(nodes);
        var forwarders = new Dictionary<string, NamespaceForwarder>();
        try
        {
            await using var network = await LocalNetwork.StartAsync(new LocalNetworkOptions
            {
                Name = "partition",
                BasePort = BasePort,
                Reconfigure = directory =>
                {
                    MoveIntoNamespaces(directory, topology);
                    foreach (var node in nodes)
                    {
                        var api = IPEndPoint.Parse(NodeConfigurationFile.Load(directory.ConfigPath(node)).ApiListen);
                        forwarders[node] = new NamespaceForwarder(topology.NamespaceOf(node), api);
                    }
                },
                NamespaceOf = topology.NamespaceOf,
                ApiEndpointOf = node => ("127.0.0.1", forwarders[node].Port),
            }, cancellationToken);
            await network.ExplainFailuresAsync(() => PartitionAndHealAsync(network, topology, nodes, cancellationToken));
        }
        finally
        {
            foreach (var forwarder in forwarders.Values) await forwarder.DisposeAsync();
        }
    }

    private static async Task PartitionAndHealAsync(LocalNetwork network, NamespaceTopology topology, string[] nodes, CancellationToken cancellationToken)
    {
        var output = TestContext.Current.TestOutputHelper;
        var signer = network.User(LocalNetwork.Sender).Signer;
        var receiver = network.User("client1@org2").Account;

        // The network commits across the bridges before the partition.
        var before = signer.Transfer(receiver, 1, await network.HeightAsync("node1", cancellationToken) + 500);
        Assert.Equal(ErrorCode.Ok, (await network.Client("node1").SubmitAsync([before], cancellationToken)).Single().Code);
        Assert.Equal(TransactionState.Committed, (await network.Client("node1").WaitForCommitAsync(before.Id, Patience, cancellationToken)).State);

        await topology.PartitionAsync();
        var atSplit = await network.HeightsAsync(nodes, cancellationToken);

        // Each half gets transfers it cannot commit without the other.
        var stranded = new[] { "node1", "node3" }.ToDictionary(n => n, _ => signer.Transfer(receiver, 1, atSplit.Values.Max() + 500));
        foreach (var (node, transfer) in stranded) Assert.Equal(ErrorCode.Ok, (await network.Client(node).SubmitAsync([transfer], cancellationToken)).Single().Code);

        // Blocks already certified before the split may still commit (at most two beyond the highest height seen
        // then, by the two-chain rule); nothing proposed after it can gather a quorum of three.
        var highest = atSplit.ToDictionary(p => p.Key, p => p.Value);
        var watchUntil = DateTime.UtcNow + TimeSpan.FromSeconds(8);
        while (DateTime.UtcNow < watchUntil)
        {
            foreach (var (node, height) in await network.HeightsAsync(nodes, cancellationToken)) highest[node] = Math.Max(highest[node], height);
            await Task.Delay(250, cancellationToken);
        }

        var bound = atSplit.Values.Max() + 2;
        Assert.True(highest.Values.Max() <= bound, $"a half committed with the network split 2|2: {Describe(highest)} (at the split: {Describe(atSplit)})");
        foreach (var (node, transfer) in stranded)
        {
            Assert.Equal(TransactionState.Pending, (await network.TransactionAsync(node, transfer.Id, cancellationToken)).State);
        }

        // No fork: both halves hold the same blocks up to the lowest height.
        var split = await network.HeightsAsync(nodes, cancellationToken);
        await network.AssertSameBlocksAsync(nodes, split.Values.Min(), cancellationToken);
        output?.WriteLine($"split at {Describe(atSplit)}; after 8 s {Describe(split)} (highest seen {Describe(highest)})");

        // Healed: the halves hear each other again and the stranded transfers commit.
        await topology.HealAsync();
        var healedAt = DateTime.UtcNow;
        foreach (var (node, transfer) in stranded)
        {
            var status = await network.Client(node).WaitForCommitAsync(transfer.Id, Patience, cancellationToken);
            Assert.True(status.State == TransactionState.Committed, $"the transfer offered to {node} during the split did not commit after healing");
        }

        Assert.True(await network.WaitForHeightsAsync(nodes, h => h.Values.Min() > bound, Patience, cancellationToken), $"not every node passed height {bound} after healing");
        var common = (await network.HeightsAsync(nodes, cancellationToken)).Values.Min();
        await network.AssertSameBlocksAsync(nodes, common, cancellationToken);
        network.AssertNoNodeHalted();
        output?.WriteLine($"healed; the stranded transfers committed {(DateTime.UtcNow - healedAt).TotalSeconds:0.0} s later; the 4 nodes agree on blocks 0..{common}");
    }

    /// <summary>Each node listens on its namespace's address and dials its peers at theirs (node.json, not genesis, says where peers are).</summary>
    private static void MoveIntoNamespaces(NetworkDirectory directory, NamespaceTopology topology)
    {
        foreach (var node in directory.Chain.Nodes.Select(n => n.Name))
        {
            var path = directory.ConfigPath(node);
            var config = NodeConfigurationFile.Load(path);
            string Moved(string name, string address) => $"{topology.AddressOf(name)}:{IPEndPoint.Parse(address).Port.ToString(CultureInfo.InvariantCulture)}";
            var peers = config.Peers.Select(p =>
            {
                var (name, address) = (p[..p.IndexOf('@')], p[(p.IndexOf('@') + 1)..]);
                return $"{name}@{Moved(name, address)}";
            }).ToList();
            File.WriteAllBytes(path, (config with
            {
                P2pListen = Moved(node, config.P2pListen),
                ApiListen = Moved(node, config.ApiListen),
                HttpListen = null,
                Peers = peers,
            }).Encode());
        }
    }

    private static string Describe(IReadOnlyDictionary<string, ulong> heights) => string.Join(", ", heights.Select(p => $"{p.Key} {p.Value}"));
}
