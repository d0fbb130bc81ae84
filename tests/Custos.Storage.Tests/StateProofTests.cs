using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage.State;
using Custos.Storage.Tests.Support;

namespace Custos.Storage.Tests;

/// <summary>The standalone verifier refuses every tampered, misapplied or malformed proof, and never throws.</summary>
public sealed class StateProofTests
{
    [Fact]
    public void Any_flipped_byte_of_a_proof_is_rejected()
    {
        var random = new Random(TestSeed.Value);
        using var ledger = BuildLedger(random, CryptoSuites.Gm);
        var state = ledger.Store.State;
        var checkedProofs = 0;
        for (var i = 0; i < 40; i++)
        {
            var key = TestLedger.Bytes(i % 4 == 3 ? $"absent-{i}" : $"key-{random.Next(120)}");
            var version = (ulong)random.Next(3);
            var proof = state.Prove(key, version);
            var root = state.RootAt(version);
            Assert.True(StateProofVerifier.TryVerify(ledger.Suite, root, key, proof.Value, proof.Proof, out _));
            for (var position = 0; position < proof.Proof.Length; position++)
            {
                var tampered = (byte[])proof.Proof.Clone();
                tampered[position] ^= (byte)(1 + random.Next(255));
                Assert.False(StateProofVerifier.TryVerify(ledger.Suite, root, key, proof.Value, tampered, out var error),
                    $"flipping byte {position} of a proof for version {version} went unnoticed; {TestSeed.Describe}");
                Assert.NotNull(error);
            }

            checkedProofs++;
        }

        Assert.Equal(40, checkedProofs);
    }

    [Fact]
    public void Proof_for_another_key_root_value_or_version_is_rejected()
    {
        var random = new Random(TestSeed.Value);
        using var ledger = BuildLedger(random, CryptoSuites.Gm);
        var state = ledger.Store.State;
        var suite = ledger.Suite;
        for (var i = 0; i < 60; i++)
        {
            var key = TestLedger.Bytes(i % 5 == 4 ? $"absent-{i}" : $"key-{random.Next(120)}");
            var proof = state.Prove(key, 2);
            var root = state.RootAt(2);

            // Another key: an inclusion proof speaks for its own key only. (A non-inclusion proof rightly proves the
            // absence of every key whose path ends at the same place, so only inclusion can be refused for it.)
            var other = TestLedger.Bytes($"key-{random.Next(120)}-other");
            Assert.False(StateProofVerifier.TryVerify(suite, root, other, proof.Value ?? TestLedger.Bytes("any"), proof.Proof, out _));

            // Another root (of another version, where it differs).
            foreach (var version in new ulong[] { 0, 1 })
            {
                var earlier = state.RootAt(version);
                if (earlier != root) Assert.False(StateProofVerifier.TryVerify(suite, earlier, key, proof.Value, proof.Proof, out _));
            }

            // Another value, or presence claimed for an absent key and absence for a present one.
            var claimed = proof.Value is null ? TestLedger.Bytes("made up") : [.. proof.Value, 0x00];
            Assert.False(StateProofVerifier.TryVerify(suite, root, key, claimed, proof.Proof, out _));
            if (proof.Value is not null) Assert.False(StateProofVerifier.VerifyNonInclusion(suite, root, key, proof.Proof));

            // The other suite's hash.
            Assert.False(StateProofVerifier.TryVerify(CryptoSuites.Intl, root, key, proof.Value, proof.Proof, out _));

            // Truncated or extended.
            Assert.False(StateProofVerifier.TryVerify(suite, root, key, proof.Value, proof.Proof.AsSpan(0, proof.Proof.Length / 2), out _));
            Assert.False(StateProofVerifier.TryVerify(suite, root, key, proof.Value, [.. proof.Proof, 0x00], out _));
        }
    }

    [Fact]
    public void Garbage_proofs_are_refused_with_typed_errors_and_never_throw()
    {
        var random = new Random(TestSeed.Value);
        var root = CryptoSuites.Gm.Hash("root"u8);
        for (var i = 0; i < 5_000; i++)
        {
            var garbage = new byte[random.Next(0, 600)];
            random.NextBytes(garbage);
            var ok = StateProofVerifier.TryVerify(CryptoSuites.Gm, root, "key"u8, i % 2 == 0 ? null : [1, 2, 3], garbage, out var error);
            Assert.False(ok);
            Assert.NotEqual(ErrorCode.Ok, error.Code);
        }

        var oversize = new byte[StorageLimits.StateProofSizeBytesMax + 1];
        Assert.False(StateProofVerifier.TryVerify(CryptoSuites.Gm, root, "key"u8, null, oversize, out var tooLarge));
        Assert.Equal(ErrorCode.TooLarge, tooLarge.Code);
        Assert.False(StateProofVerifier.TryVerify(CryptoSuites.Gm, root, ReadOnlySpan<byte>.Empty, null, [], out var emptyKey));
        Assert.Equal(ErrorCode.InvalidLength, emptyKey.Code);
    }

    [Fact]
    public void Empty_tree_proves_absence_with_an_empty_proof()
    {
        using var ledger = new TestLedger(CryptoSuites.Intl);
        ledger.Persist();
        var proof = ledger.Store.State.Prove("anything"u8);
        Assert.Null(proof.Value);
        Assert.Empty(proof.Proof);
        Assert.True(StateProofVerifier.VerifyNonInclusion(ledger.Suite, StateHashing.EmptyRoot(ledger.Suite), "anything"u8, proof.Proof));
        Assert.False(StateProofVerifier.VerifyNonInclusion(ledger.Suite, ledger.Suite.Hash("x"u8), "anything"u8, proof.Proof));
    }

    [Fact]
    public void Single_key_tree_proves_the_key_and_the_absence_of_others_through_its_root_leaf()
    {
        using var ledger = new TestLedger();
        ledger.Persist([TestLedger.Put("only", "value")]);
        var state = ledger.Store.State;
        var present = state.Prove("only"u8);
        Assert.True(StateProofVerifier.VerifyInclusion(ledger.Suite, state.LatestRoot, "only"u8, "value"u8, present.Proof));
        var absent = state.Prove("other"u8);
        Assert.Null(absent.Value);
        Assert.True(StateProofVerifier.VerifyNonInclusion(ledger.Suite, state.LatestRoot, "other"u8, absent.Proof));
    }

    /// <summary>Three versions over 120 keys with updates and deletes in between.</summary>
    private static TestLedger BuildLedger(Random random, ICryptoSuite suite)
    {
        var ledger = new TestLedger(suite);
        ledger.Persist(Enumerable.Range(0, 120).Where(i => i % 3 != 0).Select(i => TestLedger.Put($"key-{i}", $"v0-{i}")).ToList());
        ledger.Persist(Enumerable.Range(0, 120).Where(i => i % 7 == 0).Select(i => i % 2 == 0 ? TestLedger.Delete($"key-{i}") : TestLedger.Put($"key-{i}", $"v1-{random.Next()}")).ToList());
        ledger.Persist(Enumerable.Range(0, 120).Where(i => i % 5 == 0).Select(i => TestLedger.Put($"key-{i}", $"v2-{i}")).ToList());
        return ledger;
    }
}
