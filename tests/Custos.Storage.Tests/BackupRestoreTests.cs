using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.Tests.Support;

namespace Custos.Storage.Tests;

/// <summary>Online checkpoints and verified restores.</summary>
public sealed class BackupRestoreTests
{
    [Fact]
    public void Backup_and_restore_round_trip_keeps_blocks_state_and_journal_and_verifies_them()
    {
        using var ledger = BuildChain(blocks: 12);
        var backup = ledger.Sub("backup");
        ledger.Store.Checkpoint(backup);
        var head = ledger.Store.Head!;
        var root = ledger.Store.State.LatestRoot;

        // The store stays online: blocks persisted after the checkpoint are not in the backup.
        ledger.Persist([TestLedger.Put("after-backup", "x")]);

        var restored = ledger.Sub("restored");
        var verification = LedgerStore.Restore(backup, restored, ledger.Chain.Identity);
        Assert.Equal(head, verification.Head);
        Assert.Equal(12UL, verification.BlocksChecked);
        Assert.Equal(root, verification.StateRoot);
        using var store = LedgerStore.Open(restored, ledger.Chain.Identity);
        Assert.Equal(head, store.Head);
        Assert.Equal(ledger.Store.ReadBlock(7)!.Block.Encoded.ToArray(), store.ReadBlock(7)!.Block.Encoded.ToArray());
        Assert.Null(store.State.Get("after-backup"u8));
        Assert.Equal(ledger.Store.State.Get("key-3"u8, head.Height), store.State.Get("key-3"u8));
        Assert.True(store.Journal.TryVerify(0, store.Journal.Head.Length, out _));
        Assert.Equal(head.Journal, store.Journal.Head);
    }

    [Fact]
    public void Restore_into_a_non_empty_directory_is_refused_and_overwrites_nothing()
    {
        using var ledger = BuildChain(blocks: 3);
        var backup = ledger.Sub("backup");
        ledger.Store.Checkpoint(backup);
        var target = ledger.Sub("occupied");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "precious");
        var error = Assert.Throws<CustosException>(() => LedgerStore.Restore(backup, target));
        Assert.Equal(ErrorCode.StorageIo, error.Code);
        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(target, "keep.txt")));
        Assert.Empty(Directory.EnumerateDirectories(ledger.Sub("."), "occupied.restoring-*"));
    }

    [Fact]
    public void Backup_into_a_non_empty_directory_is_refused()
    {
        using var ledger = BuildChain(blocks: 2);
        var target = ledger.Sub("occupied");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "precious");
        Assert.Equal(ErrorCode.StorageIo, Assert.Throws<CustosException>(() => ledger.Store.Checkpoint(target)).Code);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(target, "keep.txt")));
    }

    [Fact]
    public void Restore_of_a_damaged_backup_fails_verification_and_puts_nothing_in_place()
    {
        using var ledger = BuildChain(blocks: 6);
        var backup = ledger.Sub("backup");
        ledger.Store.Checkpoint(backup);
        using (var damaged = LedgerStore.Open(backup))
        {
            RawAccess.FlipByte(damaged, StorageLayout.BlocksFamily, StorageLayout.BlockByHeightKey(3), 50);
        }

        var target = ledger.Sub("restored");
        Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => LedgerStore.Restore(backup, target)).Code);
        Assert.False(Directory.Exists(target));
        Assert.Empty(Directory.EnumerateDirectories(ledger.Sub("."), "restored.restoring-*"));
    }

    [Fact]
    public void Restore_refuses_a_chain_whose_quorum_certificates_do_not_verify_or_another_chain()
    {
        using var ledger = BuildChain(blocks: 4);
        var backup = ledger.Sub("backup");
        ledger.Store.Checkpoint(backup);
        var rejectRound3 = new Func<QuorumCertificate, bool>(qc =>
            !Decoders.TryDecodeVoteData(qc.VoteData.Span, out var vote, out _) || vote.Height != 2);
        Assert.Equal(ErrorCode.QuorumInvalid, Assert.Throws<CustosException>(() => LedgerStore.Restore(backup, ledger.Sub("a"), quorumCertificateVerifier: rejectRound3)).Code);
        Assert.False(Directory.Exists(ledger.Sub("a")));
        var other = ledger.Chain.Identity with { ChainId = "other" };
        Assert.Equal(ErrorCode.WrongChain, Assert.Throws<CustosException>(() => LedgerStore.Restore(backup, ledger.Sub("b"), other)).Code);
        Assert.False(Directory.Exists(ledger.Sub("b")));
        var verified = LedgerStore.Restore(backup, ledger.Sub("c"), quorumCertificateVerifier: _ => true);
        Assert.Equal(4UL, verified.BlocksChecked);
    }

    [Fact]
    public void Chain_verification_finds_a_broken_hash_link_or_a_missing_state_node()
    {
        using var ledger = BuildChain(blocks: 5);
        var store = ledger.Store;
        Assert.Equal(5UL, store.VerifyChain().BlocksChecked);

        var nodeKey = RawAccess.Keys(store, StorageLayout.StateNodesFamily).Last();
        var node = RawAccess.Get(store, StorageLayout.StateNodesFamily, nodeKey);
        RawAccess.Delete(store, StorageLayout.StateNodesFamily, nodeKey);
        store.State.Cache.Clear();
        Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => store.VerifyChain()).Code);
        RawAccess.Put(store, StorageLayout.StateNodesFamily, nodeKey, node);

        // Swap in block 2 of another history: it decodes and hashes correctly, but block 3 does not link to it.
        using var fork = new TestLedger(chainId: "custos-test");
        fork.Persist([TestLedger.Put("a", "1")]);
        fork.Persist([TestLedger.Put("fork", "1")]);
        fork.Persist([TestLedger.Put("fork", "2")]);
        var forked = RawAccess.Get(fork.Store, StorageLayout.BlocksFamily, StorageLayout.BlockByHeightKey(2));
        RawAccess.Put(store, StorageLayout.BlocksFamily, StorageLayout.BlockByHeightKey(2), forked);
        Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => store.VerifyChain()).Code);
    }

    private static TestLedger BuildChain(int blocks)
    {
        var ledger = new TestLedger();
        for (var i = 0; i < blocks; i++)
        {
            ledger.Store.Journal.Append(TestLedger.Bytes($"vote {i}"));
            ledger.Persist(Enumerable.Range(0, 10).Select(k => TestLedger.Put($"key-{(i * 3 + k) % 17}", $"value {i}/{k}")).ToList(), transactions: i % 3);
        }

        return ledger;
    }
}
