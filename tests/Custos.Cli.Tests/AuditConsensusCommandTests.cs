using System.Globalization;
using System.Text.RegularExpressions;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Storage;
using CsCheck;
using Google.Protobuf;
using RocksDbSharp;

namespace Custos.Cli.Tests;

/// <summary>
/// `custos audit consensus` run in-process over a real store holding what a node of a real engine network recorded:
/// it passes a clean store, and fails, naming what is wrong, once a journal entry or a certificate is altered behind
/// the store's back. Equivocations are listed with the culprit's node and key. The store is opened read-only, so a
/// running node's directory can be audited.
/// </summary>
public sealed partial class AuditConsensusCommandTests : IDisposable
{
    private const ulong Height = 12;

    private static readonly string[] NodeNames = ["bank-a", "bank-b", "bank-c", "bank-d"];

    private readonly string _directory = Directory.CreateTempSubdirectory("custos-audit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Data => Path.Combine(_directory, "data");

    [Theory]
    [InlineData("intl")]
    [InlineData("gm")]
    public async Task Clean_store_of_an_honest_node_passes_with_its_blocks_certificates_and_journal_counted(string crypto)
    {
        var network = Run(CryptoSuites.Parse(crypto));
        network.WriteRecorderStore(Data);

        var (exit, output, error) = await Audit("--data", Data);

        Assert.True(exit == 0, output + error);
        var summary = Summary.Parse(output);
        Assert.Equal(Height + 1, summary.Blocks);
        Assert.True(summary.Certificates > Height, output);
        Assert.Equal((ulong)network.Recorder.Journal.Count, summary.JournalEntries);
        Assert.Equal(0UL, summary.Equivocations);
        Assert.Equal(0UL, summary.Failures);
        Assert.DoesNotContain(output.Split('\n'), line => line.StartsWith("failure ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Any_altered_journal_payload_fails_the_audit_and_is_named()
    {
        var network = Run(CryptoSuites.Intl);
        var template = Path.Combine(_directory, "template");
        network.WriteRecorderStore(template);
        var entries = network.Recorder.Journal.Count;
        var attempt = 0;

        Gen.Select(Gen.Int[0, entries - 1], Gen.Int[0, int.MaxValue]).Sample((entry, position) =>
        {
            var copy = Path.Combine(_directory, $"tampered-{attempt++}");
            CopyDirectory(template, copy);
            RawStore.Update(copy, StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey((ulong)entry), value =>
            {
                // The stored value is the entry's hash (32 bytes) then its payload; only the payload changes.
                value[Hash32.SizeBytes + position % (value.Length - Hash32.SizeBytes)] ^= 0x20;
                return value;
            });

            var (exit, output, error) = Audit("--data", copy).GetAwaiter().GetResult();
            Directory.Delete(copy, recursive: true);
            // Exactly one broken link, the altered entry: the chain is re-walked from each entry's stored hash.
            var brokenLinks = output.Split('\n').Where(line => line.StartsWith("failure BrokenJournalChain", StringComparison.Ordinal)).ToList();
            return exit == AuditCommands.ExitFailures && error.Length == 0 && Summary.Parse(output).Failures > 0
                && brokenLinks.Count == 1 && brokenLinks[0].StartsWith($"failure BrokenJournalChain (entry {entry}):", StringComparison.Ordinal);
        }, iter: 12, threads: 1);
    }

    [Fact]
    public async Task Forged_signature_in_the_head_qc_fails_the_audit()
    {
        Run(CryptoSuites.Intl).WriteRecorderStore(Data);
        RawStore.Update(Data, StorageLayout.ConfigFamily, StorageLayout.ConfigEntryKey("consensus/head-qc"), value =>
        {
            var qc = QuorumCertificate.Parser.ParseFrom(value);
            var signature = qc.Signatures[0].ToByteArray();
            signature[10] ^= 0x01;
            qc.Signatures[0] = ByteString.CopyFrom(signature);
            return qc.ToByteArray();
        });

        var (exit, output, _) = await Audit("--data", Data);

        Assert.Equal(AuditCommands.ExitFailures, exit);
        Assert.Contains("failure InvalidCertificate", output);
        Assert.True(Summary.Parse(output).Failures > 0, output);
    }

    [Fact]
    public async Task Equivocating_leader_is_listed_as_culprit_with_its_node_name_and_key()
    {
        const int equivocator = 3;
        var network = Run(CryptoSuites.Intl, equivocator: equivocator);
        Assert.NotEmpty(network.Recorder.Evidence);
        network.WriteRecorderStore(Data, NodeNames);

        var (exit, output, error) = await Audit("--data", Data);

        Assert.True(exit == 0, output + error);
        var fingerprint = CryptoSuites.Intl.Hash(network.Validators.KeyOf(equivocator).Encoded).ToShortString();
        Assert.Contains($"culprit: validator {equivocator} of epoch 1, node n{equivocator} (bank-d), key fingerprint {fingerprint}, equivocated in round", output);
        Assert.Single(output.Split('\n'), line => line.StartsWith("culprit:", StringComparison.Ordinal));
        var summary = Summary.Parse(output);
        Assert.True(summary.Equivocations > 0, output);
        Assert.Equal(0UL, summary.Failures);
    }

    [Fact]
    public async Task Any_valid_block_range_passes_and_audits_only_the_journal_entries_of_its_heights()
    {
        var network = Run(CryptoSuites.Intl);
        network.WriteRecorderStore(Data);
        var entries = (ulong)network.Recorder.Journal.Count;

        await Gen.Select(Gen.ULong[0, Height], Gen.ULong[0, Height]).SampleAsync(async (a, b) =>
        {
            var (from, to) = (Math.Min(a, b), Math.Max(a, b));
            var (exit, output, _) = await Audit("--data", Data, "--from", from.ToString(CultureInfo.InvariantCulture), "--to", to.ToString(CultureInfo.InvariantCulture));
            var summary = Summary.Parse(output);
            // The journal is audited from the entry after the last commit below --from; the genesis block is not
            // committed by consensus, so --from 1 starts at entry 0 like --from 0, and only a higher one narrows it.
            var narrower = from > 1 || to < Height;
            return exit == 0 && summary.Blocks == to - from + 1 && summary.Failures == 0
                && (narrower ? summary.JournalEntries < entries : summary.JournalEntries == entries);
        }, iter: 10, threads: 1);
    }

    [Fact]
    public async Task Journal_chain_is_verified_beyond_the_audited_block_range()
    {
        Run(CryptoSuites.Intl).WriteRecorderStore(Data);
        RawStore.Update(Data, StorageLayout.ConsensusFamily, StorageLayout.JournalEntryKey(1), value =>
        {
            value[^1] ^= 0x01;
            return value;
        });

        var (exit, output, _) = await Audit("--data", Data, "--from", (Height - 2).ToString(CultureInfo.InvariantCulture));

        Assert.Equal(AuditCommands.ExitFailures, exit);
        Assert.Contains("failure BrokenJournalChain (entry 1)", output);
    }

    [Theory]
    [InlineData("5", "3", "--from 5 is above --to 3")]
    [InlineData("0", "99", "--to 99 is above the store's head")]
    public async Task Invalid_block_range_is_refused_with_a_clear_error(string from, string to, string message)
    {
        Run(CryptoSuites.Intl).WriteRecorderStore(Data);

        var (exit, output, error) = await Audit("--data", Data, "--from", from, "--to", to);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains("INVALID_FIELD", error);
        Assert.Contains(message, error);
        Assert.DoesNotContain("audit:", output);
    }

    [Fact]
    public async Task Missing_directory_is_refused_with_a_typed_error_naming_it()
    {
        var missing = Path.Combine(_directory, "nowhere");

        var (exit, _, error) = await Audit("--data", missing);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains("NOT_FOUND", error);
        Assert.Contains(missing, error);
    }

    [Fact]
    public async Task Directory_that_is_not_a_store_is_refused_as_corrupt()
    {
        Directory.CreateDirectory(Data);
        await File.WriteAllTextAsync(Path.Combine(Data, "notes.txt"), "not a ledger", TestContext.Current.CancellationToken);

        var (exit, _, error) = await Audit("--data", Data);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains("STORAGE_CORRUPT", error);
    }

    [Fact]
    public async Task Store_held_by_a_running_node_is_audited_read_only_without_changing_a_file()
    {
        var network = Run(CryptoSuites.Intl);
        network.WriteRecorderStore(Data);
        using var running = LedgerStore.Open(Data);
        var before = Snapshot(Data);

        var (exit, output, error) = await Audit("--data", Data);

        Assert.True(exit == 0, output + error);
        Assert.Equal(Height + 1, Summary.Parse(output).Blocks);
        Assert.Equal((ulong)network.Recorder.Journal.Count, Summary.Parse(output).JournalEntries);
        Assert.Equal(before, Snapshot(Data));
    }

    [Fact]
    public void Store_opened_read_only_refuses_every_write_and_sees_the_data_as_of_opening()
    {
        var network = Run(CryptoSuites.Intl);
        network.WriteRecorderStore(Data);
        using var running = LedgerStore.Open(Data);
        using var reader = LedgerStore.OpenReadOnly(Data);
        var journal = reader.Journal.Head;

        running.Journal.Append(new byte[] { 0x01, 0x02 });

        Assert.True(reader.IsReadOnly);
        Assert.False(running.IsReadOnly);
        Assert.Equal(running.Head, reader.Head);
        Assert.Equal(journal, reader.Journal.Head);
        Assert.Equal(journal.Length + 1, running.Journal.Head.Length);
        var refused = Assert.Throws<CustosException>(() => reader.Journal.Append(new byte[] { 0x03 }));
        Assert.Equal(ErrorCode.StorageIo, refused.Code);
        refused = Assert.Throws<CustosException>(() => reader.SafetyRecord.Save(new byte[] { 0x04 }));
        Assert.Equal(ErrorCode.StorageIo, refused.Code);
    }

    /// <summary>Every file of a directory with its length and last write: what a read-only open must leave as it was.</summary>
    private static List<string> Snapshot(string directory) =>
        [.. Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal).Select(f => new FileInfo(f)).Select(f => $"{f.Name} {f.Length} {f.LastWriteTimeUtc.Ticks}")];

    private static EngineNetwork Run(ICryptoSuite suite, int? equivocator = null)
    {
        var network = new EngineNetwork(suite, validators: 4, seed: 7, equivocator);
        Assert.True(network.RunUntilCommitted(Height), "the engines did not commit in time");
        Assert.Empty(network.Recorder.Halts);
        return network;
    }

    private static async Task<(int Exit, string Output, string Error)> Audit(params string[] options)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CustosCommand.RunAsync(["audit", "consensus", .. options], output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    /// <summary>The command's last line: <c>audit: B blocks, Q certificates verified, J journal entries, E equivocations, F failures</c>.</summary>
    private sealed partial record Summary(ulong Blocks, ulong Certificates, ulong JournalEntries, ulong Equivocations, ulong Failures)
    {
        public static Summary Parse(string output)
        {
            var match = SummaryLine().Match(output);
            Assert.True(match.Success, $"no summary line in:\n{output}");
            ulong At(int group) => ulong.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
            return new Summary(At(1), At(2), At(3), At(4), At(5));
        }

        [GeneratedRegex(@"^audit: (\d+) blocks, (\d+) certificates verified, (\d+) journal entries, (\d+) equivocations, (\d+) failures$", RegexOptions.Multiline)]
        private static partial Regex SummaryLine();
    }

    /// <summary>Changes one value in a closed store's RocksDB behind the store's back, as damage or an intruder would.</summary>
    private static class RawStore
    {
        public static void Update(string directory, string family, byte[] key, Func<byte[], byte[]> change)
        {
            var families = new ColumnFamilies();
            foreach (var name in StorageLayout.Families) families.Add(name, new ColumnFamilyOptions());
            using var db = RocksDb.Open(new DbOptions(), directory, families);
            var handle = db.GetColumnFamily(family);
            var value = db.Get(key, handle) ?? throw new InvalidOperationException($"no {family} value under the key");
            db.Put(key, change(value), handle, new WriteOptions().SetSync(true));
        }
    }
}
