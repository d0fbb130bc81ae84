using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage.Benchmarks;
using Custos.Storage.State;

namespace Custos.Storage.Tests.Support;

/// <summary>A real store in a temporary directory, with a synthetic chain to persist blocks onto it.</summary>
internal sealed class TestLedger : IDisposable
{
    private readonly TempDirectory _directory;

    public TestLedger(ICryptoSuite? suite = null, StoreOptions? options = null, string chainId = "custos-test")
    {
        Suite = suite ?? CryptoSuites.Gm;
        _directory = new TempDirectory();
        Chain = new SyntheticChain(chainId, Suite.Id, Suite);
        Store = LedgerStore.Create(DataDirectory, Chain.Identity, options);
    }

    public ICryptoSuite Suite { get; }

    public SyntheticChain Chain { get; }

    public LedgerStore Store { get; private set; }

    public string DataDirectory => _directory.Sub("data");

    public string Sub(string name) => _directory.Sub(name);

    /// <summary>The next block on the store's head, carrying the previous version's root.</summary>
    public DecodedBlock NextBlock(int transactions = 0)
    {
        var head = Store.Head;
        return Chain.NextBlock(head is null ? null : Store.ReadBlock(head.Height), Store.State.LatestRoot, transactions);
    }

    public PersistResult Persist(IReadOnlyList<StateWrite>? writes = null, int transactions = 0) =>
        Store.Persist(new BlockPersist { Block = NextBlock(transactions), StateWrites = writes ?? [] });

    public void Reopen(StoreOptions? options = null)
    {
        Store.Dispose();
        Store = LedgerStore.Open(DataDirectory, Chain.Identity, options);
    }

    public void Close() => Store.Dispose();

    public void Dispose()
    {
        Store.Dispose();
        _directory.Dispose();
    }

    public static StateWrite Put(string key, string value) => StateWrite.Put(Bytes(key), Bytes(value));

    public static StateWrite Delete(string key) => StateWrite.Delete(Bytes(key));

    public static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);
}
