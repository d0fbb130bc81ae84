using System.Buffers.Binary;
using System.CommandLine;
using System.Runtime.InteropServices;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Node;

namespace Custos.Cli;

/// <summary>
/// `custos node` runs one node until SIGTERM or Ctrl-C; `custos status`, `custos tx` and `custos query` act as a
/// user of a network directory (written by `custos init` or `custos devnet`) through the SDK, over the chain's TLS.
/// </summary>
internal static class NodeCommands
{
    public static Command Node(TextWriter output)
    {
        var config = new Option<string>("--config") { Description = "The node's configuration file (node.json written by `custos init`)", Required = true };
        var command = new Command("node", "Run a node: consensus, execution, storage, peer network and client API") { config };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var log = new NodeLog(Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(parse.GetValue(config)!))) ?? "node", output, TimeProvider.System);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });
            await using var node = await LedgerNode.StartAsync(parse.GetValue(config)!, log, stop.Token);
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
                    if (node.HaltReason is { } reason)
                    {
                        // Keep serving reads so operators can inspect it, but say so once.
                        log.Error("node-halted", ("reason", reason));
                        await Task.Delay(Timeout.Infinite, stop.Token);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            log.Info("node-stopping");
            return 0;
        });
        return command;
    }

    public static Command Status(TextWriter output)
    {
        var network = NetworkOption();
        var user = UserOption("admin@org1");
        var node = new Option<string?>("--node") { Description = "One node (default: every node of the genesis file)" };
        var command = new Command("status", "Print each node's height, round, state root, peers and mempool") { network, user, node };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var directory = NetworkDirectory.Open(parse.GetValue(network)!);
            using var identity = directory.User(parse.GetValue(user)!);
            var failures = 0;
            foreach (var name in parse.GetValue(node) is { } one ? [one] : directory.Chain.Nodes.Select(n => n.Name))
            {
                try
                {
                    using var client = directory.Connect(identity, name);
                    var status = await client.StatusAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
                    output.WriteLine($"{name,-12} height {status.Height,-8} round {status.Round,-8} epoch {status.Epoch} state {new Hash32(status.StateRoot.Span).ToShortString()} peers {status.PeersConnected} mempool {status.MempoolTransactions}");
                }
                catch (Exception e) when (e is Grpc.Core.RpcException or TimeoutException or HttpRequestException or CustosException)
                {
                    failures++;
                    output.WriteLine($"{name,-12} unreachable: {e.Message}");
                }
            }

            return failures == 0 ? 0 : 1;
        });
        return command;
    }

    public static Command Transaction(TextWriter output)
    {
        var command = new Command("tx", "Sign, submit and wait for transactions");
        var network = NetworkOption();
        var from = UserOption("client1@org1", "--from");
        var to = new Option<string>("--to") { Description = "Recipient: a genesis account label (USER@ORG) or an account id in hex", Required = true };
        var amount = new Option<ulong>("--amount") { Description = "Amount in the smallest unit", Required = true };
        var node = new Option<string>("--node") { Description = "Node to submit to", DefaultValueFactory = _ => "node1" };
        var transfer = new Command("transfer", "Transfer tokens and print the receipt once committed") { network, from, to, amount, node };
        transfer.SetAction(async (parse, cancellationToken) =>
        {
            var directory = NetworkDirectory.Open(parse.GetValue(network)!);
            using var sender = directory.User(parse.GetValue(from)!);
            using var client = directory.Connect(sender, parse.GetValue(node)!);
            var status = await client.StatusAsync(cancellationToken);
            var signed = sender.Signer.Transfer(directory.Account(parse.GetValue(to)!), parse.GetValue(amount), status.Height + 1_000);
            var result = (await client.SubmitAsync([signed], cancellationToken))[0];
            if (result.Code != ErrorCode.Ok) throw new CustosException(result.Code, result.Message);
            output.WriteLine($"submitted {signed.Id}");
            var committed = await client.WaitForCommitAsync(signed.Id, TimeSpan.FromSeconds(60), cancellationToken);
            if (committed.State != Api.TransactionState.Committed) throw new CustosException(ErrorCode.NotFound, "not committed within 60 s");
            output.WriteLine($"committed at height {committed.Height}: {committed.Receipt.Code} {committed.Receipt.Message}".TrimEnd());
            return committed.Receipt.Code == ErrorCode.Ok ? 0 : CustosCommand.ExitRefused;
        });
        command.Subcommands.Add(transfer);
        return command;
    }

    public static Command Query(TextWriter output)
    {
        var command = new Command("query", "Read state with a Merkle proof verified against a QC-signed header");
        var network = NetworkOption();
        var user = UserOption("client1@org1");
        var account = new Option<string>("--account") { Description = "A genesis account label (USER@ORG) or an account id in hex", Required = true };
        var node = new Option<string>("--node") { Description = "Node to ask", DefaultValueFactory = _ => "node1" };
        var balance = new Command("balance", "An account's token balance, proven") { network, user, account, node };
        balance.SetAction(async (parse, cancellationToken) =>
        {
            var directory = NetworkDirectory.Open(parse.GetValue(network)!);
            using var identity = directory.User(parse.GetValue(user)!);
            using var client = directory.Connect(identity, parse.GetValue(node)!);
            var state = await client.ReadVerifiedStateAsync(TokenContract.BalanceKey(directory.Account(parse.GetValue(account)!)), cancellationToken: cancellationToken);
            var value = state.Value is null ? 0 : BinaryPrimitives.ReadUInt64BigEndian(state.Value);
            output.WriteLine($"balance {value} at version {state.Version} (root {state.StateRoot.ToShortString()}, certified by the QC of block {state.CertifiedHeight}; proof verified)");
            return 0;
        });
        command.Subcommands.Add(balance);
        return command;
    }

    public static Option<string> NetworkOption() => new("--network")
    {
        Description = "The network directory written by `custos init` or `custos devnet`",
        DefaultValueFactory = _ => ".devnet",
    };

    private static Option<string> UserOption(string defaultUser, string name = "--user") => new(name)
    {
        Description = "Act as this user of the network directory (USER@ORG)",
        DefaultValueFactory = _ => defaultUser,
    };
}
