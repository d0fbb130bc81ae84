using System.Diagnostics;
using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage.CrashWriter;
using Custos.Storage.Tests.Support;
using RocksDbSharp;

namespace Custos.Storage.Tests;

/// <summary>Bad data directories give typed errors and are left exactly as they were.</summary>
public sealed class DataDirectoryTests
{
    [Fact]
    public void Missing_directory_is_not_found()
    {
        using var temp = new TempDirectory();
        var error = Assert.Throws<CustosException>(() => LedgerStore.Open(temp.Sub("absent")));
        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.False(Directory.Exists(temp.Sub("absent")));
    }

    [Fact]
    public void Empty_directory_is_not_found_and_stays_empty()
    {
        using var temp = new TempDirectory();
        var error = Assert.Throws<CustosException>(() => LedgerStore.Open(temp.Path));
        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Directory_of_garbage_files_is_corrupt_and_untouched()
    {
        using var temp = new TempDirectory();
        var random = new Random(TestSeed.Value);
        foreach (var name in new[] { "CURRENT", "MANIFEST-000001", "000004.sst", "notes.txt" })
        {
            var bytes = new byte[random.Next(1, 4096)];
            random.NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(temp.Path, name), bytes);
        }

        var before = Snapshot(temp.Path);
        var error = Assert.Throws<CustosException>(() => LedgerStore.Open(temp.Path));
        Assert.True(error.Code == ErrorCode.StorageCorrupt, error.Error.ToString());
        Assert.Equal(before, Snapshot(temp.Path));
        File.Delete(Path.Combine(temp.Path, "CURRENT"));
        Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => LedgerStore.Open(temp.Path)).Code);
    }

    [Fact]
    public void Another_chains_directory_is_wrong_chain_and_untouched()
    {
        using var ledger = new TestLedger(chainId: "chain-a");
        ledger.Persist([TestLedger.Put("a", "1")]);
        ledger.Close();
        var before = Snapshot(ledger.DataDirectory);
        var other = new ChainIdentity("chain-b", ledger.Chain.Identity.GenesisHash, CryptoSuiteId.Gm);
        Assert.Equal(ErrorCode.WrongChain, Assert.Throws<CustosException>(() => LedgerStore.Open(ledger.DataDirectory, other)).Code);
        var otherGenesis = ledger.Chain.Identity with { GenesisHash = CryptoSuites.Gm.Hash("another genesis"u8) };
        Assert.Equal(ErrorCode.WrongChain, Assert.Throws<CustosException>(() => LedgerStore.Open(ledger.DataDirectory, otherGenesis)).Code);
        var otherSuite = ledger.Chain.Identity with { Suite = CryptoSuiteId.Intl };
        Assert.Equal(ErrorCode.WrongChain, Assert.Throws<CustosException>(() => LedgerStore.Open(ledger.DataDirectory, otherSuite)).Code);
        Assert.Equal(before, Snapshot(ledger.DataDirectory));
    }

    [Fact]
    public void Creating_a_store_in_a_non_empty_directory_is_refused_and_overwrites_nothing()
    {
        using var ledger = new TestLedger();
        ledger.Persist([TestLedger.Put("a", "1")]);
        ledger.Close();
        var before = Snapshot(ledger.DataDirectory);
        Assert.Equal(ErrorCode.StorageIo, Assert.Throws<CustosException>(() => LedgerStore.Create(ledger.DataDirectory, ledger.Chain.Identity)).Code);
        Assert.Equal(before, Snapshot(ledger.DataDirectory));
        using var store = LedgerStore.Open(ledger.DataDirectory, ledger.Chain.Identity);
        Assert.Equal("1"u8.ToArray(), store.State.Get("a"u8));
    }

    [Fact]
    public void A_rocksdb_directory_that_is_not_a_custos_store_is_corrupt()
    {
        using var temp = new TempDirectory();
        using (var db = RocksDb.Open(new DbOptions().SetCreateIfMissing(true), temp.Path))
        {
            db.Put("key"u8, "value"u8, null!, new WriteOptions());
        }

        var before = Snapshot(temp.Path);
        Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => LedgerStore.Open(temp.Path)).Code);
        Assert.Equal(before, Snapshot(temp.Path));
    }

    [Fact]
    public void Store_opened_by_another_process_is_refused_with_an_io_error()
    {
        using var ledger = new TestLedger();
        var error = Assert.Throws<CustosException>(() => LedgerStore.Open(ledger.DataDirectory));
        Assert.Equal(ErrorCode.StorageIo, error.Code);
        Assert.Contains("lock", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Running_out_of_file_space_while_persisting_is_an_io_error_and_the_store_stays_consistent()
    {
        using var temp = new TempDirectory();
        var data = temp.Sub("data");

        // The writer runs with a file-size limit (and SIGXFSZ ignored), so its first write past the limit fails
        // with EFBIG, as it would on a full disk. The runtime's W^X double mapping of code needs a large memory-backed
        // file, which the limit forbids; it is switched off for this process only.
        var writer = Path.Combine(AppContext.BaseDirectory, "Custos.Storage.CrashWriter.dll");
        var start = new ProcessStartInfo("/bin/bash", ["-c", $"trap '' XFSZ; ulimit -f 1024; export DOTNET_EnableWriteXorExecute=0; exec dotnet \"{writer}\" \"{data}\""])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith("error: STORAGE_IO", await errors, StringComparison.Ordinal);
        Assert.Contains("persisted", await output, StringComparison.Ordinal);

        using var store = LedgerStore.Open(data, CrashWorkload.Identity);
        var verification = store.VerifyChain();
        Assert.Equal(ReferenceTree.Root(CrashWorkload.Suite, CrashWorkload.StateAfter(store.Head!.Height)), verification.StateRoot);
    }

    private static Dictionary<string, string> Snapshot(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
