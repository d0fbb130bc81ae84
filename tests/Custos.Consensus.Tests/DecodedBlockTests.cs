using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

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

    [Fact]
    public void A_header_only_proposal_with_its_block_assembled_from_batches_is_validated_as_that_block()
    {
        var block = Block1WithTransactions(Transactions(2));
        var (engine, validator) = Start();

        var actions = engine.Handle(new MessageReceived(new NodeId(2), HeaderOnlyProposal(2, block)) { Block = block }, Now);

        Assert.Same(block, Assert.Single(validator.Validated));
        Assert.Contains(actions, a => a is PersistSafetyState);
        var received = JournalEntry.Parser.ParseFrom(Assert.Single(actions.OfType<JournalAppend>(), j => j.Kind == JournalEntryKind.Received).Payload);
        Assert.Empty(Block.Parser.ParseFrom(ConsensusMessage.Parser.ParseFrom(received.Message).Proposal.Block).Transactions);
    }

    [Fact]
    public void A_header_only_proposal_given_a_block_of_other_transactions_is_refused_and_journalled_whole()
    {
        var signed = Block1WithTransactions(Transactions(2));
        var header = signed.HeaderBytes.ToArray();
        var other = BlockRecord.TryAssemble(header, Transactions(3), _chain.Suite, out var assembled, out var error) ? assembled : throw error.ToException();
        var (engine, validator) = Start();

        var actions = engine.Handle(new MessageReceived(new NodeId(2), HeaderOnlyProposal(2, signed)) { Block = other }, Now);

        Assert.Empty(validator.Validated);
        var rejected = JournalEntry.Parser.ParseFrom(Assert.Single(actions.OfType<JournalAppend>(), j => j.Kind == JournalEntryKind.Rejected).Payload);
        Assert.Contains("transaction root", rejected.Reason);
        var whole = Block.Parser.ParseFrom(ConsensusMessage.Parser.ParseFrom(rejected.Message).Proposal.Block);
        Assert.Equal(3, whole.Transactions.Count);
    }

    [Fact]
    public void A_header_only_proposal_given_a_block_with_another_header_is_decoded_as_sent()
    {
        var signed = Block1WithTransactions(Transactions(2));
        var other = Block1WithTransactions(Transactions(2), timestampOffset: 9);
        var (engine, validator) = Start();

        var actions = engine.Handle(new MessageReceived(new NodeId(2), HeaderOnlyProposal(2, signed)) { Block = other }, Now);

        // Decoded from its own bytes, the proposal is a header without the transactions its root commits to.
        Assert.Empty(validator.Validated);
        Assert.Single(actions.OfType<JournalAppend>(), j => j.Kind == JournalEntryKind.Rejected);
    }

    private static List<Transaction> Transactions(int count) => Enumerable.Range(0, count).Select(i => TestChain.SampleTransaction((ulong)i)).ToList();

    private BlockRecord Block1WithTransactions(List<Transaction> transactions, ulong timestampOffset = 1)
    {
        var empty = Block1(timestampOffset);
        var header = empty.Header.Clone();
        header.TransactionRoot = MerkleRoot.Compute(_chain.Suite, transactions.Select(t => t.ComputeId(_chain.Suite)).ToList()).ToByteString();
        return BlockRecord.TryAssemble(header.ToByteArray(), transactions, _chain.Suite, out var block, out var error) ? block : throw error.ToException();
    }

    /// <summary>The proposal as a validator disseminating batches sends it: the signed header, no transactions.</summary>
    private byte[] HeaderOnlyProposal(int proposer, BlockRecord block) => ConsensusMessages.Encode(new Proposal
    {
        Block = new Block { Header = ByteString.CopyFrom(block.HeaderBytes.Span) }.ToByteString(),
        Signature = ByteString.CopyFrom(_chain.Keys[proposer].SignObject(ObjectType.Proposal, block.HeaderBytes.Span)),
    });

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
