using System.Diagnostics.CodeAnalysis;
using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Mempool;
using Custos.Storage;
using Custos.Storage.State;

namespace Custos.Node;

/// <summary>A block executed before it commits: its writes, receipts, staged state delta and resulting root.</summary>
internal sealed class ExecutedBlock(BlockRecord block, ExecutedBlock? parent, WriteSet writes, IReadOnlyList<Receipt> receipts, StateDelta delta)
{
    public BlockRecord Block { get; } = block;

    /// <summary>The uncommitted parent it was executed on; null when the parent was the committed head.</summary>
    public ExecutedBlock? Parent { get; private set; } = parent;

    public WriteSet Writes { get; } = writes;

    public IReadOnlyList<Receipt> Receipts { get; } = receipts;

    public StateDelta Delta { get; } = delta;

    public Hash32 PostRoot => Delta.Root;

    /// <summary>Called when the parent is committed: its writes are in storage from now on.</summary>
    public void DetachParent() => Parent = null;
}

/// <summary>
/// Executes blocks as soon as they are proposed, on their parent's speculative state, so that a block's header can
/// carry the state root after its parent (storage's rule) and every validator checks that root before voting. A
/// committed block is then persisted with the delta computed here. Deterministic: the same block on the same parent
/// gives the same writes, receipts and root on every node.
/// <para>Threading: called only from the consensus thread.</para>
/// </summary>
internal sealed class SpeculativeExecution : IPayloadSource, IBlockValidator
{
    private readonly ChainSetup _chain;
    private readonly LedgerStore _store;
    private readonly BlockExecutor _executor;
    private readonly ISignatureCheck _signatures;
    private readonly BatchStore _batches;
    private readonly Dictionary<Hash32, ExecutedBlock> _executed = [];
    private readonly Dictionary<Hash32, IReadOnlyList<Hash32>> _batchesOfBlock = [];
    private readonly IStateReader _committed;

    public SpeculativeExecution(ChainSetup chain, LedgerStore store, BlockExecutor executor, ISignatureCheck signatures, BatchStore batches)
    {
        _chain = chain;
        BlockTransactionsMax = chain.Genesis.Parameters.BlockTransactionsMax;
        _store = store;
        _executor = executor;
        _signatures = signatures;
        _batches = batches;
        _committed = new Api.StoreStateReader(store);
    }

    /// <summary>The batches of the last payload this node proposed, with its height and round.</summary>
    public (ulong Height, ulong Round, IReadOnlyList<StoredBatch> Batches)? LastProposal { get; private set; }

    public int Pending => _executed.Count;

    /// <summary>Time spent validating (executing) non-empty blocks, for the commit log.</summary>
    public double ValidatedMs { get; set; }

    public bool HasPayload(BlockRecord parent) => _batches.SelectForProposal(InFlight(parent), 1).Count > 0;

    public BlockPayload NextPayload(BlockRecord parent, ulong height, ulong round, long nowMs)
    {
        var parentRoot = PostRootOf(parent, out _);
        var chosen = _batches.SelectForProposal(InFlight(parent), BlockTransactionsMax);
        LastProposal = (height, round, chosen);
        var transactions = chosen.SelectMany(b => b.Transactions).ToList();
        return new BlockPayload(transactions, parentRoot);
    }

    public NodeLog Log { get; init; } = NodeLog.Null;

    /// <summary>The most transactions this node proposes in a block: genesis's value until governance sets another.</summary>
    public int BlockTransactionsMax { get; set; }

    public CustosError? Validate(BlockRecord block, BlockRecord parent)
    {
        var refusal = Check(block, parent);
        if (refusal is not null) Log.Warn("block-refused", ("height", block.Height), ("round", block.Round), ("code", refusal.Code), ("reason", refusal.Message));
        return refusal;
    }

    private CustosError? Check(BlockRecord block, BlockRecord parent)
    {
        var transactions = block.Decoded.Transactions;
        // The consortium's current limit as this node applied it; nodes apply a change a commit apart at most, so a
        // proposal made across the change may be refused once and proposed again in the next round.
        if (transactions.Count > BlockTransactionsMax)
        {
            return new CustosError(ErrorCode.TooLarge, $"block holds {transactions.Count} transactions, at most {BlockTransactionsMax}");
        }

        if (block.Encoded.Length > _chain.Genesis.Parameters.BlockSizeBytesMax)
        {
            return new CustosError(ErrorCode.TooLarge, $"block is {block.Encoded.Length} bytes, at most {_chain.Genesis.Parameters.BlockSizeBytesMax}");
        }

        Hash32 parentRoot;
        try
        {
            parentRoot = PostRootOf(parent, out _);
        }
        catch (CustosException e)
        {
            return e.Error;
        }

        var claimed = new Hash32(block.Header.StateRoot.Span);
        if (claimed != parentRoot)
        {
            return new CustosError(ErrorCode.InvalidField, $"state root {claimed.ToShortString()} is not the root after the parent ({parentRoot.ToShortString()})");
        }

        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            Execute(block);
            if (transactions.Count > 0) ValidatedMs += System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        catch (CustosException e)
        {
            return e.Error;
        }

        return null;
    }

    /// <summary>Batches already in the uncommitted ancestors of a block on <paramref name="parent"/>.</summary>
    private HashSet<Hash32> InFlight(BlockRecord parent)
    {
        var inFlight = new HashSet<Hash32>();
        for (var ancestor = parent; ancestor is not null && ancestor.Height > (_store.Head?.Height ?? 0);)
        {
            if (_batchesOfBlock.TryGetValue(ancestor.Hash, out var digests)) inFlight.UnionWith(digests);
            ancestor = _executed.TryGetValue(ancestor.ParentHash, out var up) ? up.Block : null;
        }

        return inFlight;
    }

    /// <summary>Records which batches a block's transactions came from (for in-flight exclusion and commit).</summary>
    public void RecordBatches(Hash32 block, IReadOnlyList<Hash32> digests) => _batchesOfBlock[block] = digests;

    public bool TryGetBatches(Hash32 block, [NotNullWhen(true)] out IReadOnlyList<Hash32>? digests) => _batchesOfBlock.TryGetValue(block, out digests);

    /// <summary>The executed result of a block (executing it now if needed: catch-up delivers blocks never validated here).</summary>
    public ExecutedBlock Execute(BlockRecord block)
    {
        if (_executed.TryGetValue(block.Hash, out var done)) return done;
        var head = _store.Head;
        ExecutedBlock? parent = null;
        if (head is null || block.ParentHash != head.BlockHash)
        {
            if (!_executed.TryGetValue(block.ParentHash, out parent))
            {
                throw new CustosException(ErrorCode.NotFound, $"cannot execute {block}: its parent is neither committed nor executed");
            }
        }

        var chain = new List<WriteSet>();
        for (var up = parent; up is not null; up = up.Parent) chain.Add(up.Writes);
        var reader = chain.Count == 0 ? _committed : new ChainedState(chain, _committed);

        // Verify all signatures in parallel first; execution then finds each result in the cache.
        var transactions = block.Decoded.Transactions;
        if (transactions.Count > 1) _signatures.AreValid(transactions, transactions.Select(t => t.ComputeId(_chain.Suite)).ToList());

        var context = new BlockContext(block.Header.ChainId, block.Height, block.TimestampMs, block.Header.Proposer);
        var result = _executor.Execute(context, transactions, reader);
        var writes = result.Writes.Changes.Select(c => new StateWrite(c.Key, c.Value)).ToList();
        var delta = _store.State.Stage(writes, parent?.Delta);
        var executed = new ExecutedBlock(block, parent, result.Writes, result.Receipts, delta);
        _executed[block.Hash] = executed;
        return executed;
    }

    /// <summary>Forgets what the commit of <paramref name="height"/> settled: that block, its ancestors and its rivals.</summary>
    public void OnCommitted(BlockRecord committed)
    {
        foreach (var (hash, executed) in _executed.ToList())
        {
            if (executed.Block.Height <= committed.Height)
            {
                _executed.Remove(hash);
                _batchesOfBlock.Remove(hash);
            }
            else if (executed.Parent is { } parent && parent.Block.Hash == committed.Hash)
            {
                executed.DetachParent();
            }
        }

        foreach (var hash in _batchesOfBlock.Keys.ToList())
        {
            if (!_executed.ContainsKey(hash) && hash != committed.Hash && _batchesOfBlock.Count > 4_096) _batchesOfBlock.Remove(hash);
        }
    }

    private Hash32 PostRootOf(BlockRecord block, out ExecutedBlock? executed)
    {
        var head = _store.Head ?? throw new CustosException(ErrorCode.StorageCorrupt, "the store has no genesis block");
        if (block.Hash == head.BlockHash)
        {
            executed = null;
            return head.StateRoot;
        }

        executed = Execute(block);
        return executed.PostRoot;
    }
}
