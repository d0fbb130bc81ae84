using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Custos.Api;
using Custos.Cli.Init;
using Custos.Cli.Network;
using Custos.Cli.Scenarios;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Execution;
using Custos.Sdk;

namespace Custos.Cli;

/// <summary>
/// `custos devnet`: a fresh local network (4 validators and an observer by default) in a data directory, each node
/// its own process on 127.0.0.1; prints endpoints and a live status line until Ctrl-C, then stops every node
/// cleanly. With `--smoke N` it submits N signed transfers instead, checks that every node holds the same block
/// hashes and state root, prints one summary line and exits (0, or non-zero with the reason).
/// </summary>
internal static class DevnetCommand
{
    public static Command Create(TextWriter output)
    {
        var directory = new Option<string>("--dir") { Description = "Where the network lives (replaced if it exists)", DefaultValueFactory = _ => ".devnet" };
        var smoke = new Option<int>("--smoke") { Description = "Submit this many transfers, verify every node agrees, and exit" };
        var validators = new Option<int>("--validators") { Description = "Validators (n = 3f + 1)", DefaultValueFactory = _ => 4 };
        var observers = new Option<int>("--observers") { Description = "Observers (the first is the regulator's supervisor node)", DefaultValueFactory = _ => 1 };
        var suite = new Option<string>("--suite") { Description = "gm (SM2/SM3/SM4, the default) or intl", DefaultValueFactory = _ => "gm" };
        var basePort = new Option<int>("--base-port") { Description = "Ports: P2P base+1.., client API base+1001.., HTTP base+2001..", DefaultValueFactory = _ => 7100 };
        var scenario = new Option<string?>("--scenario") { Description = "Run a scenario on the fresh network and print each step (dcep, supervision, governance)" };
        var exit = new Option<bool>("--exit") { Description = "With --scenario dcep: exit after the summary (0 only if every check held) instead of running on" };
        var command = new Command("devnet", "Run a local network of real node processes (the README's main command)") { directory, smoke, validators, observers, suite, basePort, scenario, exit };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var root = Path.GetFullPath(parse.GetValue(directory)!);
            var count = parse.GetValue(smoke);
            if (count < 0) throw new CustosException(ErrorCode.InvalidField, "--smoke must be positive");
            output.WriteLine($"devnet: creating a {parse.GetValue(validators)}-validator network in {root}");
            new ConsortiumInitializer(TextWriter.Null).Run(new InitOptions
            {
                OutputDirectory = root,
                Validators = parse.GetValue(validators),
                Observers = parse.GetValue(observers),
                Suite = CryptoSuites.Parse(parse.GetValue(suite)!),
                BasePort = parse.GetValue(basePort),
                // A throwaway local network: the fastest key-file KDF the format allows.
                KdfIterations = EncryptedKeyFile.MinimumIterations,
                Overwrite = true,
            });
            var network = NetworkDirectory.Open(root);
            var scenarioName = parse.GetValue(scenario);
            if (scenarioName is not null && scenarioName is not ("dcep" or "supervision" or "governance")) throw new CustosException(ErrorCode.InvalidField, $"unknown scenario '{scenarioName}' (dcep, supervision, governance)");
            await using var supervision = scenarioName == "supervision" ? await SupervisionBackOffice.PrepareAsync(network, output, cancellationToken) : null;
            await using var processes = DevnetProcesses.Start(network);
            await processes.WaitHealthyAsync(TimeSpan.FromSeconds(90), cancellationToken);
            foreach (var node in processes.Nodes) output.WriteLine($"  {node.Name,-12} api {node.ApiAddress}  http http://{node.HttpAddress} (health, metrics, REST)  pid {node.ProcessId}");

            if (supervision is not null)
            {
                using var run = new SupervisionScenario(network, processes, supervision, output);
                var result = await run.RunAsync(cancellationToken);
                output.WriteLine(result.Summary());
                return result.Passed ? 0 : 1;
            }

            if (scenarioName == "dcep")
            {
                bool passed;
                using (var run = new DigitalCurrencyScenario(network, processes, output))
                {
                    var result = await run.RunAsync(cancellationToken);
                    output.WriteLine(result.Summary());
                    passed = result.Passed;
                }

                // The summary is the last line with --exit; otherwise the network runs on for people to explore.
                if (!parse.GetValue(exit)) await WatchAsync(network, processes, output, cancellationToken);
                return passed ? 0 : 1;
            }

            if (scenarioName == "governance")
            {
                using var run = new GovernanceScenario(network, processes, output);
                var result = await run.RunAsync(cancellationToken);
                output.WriteLine(result.Summary());
                return result.Passed ? 0 : 1;
            }

            if (count > 0)
            {
                var summary = await SmokeTest.RunAsync(network, processes, count, output, cancellationToken);
                output.WriteLine(summary);
                return 0;
            }

            return await WatchAsync(network, processes, output, cancellationToken);
        });
        return command;
    }

    /// <summary>A live status line until Ctrl-C or SIGTERM; then the nodes are stopped by the caller's dispose.</summary>
    private static async Task<int> WatchAsync(NetworkDirectory network, DevnetProcesses processes, TextWriter output, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        output.WriteLine($"devnet: running; try `./custos tx transfer --network {network.Root} --from client1@org1 --to client1@org2 --amount 5`; Ctrl-C stops it");
        using var user = network.User("admin@org1");
        var clients = network.Chain.Nodes.Select(n => network.Connect(user, n.Name)).ToList();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var parts = new List<string>();
                for (var i = 0; i < clients.Count; i++)
                {
                    try
                    {
                        var status = await clients[i].StatusAsync(stop.Token).WaitAsync(TimeSpan.FromSeconds(2), stop.Token);
                        parts.Add($"{status.Node} h{status.Height}");
                    }
                    catch (Exception e) when (e is Grpc.Core.RpcException or TimeoutException)
                    {
                        parts.Add($"{network.Chain.Nodes[i].Name} down");
                    }
                }

                output.Write($"\r{string.Join("  ", parts)}   ");
                foreach (var node in processes.Nodes) node.ThrowIfExited();
                await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }

        output.WriteLine();
        output.WriteLine("devnet: stopping every node");
        return 0;
    }
}

/// <summary>The `--smoke` run: signed transfers through the SDK, then agreement of every node checked block by block.</summary>
internal static class SmokeTest
{
    public static async Task<string> RunAsync(NetworkDirectory network, DevnetProcesses processes, int count, TextWriter output, CancellationToken cancellationToken)
    {
        var chain = network.Chain;
        var validators = chain.Genesis.Validators.Select(v => v.Name).ToList();
        var senders = chain.Genesis.Accounts.Where(a => a.Balance > 0).Select(a => network.User(a.Label)).ToList();
        if (senders.Count < 2) throw new CustosException(ErrorCode.InvalidField, "the smoke test needs two funded accounts");
        var connections = senders.Select((s, i) => network.Connect(s, validators[i % validators.Count])).ToList();
        try
        {
            var start = await connections[0].StatusAsync(cancellationToken);
            var expiry = start.Height + 1_000;
            var watch = Stopwatch.StartNew();
            var signed = new SignedTransaction[count];
            Parallel.For(0, senders.Count, s =>
            {
                for (var k = s; k < count; k += senders.Count) signed[k] = senders[s].Signer.Transfer(senders[(s + 1) % senders.Count].Account, 1, expiry);
            });
            output.WriteLine($"smoke: signed {count} transfers from {senders.Count} accounts in {watch.Elapsed.TotalSeconds:0.00} s; submitting");

            // Commits are followed on one stream per connection (receipts included), opened before submitting.
            var pending = new HashSet<Hash32>(signed.Select(t => t.Id));
            var heightOf = new Dictionary<Hash32, ulong>();
            using var following = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            following.CancelAfter(TimeSpan.FromSeconds(180));
            var allCommitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var failures = new List<string>();
            var streams = connections.Take(1).Select(connection => Task.Run(async () =>
            {
                await foreach (var notice in connection.StreamCommitsAsync(start.Height + 1, following.Token))
                {
                    lock (pending)
                    {
                        foreach (var receipt in notice.Receipts)
                        {
                            var id = new Hash32(receipt.TransactionId.Span);
                            if (!pending.Remove(id)) continue;
                            heightOf[id] = notice.Height;
                            if (receipt.Code != ErrorCode.Ok) failures.Add($"transfer {id.ToShortString()} failed: {receipt.Code} {receipt.Message}");
                        }

                        if (pending.Count == 0)
                        {
                            allCommitted.TrySetResult();
                            return;
                        }
                    }
                }
            }, following.Token)).ToList();

            watch.Restart();
            var submissions = new List<Task>();
            for (var s = 0; s < senders.Count; s++)
            {
                var mine = Enumerable.Range(0, count).Where(k => k % senders.Count == s).Select(k => signed[k]).ToList();
                var client = connections[s];
                submissions.Add(Task.Run(async () =>
                {
                    foreach (var chunk in mine.Chunk(250))
                    {
                        var results = await client.SubmitAsync(chunk, cancellationToken);
                        var refused = results.FirstOrDefault(r => r.Code != ErrorCode.Ok);
                        if (refused is not null) throw new CustosException(refused.Code, $"a transfer was refused at admission: {refused.Message}");
                    }
                }, cancellationToken));
            }

            await Task.WhenAll(submissions);

            // Every acknowledged transfer must commit, with a successful receipt.
            try
            {
                await allCommitted.Task.WaitAsync(following.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new CustosException(ErrorCode.NotFound, $"{pending.Count} of {count} acknowledged transfers not committed within 180 s");
            }

            await following.CancelAsync();
            if (failures.Count > 0) throw new CustosException(ErrorCode.InvalidField, $"{failures.Count} transfers failed; first: {failures[0]}");
            var highest = heightOf.Values.Max();
            var elapsed = watch.Elapsed;
            output.WriteLine($"smoke: {count} transfers committed by height {highest} in {elapsed.TotalSeconds:0.00} s; checking every node");

            // Every node (validators and observers) must reach the block after the last transfer and agree on every
            // block hash up to it and on the state root after the last transfer (proof verified against each node's QC).
            var reference = network.User(senders[0].Label);
            var clients = chain.Nodes.Select(n => network.Connect(reference, n.Name)).ToList();
            try
            {
                var target = highest + 1;
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                foreach (var client in clients)
                {
                    while ((await client.StatusAsync(cancellationToken)).Height < target)
                    {
                        if (DateTime.UtcNow > deadline) throw new CustosException(ErrorCode.NotFound, $"a node did not reach height {target} within 60 s");
                        await Task.Delay(100, cancellationToken);
                    }
                }

                for (ulong h = 0; h <= target; h++)
                {
                    string? expected = null;
                    for (var i = 0; i < clients.Count; i++)
                    {
                        var block = await clients[i].BlockAsync(h, cancellationToken);
                        var hash = Convert.ToHexStringLower(chain.Suite.HashObject(ObjectType.BlockHeader, Core.Wire.Block.Parser.ParseFrom(block.Block).Header.Span).ToArray());
                        expected ??= hash;
                        if (hash != expected) throw new CustosException(ErrorCode.StorageCorrupt, $"FORK: block {h} differs between {chain.Nodes[0].Name} and {chain.Nodes[i].Name}");
                    }
                }

                Hash32? root = null;
                var key = TokenContract.BalanceKey(senders[0].Account);
                for (var i = 0; i < clients.Count; i++)
                {
                    var state = await clients[i].ReadVerifiedStateAsync(key, highest, cancellationToken);
                    root ??= state.StateRoot;
                    if (state.StateRoot != root) throw new CustosException(ErrorCode.StorageCorrupt, $"state root after block {highest} differs on {chain.Nodes[i].Name}");
                }

                foreach (var node in processes.Nodes) node.ThrowIfExited();
                return $"smoke: {count} transfers committed, {clients.Count} nodes agree on {target + 1} block hashes and state root {root!.Value.ToShortString()} (proofs verified); {count / elapsed.TotalSeconds:0} TPS submit-to-commit";
            }
            finally
            {
                foreach (var client in clients) client.Dispose();
                reference.Dispose();
            }
        }
        finally
        {
            foreach (var connection in connections) connection.Dispose();
            foreach (var sender in senders) sender.Dispose();
        }
    }
}
