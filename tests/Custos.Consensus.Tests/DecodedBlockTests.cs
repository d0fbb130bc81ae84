using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Consensus.Tests;

/// <summary>
/// A proposal may arrive with its block already built by the host (a proposal rebuilt from batches, whose
/// transactions were decoded when the batches arrived): the engine takes that block, so that validation and execution
/// see the host's transaction objects, but only when its bytes are exactly the proposal's, so a wrong one can never
/// stand in for what was signed.
/// </summary>
public sealed class DecodedBlockTests
{
    private readonly TestChain _chain = new();

    private BlockRecord Block1(ulong timestampOffset) => _chain.MakeBlock(_chain.GenesisBlock, _chain.GenesisQc, 1, 2, timestampMs: _chain.GenesisBlock.TimestampMs + timestampOffset);

    [Fact]
    public void A_block_given_with_the_proposal_is_the_one_validated_when_its_bytes_are_the_proposals()
    {
        var block = Block1(1);
        var (engine, validator) = Start();

        engine.Handle(new MessageReceived(new NodeId(2), _chain.SignProposal(2, block)) { Block = block }, Now);

        Assert.Same(block, Assert.Single(validator.Validated));
    }

    [Fact]
    public void A_block_given_with_the_proposal_that_is_not_the_proposals_is_ignored()
    {
        var signed = Block1(1);
        var other = Block1(7);
        var (engine, validator) = Start();

        var actions = engine.Handle(new MessageReceived(new NodeId(2), _chain.SignProposal(2, signed)) { Block = other }, Now);

        var validated = Assert.Single(validator.Validated);
        Assert.NotSame(other, validated);
        Assert.Equal(signed.Hash, validated.Hash);
        Assert.Contains(actions, a => a is PersistSafetyState);
    }

    private const long Now = 1_000_000;

    private (ConsensusEngine Engine, RecordingValidator Validator) Start()
    {
        var validator = new RecordingValidator();
        var engine = new ConsensusEngine(_chain.Config, _chain.Suite, _chain.Keys[1], new NodeId(1), new EngineStart
        {
            Validators = _chain.Set,
            Root = _chain.Genesis,
            RootExecution = new BlockExecuted(0, _chain.Genesis.Hash, Hash32.Zero),
        }, new EmptyPayloadSource(), validator, new MemoryLedger());
        engine.Start(Now);
        return (engine, validator);
    }

    /// <summary>Accepts every block and remembers which objects it was given.</summary>
    private sealed class RecordingValidator : IBlockValidator
    {
        public List<BlockRecord> Validated { get; } = [];

        public CustosError? Validate(BlockRecord block, BlockRecord parent)
        {
            Validated.Add(block);
            return null;
        }
    }
}
