using System.Globalization;
using Custos.Api;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Governance;
using Custos.Governance.Wire;
using Custos.Node;
using Custos.Sdk;

namespace Custos.Cli.Scenarios;

/// <summary>
/// `custos devnet --scenario governance`: the consortium governs itself on a fresh network. Every node is registered
/// with its software and host facts; a new organisation is admitted (members and the regulator approve) and brings
/// a node of its own, which the others learn from the chain, trust and dial; that node becomes a fifth validator at
/// the next epoch and is shown to vote (with one old validator stopped, commits need its vote); a supervision
/// suspension takes a validator out and its resumption brings it back; a validator is removed; a removal below the
/// minimum is refused; WASM contracts are proposed, approved, deployed and called, and the refusals hold (unapproved
/// deployment, out of fuel, frozen); a light client verifies state across the epoch changes; all nodes agree.
/// </summary>
internal sealed partial class GovernanceScenario(NetworkDirectory network, DevnetProcesses processes, TextWriter output) : IDisposable
{
    public const string NewOrganisation = "org4";
    public const string NewNode = "node5";

    private readonly ScenarioRun _run = new("governance", output);
    private readonly List<NetworkUser> _users = [];
    private readonly List<LedgerSession> _sessions = [];
    private readonly List<IDisposable> _owned = [];
    private ulong _epoch;
    private ChainTrust _trust = network.Trust;

    private NetworkUser User(string label)
    {
        var user = network.User(label);
        _users.Add(user);
        return user;
    }

    public async Task<ScenarioRun> RunAsync(CancellationToken cancellationToken)
    {
        var admins = new Dictionary<string, NetworkUser>(StringComparer.Ordinal)
        {
            ["org1"] = User("admin@org1"),
            ["org2"] = User("admin@org2"),
            ["org3"] = User("admin@org3"),
            ["regulator"] = User("admin@regulator"),
        };
        var client = User("client1@org1");
        var payee = User("client1@org2");
        // node2 carries the scenario's transactions: node1 is stopped for a while below.
        var ledger = new LedgerSession(network.Connect(admins["org1"], "node2"), TimeSpan.FromSeconds(90));
        _sessions.Add(ledger);
        var validators = network.Chain.Genesis.Validators.Select(v => v.Name).ToList();

        await RegisterNodesAsync(ledger, admins, client, cancellationToken);
        var admission = await AdmitOrganisationAsync(ledger, admins, cancellationToken);
        var newNode = await StartAdmittedNodeAsync(ledger, admission, cancellationToken);
        // In this order: the first four include the regulator, whose approval some kinds need.
        List<TransactionSigner> allAdmins = [admins["org1"].Signer, admins["org2"].Signer, admins["org3"].Signer, admins["regulator"].Signer, admission.Signer];

        // A fifth validator: five member organisations now, so four approvals are needed.
        _run.Step($"{NewOrganisation} proposes its node {NewNode} as a fifth validator; members approve");
        var added = await DecideAsync(ledger, admission.Signer, GovernanceTransactions.AddValidator($"admit {NewNode} as a validator", NewNode), allAdmins.Take(4), cancellationToken);
        _run.Expect(added.Status == ProposalStatus.Executed, $"adding {NewNode} passed with {added.Votes.Count} approvals and was carried out", Describe(added));
        await ExpectEpochAsync(newNode, 5, $"{NewNode} votes from the next epoch on", cancellationToken);

        _run.Step("node1 is stopped: with five validators a quorum is four, so commits now need node5's vote");
        await processes.StopNodeAsync("node1");
        var transfer = await ledger.CommitRawAsync(client.Signer.Transfer(payee.Account, 1_000, await ledger.ExpiryAsync(cancellationToken)), cancellationToken);
        _run.ExpectCode(transfer, ErrorCode.Ok, $"a transfer commits with node1 down: {NewNode} voted");
        var node1 = processes.StartNode(network, "node1", network.ConfigPath("node1"));
        var rejoined = await WaitAsync(async () =>
        {
            node1.ThrowIfExited();
            var head = (await ledger.Client.StatusAsync(cancellationToken)).Height;
            return (await StatusOfAsync(node1, cancellationToken))?.Height >= head;
        }, TimeSpan.FromSeconds(90), cancellationToken);
        _run.Expect(rejoined, "node1 restarted and caught up with the others");

        await SuspendAndResumeAsync(ledger, admins, cancellationToken);

        _run.Step("the consortium removes node4 from the validators");
        var removed = await DecideAsync(ledger, admins["org1"].Signer, GovernanceTransactions.RemoveValidator("retire node4", "node4"), allAdmins.Take(4), cancellationToken);
        _run.Expect(removed.Status == ProposalStatus.Executed, "removing node4 passed and was carried out", Describe(removed));
        await ExpectEpochAsync(newNode, 4, "the network runs on four validators", cancellationToken);
        var alert = await MetricAsync(processes.Nodes.Single(n => n.Name == "node2"), "custos_validators_alert", cancellationToken);
        _run.Expect(alert == 1, "at the minimum the nodes raise the validator-count alert (GOV-1)", $"custos_validators_alert = {alert}");

        _run.Step("a further removal would leave three validators");
        var belowMinimum = await ledger.CommitAsync(admins["org2"].Signer, GovernanceContract.ContractName, GovernanceContract.ProposeMethod,
            GovernanceTransactions.RemoveValidator("retire node3", "node3"), cancellationToken);
        _run.ExpectCode(belowMinimum, ErrorCode.ValidatorsBelowMinimum, "a removal below the minimum of four is refused when proposed");

        _run.Step("the consortium changes chain parameters: block size and the round timer");
        var blockSize = await DecideAsync(ledger, admins["org3"].Signer, GovernanceTransactions.SetParameter("smaller blocks", ConsortiumRegistry.BlockTransactionsMaxParameter, 500), allAdmins.Take(4), cancellationToken);
        _run.Expect(blockSize.Status == ProposalStatus.Executed, "blockTransactionsMax = 500 passed and was carried out", Describe(blockSize));
        var timer = await DecideAsync(ledger, admins["org3"].Signer, GovernanceTransactions.SetParameter("a calmer round timer", ConsortiumRegistry.RoundTimeoutMsParameter, 1_500), allAdmins.Take(4), cancellationToken);
        _run.Expect(timer.Status == ProposalStatus.Executed, "roundTimeoutMs = 1500 passed and was carried out; every node applies it from its next timer", Describe(timer));
        var unknown = await ledger.CommitAsync(admins["org3"].Signer, GovernanceContract.ContractName, GovernanceContract.ProposeMethod,
            GovernanceTransactions.SetParameter("no such thing", "blockTimeMs", 10), cancellationToken);
        _run.ExpectCode(unknown, ErrorCode.ProposalInvalid, "a parameter nothing reads cannot be proposed");

        await RunContractsAsync(ledger, allAdmins, client, cancellationToken);

        _run.Step("a light client on the new node verifies state across every epoch change from the genesis validators on");
        using (var light = CustosClient.Connect(_trust, client.Certificate, client.Key, NewNode, "127.0.0.1", Port(newNode.ApiAddress)))
        {
            var balance = await light.ReadVerifiedStateAsync(TokenContract.BalanceKey(payee.Account), cancellationToken: cancellationToken);
            var status = await light.StatusAsync(cancellationToken);
            _run.Expect(balance.Value is not null, $"a balance read from {NewNode} verifies in epoch {status.Epoch}", $"version {balance.Version}");
        }

        await ExpectAgreementAsync(cancellationToken);
        return _run;
    }

    /// <summary>GOV-2: each node's organisation declares it with the facts the node reports about itself.</summary>
    private async Task RegisterNodesAsync(LedgerSession ledger, Dictionary<string, NetworkUser> admins, NetworkUser client, CancellationToken cancellationToken)
    {
        _run.Step("each organisation registers its nodes: software version, host facts, owner (GOV-2)");
        var registered = 0;
        foreach (var node in network.Chain.Nodes)
        {
            var admin = admins[node.Organisation];
            using var session = network.Connect(admin, node.Name);
            var status = await session.StatusAsync(cancellationToken);
            var key = Custos.Identity.ConsortiumCertificate.FromPem(node.Certificate, network.Chain.Suite).PublicKey;
            var receipt = await ledger.CommitAsync(admin.Signer, GovernanceContract.ContractName, GovernanceContract.RegisterNodeMethod,
                GovernanceTransactions.RegisterNode(node.Name, key.Encoded, status.Version, status.OperatingSystem, status.ProcessorCount, status.HostName, node.P2pAddress),
                cancellationToken);
            if (receipt.Code == ErrorCode.Ok) registered++;
            else _run.ExpectCode(receipt, ErrorCode.Ok, $"{node.Name} registered");
        }

        _run.Expect(registered == network.Chain.Nodes.Count, $"all {network.Chain.Nodes.Count} nodes registered by their organisations' administrators");
        var first = network.Chain.Nodes[0];
        var refused = await ledger.CommitAsync(client.Signer, GovernanceContract.ContractName, GovernanceContract.RegisterNodeMethod,
            GovernanceTransactions.RegisterNode(first.Name, Custos.Identity.ConsortiumCertificate.FromPem(first.Certificate, network.Chain.Suite).PublicKey.Encoded, "0.0", "x", 1, "x", first.P2pAddress),
            cancellationToken);
        _run.ExpectCode(refused, ErrorCode.PermissionDenied, "a client cannot register or re-register a node");
    }

    /// <summary>A new organisation: members approve, and so must the regulator, since membership is a supervised matter.</summary>
    private async Task<OrganisationAdmission> AdmitOrganisationAsync(LedgerSession ledger, Dictionary<string, NetworkUser> admins, CancellationToken cancellationToken)
    {
        _run.Step($"{NewOrganisation} applies: org1 proposes it with its CA and first administrator");
        var admission = OrganisationAdmission.Prepare(network, NewOrganisation);
        _owned.Add(admission);
        var proposal = GovernanceTransactions.AddOrganisation($"admit {NewOrganisation}", NewOrganisation, OrganisationRole.Member,
            admission.Authority.Certificate.ToPem(), admission.Administrator, admission.AdministratorKey.PublicKey.Encoded, "a new operating institution");
        var members = await DecideAsync(ledger, admins["org1"].Signer, proposal, [admins["org1"].Signer, admins["org2"].Signer, admins["org3"].Signer], cancellationToken);
        _run.Expect(members.Status == ProposalStatus.Open, "three of four members approving is not enough without the regulator", Describe(members));
        var vote = await ledger.CommitAsync(admins["regulator"].Signer, GovernanceContract.ContractName, GovernanceContract.VoteMethod,
            GovernanceTransactions.Approve(members.Id, "no objection"), cancellationToken);
        var decided = await ReadProposalAsync(ledger, members.Id, vote.Height, cancellationToken);
        _run.Expect(decided.Status == ProposalStatus.Executed, $"with the regulator's approval {NewOrganisation} is admitted", Describe(decided));

        // Clients trust the new organisation's CA as the nodes do, having seen it admitted on chain.
        var authorities = network.Chain.Genesis.Organisations.Select(o => Custos.Identity.ConsortiumCertificate.FromPem(o.CaCertificate, network.Chain.Suite))
            .Append(admission.Authority.Certificate);
        _trust = network.Trust with { Authorities = new Custos.Identity.CertificateValidator(network.Chain.Suite, authorities) };
        return admission;
    }

    /// <summary>The new organisation registers its node, starts it, and the others trust and dial it from the chain.</summary>
    private async Task<NodeProcess> StartAdmittedNodeAsync(LedgerSession ledger, OrganisationAdmission admission, CancellationToken cancellationToken)
    {
        _run.Step($"{NewOrganisation} registers and starts {NewNode}; the network admits it from the chain");
        var (configPath, config, key) = admission.PrepareNode(network, NewNode, portOffset: network.Chain.Nodes.Count + 10);
        var registration = await ledger.CommitAsync(admission.Signer, GovernanceContract.ContractName, GovernanceContract.RegisterNodeMethod,
            GovernanceTransactions.RegisterNode(NewNode, key.Encoded, "devnet", Environment.OSVersion.VersionString, (uint)Environment.ProcessorCount, Environment.MachineName, config.P2pListen),
            cancellationToken);
        _run.ExpectCode(registration, ErrorCode.Ok, $"{NewOrganisation}'s administrator registered {NewNode}");
        var process = processes.StartNode(network, NewNode, configPath);
        var caughtUp = await WaitAsync(async () =>
        {
            process.ThrowIfExited();
            var head = (await ledger.Client.StatusAsync(cancellationToken)).Height;
            return (await StatusOfAsync(process, cancellationToken))?.Height >= head;
        }, TimeSpan.FromSeconds(120), cancellationToken);
        var status = await StatusOfAsync(process, cancellationToken);
        _run.Expect(caughtUp, $"{NewNode} synced the chain from its peers as an observer", $"height {status?.Height}, validator {status?.Validator}");
        return process;
    }

    /// <summary>GOV-3 and SUP-5: a supervision suspension takes a validator out of consensus at the next epoch.</summary>
    private async Task SuspendAndResumeAsync(LedgerSession ledger, Dictionary<string, NetworkUser> admins, CancellationToken cancellationToken)
    {
        _run.Step("the regulator suspends node4 (two organisations approve); it leaves the validators at the next epoch");
        var regulator = User("regulator@regulator");
        var suspension = new InterventionProposal { Reference = "NS-devnet-1", Kind = InterventionKind.SuspendNode, Node = "node4", Reason = "host under investigation", LegalBasis = "devnet rule 9" };
        _run.ExpectCode(await ledger.CommitAsync(regulator.Signer, SupervisionContract.ContractName, "propose_intervention", suspension, cancellationToken), ErrorCode.Ok,
            "the suspension is proposed");
        _run.ExpectCode(await ledger.CommitAsync(admins["org1"].Signer, SupervisionContract.ContractName, "approve_intervention",
            new ApproveInterventionArguments { Reference = suspension.Reference }, cancellationToken), ErrorCode.Ok, "the central bank approves it");
        var node4 = processes.Nodes.Single(n => n.Name == "node4");
        await ExpectEpochAsync(node4, 4, "node4 is out of the validator set", cancellationToken, expectValidator: false);

        var resumption = new InterventionProposal { Reference = "NS-devnet-2", Kind = InterventionKind.ResumeNode, Node = "node4", Reason = "host cleared", LegalBasis = "devnet rule 9" };
        _run.ExpectCode(await ledger.CommitAsync(regulator.Signer, SupervisionContract.ContractName, "propose_intervention", resumption, cancellationToken), ErrorCode.Ok,
            "the resumption is proposed");
        _run.ExpectCode(await ledger.CommitAsync(admins["org1"].Signer, SupervisionContract.ContractName, "approve_intervention",
            new ApproveInterventionArguments { Reference = resumption.Reference }, cancellationToken), ErrorCode.Ok, "and approved");
        await ExpectEpochAsync(node4, 5, "node4 is a validator again", cancellationToken);
    }

    /// <summary>Proposes, collects the given approvals in order, and returns the proposal as the chain recorded it.</summary>
    private async Task<ProposalRecord> DecideAsync(LedgerSession ledger, TransactionSigner proposer, ProposeArguments proposal, IEnumerable<TransactionSigner> approvers,
        CancellationToken cancellationToken)
    {
        var proposed = await ledger.CommitAsync(proposer, GovernanceContract.ContractName, GovernanceContract.ProposeMethod, proposal, cancellationToken);
        if (GovernanceTransactions.ProposalIdOf(proposed) is not { } id)
        {
            _run.ExpectCode(proposed, ErrorCode.Ok, $"proposal '{proposal.Title}' recorded");
            return new ProposalRecord { Status = ProposalStatus.Unspecified, Message = proposed.Message };
        }

        var last = proposed;
        foreach (var approver in approvers)
        {
            last = await ledger.CommitAsync(approver, GovernanceContract.ContractName, GovernanceContract.VoteMethod, GovernanceTransactions.Approve(id), cancellationToken);
            if (last.Code != ErrorCode.Ok) _run.ExpectCode(last, ErrorCode.Ok, $"vote on '{proposal.Title}'");
        }

        return await ReadProposalAsync(ledger, id, last.Height, cancellationToken);
    }

    private static async Task<ProposalRecord> ReadProposalAsync(LedgerSession ledger, string id, ulong height, CancellationToken cancellationToken)
    {
        var state = await ledger.ReadVerifiedAtAsync(GovernanceContract.ProposalKey(id), height, cancellationToken);
        return state.Value is null ? new ProposalRecord { Id = id } : ProposalRecord.Parser.ParseFrom(state.Value);
    }

    private static string Describe(ProposalRecord proposal) =>
        $"proposal {proposal.Id}: {proposal.Status}, {proposal.Votes.Count(v => v.Approve)} approvals{(proposal.Code == ErrorCode.Ok ? "" : $", {proposal.Code}: {proposal.Message}")}";

    /// <summary>Waits for the next epoch with <paramref name="validators"/> validators, as <paramref name="node"/> reports it.</summary>
    private async Task ExpectEpochAsync(NodeProcess node, int validators, string what, CancellationToken cancellationToken, bool expectValidator = true)
    {
        NodeStatus? status = null;
        var reached = await WaitAsync(async () =>
        {
            status = await StatusOfAsync(node, cancellationToken);
            return status is not null && status.Epoch > _epoch && status.Validators == validators && status.Validator == expectValidator;
        }, TimeSpan.FromSeconds(90), cancellationToken);
        _run.Expect(reached, what, status is null ? "no status" : $"{node.Name}: epoch {status.Epoch}, {status.Validators} validators, validator {status.Validator}");
        if (status is not null) _epoch = Math.Max(_epoch, status.Epoch);
    }

    /// <summary>Every running node holds the same block at a height all of them reached, with the same state root after it.</summary>
    private async Task ExpectAgreementAsync(CancellationToken cancellationToken)
    {
        _run.Step("every node agrees on the chain");
        var statuses = new List<(NodeProcess Node, NodeStatus Status)>();
        foreach (var node in processes.Nodes.Where(n => !n.HasExited))
        {
            if (await StatusOfAsync(node, cancellationToken) is { } status) statuses.Add((node, status));
        }

        var height = statuses.Min(s => s.Status.Height);
        var hashes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (node, _) in statuses)
        {
            using var session = Connect(node);
            var block = Block.Parser.ParseFrom((await session.BlockAsync(height, cancellationToken)).Block);
            hashes.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(block.Header.Span)));
        }

        _run.Expect(statuses.Count == processes.Nodes.Count && hashes.Count == 1, $"all {statuses.Count} nodes hold the same block at height {height}",
            $"{hashes.Count} distinct hash(es)");
    }

    private CustosClient Connect(NodeProcess node)
    {
        var user = _users[0];
        return CustosClient.Connect(_trust, user.Certificate, user.Key, node.Name, "127.0.0.1", Port(node.ApiAddress));
    }

    private async Task<NodeStatus?> StatusOfAsync(NodeProcess node, CancellationToken cancellationToken)
    {
        try
        {
            using var session = Connect(node);
            return await session.StatusAsync(cancellationToken);
        }
        catch (Exception e) when (e is Grpc.Core.RpcException or HttpRequestException or IOException)
        {
            return null;
        }
    }

    private static async Task<double?> MetricAsync(NodeProcess node, string name, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var text = await http.GetStringAsync(new Uri($"http://{node.HttpAddress}/metrics"), cancellationToken);
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private static int Port(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        for (var deadline = DateTime.UtcNow + timeout; DateTime.UtcNow < deadline; await Task.Delay(250, cancellationToken))
        {
            if (await condition()) return true;
        }

        return false;
    }

    public void Dispose()
    {
        foreach (var session in _sessions) session.Dispose();
        foreach (var user in _users) user.Dispose();
        foreach (var owned in _owned) owned.Dispose();
    }
}
