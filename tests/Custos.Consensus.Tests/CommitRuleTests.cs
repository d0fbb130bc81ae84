using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;

namespace Custos.Consensus.Tests;

/// <summary>The two-chain commit rule (docs/consensus.md section 6), fed block by block to one validator.</summary>
public sealed class CommitRuleTests
{
    private readonly TestChain _chain = new();

    // Leaders: round r is led by validator (1 + r) mod 4, so rounds 1, 2, 3, 4, 5 by 2, 3, 0, 1, 2.
    private static int Leader(ulong round) => (int)((1 + round) % 4);

    private void Deliver(TestNode node, BlockRecord block, SyncInfo? syncInfo = null) =>
        node.Receive(new NodeId(Leader(block.Round)), _chain.SignProposal(Leader(block.Round), block, syncInfo));

    [Fact]
    public void Block_is_committed_when_it_and_its_child_are_certified_in_consecutive_rounds()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var b1 = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2);
        var b2 = _chain.MakeBlock(b1, _chain.Certify(b1, 0), 2, 3);
        Deliver(node, b1);
        Deliver(node, b2);
        Assert.Empty(node.Ledger.Blocks);

        var b3 = _chain.MakeBlock(b2, _chain.Certify(b2, 1), 3, 0);
        Deliver(node, b3);
        var committed = Assert.Single(node.Ledger.Blocks);
        Assert.Equal(b1.Hash, committed.Hash);
        Assert.Equal(b1.Hash, _chain.View(committed.Qc!).BlockHash);
        Assert.Equal(b1.Hash, _chain.View(committed.CommitQc!).ParentHash);
    }

    [Fact]
    public void Block_is_not_committed_when_its_child_is_certified_in_a_later_round()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var b1 = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2);
        var qc1 = _chain.Certify(b1, 0);
        var tc2 = _chain.MakeTc(2, [(0, 1), (1, 1), (3, 1)]);
        var b3 = _chain.MakeBlock(b1, qc1, 3, 0, tc2);
        var b4 = _chain.MakeBlock(b3, _chain.Certify(b3, 1), 4, 1);
        Deliver(node, b1);
        Deliver(node, b3);
        Deliver(node, b4);
        Assert.Empty(node.Ledger.Blocks);
    }

    [Fact]
    public void Committing_a_block_commits_its_uncommitted_ancestors_in_order()
    {
        var node = new TestNode(_chain, 1);
        node.Start();
        var b1 = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2);
        var qc1 = _chain.Certify(b1, 0);
        var b3 = _chain.MakeBlock(b1, qc1, 3, 0, _chain.MakeTc(2, [(0, 1), (1, 1), (3, 1)]));
        var b4 = _chain.MakeBlock(b3, _chain.Certify(b3, 1), 4, 1);
        var b5 = _chain.MakeBlock(b4, _chain.Certify(b4, 3), 5, 2);
        foreach (var block in new[] { b1, b3, b4, b5 }) Deliver(node, block);
        Assert.Equal([b1.Hash, b3.Hash], node.Ledger.Blocks.Select(b => b.Hash));
    }

    [Fact]
    public void Commit_waits_for_execution_of_the_previous_block()
    {
        var node = new TestNode(_chain, 1) { AutoExecute = false };
        node.Start();
        node.Handle(new BlockExecuted(0, _chain.GenesisBlock.Hash, Core.Hash32.Zero));
        var blocks = new List<BlockRecord>();
        var parent = _chain.GenesisBlock;
        var parentQc = _chain.GenesisQc;
        for (ulong round = 1; round <= 4; round++)
        {
            var block = _chain.MakeBlock(parent, parentQc, round, (uint)Leader(round));
            Deliver(node, block);
            blocks.Add(block);
            parentQc = _chain.Certify(block, round - 1);
            parent = block;
        }

        // Rounds 1..4 certified in a row commit blocks 1 and 2, but the second waits for the first's execution,
        // because executing the first could end the epoch.
        Assert.Equal([blocks[0].Hash], node.Ledger.Blocks.Select(b => b.Hash));
        node.Handle(new BlockExecuted(1, blocks[0].Hash, Core.Hash32.Zero));
        Assert.Equal([blocks[0].Hash, blocks[1].Hash], node.Ledger.Blocks.Select(b => b.Hash));
    }

    [Fact]
    public void Execution_report_for_another_block_is_ignored()
    {
        var node = new TestNode(_chain, 1) { AutoExecute = false };
        node.Start();
        var b1 = _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2);
        var b2 = _chain.MakeBlock(b1, _chain.Certify(b1, 0), 2, 3);
        var b3 = _chain.MakeBlock(b2, _chain.Certify(b2, 1), 3, 0);
        Deliver(node, b1);
        Deliver(node, b2);
        Deliver(node, b3);
        node.Handle(new BlockExecuted(1, b2.Hash, Core.Hash32.Zero));
        Assert.Single(node.Ledger.Blocks);
        Assert.Empty(node.Halts);
    }
}
