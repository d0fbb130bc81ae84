using System.Diagnostics;
using System.Text.RegularExpressions;
using Custos.Storage.CrashWriter;
using Custos.Storage.Tests.Support;

namespace Custos.Storage.Tests;

/// <summary>
/// Real processes, real SIGKILLs: a child persists blocks in a loop and is killed at random moments; every reopen
/// must find a consistent store whose last block is complete and whose state root, recomputed from the tree on disk
/// and from the workload in memory, matches.
/// </summary>
public sealed partial class CrashRecoveryTests
{
    /// <summary>Independent writers, each on its own data directory, run side by side to halve the wall time.</summary>
    private const int Lanes = 2;

    private const int KillsPerLane = 28;

    [Fact]
    public async Task Store_killed_at_random_moments_reopens_with_its_last_block_complete_and_its_state_root_recomputed()
    {
        using var temp = new TempDirectory();
        var lanes = await Task.WhenAll(Enumerable.Range(0, Lanes).Select(lane => Task.Run(() => RunLane(temp.Sub($"data-{lane}"), new Random(TestSeed.Value + lane)))));
        var kills = Lanes * KillsPerLane;
        var advanced = lanes.Sum(l => l.Advanced);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{kills} kills, {lanes.Sum(l => (long)(l.Blocks ?? 0))} blocks persisted, the head advanced between {advanced} kills; {TestSeed.Describe}");
        Assert.True(advanced >= kills / 2, $"only {advanced} of {kills} runs persisted anything before being killed");
    }

    private static async Task<(int Advanced, ulong? Blocks)> RunLane(string data, Random random)
    {
        var writer = Path.Combine(AppContext.BaseDirectory, "Custos.Storage.CrashWriter.dll");
        ulong? lastHeight = null;
        var advanced = 0;
        for (var kill = 0; kill < KillsPerLane; kill++)
        {
            var start = new ProcessStartInfo("dotnet", [writer, data]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            // A cold process persists its first blocks slowly (JIT), so kills are timed from its progress: after a
            // random number of persisted blocks, plus a random delay that lands inside a later persist.
            var progress = new Progress(random.Next(0, 4));
            var output = ReadLines(process.StandardOutput, progress);
            var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);

            // Mostly kill while blocks are being persisted; sometimes while the store is still opening (recovering).
            if (kill % 6 == 5)
            {
                await Task.Delay(random.Next(0, 400), TestContext.Current.CancellationToken);
            }
            else
            {
                await Task.WhenAny(progress.Reached.Task, process.WaitForExitAsync(TestContext.Current.CancellationToken)).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
                await Task.Delay(random.Next(0, 25), TestContext.Current.CancellationToken);
            }

            process.Kill();
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            var printed = (await output).Select(line => Persisted().Match(line)).Where(m => m.Success).Select(m => ulong.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty().Max();
            Assert.True(string.IsNullOrEmpty(await errors), $"kill {kill}: the writer reported {await errors}");
            if (!Directory.Exists(data) || !File.Exists(Path.Combine(data, "CURRENT"))) continue;

            using var store = LedgerStore.Open(data, CrashWorkload.Identity);
            var head = store.Head;
            if (head is null) continue;

            // Every block the writer reported persisted (it reports after the synced write returns) survived.
            Assert.True(head.Height >= printed, $"kill {kill}: block {printed} was reported persisted but the head is {head.Height}; {TestSeed.Describe}");
            var verification = store.VerifyChain();
            Assert.Equal(head.Height + 1, verification.BlocksChecked);
            var expected = CrashWorkload.StateAfter(head.Height);
            Assert.Equal(ReferenceTree.Root(CrashWorkload.Suite, expected), verification.StateRoot);
            Assert.Equal(expected.Count, verification.StateKeys);

            // The last block is whole: its transactions, receipts and journal entry were written with it.
            var last = store.ReadBlock(head.Height)!;
            Assert.Equal(2, last.Block.Transactions.Count);
            foreach (var transaction in last.Block.Transactions)
            {
                var location = store.FindTransaction(transaction.ComputeId(store.Suite))!.Value;
                Assert.NotNull(store.ReadReceipt(location));
            }

            Assert.Equal(head.Height + 1, head.Journal.Length);
            Assert.Equal(CrashWorkload.JournalPayload(head.Height), store.Journal.Read(head.Height, head.Height + 1)[0].Payload);
            if (lastHeight is not { } previous || head.Height > previous) advanced++;
            lastHeight = head.Height;
        }

        return (advanced, lastHeight + 1);
    }

    /// <summary>Collects the writer's lines until its output closes, signalling when enough blocks were persisted.</summary>
    private static async Task<List<string>> ReadLines(StreamReader reader, Progress progress)
    {
        var lines = new List<string>();
        var persisted = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            lines.Add(line);
            if (line.StartsWith("persisted", StringComparison.Ordinal)) persisted++;
            if (line.StartsWith("ready", StringComparison.Ordinal) || line.StartsWith("persisted", StringComparison.Ordinal))
            {
                if (persisted >= progress.Blocks) progress.Reached.TrySetResult();
            }
        }

        return lines;
    }

    private sealed class Progress(int blocks)
    {
        public int Blocks { get; } = blocks;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [GeneratedRegex(@"^persisted (\d+)$")]
    private static partial Regex Persisted();
}
