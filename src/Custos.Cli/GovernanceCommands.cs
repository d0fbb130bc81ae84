using System.CommandLine;
using System.Globalization;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Custos.Governance;
using Custos.Governance.Wire;
using Custos.Sdk;
using Google.Protobuf;

namespace Custos.Cli;

/// <summary>
/// `custos governance`: an organisation administrator proposes a change, votes on one, and anyone reads proposals
/// with their votes and outcome, each read verified as a light client (OPS-5). Acts as a user of a network directory.
/// </summary>
internal static class GovernanceCommands
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("governance", "Propose consortium changes, vote on them and read proposals (system.governance)");
        command.Subcommands.Add(Propose(output));
        command.Subcommands.Add(Vote(output));
        command.Subcommands.Add(Show(output));
        command.Subcommands.Add(List(output));
        return command;
    }

    private static Option<string> As(string fallback) => new("--as") { Description = "Act as this administrator (USER@ORG)", DefaultValueFactory = _ => fallback };

    private static Option<string> NodeOption() => new("--node") { Description = "Node to use", DefaultValueFactory = _ => "node1" };

    private static Command Propose(TextWriter output)
    {
        var network = NodeCommands.NetworkOption();
        var user = As("admin@org1");
        var node = NodeOption();
        var title = new Option<string>("--title") { Description = "What the proposal is, in a line", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why", DefaultValueFactory = _ => "" };
        var addValidator = new Option<string?>("--add-validator") { Description = "Make this registered node a validator from the next epoch" };
        var removeValidator = new Option<string?>("--remove-validator") { Description = "Remove this node from the validators at the next epoch" };
        var parameter = new Option<string?>("--set-parameter") { Description = "NAME=VALUE: set a chain parameter (minimumValidators, validatorAlertThreshold, proposalLifetimeBlocks)" };
        var deploy = new Option<string?>("--deploy-contract") { Description = "NAME: approve deploying the module given by --code as --version" };
        var upgrade = new Option<string?>("--upgrade-contract") { Description = "NAME: approve upgrading to the module given by --code as --version" };
        var code = new Option<string?>("--code") { Description = "The contract module (.wasm) whose hash the approval names" };
        var version = new Option<uint>("--version") { Description = "The contract version the approval names", DefaultValueFactory = _ => 1 };
        var migrate = new Option<string>("--migrate") { Description = "A method run once on the new version when it is deployed", DefaultValueFactory = _ => "" };
        var freeze = new Option<string?>("--freeze-contract") { Description = "NAME: freeze every version of an application contract" };
        var unfreeze = new Option<string?>("--unfreeze-contract") { Description = "NAME: lift a freeze" };
        var abolish = new Option<string?>("--abolish-contract") { Description = "NAME: abolish an application contract (final)" };
        var command = new Command("propose", "Propose one change; prints the proposal's id")
        {
            network, user, node, title, reason, addValidator, removeValidator, parameter, deploy, upgrade, code, version, migrate, freeze, unfreeze, abolish,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var directory = NetworkDirectory.Open(parse.GetValue(network)!);
            var titleText = parse.GetValue(title)!;
            var why = parse.GetValue(reason)!;
            byte[] CodeHash() => parse.GetValue(code) is { } path
                ? directory.Chain.Suite.Hash(File.ReadAllBytes(path)).ToArray()
                : throw new CustosException(ErrorCode.InvalidField, "a contract approval needs --code FILE.wasm");
            var chosen = new List<ProposeArguments>();
            if (parse.GetValue(addValidator) is { } added) chosen.Add(GovernanceTransactions.AddValidator(titleText, added, why));
            if (parse.GetValue(removeValidator) is { } removed) chosen.Add(GovernanceTransactions.RemoveValidator(titleText, removed, why));
            if (parse.GetValue(parameter) is { } setting)
            {
                var equals = setting.IndexOf('=');
                if (equals <= 0 || !ulong.TryParse(setting[(equals + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                {
                    throw new CustosException(ErrorCode.InvalidField, $"--set-parameter takes NAME=VALUE with a whole number, not '{setting}'");
                }

                chosen.Add(GovernanceTransactions.SetParameter(titleText, setting[..equals], value, why));
            }

            if (parse.GetValue(deploy) is { } deployed) chosen.Add(GovernanceTransactions.DeployContract(titleText, deployed, parse.GetValue(version), CodeHash(), parse.GetValue(migrate)!, why));
            if (parse.GetValue(upgrade) is { } upgraded) chosen.Add(GovernanceTransactions.UpgradeContract(titleText, upgraded, parse.GetValue(version), CodeHash(), parse.GetValue(migrate)!, why));
            if (parse.GetValue(freeze) is { } frozen) chosen.Add(GovernanceTransactions.FreezeContract(titleText, frozen, why));
            if (parse.GetValue(unfreeze) is { } thawed) chosen.Add(GovernanceTransactions.UnfreezeContract(titleText, thawed, why));
            if (parse.GetValue(abolish) is { } abolished) chosen.Add(GovernanceTransactions.AbolishContract(titleText, abolished, why));
            if (chosen.Count != 1) throw new CustosException(ErrorCode.InvalidField, "name exactly one change (--add-validator, --remove-validator, --set-parameter, --deploy-contract, ...)");

            var receipt = await CommitAsync(directory, parse.GetValue(user)!, parse.GetValue(node)!, GovernanceContract.ProposeMethod, chosen[0], cancellationToken);
            if (receipt.Code != ErrorCode.Ok)
            {
                output.WriteLine($"refused: {receipt.Code} {receipt.Message}");
                return CustosCommand.ExitRefused;
            }

            output.WriteLine($"proposal {GovernanceTransactions.ProposalIdOf(receipt)} recorded at height {receipt.Height}");
            return 0;
        });
        return command;
    }

    private static Command Vote(TextWriter output)
    {
        var network = NodeCommands.NetworkOption();
        var user = As("admin@org1");
        var node = NodeOption();
        var id = new Argument<string>("proposal") { Description = "The proposal's id" };
        var reject = new Option<bool>("--reject") { Description = "Vote against (the default is to approve)" };
        var reason = new Option<string>("--reason") { Description = "Why", DefaultValueFactory = _ => "" };
        var command = new Command("vote", "Vote for (or with --reject against) a proposal on behalf of your organisation") { network, user, node, id, reject, reason };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var directory = NetworkDirectory.Open(parse.GetValue(network)!);
            var proposal = parse.GetValue(id)!;
            var arguments = parse.GetValue(reject) ? GovernanceTransactions.Reject(proposal, parse.GetValue(reason)!) : GovernanceTransactions.Approve(proposal, parse.GetValue(reason)!);
            var receipt = await CommitAsync(directory, parse.GetValue(user)!, parse.GetValue(node)!, GovernanceContract.VoteMethod, arguments, cancellationToken);
            if (receipt.Code != ErrorCode.Ok)
            {
                output.WriteLine($"refused: {receipt.Code} {receipt.Message}");
                return CustosCommand.ExitRefused;
            }

            var outcome = receipt.Events.FirstOrDefault(e => e.Contract == GovernanceContract.ContractName && e.Name is "executed" or "failed" or "rejected");
            output.WriteLine($"vote recorded at height {receipt.Height}{(outcome is null ? "; the proposal is still open" : $"; the proposal is now {outcome.Name}")}");
            return 0;
        });
        return command;
    }

    private static Command Show(TextWriter output)
    {
        var network = NodeCommands.NetworkOption();
        var user = As("client1@org1");
        var node = NodeOption();
        var id = new Argument<string>("proposal") { Description = "The proposal's id" };
        var command = new Command("show", "A proposal with its votes and outcome, verified against a QC-signed header") { network, user, node, id };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var directory = NetworkDirectory.Open(parse.GetValue(network)!);
            using var identity = directory.User(parse.GetValue(user)!);
            using var client = directory.Connect(identity, parse.GetValue(node)!);
            var state = await client.ReadVerifiedStateAsync(GovernanceContract.ProposalKey(parse.GetValue(id)!), cancellationToken: cancellationToken);
            if (state.Value is null)
            {
                output.WriteLine($"no proposal {parse.GetValue(id)} at version {state.Version} (absence proven)");
                return CustosCommand.ExitRefused;
            }

            var record = ProposalRecord.Parser.ParseFrom(state.Value);
            output.WriteLine($"proposal {record.Id}: {record.Title} ({record.Kind})");
            output.WriteLine($"  status {GovernanceContract.StatusAt(record, state.Version)}, proposed by {record.ProposerOrganisation} at height {record.CreatedHeight}, open until {record.ExpiryHeight}{(record.RegulatorRequired ? ", needs the regulator" : "")}");
            foreach (var vote in record.Votes) output.WriteLine($"  {(vote.Approve ? "approve" : "reject "),-7} {vote.Organisation,-12} at height {vote.Height} {vote.Reason}".TrimEnd());
            if (record.Code != ErrorCode.Ok) output.WriteLine($"  outcome: {record.Code} {record.Message}");
            output.WriteLine($"  (verified at version {state.Version}, root {state.StateRoot.ToShortString()})");
            return 0;
        });
        return command;
    }

    private static Command List(TextWriter output)
    {
        var network = NodeCommands.NetworkOption();
        var user = As("client1@org1");
        var node = NodeOption();
        var command = new Command("list", "Every proposal in order with its status, each read verified") { network, user, node };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var directory = NetworkDirectory.Open(parse.GetValue(network)!);
            using var identity = directory.User(parse.GetValue(user)!);
            using var client = directory.Connect(identity, parse.GetValue(node)!);
            var count = await client.ReadVerifiedStateAsync(GovernanceContract.ProposalCountKey, cancellationToken: cancellationToken);
            var total = count.Value is { Length: 8 } bytes ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;
            for (ulong sequence = 0; sequence < total; sequence++)
            {
                var idBytes = await client.ReadVerifiedStateAsync(GovernanceContract.ProposalSequenceKey(sequence), count.Version, cancellationToken);
                if (idBytes.Value is null) continue;
                var record = await client.ReadVerifiedStateAsync(GovernanceContract.ProposalKey(System.Text.Encoding.ASCII.GetString(idBytes.Value)), count.Version, cancellationToken);
                if (record.Value is null) continue;
                var proposal = ProposalRecord.Parser.ParseFrom(record.Value);
                output.WriteLine($"{proposal.Id}  {GovernanceContract.StatusAt(proposal, count.Version),-9} {proposal.Votes.Count(v => v.Approve)} for, {proposal.Votes.Count(v => !v.Approve)} against  {proposal.Title}");
            }

            output.WriteLine($"{total} proposal(s) at version {count.Version} (every read verified)");
            return 0;
        });
        return command;
    }

    private static async Task<Receipt> CommitAsync(NetworkDirectory directory, string label, string node, string method, IMessage arguments, CancellationToken cancellationToken)
    {
        using var sender = directory.User(label);
        using var client = directory.Connect(sender, node);
        var status = await client.StatusAsync(cancellationToken);
        var signed = sender.Signer.Sign(GovernanceContract.ContractName, GovernanceContract.ContractVersion, method, arguments, status.Height + 1_000);
        var result = (await client.SubmitAsync([signed], cancellationToken))[0];
        if (result.Code != ErrorCode.Ok) return new Receipt { Code = result.Code, Message = $"refused at admission: {result.Message}" };
        var committed = await client.WaitForCommitAsync(signed.Id, TimeSpan.FromSeconds(60), cancellationToken);
        return committed.Receipt ?? throw new CustosException(ErrorCode.NotFound, "not committed within 60 s");
    }
}
