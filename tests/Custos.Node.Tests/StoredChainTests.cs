using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Node.Tests.Support;
using Custos.Node.Wire;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Node.Tests;

public sealed class StoredChainTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Intl;
    private readonly TempDirectory _directory = new();
    private readonly LedgerStore _store;

    public StoredChainTests() => _store = LedgerNode.OpenOrCreateStore(_directory.Sub("data"), _consortium.Chain);

    private ChainSetup Chain => _consortium.Chain;

    public void Dispose()
    {
        _store.Dispose();
        _directory.Dispose();
    }

    /// <summary>Persists block 1 (empty) with the given configuration entries; returns it.</summary>
    private BlockRecord PersistFirstBlock(IEnumerable<KeyValuePair<string, ReadOnlyMemory<byte>>> configuration)
    {
        var block = ChainBlocks.Build(Chain, Chain.GenesisBlock, Chain.GenesisQc!, 1, _store.Head!.StateRoot, []);
        _store.Persist(new BlockPersist { Block = block.Decoded, StateWrites = [], Configuration = configuration.ToList() });
        return block;
    }

    [Fact]
    public void Certificates_of_a_block_round_trip_through_a_persist()
    {
        var block = ChainBlocks.Build(Chain, Chain.GenesisBlock, Chain.GenesisQc!, 1, _store.Head!.StateRoot, []);
        var qc = ChainBlocks.Certify(Chain, block, Chain.GenesisBlock, _consortium.ValidatorKeys);
        // Another quorum's QC stands in for the commit QC: only the round trip is under test, and it must differ from the QC.
        var commitQc = ChainBlocks.Certify(Chain, block, Chain.GenesisBlock, _consortium.ValidatorKeys, signers: [1, 2, 3]);
        Assert.NotEqual(qc, commitQc);

        _store.Persist(new BlockPersist { Block = block.Decoded, StateWrites = [], Configuration = StoredChain.CertificateEntries(1, qc, commitQc).ToList() });
        var (readQc, readCommitQc) = new StoredChain(_store).ReadCertificates(1);

        Assert.Equal(qc, readQc);
        Assert.Equal(commitQc, readCommitQc);
        Assert.Equal(qc.ToByteArray(), _store.ReadConfiguration(StoredChain.HeadQc));
        Assert.Equal(commitQc.ToByteArray(), _store.ReadConfiguration(StoredChain.HeadCommitQc));
    }

    [Fact]
    public void Certificate_entries_without_a_commit_QC_leave_the_head_commit_QC_alone()
    {
        var entries = StoredChain.CertificateEntries(7, Chain.GenesisQc, null).ToList();

        Assert.Equal([StoredChain.CertificatesEntry(7), StoredChain.HeadQc], entries.Select(e => e.Key));
        var certificates = BlockCertificates.Parser.ParseFrom(entries[0].Value.Span);
        Assert.Equal(Chain.GenesisQc!.ToByteString(), certificates.Qc);
        Assert.True(certificates.CommitQc.IsEmpty);
    }

    [Fact]
    public void Genesis_certificates_are_its_QC_alone()
    {
        var (qc, commitQc) = new StoredChain(_store).ReadCertificates(0);

        Assert.Equal(Chain.GenesisQc, qc);
        Assert.Null(commitQc);
    }

    [Fact]
    public void Height_without_certificates_reads_as_none()
    {
        var (qc, commitQc) = new StoredChain(_store).ReadCertificates(42);

        Assert.Null(qc);
        Assert.Null(commitQc);
    }

    [Fact]
    public void Committed_block_is_returned_with_its_QC()
    {
        var block = ChainBlocks.Build(Chain, Chain.GenesisBlock, Chain.GenesisQc!, 1, _store.Head!.StateRoot, []);
        var qc = ChainBlocks.Certify(Chain, block, Chain.GenesisBlock, _consortium.ValidatorKeys);
        _store.Persist(new BlockPersist { Block = block.Decoded, StateWrites = [], Configuration = StoredChain.CertificateEntries(1, qc, null).ToList() });
        var chain = new StoredChain(_store);

        Assert.True(chain.TryGetBlock(1, out var committed));

        Assert.Equal(block.Hash, committed.Hash);
        Assert.Equal(1UL, committed.Height);
        Assert.Equal(block.Encoded.ToArray(), committed.Block.Encoded.ToArray());
        Assert.Equal(qc, committed.Qc);
        Assert.Null(committed.CommitQc);
        Assert.True(chain.TryGetBlock(0, out var genesis));
        Assert.Equal(Chain.GenesisBlock.Hash, genesis.Hash);
        Assert.Equal(Chain.GenesisQc, genesis.Qc);
        Assert.False(chain.TryGetBlock(2, out _));
    }

    [Fact]
    public void Certificates_entry_that_does_not_decode_is_storage_corrupt()
    {
        // Field 1, length 5, but one byte follows: truncated protobuf.
        PersistFirstBlock([new(StoredChain.CertificatesEntry(1), new byte[] { 0x0A, 0x05, 0x01 })]);
        var chain = new StoredChain(_store);

        var refusal = Assert.Throws<CustosException>(() => chain.ReadCertificates(1));
        var throughBlock = Assert.Throws<CustosException>(() => chain.TryGetBlock(1, out _));

        Assert.Equal(ErrorCode.StorageCorrupt, refusal.Code);
        Assert.Equal(ErrorCode.StorageCorrupt, throughBlock.Code);
    }

    [Fact]
    public void Certificates_entry_holding_a_broken_QC_is_storage_corrupt()
    {
        var qc = ChainBlocks.Certify(Chain, Chain.GenesisBlock, Chain.GenesisBlock, _consortium.ValidatorKeys);
        qc.Signatures[0] = ByteString.CopyFrom(new byte[10]);
        var certificates = new BlockCertificates { Qc = qc.ToByteString() };
        PersistFirstBlock([new(StoredChain.CertificatesEntry(1), certificates.ToByteArray())]);

        var refusal = Assert.Throws<CustosException>(() => new StoredChain(_store).ReadCertificates(1));

        Assert.Equal(ErrorCode.StorageCorrupt, refusal.Code);
    }

    [Fact]
    public void Epoch_ending_proof_that_is_absent_or_corrupt_is_not_served()
    {
        PersistFirstBlock([new(StoredChain.EpochEndingEntry(0), new byte[] { 0x0A, 0x05, 0x01 })]);
        var chain = new StoredChain(_store);

        Assert.False(chain.TryGetEpochEnding(0, out _));
        Assert.False(chain.TryGetEpochEnding(1, out _));
    }
}
