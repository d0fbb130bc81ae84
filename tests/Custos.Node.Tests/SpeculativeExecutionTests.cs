using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Mempool;
using Custos.Node.Tests.Support;
using Custos.Storage;
using Custos.Storage.State;

namespace Custos.Node.Tests;

public sealed class SpeculativeExecutionTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Intl;
    private readonly TempDirectory _directory = new();
    private readonly LedgerStore _store;
    private readonly BatchStore _batches;
    private readonly SpeculativeExecution _execution;

    public SpeculativeExecutionTests()
    {
        var chain = _consortium.Chain;
        _store = LedgerNode.OpenOrCreateStore(_directory.Sub("data"), chain);
        var signatures = new SignatureCheck(chain.Suite);
        var executor = new BlockExecutor(chain.Suite, BlockExecutor.StandardContracts, signatures: signatures);
        _batches = new BatchStore(chain.Suite, chain.ChainId);
        _execution = new SpeculativeExecution(chain, _store, executor, signatures, _batches);
    }

    private ChainSetup Chain => _consortium.Chain;

    private BlockRecord Genesis => Chain.GenesisBlock;

    private Hash32 CommittedRoot => _store.Head!.StateRoot;

    public void Dispose()
    {
        _store.Dispose();
        _directory.Dispose();
    }

    /// <summary>Block 1 on the genesis block, carrying <paramref name="transactions"/>.</summary>
    private BlockRecord FirstBlock(Hash32 stateRoot, params Transaction[] transactions) =>
        ChainBlocks.Build(Chain, Genesis, Chain.GenesisQc!, 1, stateRoot, transactions);

    /// <summary>Block 2 on <paramref name="parent"/> (block 1), with a QC on the parent.</summary>
    private BlockRecord SecondBlock(BlockRecord parent, Hash32 stateRoot, params Transaction[] transactions) =>
        ChainBlocks.Build(Chain, parent, ChainBlocks.Certify(Chain, parent, Genesis, _consortium.ValidatorKeys), 2, stateRoot, transactions);

    [Fact]
    public void Block_on_the_committed_head_with_its_state_root_validates()
    {
        var transfer = _consortium.Transfer(_consortium.Payer, _consortium.Payee, 300, nonce: 1);
        var block = FirstBlock(CommittedRoot, transfer);

        var refusal = _execution.Validate(block, Genesis);

        Assert.Null(refusal);
        var executed = _execution.Execute(block);
        Assert.Equal(ErrorCode.Ok, Assert.Single(executed.Receipts).Code);
        Assert.Null(executed.Parent);
        Assert.Equal(1, _execution.Pending);
    }

    [Fact]
    public void Post_root_is_the_root_of_the_blocks_writes_staged_on_the_committed_state()
    {
        var transfer = _consortium.Transfer(_consortium.Payer, _consortium.Payee, 300, nonce: 1);
        var block = FirstBlock(CommittedRoot, transfer);

        var executed = _execution.Execute(block);

        // Execute the block again with a separate executor over committed state and stage its writes.
        var independent = new BlockExecutor(Chain.Suite, BlockExecutor.StandardContracts).Execute(
            new BlockContext(Chain.ChainId, block.Height, block.TimestampMs, block.Header.Proposer), block.Decoded.Transactions, new StoreState(_store));
        var staged = _store.State.Stage(independent.Writes.Changes.Select(c => new StateWrite(c.Key, c.Value)).ToList());
        Assert.Equal(staged.Root, executed.PostRoot);
        Assert.NotEqual(CommittedRoot, executed.PostRoot);
        var balances = new ChainedState([executed.Writes], new StoreState(_store));
        Assert.Equal(TestConsortium.FirstClientBalance - 300, TokenContract.ReadBalance(balances, _consortium.Payer.Account));
        Assert.Equal(300UL, TokenContract.ReadBalance(balances, _consortium.Payee.Account));
    }

    [Fact]
    public void Block_claiming_another_state_root_is_refused_and_not_executed()
    {
        var transfer = _consortium.Transfer(_consortium.Payer, _consortium.Payee, 300, nonce: 1);
        var wrongRoots = new[] { _store.State.EmptyRoot, Genesis.ParentHash, Chain.GenesisHash };

        foreach (var root in wrongRoots)
        {
            var refusal = _execution.Validate(FirstBlock(root, transfer), Genesis);

            Assert.Equal(ErrorCode.InvalidField, Assert.IsType<CustosError>(refusal).Code);
        }

        Assert.Equal(0, _execution.Pending);
    }

    [Fact]
    public void Child_of_an_uncommitted_parent_spends_what_the_parent_credited()
    {
        // The payee starts with nothing: its transfer in block 2 succeeds only on block 1's state.
        var parent = FirstBlock(CommittedRoot, _consortium.Transfer(_consortium.Payer, _consortium.Payee, 1_000, nonce: 1));
        Assert.Null(_execution.Validate(parent, Genesis));
        var parentExecuted = _execution.Execute(parent);
        var child = SecondBlock(parent, parentExecuted.PostRoot, _consortium.Transfer(_consortium.Payee, _consortium.Payer, 600, nonce: 2));

        var refusal = _execution.Validate(child, parent);

        Assert.Null(refusal);
        var executed = _execution.Execute(child);
        Assert.Same(parentExecuted, executed.Parent);
        Assert.Equal(ErrorCode.Ok, Assert.Single(executed.Receipts).Code);
        var state = new ChainedState([executed.Writes, parentExecuted.Writes], new StoreState(_store));
        Assert.Equal(400UL, TokenContract.ReadBalance(state, _consortium.Payee.Account));
        Assert.Equal(600UL, TokenContract.ReadBalance(state, _consortium.Payer.Account));
    }

    [Fact]
    public void Child_must_carry_its_parents_post_root_not_the_committed_root()
    {
        var parent = FirstBlock(CommittedRoot, _consortium.Transfer(_consortium.Payer, _consortium.Payee, 10, nonce: 1));
        Assert.Null(_execution.Validate(parent, Genesis));
        var child = SecondBlock(parent, CommittedRoot);

        var refusal = _execution.Validate(child, parent);

        Assert.Equal(ErrorCode.InvalidField, Assert.IsType<CustosError>(refusal).Code);
    }

    [Fact]
    public void Block_whose_parent_is_neither_committed_nor_executed_is_refused_as_not_found()
    {
        // Block 1 was never validated here, so block 2 has no state to run on, nor has a block 3 that names it.
        var stranger = FirstBlock(CommittedRoot);
        var child = SecondBlock(stranger, CommittedRoot);
        var grandchild = ChainBlocks.Build(Chain, child, ChainBlocks.Certify(Chain, child, stranger, _consortium.ValidatorKeys), 3, CommittedRoot, []);

        var thrown = Assert.Throws<CustosException>(() => _execution.Execute(child));
        var refusal = _execution.Validate(grandchild, child);

        Assert.Equal(ErrorCode.NotFound, thrown.Code);
        Assert.Equal(ErrorCode.NotFound, Assert.IsType<CustosError>(refusal).Code);
        Assert.Equal(0, _execution.Pending);
    }

    [Fact]
    public void Persisting_the_parent_then_the_child_leaves_the_childs_state_in_storage()
    {
        var parent = FirstBlock(CommittedRoot, _consortium.Transfer(_consortium.Payer, _consortium.Payee, 1_000, nonce: 1));
        Assert.Null(_execution.Validate(parent, Genesis));
        var parentExecuted = _execution.Execute(parent);
        var child = SecondBlock(parent, parentExecuted.PostRoot, _consortium.Transfer(_consortium.Payee, _consortium.Payer, 600, nonce: 2));
        Assert.Null(_execution.Validate(child, parent));
        var childExecuted = _execution.Execute(child);

        _store.Persist(new BlockPersist { Block = parent.Decoded, StateDelta = parentExecuted.Delta });
        _execution.OnCommitted(parent);
        _store.Persist(new BlockPersist { Block = child.Decoded, StateDelta = childExecuted.Delta });
        _execution.OnCommitted(child);

        Assert.Equal(2UL, _store.Head!.Height);
        Assert.Equal(childExecuted.PostRoot, _store.Head.StateRoot);
        Assert.Equal(parentExecuted.PostRoot, _store.State.RootAt(1));
        var state = new StoreState(_store);
        Assert.Equal(400UL, TokenContract.ReadBalance(state, _consortium.Payee.Account));
        Assert.Equal(600UL, TokenContract.ReadBalance(state, _consortium.Payer.Account));
        Assert.Equal(0, _execution.Pending);
    }

    [Fact]
    public void Commit_of_the_parent_detaches_the_child_and_later_blocks_run_on_storage()
    {
        var parent = FirstBlock(CommittedRoot, _consortium.Transfer(_consortium.Payer, _consortium.Payee, 1_000, nonce: 1));
        Assert.Null(_execution.Validate(parent, Genesis));
        var parentExecuted = _execution.Execute(parent);
        var child = SecondBlock(parent, parentExecuted.PostRoot);
        Assert.Null(_execution.Validate(child, parent));

        _store.Persist(new BlockPersist { Block = parent.Decoded, StateDelta = parentExecuted.Delta });
        _execution.OnCommitted(parent);

        var childExecuted = _execution.Execute(child);
        Assert.Null(childExecuted.Parent);
        Assert.Equal(1, _execution.Pending);
        var grandchild = ChainBlocks.Build(Chain, child, ChainBlocks.Certify(Chain, child, parent, _consortium.ValidatorKeys), 3, childExecuted.PostRoot,
            [_consortium.Transfer(_consortium.Payee, _consortium.Payer, 250, nonce: 3)]);
        Assert.Null(_execution.Validate(grandchild, child));
        Assert.Equal(ErrorCode.Ok, Assert.Single(_execution.Execute(grandchild).Receipts).Code);
    }

    [Fact]
    public void Replayed_transaction_in_a_child_fails_on_the_parents_replay_record()
    {
        var transfer = _consortium.Transfer(_consortium.Payer, _consortium.Payee, 100, nonce: 1);
        var parent = FirstBlock(CommittedRoot, transfer);
        Assert.Null(_execution.Validate(parent, Genesis));
        var child = SecondBlock(parent, _execution.Execute(parent).PostRoot, transfer);

        Assert.Null(_execution.Validate(child, parent));

        Assert.Equal(ErrorCode.DuplicateTransaction, Assert.Single(_execution.Execute(child).Receipts).Code);
    }

    [Fact]
    public void Has_payload_only_when_a_batch_is_waiting_outside_the_ancestors()
    {
        Assert.False(_execution.HasPayload(Genesis));

        var batch = _batches.Form(0, [_consortium.Transfer(_consortium.Payer, _consortium.Payee, 5, nonce: 1)]);

        Assert.True(_execution.HasPayload(Genesis));
        var parent = FirstBlock(CommittedRoot, batch.Transactions.ToArray());
        Assert.Null(_execution.Validate(parent, Genesis));
        _execution.RecordBatches(parent.Hash, [batch.Digest]);
        Assert.False(_execution.HasPayload(parent));
    }

    [Fact]
    public void Next_payload_on_the_head_takes_waiting_batches_and_the_committed_root()
    {
        var first = _batches.Form(0, [_consortium.Transfer(_consortium.Payer, _consortium.Payee, 5, nonce: 1)]);
        var second = _batches.Form(0, [_consortium.Transfer(_consortium.Payer, _consortium.Payee, 6, nonce: 2)]);

        var payload = _execution.NextPayload(Genesis, 1, 1, nowMs: 0);

        Assert.Equal(CommittedRoot, payload.StateRoot);
        Assert.Equal([.. first.Ids, .. second.Ids], payload.Transactions.Select(t => t.ComputeId(Chain.Suite)));
        Assert.NotNull(_execution.LastProposal);
        var proposal = _execution.LastProposal.Value;
        Assert.Equal([first.Digest, second.Digest], proposal.Batches.Select(b => b.Digest));
    }

    [Fact]
    public void Next_payload_skips_batches_in_uncommitted_ancestors_and_carries_the_parents_post_root()
    {
        var first = _batches.Form(0, [_consortium.Transfer(_consortium.Payer, _consortium.Payee, 5, nonce: 1)]);
        var second = _batches.Form(0, [_consortium.Transfer(_consortium.Payer, _consortium.Payee, 6, nonce: 2)]);
        var parent = FirstBlock(CommittedRoot, first.Transactions.ToArray());
        Assert.Null(_execution.Validate(parent, Genesis));
        _execution.RecordBatches(parent.Hash, [first.Digest]);
        var parentRoot = _execution.Execute(parent).PostRoot;

        var payload = _execution.NextPayload(parent, 2, 2, nowMs: 0);

        Assert.Equal(parentRoot, payload.StateRoot);
        Assert.Equal(second.Ids, payload.Transactions.Select(t => t.ComputeId(Chain.Suite)));
        Assert.Equal((2UL, 2UL), (_execution.LastProposal!.Value.Height, _execution.LastProposal.Value.Round));
        // The payload becomes a block that validates on its parent.
        var child = SecondBlock(parent, payload.StateRoot, [.. payload.Transactions]);
        Assert.Null(_execution.Validate(child, parent));
    }

    [Fact]
    public void Batches_of_a_committed_block_leave_the_batch_store_and_the_next_payload_is_empty_on_the_new_head()
    {
        var first = _batches.Form(0, [_consortium.Transfer(_consortium.Payer, _consortium.Payee, 5, nonce: 1)]);
        var parent = FirstBlock(CommittedRoot, first.Transactions.ToArray());
        Assert.Null(_execution.Validate(parent, Genesis));
        _execution.RecordBatches(parent.Hash, [first.Digest]);
        var executed = _execution.Execute(parent);

        _store.Persist(new BlockPersist { Block = parent.Decoded, StateDelta = executed.Delta });
        Assert.True(_execution.TryGetBatches(parent.Hash, out var digests));
        _batches.OnCommitted(digests);
        _execution.OnCommitted(parent);

        Assert.False(_execution.HasPayload(parent));
        Assert.Empty(_execution.NextPayload(parent, 2, 2, nowMs: 0).Transactions);
        Assert.Equal(executed.PostRoot, _execution.NextPayload(parent, 2, 2, nowMs: 0).StateRoot);
    }
}
