using System.Text;
using Custos.Core;
using Custos.Crypto;
using Custos.Storage.State;
using Custos.Storage.Tests.Support;
using CsCheck;

namespace Custos.Storage.Tests;

/// <summary>
/// The authenticated state against an in-memory model: random sequences of puts and deletes over a small key
/// universe (so keys collide, vanish and come back), persisted version by version into a real store.
/// </summary>
public sealed class StateTreePropertyTests
{
    private const int Universe = 48;

    /// <summary>Keys whose hashes share their first four nibbles (found by search), to build deep, narrow subtrees.</summary>
    private static readonly Lazy<byte[][]> ClusteredKeys = new(() => FindClusteredKeys(CryptoSuites.Gm, count: 10, sharedNibbles: 4));

    private static readonly Gen<(int Key, byte[]? Value)> GenWrite =
        Gen.Select(Gen.Int[0, Universe - 1], Gen.Int[0, 3], Gen.Byte.Array[0, 24])
            .Select((key, kind, value) => (key, kind == 0 ? null : value));

    private static readonly Gen<(int Key, byte[]? Value)[][]> GenHistory = GenWrite.Array[0, 24].Array[1, 8];

    [Fact]
    public void Roots_values_and_proofs_agree_with_a_model_across_versions()
    {
        GenHistory.Sample(history => CheckHistory(CryptoSuites.Gm, history, KeyOf), iter: 30);
    }

    [Fact]
    public void Roots_agree_with_a_model_under_the_intl_suite()
    {
        GenHistory.Sample(history => CheckHistory(CryptoSuites.Intl, history, KeyOf), iter: 15);
    }

    [Fact]
    public void Deep_subtrees_of_keys_sharing_long_hash_prefixes_grow_and_collapse_like_the_model()
    {
        var keys = ClusteredKeys.Value;
        var gen = Gen.Select(Gen.Int[0, keys.Length - 1], Gen.Int[0, 2], Gen.Byte.Array[1, 8])
            .Select((key, kind, value) => (key, kind == 0 ? (byte[]?)null : value))
            .Array[0, 12].Array[1, 10];
        gen.Sample(history => CheckHistory(CryptoSuites.Gm, history, i => keys[i]), iter: 25);
    }

    [Fact]
    public void Root_does_not_depend_on_the_order_of_updates_within_a_version()
    {
        var gen = Gen.Select(GenWrite.Array[0, 40], GenWrite.Array[1, 40], Gen.Int);
        gen.Sample((first, second, shuffleSeed) =>
        {
            using var ledger = new TestLedger();
            ledger.Persist(Distinct(first, KeyOf));
            var writes = Distinct(second, KeyOf);
            var shuffled = writes.OrderBy(_ => new Random(shuffleSeed).Next()).ToList();
            shuffled.Reverse();
            var a = ledger.Store.State.Stage(writes);
            var b = ledger.Store.State.Stage(shuffled);
            Assert.Equal(a.Root, b.Root);
            Assert.Equal(a.Nodes.Select(n => n.Key), b.Nodes.Select(n => n.Key));
        }, iter: 30);
    }

    [Fact]
    public void A_version_writes_only_nodes_on_the_paths_of_its_changed_keys()
    {
        var gen = Gen.Select(GenWrite.Array[5, 40], GenWrite.Array[1, 6]);
        gen.Sample((first, second) =>
        {
            using var ledger = new TestLedger();
            ledger.Persist(Distinct(first, KeyOf));
            var writes = Distinct(second, KeyOf);
            var delta = ledger.Store.State.Stage(writes);
            var paths = writes.Select(w => NibblePath.FromHash(StateHashing.KeyHash(ledger.Suite, w.Key))).ToList();
            foreach (var (key, _) in delta.Nodes)
            {
                Assert.Equal(delta.Version, key.Version);
                Assert.Contains(paths, path => key.Path.IsPrefixOf(path));
            }

            Assert.True(delta.Values.Length <= writes.Count(w => !w.IsDelete));
        }, iter: 40);
    }

    [Fact]
    public void Empty_tree_root_is_the_hash_of_the_empty_domain_and_an_empty_version_keeps_the_root()
    {
        using var ledger = new TestLedger();
        var empty = ledger.Persist();
        Assert.Equal(ledger.Suite.Hash("custos/v1/state_empty\0"u8), empty.StateRoot);
        ledger.Persist([TestLedger.Put("a", "1")]);
        var root = ledger.Store.State.LatestRoot;
        var unchanged = ledger.Persist();
        Assert.Equal(root, unchanged.StateRoot);
        var sameValue = ledger.Persist([TestLedger.Put("a", "1"), TestLedger.Delete("never-written")]);
        Assert.Equal(root, sameValue.StateRoot);
        Assert.Equal("1", Encoding.UTF8.GetString(ledger.Store.State.Get(TestLedger.Bytes("a"))!));
    }

    [Fact]
    public void A_key_written_twice_in_one_version_is_refused()
    {
        using var ledger = new TestLedger();
        var error = Assert.Throws<CustosException>(() => ledger.Store.State.Stage([TestLedger.Put("a", "1"), TestLedger.Put("a", "2")]));
        Assert.Equal(Core.Wire.ErrorCode.InvalidField, error.Code);
    }

    private static void CheckHistory(ICryptoSuite suite, (int Key, byte[]? Value)[][] history, Func<int, byte[]> keyOf)
    {
        using var ledger = new TestLedger(suite);
        var model = new Dictionary<int, byte[]>();
        var snapshots = new List<Dictionary<int, byte[]>>();
        foreach (var version in history)
        {
            var writes = Distinct(version, keyOf);
            foreach (var (key, value) in version.GroupBy(w => w.Key).Select(g => g.Last()))
            {
                if (value is null) model.Remove(key);
                else model[key] = value;
            }

            var result = ledger.Persist(writes);
            var expected = ReferenceTree.Root(suite, model.Select(e => new KeyValuePair<byte[], byte[]>(keyOf(e.Key), e.Value)));
            Assert.Equal(expected, result.StateRoot);
            snapshots.Add(new Dictionary<int, byte[]>(model));
        }

        ledger.Reopen();
        var state = ledger.Store.State;
        var universe = history.SelectMany(v => v).Select(w => w.Key).Distinct().Append(-1).ToList();
        for (var version = 0; version < snapshots.Count; version++)
        {
            var root = state.RootAt((ulong)version);
            foreach (var index in universe)
            {
                var key = index < 0 ? "absent"u8.ToArray() : keyOf(index);
                snapshots[version].TryGetValue(index, out var value);
                Assert.Equal(value, state.Get(key, (ulong)version));
                var proof = state.Prove(key, (ulong)version);
                Assert.Equal(value, proof.Value);
                Assert.True(StateProofVerifier.TryVerify(suite, root, key, value, proof.Proof, out var error), error?.ToString());
            }

            Assert.Equal(snapshots[version].Count, state.Enumerate((ulong)version).Count());
        }

        var (recomputed, keys) = state.RecomputeRoot((ulong)(snapshots.Count - 1));
        Assert.Equal(state.LatestRoot, recomputed);
        Assert.Equal(model.Count, keys);
    }

    private static List<StateWrite> Distinct((int Key, byte[]? Value)[] writes, Func<int, byte[]> keyOf) =>
        writes.GroupBy(w => w.Key).Select(g => g.Last()).Select(w => new StateWrite(keyOf(w.Key), w.Value)).ToList();

    private static byte[] KeyOf(int index) => Encoding.ASCII.GetBytes($"key-{index}");

    private static byte[][] FindClusteredKeys(IHashFunction hash, int count, int sharedNibbles)
    {
        var keys = new List<byte[]>();
        var prefix = -1;
        for (var i = 0; keys.Count < count; i++)
        {
            var key = Encoding.ASCII.GetBytes($"cluster-{i}");
            var keyHash = StateHashing.KeyHash(hash, key).ToArray();
            var head = (keyHash[0] << 8 | keyHash[1]) >> (16 - 4 * sharedNibbles);
            if (prefix < 0) prefix = head;
            if (head == prefix) keys.Add(key);
        }

        // Two keys that differ from the cluster at the first nibble keep the root an internal node above it.
        keys.Add("outside-1"u8.ToArray());
        keys.Add("outside-2"u8.ToArray());
        return [.. keys];
    }
}
