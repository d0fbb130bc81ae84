using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;

namespace Custos.Consensus.Tests;

/// <summary>Validator-set changes at the boundary execution reports (docs/consensus.md section 7), and catching up across one.</summary>
public sealed class EpochTests
{
    private readonly TestChain _chain = new(validators: 4, spares: 1);

    // Executing the block at height 3 of epoch 1 ends the epoch: validator 3 leaves, node 4 joins.
    private ValidatorSet? EpochChange(BlockRecord block) => block.Epoch == 1 && block.Height == 3 ? _chain.SetOf(2, 0, 1, 2, 4) : null;

    private static void Drive(TestNetwork network, int cycles)
    {
        for (var i = 0; i < cycles; i++)
        {
            network.Run(steps: 400);
            network.TimeoutAll();
        }
    }

    [Fact]
    public void Validator_set_changes_at_the_epoch_boundary_execution_reports()
    {
        var network = new TestNetwork(_chain, 5, EpochChange);
        network.StartAll();
        Drive(network, 6);

        foreach (var node in network.Nodes)
        {
            Assert.True(node.Height >= 6, $"{node.Id} at height {node.Height}");
            Assert.Equal(2UL, node.Engine.Epoch);
            Assert.All(node.Ledger.Blocks.Where(b => b.Height <= 3), b => Assert.Equal(1UL, b.Block.Epoch));
            Assert.All(node.Ledger.Blocks.Where(b => b.Height > 3), b => Assert.Equal(2UL, b.Block.Epoch));
        }

        Assert.False(network.Nodes[3].Engine.IsValidator);
        Assert.True(network.Nodes[4].Engine.IsValidator);
        var ledgers = network.Nodes.Select(n => n.Ledger.Blocks.Take(6).Select(b => b.Hash).ToList()).ToList();
        Assert.All(ledgers, l => Assert.Equal(ledgers[0], l));

        // The first block of epoch 2 extends the last of epoch 1 and carries epoch 1's certificate of it.
        var first = network.Nodes[0].Ledger.Blocks.Single(b => b.Height == 4).Block;
        Assert.Equal(1UL, _chain.View(first.Header.ParentQc).Epoch);
        Assert.True(first.Round > network.Nodes[0].Ledger.Blocks.Single(b => b.Height == 3).Block.Round);
    }

    [Fact]
    public void Epoch_ending_proof_verifies_with_the_ending_epochs_set_alone()
    {
        var network = new TestNetwork(_chain, 5, EpochChange);
        network.StartAll();
        Drive(network, 4);
        var proof = network.Nodes[0].Ledger.EpochEndings[1];
        Assert.Equal(3UL, proof.EndingHeight);
        Assert.True(EpochEndingVerifier.TryVerify(proof, TestChain.Id, _chain.Set, _chain.Suite, out _));
        Assert.False(EpochEndingVerifier.TryVerify(proof, TestChain.Id, _chain.SetOf(1, 1, 2, 3, 4), _chain.Suite, out _));

        var tampered = proof.Clone();
        tampered.EndingHeight = 2;
        Assert.False(EpochEndingVerifier.TryVerify(tampered, TestChain.Id, _chain.Set, _chain.Suite, out _));

        var epochEntry = network.Nodes[0].JournalEntries().Single(e => e.Kind == JournalEntryKind.Epoch);
        Assert.Equal(2UL, epochEntry.Validators.Epoch);
        Assert.Equal(proof, epochEntry.EpochEnding);
    }

    [Fact]
    public void Epoch_ending_proof_carries_the_certified_state_root_after_the_ending_block()
    {
        var network = new TestNetwork(_chain, 5, EpochChange);
        network.StartAll();
        Drive(network, 6);
        var proof = network.Nodes[0].Ledger.EpochEndings[1];

        // The first block of the next epoch extends the ending block, so it carries the same post-state root.
        var next = network.Nodes[0].Ledger.Blocks.Single(b => b.Height == proof.EndingHeight + 1).Block;
        Assert.True(EpochEndingVerifier.TryGetPostStateRoot(proof, out var root, out var error), error?.Message);
        Assert.Equal(new Custos.Core.Hash32(next.Header.StateRoot.Span), root);

        // A header that the commit QC does not certify is refused.
        var forged = proof.Clone();
        forged.CommitBlockHeader = network.Nodes[0].Ledger.Blocks.Single(b => b.Height == proof.EndingHeight).Block.HeaderByteString;
        Assert.False(EpochEndingVerifier.TryVerify(forged, TestChain.Id, _chain.Set, _chain.Suite, out _));
    }

    [Fact]
    public void Every_node_that_ends_an_epoch_tells_the_others_at_once_with_the_proof()
    {
        var network = new TestNetwork(_chain, 5, EpochChange);
        network.StartAll();
        Drive(network, 6);

        foreach (var node in network.Nodes.Take(4))
        {
            var announced = node.SentMessages().Where(m => m.BodyCase == ConsensusMessage.BodyOneofCase.SyncResponse && m.SyncResponse.EpochEnding is not null).ToList();
            Assert.NotEmpty(announced);
            var proof = announced[0].SyncResponse.EpochEnding;
            Assert.Equal(1UL, announced[0].SyncResponse.Epoch);
            Assert.True(EpochEndingVerifier.TryVerify(proof, TestChain.Id, _chain.Set, _chain.Suite, out var error), error?.Message);
        }
    }

    [Fact]
    public void Node_that_missed_the_epoch_change_catches_up_through_the_epoch_ending_proof()
    {
        var network = new TestNetwork(_chain, 5, EpochChange);
        var joining = new NodeId(4);
        network.Down.Add(joining);
        network.StartAll();
        Drive(network, 8);
        Assert.Equal(0UL, network.Nodes[4].Height);
        Assert.True(network.Nodes[0].Height >= 5, $"the others reached only height {network.Nodes[0].Height}");

        network.Down.Remove(joining);
        Drive(network, 6);
        var node = network.Nodes[4];
        Assert.Equal(2UL, node.Engine.Epoch);
        Assert.True(node.Height >= 5, $"caught up only to {node.Height}");
        Assert.Equal(network.Nodes[0].Ledger.Blocks.Take(5).Select(b => b.Hash), node.Ledger.Blocks.Take(5).Select(b => b.Hash));
    }

    [Fact]
    public void Validator_left_behind_in_the_old_epoch_is_brought_over_by_the_others()
    {
        var network = new TestNetwork(_chain, 5, EpochChange);
        var leaving = new NodeId(3);
        network.Down.Add(leaving);
        network.StartAll();
        Drive(network, 8);
        Assert.Equal(2UL, network.Nodes[0].Engine.Epoch);

        network.Down.Remove(leaving);
        Drive(network, 6);
        Assert.Equal(2UL, network.Nodes[3].Engine.Epoch);
        Assert.False(network.Nodes[3].Engine.IsValidator);
        Assert.True(network.Nodes[3].Height >= 5);
    }

    [Fact]
    public void Restart_right_after_the_epoch_ended_resumes_in_the_new_epoch()
    {
        var network = new TestNetwork(_chain, 5, EpochChange);
        network.StartAll();
        Drive(network, 6);
        var node = network.Nodes[1];
        var before = node.Height;
        node.Restart();
        Assert.Equal(2UL, node.Engine.Epoch);
        Drive(network, 3);
        Assert.True(node.Height > before);
        Assert.Empty(node.Halts);
    }
}
