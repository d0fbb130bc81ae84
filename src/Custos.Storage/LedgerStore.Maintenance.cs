using Custos.Core;
using Custos.Core.Wire;
using Custos.Storage.State;
using Custos.Storage.Wire;
using Google.Protobuf;
using RocksDbSharp;

namespace Custos.Storage;

public sealed partial class LedgerStore
{
    /// <summary>Stale-node lists processed per pruning batch, which bounds the batch's memory.</summary>
    private const int PruneVersionsPerBatchMax = 64;

    /// <summary>
    /// Deletes tree nodes no retained version needs, keeping the last <see cref="StateRetention.VersionsKept"/>
    /// versions; does nothing in archive mode. Runs after each persist. Each version's stale list names exactly the
    /// nodes it replaced, so pruning never scans the tree. Not synced: pruning is idempotent and its watermark is
    /// written in the same batch, so a crash only means some deletes are redone.
    /// </summary>
    public void Prune()
    {
        if (_options.Retention.VersionsKept is not { } kept || Head is not { } head) return;
        if (head.Height + 1 <= kept) return;
        var target = head.Height + 1 - kept;
        lock (_persistGate)
        {
            var prunedThrough = State.OldestRetainedVersion;
            while (prunedThrough < target)
            {
                var until = Math.Min(target, prunedThrough + PruneVersionsPerBatchMax);
                using var batch = new WriteBatch();
                var nodes = _db[StorageLayout.StateNodesFamily];
                var values = _db[StorageLayout.StateValuesFamily];
                var stale = _db[StorageLayout.StateStaleFamily];
                for (var version = prunedThrough + 1; version <= until; version++)
                {
                    var key = StorageLayout.StaleListKey(version);
                    var list = _db.Get(StorageLayout.StateStaleFamily, key);
                    if (list is null) continue;
                    foreach (var (tag, entry) in AuthenticatedState.DecodeStaleList(list, version))
                    {
                        batch.Delete(entry, tag == AuthenticatedState.StaleNodeTag ? nodes : values);
                    }

                    batch.Delete(key, stale);
                }

                batch.Put(StorageLayout.PrunedThroughKey, StorageLayout.EncodeHeight(until), _db[StorageLayout.MetaFamily]);
                _db.Write(batch, sync: false);
                prunedThrough = until;
                State.OnPruned(prunedThrough);
            }
        }
    }

    /// <summary>
    /// Checks the whole store before it serves: every block decodes and verifies (hash, transaction root), is linked
    /// to its predecessor by parent_hash, carries a parent QC that is structurally valid, certifies the parent's hash,
    /// height and round, and (when <paramref name="quorumCertificateVerifier"/> is given, as the node does with the
    /// validator set) has valid signatures; each header carries the state root of the previous version; the head
    /// record matches the last block; the consensus journal's hash chain is intact; and, with
    /// <paramref name="recomputeState"/>, the latest state tree is walked from disk and its root recomputed. The first
    /// failure is thrown as a typed error.
    /// </summary>
    public ChainVerification VerifyChain(Func<QuorumCertificate, bool>? quorumCertificateVerifier = null, bool recomputeState = true)
    {
        var head = Head;
        var journal = Journal.Head;
        Journal.Verify(0, journal.Length);
        if (head is null)
        {
            if (ReadBlock(0) is not null) throw new CustosException(ErrorCode.StorageCorrupt, "a block is stored but no head record");
            return new ChainVerification(0, null, State.EmptyRoot, 0, journal.Length);
        }

        StoredBlock? previous = null;
        for (ulong height = 0; height <= head.Height; height++)
        {
            var stored = ReadBlock(height) ?? throw new CustosException(ErrorCode.StorageCorrupt, $"block {height} is missing");
            var header = stored.Block.Header;
            var info = ReadBlockInfo(height);
            if (new Hash32(info.BlockHash.Span) != stored.Hash) throw new CustosException(ErrorCode.StorageCorrupt, $"block {height}'s bookkeeping names another block");
            if (ReadBlock(stored.Hash)?.Height != height) throw new CustosException(ErrorCode.StorageCorrupt, $"the hash index does not lead to block {height}");
            if (header.ChainId != Identity.ChainId) throw new CustosException(ErrorCode.ChainIdMismatch, $"block {height} is for chain '{header.ChainId}'");
            var expectedStateRoot = height == 0 ? State.EmptyRoot : State.RootAt(height - 1);
            if (new Hash32(header.StateRoot.Span) != expectedStateRoot)
            {
                throw new CustosException(ErrorCode.StorageCorrupt, $"block {height}'s state_root is not the recorded root of the previous version");
            }

            if (previous is not null) CheckParentLink(previous, stored, quorumCertificateVerifier);
            previous = stored;
        }

        if (previous!.Hash != head.BlockHash) throw new CustosException(ErrorCode.StorageCorrupt, "the head record names another block");
        if (State.RootAt(head.Height) != head.StateRoot) throw new CustosException(ErrorCode.StorageCorrupt, "the head record's state root is not the recorded root");
        if (journal.Length < head.Journal.Length) throw new CustosException(ErrorCode.StorageCorrupt, "the journal is shorter than the head records");

        var root = head.StateRoot;
        long keys = -1;
        if (recomputeState)
        {
            (root, keys) = State.RecomputeRoot(head.Height);
            if (root != head.StateRoot) throw new CustosException(ErrorCode.StorageCorrupt, "the recomputed state root differs from the recorded one");
        }

        return new ChainVerification(head.Height + 1, head, root, keys, journal.Length);
    }

    /// <summary>
    /// Restores a checkpoint made by <see cref="Checkpoint"/> into <paramref name="dataDirectory"/>, which must be absent
    /// or empty. The backup is copied to a temporary directory beside the target, opened and verified in full
    /// (<see cref="VerifyChain"/>); only a store that passes is moved into place, so a failed restore leaves the
    /// target as it was and never serves unverified data. The backup itself is not modified.
    /// </summary>
    public static ChainVerification Restore(string backupDirectory, string dataDirectory, ChainIdentity? expected = null,
        Func<QuorumCertificate, bool>? quorumCertificateVerifier = null, StoreOptions? options = null)
    {
        var identity = ReadIdentity(backupDirectory);
        if (expected is not null && identity != expected)
        {
            throw new CustosException(ErrorCode.WrongChain, $"the backup holds {identity}, not {expected}");
        }

        var target = Path.GetFullPath(dataDirectory);
        var staging = $"{target.TrimEnd(Path.DirectorySeparatorChar)}.restoring-{Guid.NewGuid():N}";
        Filesystem.Guard(() =>
        {
            if (System.IO.Directory.Exists(target) && System.IO.Directory.EnumerateFileSystemEntries(target).Any())
            {
                throw new CustosException(ErrorCode.StorageIo, $"{target} is not empty; restore only into an empty or absent directory (nothing was overwritten)");
            }

            System.IO.Directory.CreateDirectory(staging);
            foreach (var file in System.IO.Directory.EnumerateFiles(backupDirectory))
            {
                File.Copy(file, Path.Combine(staging, Path.GetFileName(file)));
            }
        }, $"copying {backupDirectory}");

        try
        {
            ChainVerification verification;
            using (var store = Open(staging, identity, options))
            {
                verification = store.VerifyChain(quorumCertificateVerifier);
            }

            Filesystem.Guard(() =>
            {
                if (System.IO.Directory.Exists(target)) System.IO.Directory.Delete(target);
                System.IO.Directory.Move(staging, target);
            }, $"moving the restored store to {target}");
            return verification;
        }
        catch
        {
            try
            {
                if (System.IO.Directory.Exists(staging)) System.IO.Directory.Delete(staging, recursive: true);
            }
            catch (IOException)
            {
                // The original error matters more than a leftover temporary directory.
            }

            throw;
        }
    }

    private void CheckParentLink(StoredBlock parent, StoredBlock child, Func<QuorumCertificate, bool>? verifier)
    {
        var header = child.Block.Header;
        if (new Hash32(header.ParentHash.Span) != parent.Hash)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"block {child.Height}'s parent_hash is not the hash of block {parent.Height}");
        }

        // The decoder has checked the QC's structure and that it certifies parent_hash at height − 1; here it must
        // also name the parent's round and epoch.
        var qc = header.ParentQc ?? throw new CustosException(ErrorCode.QuorumInvalid, $"block {child.Height} lacks its parent's quorum certificate");
        if (!Decoders.TryDecodeVoteData(qc.VoteData.Span, out var vote, out var error))
        {
            throw new CustosException(ErrorCode.QuorumInvalid, $"block {child.Height}'s parent QC: {error.Message}");
        }

        var parentHeader = parent.Block.Header;
        if (new Hash32(vote.BlockHash.Span) != parent.Hash || vote.Height != parentHeader.Height || vote.Round != parentHeader.Round || vote.Epoch != parentHeader.Epoch)
        {
            throw new CustosException(ErrorCode.QuorumInvalid, $"block {child.Height}'s parent QC does not certify block {parent.Height}");
        }

        if (verifier is not null && !verifier(qc))
        {
            throw new CustosException(ErrorCode.QuorumInvalid, $"block {child.Height}'s parent QC signatures do not verify");
        }
    }

    private BlockInfoRecord ReadBlockInfo(ulong height)
    {
        var bytes = _db.Get(StorageLayout.BlocksFamily, StorageLayout.BlockInfoKey(height))
            ?? throw new CustosException(ErrorCode.StorageCorrupt, $"the bookkeeping of block {height} is missing");
        try
        {
            var info = BlockInfoRecord.Parser.ParseFrom(bytes);
            if (info.BlockHash.Length == Hash32.SizeBytes) return info;
        }
        catch (InvalidProtocolBufferException)
        {
            // Reported below like any other defect.
        }

        throw new CustosException(ErrorCode.StorageCorrupt, $"the bookkeeping of block {height} is corrupt");
    }
}
