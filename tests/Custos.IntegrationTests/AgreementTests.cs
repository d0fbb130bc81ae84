using Custos.Core;
using Custos.Node;
using Custos.Storage;

namespace Custos.IntegrationTests;

/// <summary>
/// The README's main command as a user runs it: `custos devnet --smoke 1000` starts 4 validators and an observer as
/// separate processes, submits 1,000 signed transfers, and checks that every node agrees. Afterwards the test opens
/// every node's store itself and compares them block by block, so the agreement is not only the command's word.
/// </summary>
public sealed class AgreementTests
{
    private const int BasePort = 30100;
    private const int Transfers = 1_000;

    [Fact(Timeout = 300_000)]
    public async Task Four_validators_commit_a_thousand_transfers_with_identical_hashes_and_state_roots()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var temporary = Directory.CreateTempSubdirectory("custos-integ-agreement-").FullName;
        var root = Path.Combine(temporary, "net");
        try
        {
            var (exitCode, output) = await DevnetRun.RunAsync(["devnet", "--smoke", Transfers.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", root,
                "--base-port", BasePort.ToString(System.Globalization.CultureInfo.InvariantCulture)], root, TimeSpan.FromSeconds(240), cancellationToken);
            Assert.True(exitCode == 0, $"`custos devnet --smoke {Transfers}` exited with {exitCode}:\n{output}{DevnetRun.LogTails(root)}");
            Assert.Contains($"smoke: {Transfers} transfers committed, 5 nodes agree on", output, StringComparison.Ordinal);
            TestContext.Current.TestOutputHelper?.WriteLine(output);

            CompareStores(root, output);
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    }

    /// <summary>Every node's store, opened after the nodes stopped: the same blocks, the same state root, every transfer once.</summary>
    private static void CompareStores(string root, string output)
    {
        var chain = ChainSetup.Load(Path.Combine(root, "genesis.json"));
        var stores = chain.Nodes.Select(n => (n.Name, Store: LedgerStore.Open(Path.Combine(root, "nodes", n.Name, "data"), chain.Identity))).ToList();
        try
        {
            var common = stores.Min(s => s.Store.Head!.Height);
            var context = $"\n{output}{DevnetRun.LogTails(root)}";
            for (ulong height = 0; height <= common; height++)
            {
                var expected = stores[0].Store.ReadBlock(height)?.Hash;
                foreach (var (name, store) in stores)
                {
                    var hash = store.ReadBlock(height)?.Hash;
                    Assert.True(hash is not null && hash == expected, $"block {height} differs: {stores[0].Name} {expected?.ToShortString()}, {name} {hash?.ToShortString()}{context}");
                }
            }

            var root0 = stores[0].Store.State.RootAt(common);
            foreach (var (name, store) in stores) Assert.True(store.State.RootAt(common) == root0, $"state root at {common} differs on {name}{context}");

            // The only transactions of this chain are the smoke test's transfers: each is in exactly one block.
            var ids = new HashSet<Hash32>();
            for (ulong height = 1; height <= common; height++)
            {
                foreach (var transaction in stores[0].Store.ReadBlock(height)!.Block.Transactions) Assert.True(ids.Add(transaction.ComputeId(chain.Suite)), $"a transfer is in two blocks{context}");
            }

            Assert.True(ids.Count == Transfers, $"{ids.Count} transactions in blocks 1..{common}, expected {Transfers}{context}");
        }
        finally
        {
            foreach (var (_, store) in stores) store.Dispose();
        }
    }
}
