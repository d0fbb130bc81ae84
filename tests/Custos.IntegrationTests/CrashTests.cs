using Custos.Api;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Sdk;

namespace Custos.IntegrationTests;

/// <summary>
/// Validators crashing (SIGKILL) under load. With n = 4 the network tolerates one crash (f = 1): the other three
/// keep committing and the crashed one catches up when it returns. Two crashes leave two validators, short of the
/// quorum of three, so nothing new can be certified: progress stops without a fork and resumes when one returns.
/// </summary>
public sealed class CrashTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact(Timeout = 300_000)]
    public async Task Killing_one_validator_under_load_keeps_commits_flowing_and_it_catches_up_on_restart()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var network = await LocalNetwork.StartAsync(new LocalNetworkOptions { Name = "kill-one", BasePort = 30200 }, cancellationToken);
        await network.ExplainFailuresAsync(async () =>
        {
            string[] survivors = ["node1", "node2", "node3"];
            string[] all = [.. survivors, "node4"];
            var output = TestContext.Current.TestOutputHelper;

            // Clients use the three that stay up; node4 still takes part in consensus (leader, votes, batches).
            await using var load = new TransferLoad(network, () => survivors);
            load.Start();
            Assert.True(await load.WaitAcknowledgedAsync(60, Patience, cancellationToken), $"the load did not get 60 transfers committed: {load.Acknowledged.Count}");

            await network.KillAsync("node4");
            var killedAt = DateTime.UtcNow;
            var atKill = await network.HeightsAsync(survivors, cancellationToken);
            var acknowledgedBefore = load.Acknowledged.Where(a => a.At < killedAt).ToList();
            output?.WriteLine($"node4 killed at heights {Describe(atKill)} with {acknowledgedBefore.Count} transfers acknowledged as committed");

            // The three survivors keep committing the load.
            Assert.True(await load.WaitAcknowledgedAsync(load.Acknowledged.Count + 60, Patience, cancellationToken), "commits stopped after one validator was killed");
            Assert.True(await network.WaitForHeightsAsync(survivors, h => survivors.All(n => h[n] >= atKill[n] + 5), Patience, cancellationToken),
                "the survivors did not commit 5 more blocks");
            var acknowledgedWhileDown = load.Acknowledged.Count(a => a.At >= killedAt);

            // node4 returns with its own data and catches up with the others while the load goes on.
            network.StartNode("node4");
            await network.WaitServingAsync(["node4"], Patience, cancellationToken);
            var target = (await network.HeightsAsync(survivors, cancellationToken)).Values.Max() + 3;
            Assert.True(await network.WaitForHeightsAsync(["node4"], h => h["node4"] >= target, Patience, cancellationToken), $"node4 did not catch up to height {target}");
            Assert.True(await load.WaitAcknowledgedAsync(load.Acknowledged.Count + 30, Patience, cancellationToken), "commits stopped after node4 returned");
            await load.DisposeAsync();
            Assert.Empty(load.Refusals);

            // Every node holds the same chain up to the height all of them reached...
            var common = (await network.HeightsAsync(all, cancellationToken)).Values.Min();
            await network.AssertSameBlocksAsync(all, common, cancellationToken);

            // ...and every transfer acknowledged as committed (before, during and after the crash) is committed on
            // every node, the restarted one included, in the block the acknowledgement named.
            var acknowledged = load.Acknowledged;
            Assert.True(await network.WaitForHeightsAsync(all, h => all.All(n => h[n] >= acknowledged.Max(a => a.Height)), Patience, cancellationToken),
                "not every node reached the height of the last acknowledged transfer");
            foreach (var transfer in acknowledged)
            {
                foreach (var node in all)
                {
                    var status = await network.TransactionAsync(node, transfer.Id, cancellationToken);
                    Assert.True(status.State == TransactionState.Committed && new Hash32(status.BlockHash.Span) == transfer.BlockHash,
                        $"transfer {transfer.Id.ToShortString()}, acknowledged at height {transfer.Height}, is {status.State} at {status.Height} on {node}");
                }
            }

            output?.WriteLine($"{acknowledged.Count} transfers acknowledged ({acknowledgedBefore.Count} before the kill, {acknowledgedWhileDown} while node4 was down), "
                + $"all committed on the 4 nodes, which agree on blocks 0..{common}; {load.Submitted} submitted, {load.Unavailable} requests to unavailable nodes");
        });
    }

    [Fact(Timeout = 300_000)]
    public async Task Killing_two_of_four_stops_commits_without_a_fork_and_one_return_resumes_them()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var network = await LocalNetwork.StartAsync(new LocalNetworkOptions { Name = "kill-two", BasePort = 30300 }, cancellationToken);
        await network.ExplainFailuresAsync(async () =>
        {
            string[] survivors = ["node1", "node2"];
            var output = TestContext.Current.TestOutputHelper;
            var client = network.Client("node1");
            var signer = network.User(LocalNetwork.Sender).Signer;
            var receiver = network.User("client1@org2").Account;

            // The network commits before the crash.
            var warmUp = signer.Transfer(receiver, 1, (await client.StatusAsync(cancellationToken)).Height + 500);
            Assert.Equal(ErrorCode.Ok, (await client.SubmitAsync([warmUp], cancellationToken)).Single().Code);
            Assert.Equal(TransactionState.Committed, (await client.WaitForCommitAsync(warmUp.Id, TimeSpan.FromSeconds(60), cancellationToken)).State);

            await Task.WhenAll(network.KillAsync("node3"), network.KillAsync("node4"));
            var atKill = await network.HeightsAsync(survivors, cancellationToken);

            // Transfers offered now are admitted but cannot commit: no quorum of three can certify a block.
            var stranded = Enumerable.Range(0, 20).Select(_ => signer.Transfer(receiver, 1, atKill.Values.Max() + 500)).ToList();
            Assert.All(await client.SubmitAsync(stranded, cancellationToken), r => Assert.Equal(ErrorCode.Ok, r.Code));

            // Only blocks already certified before the crash may still commit. In the two-chain rule a block commits
            // once its child is certified, and the newest certificate formed before the crash can at most commit
            // two blocks beyond what the survivors had when the crash was observed.
            var highest = atKill.ToDictionary(p => p.Key, p => p.Value);
            var watch = DateTime.UtcNow + TimeSpan.FromSeconds(8);
            while (DateTime.UtcNow < watch)
            {
                foreach (var (node, height) in await network.HeightsAsync(survivors, cancellationToken)) highest[node] = Math.Max(highest[node], height);
                await Task.Delay(250, cancellationToken);
            }

            var bound = atKill.Values.Max() + 2;
            Assert.True(highest.Values.Max() <= bound, $"the survivors committed up to {Describe(highest)} with two of four validators down (at the crash: {Describe(atKill)})");
            foreach (var transfer in stranded)
            {
                Assert.Equal(TransactionState.Pending, (await network.TransactionAsync("node1", transfer.Id, cancellationToken)).State);
            }

            // No fork: the survivors hold the same blocks.
            var stalled = await network.HeightsAsync(survivors, cancellationToken);
            await network.AssertSameBlocksAsync(survivors, stalled.Values.Min(), cancellationToken);
            output?.WriteLine($"two killed at heights {Describe(atKill)}; after 8 s: {Describe(stalled)} (highest seen {Describe(highest)})");

            // One returns: three validators form a quorum again and the stranded transfers commit.
            network.StartNode("node3");
            await network.WaitServingAsync(["node3"], Patience, cancellationToken);
            var resumedAt = DateTime.UtcNow;
            foreach (var transfer in stranded)
            {
                var status = await client.WaitForCommitAsync(transfer.Id, Patience, cancellationToken);
                Assert.True(status.State == TransactionState.Committed, $"transfer {transfer.Id.ToShortString()} did not commit after node3 returned");
            }

            var resumed = await network.HeightsAsync(["node1", "node2", "node3"], cancellationToken);
            Assert.True(resumed.Values.Min() > bound || await network.WaitForHeightsAsync(["node1", "node2", "node3"], h => h.Values.Min() > bound, Patience, cancellationToken),
                $"heights did not pass {bound} after node3 returned: {Describe(resumed)}");
            var common = (await network.HeightsAsync(["node1", "node2", "node3"], cancellationToken)).Values.Min();
            await network.AssertSameBlocksAsync(["node1", "node2", "node3"], common, cancellationToken);
            output?.WriteLine($"node3 restarted; the {stranded.Count} stranded transfers committed {(DateTime.UtcNow - resumedAt).TotalSeconds:0.0} s after it served; "
                + $"nodes 1-3 agree on blocks 0..{common}");
        });
    }

    private static string Describe(IReadOnlyDictionary<string, ulong> heights) => string.Join(", ", heights.Select(p => $"{p.Key} {p.Value}"));
}
