using System.Text.Json;
using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Node.Tests.Support;
using Custos.Node.Wire;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Node.Tests;

public sealed class StoreCreationTests
{
    private static TestConsortium Consortium => TestConsortium.Intl;

    [Fact]
    public void New_store_holds_the_genesis_block_as_its_head()
    {
        using var directory = new TempDirectory();
        var chain = Consortium.Chain;

        using var store = LedgerNode.OpenOrCreateStore(directory.Sub("data"), chain);

        var head = Assert.IsType<StoreHead>(store.Head);
        Assert.Equal(0UL, head.Height);
        Assert.Equal(chain.GenesisBlock.Hash, head.BlockHash);
        var stored = Assert.IsType<StoredBlock>(store.ReadBlock(0));
        Assert.Equal(chain.GenesisBlock.Encoded.ToArray(), stored.Block.Encoded.ToArray());
        Assert.Equal(chain.Identity, store.Identity);
    }

    [Fact]
    public void New_store_state_version_0_is_the_root_of_the_genesis_writes()
    {
        using var directory = new TempDirectory();
        var chain = Consortium.Chain;
        using var store = LedgerNode.OpenOrCreateStore(directory.Sub("data"), chain);
        // The same writes staged on an empty store of the same chain, independently of the node's creation path.
        using var scratch = LedgerStore.Create(directory.Sub("scratch"), chain.Identity);

        var expected = scratch.State.Stage(chain.GenesisWrites()).Root;

        Assert.Equal(0UL, store.State.LatestVersion);
        Assert.Equal(expected, store.State.RootAt(0));
        Assert.Equal(expected, store.Head!.StateRoot);
        Assert.NotEqual(store.State.EmptyRoot, expected);
        Assert.Equal(TestConsortium.FirstClientBalance, TokenContract.ReadBalance(new StoreState(store), Consortium.Payer.Account));
    }

    [Fact]
    public void New_store_records_the_genesis_validator_set_names_and_QC()
    {
        using var directory = new TempDirectory();
        var chain = Consortium.Chain;

        using var store = LedgerNode.OpenOrCreateStore(directory.Sub("data"), chain);

        Assert.Equal(chain.Encoded, store.ReadConfiguration(StoredChain.GenesisEntry));

        var record = ValidatorSetRecord.Parser.ParseFrom(store.ReadConfiguration(StoredChain.ValidatorSetEntry(0)));
        Assert.True(ValidatorSet.TryFromRecord(record, chain.Suite, out var validators, out var error), error?.ToString());
        Assert.Equal(0UL, validators.Epoch);
        Assert.Equal(chain.Validators.Members.Select(m => m.Key), validators.Members.Select(m => m.Key));

        var certificates = BlockCertificates.Parser.ParseFrom(store.ReadConfiguration(StoredChain.CertificatesEntry(0)));
        Assert.Equal(chain.GenesisQc!.ToByteString(), certificates.Qc);
        Assert.True(certificates.CommitQc.IsEmpty);
        Assert.Equal(chain.GenesisQc.ToByteArray(), store.ReadConfiguration(StoredChain.HeadQc));
        Assert.Null(store.ReadConfiguration(StoredChain.HeadCommitQc));

        var names = JsonSerializer.Deserialize<string[]>(store.ReadConfiguration(StoredChain.NodeNamesEntry));
        Assert.Equal(chain.Nodes.Select(n => n.Name), names);
    }

    [Fact]
    public void Reopening_returns_the_same_head()
    {
        using var directory = new TempDirectory();
        var path = directory.Sub("data");
        StoreHead created;
        using (var store = LedgerNode.OpenOrCreateStore(path, Consortium.Chain))
        {
            created = store.Head!;
        }

        using var reopened = LedgerNode.OpenOrCreateStore(path, Consortium.Chain);

        Assert.Equal(created, reopened.Head);
        Assert.Equal(created.StateRoot, reopened.State.LatestRoot);
    }

    [Fact]
    public void Reopening_keeps_blocks_persisted_after_genesis()
    {
        using var directory = new TempDirectory();
        var path = directory.Sub("data");
        var chain = Consortium.Chain;
        StoreHead afterBlock;
        using (var store = LedgerNode.OpenOrCreateStore(path, chain))
        {
            var block = ChainBlocks.Build(chain, chain.GenesisBlock, chain.GenesisQc!, 1, store.Head!.StateRoot, []);
            store.Persist(new BlockPersist { Block = block.Decoded, StateWrites = [] });
            afterBlock = store.Head!;
        }

        using var reopened = LedgerNode.OpenOrCreateStore(path, chain);

        Assert.Equal(1UL, reopened.Head!.Height);
        Assert.Equal(afterBlock, reopened.Head);
    }

    [Fact]
    public void Another_chains_genesis_on_the_same_directory_is_refused()
    {
        using var directory = new TempDirectory();
        var path = directory.Sub("data");
        LedgerNode.OpenOrCreateStore(path, Consortium.Chain).Dispose();
        var other = TestConsortium.Create(CryptoSuites.Intl, "custos-other-chain");

        var refusal = Assert.Throws<CustosException>(() => LedgerNode.OpenOrCreateStore(path, other.Chain));

        Assert.Equal(ErrorCode.WrongChain, refusal.Code);
        // Refused without damage: the rightful chain still opens.
        using var store = LedgerNode.OpenOrCreateStore(path, Consortium.Chain);
        Assert.Equal(Consortium.Chain.GenesisBlock.Hash, store.Head!.BlockHash);
    }

    [Fact]
    public void Same_chain_id_with_another_genesis_is_refused()
    {
        using var directory = new TempDirectory();
        var path = directory.Sub("data");
        LedgerNode.OpenOrCreateStore(path, Consortium.Chain).Dispose();
        // Same chain id and keys, one more account: a different genesis hash.
        var extra = Consortium.Genesis.Accounts[0] with { Id = new AccountId(9, 9).ToString(), Label = "extra", Balance = 5 };
        var fork = ChainSetup.FromBytes(Consortium.EncodeWith(g => g with { Accounts = [.. g.Accounts, extra] }));

        var refusal = Assert.Throws<CustosException>(() => LedgerNode.OpenOrCreateStore(path, fork));

        Assert.Equal(ErrorCode.WrongChain, refusal.Code);
    }
}
