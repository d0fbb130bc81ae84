using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.State;
using Custos.Storage.Tests.Support;

namespace Custos.Storage.Tests;

/// <summary>Keeping the last N state versions, or all of them.</summary>
public sealed class PruningTests
{
    [Fact]
    public void Keeping_the_last_versions_deletes_older_trees_but_serves_every_retained_version()
    {
        using var ledger = new TestLedger(options: new StoreOptions { Retention = StateRetention.KeepLast(3) });
        var history = Persist(ledger, versions: 12);
        var state = ledger.Store.State;
        Assert.Equal(9UL, state.OldestRetainedVersion);
        for (ulong version = 0; version < 12; version++)
        {
            if (version < 9)
            {
                Assert.Equal(ErrorCode.NotFound, Assert.Throws<CustosException>(() => state.Get("key-1"u8, version)).Code);
                Assert.Equal(ErrorCode.NotFound, Assert.Throws<CustosException>(() => state.Prove("key-1"u8, version)).Code);
                continue;
            }

            CheckVersion(ledger, history, version);
        }

        // Every node and value record left is reachable from a retained version.
        var reachable = ReachableCount(ledger, 9, 11);
        Assert.Equal(reachable, RawAccess.Keys(ledger.Store, StorageLayout.StateNodesFamily).Count + RawAccess.Keys(ledger.Store, StorageLayout.StateValuesFamily).Count);

        ledger.Reopen(new StoreOptions { Retention = StateRetention.KeepLast(3) });
        Assert.Equal(9UL, ledger.Store.State.OldestRetainedVersion);
        Assert.Equal(12UL, ledger.Store.VerifyChain().BlocksChecked);
    }

    [Fact]
    public void Archive_mode_keeps_every_version_and_pruning_can_be_switched_on_later()
    {
        using var ledger = new TestLedger();
        var history = Persist(ledger, versions: 8);
        for (ulong version = 0; version < 8; version++) CheckVersion(ledger, history, version);
        var archived = RawAccess.Keys(ledger.Store, StorageLayout.StateNodesFamily).Count;

        ledger.Reopen(new StoreOptions { Retention = StateRetention.KeepLast(2) });
        ledger.Store.Prune();
        Assert.Equal(6UL, ledger.Store.State.OldestRetainedVersion);
        Assert.True(RawAccess.Keys(ledger.Store, StorageLayout.StateNodesFamily).Count < archived);
        CheckVersion(ledger, history, 6);
        CheckVersion(ledger, history, 7);
    }

    private static List<Dictionary<string, string>> Persist(TestLedger ledger, int versions)
    {
        var model = new Dictionary<string, string>();
        var history = new List<Dictionary<string, string>>();
        var random = new Random(TestSeed.Value);
        for (var v = 0; v < versions; v++)
        {
            var writes = new Dictionary<string, StateWrite>();
            for (var i = 0; i < 15; i++)
            {
                var key = $"key-{random.Next(30)}";
                if (random.Next(4) == 0)
                {
                    writes[key] = TestLedger.Delete(key);
                    model.Remove(key);
                }
                else
                {
                    var value = $"v{v}-{i}";
                    writes[key] = TestLedger.Put(key, value);
                    model[key] = value;
                }
            }

            ledger.Persist([.. writes.Values]);
            history.Add(new Dictionary<string, string>(model));
        }

        return history;
    }

    private static void CheckVersion(TestLedger ledger, List<Dictionary<string, string>> history, ulong version)
    {
        var state = ledger.Store.State;
        var root = state.RootAt(version);
        Assert.Equal(ReferenceTree.Root(ledger.Suite, history[(int)version].ToDictionary(e => e.Key, e => TestLedger.Bytes(e.Value))), root);
        for (var k = 0; k < 30; k++)
        {
            var key = TestLedger.Bytes($"key-{k}");
            var expected = history[(int)version].TryGetValue($"key-{k}", out var value) ? TestLedger.Bytes(value) : null;
            Assert.Equal(expected, state.Get(key, version));
            var proof = state.Prove(key, version);
            Assert.True(StateProofVerifier.TryVerify(ledger.Suite, root, key, expected, proof.Proof, out var error), error?.ToString());
        }
    }

    /// <summary>Distinct node and value records reachable from the roots of versions <paramref name="from"/> to <paramref name="to"/>.</summary>
    private static int ReachableCount(TestLedger ledger, ulong from, ulong to)
    {
        var state = ledger.Store.State;
        var records = new HashSet<string>();
        for (var version = from; version <= to; version++)
        {
            var rootKey = new NodeKey(version, NibblePath.Empty);
            records.Add(Convert.ToHexString(rootKey.Encode()));
            Visit(state.Load(rootKey, state.RootAt(version)), NibblePath.Empty);
        }

        return records.Count;

        void Visit(TreeNode node, NibblePath path)
        {
            switch (node)
            {
                case RootLeafNode root:
                    records.Add(Convert.ToHexString(NodeCodec.EncodeValueKey(root.Leaf.Version, root.Leaf.KeyHash)));
                    break;
                case InternalNode inner:
                    for (var nibble = 0; nibble < 16; nibble++)
                    {
                        if (!inner.HasChild(nibble)) continue;
                        if (inner.IsLeaf(nibble))
                        {
                            var leaf = inner.Leaf(nibble);
                            records.Add(Convert.ToHexString(NodeCodec.EncodeValueKey(leaf.Version, leaf.KeyHash)));
                            continue;
                        }

                        var key = new NodeKey(inner.ChildVersion(nibble), path.Append(nibble));
                        records.Add(Convert.ToHexString(key.Encode()));
                        Visit(state.Load(key, inner.ChildHash(nibble)), path.Append(nibble));
                    }

                    break;
            }
        }
    }
}
