using System.Net;
using System.Text.Json;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Consortium;
using Custos.Privacy.Policy;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Cli.Scenarios;

internal sealed partial class DigitalCurrencyScenario
{
    private const string KycContract = "dcep";
    private const string KycCollection = "kyc";
    private const string PurgeReason = "customer closed the account";

    /// <summary>Replication and purge notices travel between node processes: wait for them, but not forever.</summary>
    private static readonly TimeSpan ReplicationWaitMax = TimeSpan.FromSeconds(30);

    private string _privateDataSummary = "not run";

    // ---- 2b. a customer record verified by designated nodes (PRI-2, §14.3.4) ----

    /// <summary>
    /// org2 keeps a customer's KYC record off chain at its own node; the policy entitles org2 and the regulator only,
    /// so the record is replicated to the regulator's node and nowhere else, while the chain holds its salted
    /// commitment. The regulator reads it at its own node and checks it against the chain; org3's node never holds
    /// it; a purge removes the value at both entitled nodes and leaves the commitment.
    /// </summary>
    private async Task PrivateCustomerRecordAsync(NetworkUser centralBank, NetworkUser regulator, NetworkUser org2Admin, NetworkUser org3Admin,
        CancellationToken cancellationToken)
    {
        var regulatorOrganisation = network.Chain.Genesis.Organisations.First(o => o.Kind == OrganisationKind.Regulator).Id;
        var entitled = new[] { "org2", regulatorOrganisation };
        _run.Step($"the privacy policy: admin@org1 designates itself the privacy account and entitles {string.Join(" and ", entitled)} (not org3) to {KycContract}/{KycCollection}");
        var designate = new PrivacyDesignateArguments { Account = centralBank.Account.ToByteString(), Reason = "the central bank keeps the privacy policy of the digital currency" };
        _run.ExpectCode(await _ledger.CommitAsync(centralBank.Signer, PrivacyPolicyContract.ContractName, "designate", designate, cancellationToken), ErrorCode.Ok,
            "admin@org1 (special privilege) is the designated privacy account");
        var policy = KycPolicy(entitled);
        var setPolicy = new PrivacySetPolicyArguments { Policy = policy, Reason = "customer records of dcep are kept by their operator and the regulator only" };
        _run.ExpectCode(await _ledger.CommitAsync(org2Admin.Signer, PrivacyPolicyContract.ContractName, "set_policy", setPolicy, cancellationToken), ErrorCode.NotAuthorised,
            "an operator cannot change the privacy policy");
        var policySet = await _ledger.CommitAsync(centralBank.Signer, PrivacyPolicyContract.ContractName, "set_policy", setPolicy, cancellationToken);
        _run.ExpectCode(policySet, ErrorCode.Ok, "policy version 1 recorded on chain (default class strategies)");
        // Each node applies the policy from its own copy of that block: the session's node may be a block ahead.
        var lagging = await NodesBelowAsync(org2Admin, ["org2", regulatorOrganisation, "org3"], policySet.Height, cancellationToken);
        _run.Expect(lagging.Count == 0, $"the nodes of org2, {regulatorOrganisation} and org3 have the policy's block {policySet.Height}",
            lagging.Count == 0 ? null : $"behind: {string.Join(", ", lagging)}");

        var customer = _wallets.First(w => w.Operator == "org2" && w.WalletClass == 1);
        var key = customer.Account.ToArray();
        var record = $"/v1/private/{KycContract}/{KycCollection}/{customer.Account}";
        var value = KycRecord(customer);
        using var org2Node = new PrivateDataEndpoint(NodeUri("org2"), network.Chain.Suite);
        using var regulatorNode = new PrivateDataEndpoint(NodeUri(regulatorOrganisation, NodeKind.Supervisor), network.Chain.Suite);
        using var org3Node = new PrivateDataEndpoint(NodeUri("org3"), network.Chain.Suite);

        _run.Step($"org2 keeps the KYC record of {customer.Label} at its node ({value.Length} bytes off chain) and commits its commitment on chain");
        var (putStatus, put) = await org2Node.SendAsync(HttpMethod.Put, $"{record}?purpose={Uri.EscapeDataString("onboarding: real-name KYC")}", org2Admin, cancellationToken, value);
        var sentTo = putStatus == HttpStatusCode.OK ? string.Join(", ", put.GetProperty("sentTo").EnumerateArray().Select(n => n.GetString())) : "";
        _run.Expect(putStatus == HttpStatusCode.OK && sentTo.Length > 0 && !ToOrganisation(sentTo, "org3"),
            "org2's node stored it and sent the replica to the regulator's node only", putStatus == HttpStatusCode.OK ? $"sent to {sentTo}" : Problem(putStatus, put));
        if (putStatus != HttpStatusCode.OK) return;
        var commitment = put.GetProperty("commitment").GetString()!;
        var commit = new PrivacyCommitArguments { Contract = KycContract, Collection = KycCollection, Key = ByteString.CopyFrom(key), Commitment = ByteString.CopyFrom(Convert.FromHexString(commitment)) };
        _run.ExpectCode(await _ledger.CommitAsync(org3Admin.Signer, PrivacyPolicyContract.ContractName, "commit", commit, cancellationToken), ErrorCode.NotEntitled,
            "org3 cannot commit to a collection it is not entitled to");
        var committed = await _ledger.CommitAsync(org2Admin.Signer, PrivacyPolicyContract.ContractName, "commit", commit, cancellationToken);
        _run.ExpectCode(committed, ErrorCode.Ok, "org2 committed the record's salted commitment (system.privacy / commit)");
        var commitmentKey = PrivacyPolicyContract.CommitmentKey(KycContract, KycCollection, key);
        var proven = await _ledger.ReadVerifiedAtAsync(commitmentKey, committed.Height, cancellationToken);
        var onChain = proven.Value is null ? null : PrivateDataCommitment.Parser.ParseFrom(proven.Value);
        _run.Expect(onChain is not null && Convert.ToHexStringLower(onChain.Commitment.Span) == commitment && onChain.Organisation == "org2" && onChain.Version == 1,
            "the chain holds the 32-byte commitment only, by org2, version 1 (proven read)", onChain is null ? "none on chain" : $"height {onChain.Height}");
        var behind = await NodesBelowAsync(org2Admin, ["org2", regulatorOrganisation, "org3"], committed.Height, cancellationToken);
        _run.Expect(behind.Count == 0, $"the nodes of org2, {regulatorOrganisation} and org3 have the commitment's block", behind.Count == 0 ? null : $"behind: {string.Join(", ", behind)}");

        _run.Step($"the regulator reads it at its own node ({regulatorNode.Address}) with its purpose; org3 reads it nowhere");
        var readPurpose = $"?purpose={Uri.EscapeDataString("supervision: customer due diligence review")}";
        var (readStatus, read) = await PollAsync(() => regulatorNode.SendAsync(HttpMethod.Get, record + readPurpose, regulator, cancellationToken),
            r => r.Status == HttpStatusCode.OK && r.Body.GetProperty("verified").GetBoolean(), cancellationToken);
        var readValue = readStatus == HttpStatusCode.OK ? Convert.FromBase64String(read.GetProperty("value").GetString()!) : [];
        _run.Expect(readStatus == HttpStatusCode.OK && readValue.AsSpan().SequenceEqual(value),
            "regulator@regulator read the record at the regulator's node: the value org2 wrote", readStatus == HttpStatusCode.OK ? null : Problem(readStatus, read));
        _run.Expect(readStatus == HttpStatusCode.OK && read.GetProperty("verified").GetBoolean() && read.GetProperty("onChainCommitment").GetString() == commitment,
            "its opening (salt) verifies against the on-chain commitment", readStatus == HttpStatusCode.OK ? $"on-chain version {read.GetProperty("onChainVersion")}" : null);
        var (crossStatus, cross) = await org2Node.SendAsync(HttpMethod.Get, record + readPurpose, regulator, cancellationToken);
        _run.Expect(IsProblem(crossStatus, cross, HttpStatusCode.Forbidden, ErrorCode.NotEntitled), "the regulator does not read at org2's node: each organisation uses its own",
            Problem(crossStatus, cross));

        var (org3HeldStatus, org3Held) = await org3Node.SendAsync(HttpMethod.Get, record + "/commitment", org3Admin, cancellationToken);
        _run.Expect(org3HeldStatus == HttpStatusCode.OK && org3Held.GetProperty("held").ValueKind == JsonValueKind.Null
                && org3Held.GetProperty("onChain").GetProperty("commitment").GetString() == commitment,
            "org3's node holds no copy; it sees only the commitment on chain", org3HeldStatus == HttpStatusCode.OK ? null : Problem(org3HeldStatus, org3Held));
        var (org3ReadStatus, org3Read) = await org3Node.SendAsync(HttpMethod.Get, record + $"?purpose={Uri.EscapeDataString("marketing")}", org3Admin, cancellationToken);
        _run.Expect(IsProblem(org3ReadStatus, org3Read, HttpStatusCode.Forbidden, ErrorCode.NotEntitled), "admin@org3 reading it at org3's node is refused",
            Problem(org3ReadStatus, org3Read));

        _run.Step($"org2 purges the record (\"{PurgeReason}\"); the commitment stays on chain");
        var (purgeStatus, purge) = await org2Node.SendAsync(HttpMethod.Post, $"{record}/purge?reason={Uri.EscapeDataString(PurgeReason)}", org2Admin, cancellationToken, []);
        _run.Expect(purgeStatus == HttpStatusCode.OK && purge.GetProperty("reason").GetString() == PurgeReason, "org2's node purged it and sent the notice",
            purgeStatus == HttpStatusCode.OK ? $"sent to {string.Join(", ", purge.GetProperty("sentTo").EnumerateArray().Select(n => n.GetString()))}" : Problem(purgeStatus, purge));
        var (goneStatus, gone) = await org2Node.SendAsync(HttpMethod.Get, record + readPurpose, org2Admin, cancellationToken);
        _run.Expect(IsProblem(goneStatus, gone, HttpStatusCode.Conflict, ErrorCode.PrivateDataPurged), "the value is gone at org2's node", Problem(goneStatus, gone));
        var (remoteStatus, remote) = await PollAsync(() => regulatorNode.SendAsync(HttpMethod.Get, record + readPurpose, regulator, cancellationToken),
            r => IsProblem(r.Status, r.Body, HttpStatusCode.Conflict, ErrorCode.PrivateDataPurged), cancellationToken);
        _run.Expect(IsProblem(remoteStatus, remote, HttpStatusCode.Conflict, ErrorCode.PrivateDataPurged), "the value is gone at the regulator's node too", Problem(remoteStatus, remote));

        var (heldStatus, held) = await regulatorNode.SendAsync(HttpMethod.Get, record + "/commitment", regulator, cancellationToken);
        _run.Expect(heldStatus == HttpStatusCode.OK && held.GetProperty("held").GetString() == commitment && held.GetProperty("purged").GetBoolean()
                && held.GetProperty("purgeReason").GetString() == PurgeReason && held.GetProperty("onChain").GetProperty("commitment").GetString() == commitment,
            "the regulator's node keeps the commitment with the purge record (who, why, when), and the chain still holds it",
            heldStatus == HttpStatusCode.OK ? $"purged by {held.GetProperty("purgedBy").GetString()}" : Problem(heldStatus, held));
        var height = (await _ledger.Client.StatusAsync(cancellationToken)).Height;
        var after = await _ledger.ReadVerifiedAtAsync(commitmentKey, height, cancellationToken);
        _run.Expect(after.Value is not null && Convert.ToHexStringLower(PrivateDataCommitment.Parser.ParseFrom(after.Value).Commitment.Span) == commitment,
            "the purge did not touch the chain: the commitment reads the same (proven read)", $"height {height}");
        _privateDataSummary = $"1 KYC record of {value.Length} bytes at org2's and {regulatorOrganisation}'s nodes only, read by the regulator against its commitment, purged; commitment kept on chain";
    }

    /// <summary>Version 1: the default strategy per class, and the KYC collection for its operator and the regulator.</summary>
    private static PrivacyPolicyRecord KycPolicy(IEnumerable<string> organisations)
    {
        var policy = new PrivacyPolicyRecord { Version = PrivacyPolicy.Default.Version + 1 };
        policy.Strategies.AddRange(PrivacyPolicy.Default.Record.Strategies.Select(s => s.Clone()));
        var kyc = new CollectionEntitlement { Contract = KycContract, Collection = KycCollection };
        kyc.Organisations.AddRange(organisations);
        policy.Collections.Add(kyc);
        return policy;
    }

    /// <summary>What an operator's KYC file holds about a real-name customer: identity, contact and its own assessment.</summary>
    private static byte[] KycRecord(CurrencyWallet customer) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        customerReference = customer.Identity.CustomerReference,
        legalName = customer.Identity.LegalName,
        document = new { type = customer.Identity.DocumentType.ToString(), number = customer.Identity.DocumentNumber, country = customer.Identity.IssuingCountry },
        dateOfBirth = customer.Identity.DateOfBirth,
        phone = "13800138000",
        address = "1 Jinrong Street, Xicheng District, Beijing",
        occupation = "accountant",
        sourceOfFunds = "salary",
        riskGrade = "low",
        verified = new { method = "in branch, document and face match", on = "2026-11-24", by = "registrar@org2" },
        walletClass = customer.WalletClass,
    });

    /// <summary>Waits (bounded) until every node of these organisations has the block at <paramref name="height"/>; returns those still behind.</summary>
    private async Task<List<string>> NodesBelowAsync(NetworkUser user, IEnumerable<string> organisations, ulong height, CancellationToken cancellationToken)
    {
        var behind = new List<string>();
        foreach (var node in network.Chain.Nodes.Where(n => organisations.Contains(n.Organisation)))
        {
            using var client = network.Connect(user, node.Name);
            var deadline = DateTime.UtcNow + ReplicationWaitMax;
            while ((await client.StatusAsync(cancellationToken)).Height < height)
            {
                if (DateTime.UtcNow > deadline)
                {
                    behind.Add(node.Name);
                    break;
                }

                await Task.Delay(100, cancellationToken);
            }
        }

        return behind;
    }

    private Uri NodeUri(string organisation, NodeKind? prefer = null)
    {
        var nodes = network.Chain.Nodes.Where(n => n.Organisation == organisation).ToList();
        var node = nodes.FirstOrDefault(n => n.Kind == prefer) ?? nodes.FirstOrDefault()
            ?? throw new CustosException(ErrorCode.NotFound, $"organisation {organisation} runs no node");
        return new Uri($"http://{processes.Nodes.First(p => p.Name == node.Name).HttpAddress}");
    }

    private bool ToOrganisation(string nodes, string organisation) =>
        network.Chain.Nodes.Any(n => n.Organisation == organisation && nodes.Split(", ").Contains(n.Name));

    private static bool IsProblem(HttpStatusCode status, JsonElement body, HttpStatusCode expected, ErrorCode code) =>
        status == expected && body.ValueKind == JsonValueKind.Object && body.TryGetProperty("code", out var c) && c.GetString() == code.ToString();

    private static string Problem(HttpStatusCode status, JsonElement body) =>
        $"HTTP {(int)status}{(body.ValueKind == JsonValueKind.Object && body.TryGetProperty("code", out var code) ? $" {code.GetString()}" : "")}";

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PollAsync(Func<Task<(HttpStatusCode Status, JsonElement Body)>> request,
        Func<(HttpStatusCode Status, JsonElement Body), bool> done, CancellationToken cancellationToken)
    {
        for (var deadline = DateTime.UtcNow + ReplicationWaitMax; ; await Task.Delay(250, cancellationToken))
        {
            var answer = await request();
            if (done(answer) || DateTime.UtcNow > deadline) return answer;
        }
    }
}

/// <summary>
/// One node's private data endpoints (/v1/private/...), each request signed with its caller's certificate
/// (<see cref="Custos.Node.Api.RequestSignature"/>). A write names the hash of its body in the signed query.
/// </summary>
internal sealed class PrivateDataEndpoint(Uri node, ICryptoSuite suite) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = node, Timeout = TimeSpan.FromSeconds(10) };

    public string Address => node.Authority;

    public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string pathAndQuery, NetworkUser user, CancellationToken cancellationToken,
        byte[]? body = null)
    {
        if (method == HttpMethod.Put && body is not null) pathAndQuery += "&valueHash=" + suite.Hash(body);
        using var request = new HttpRequestMessage(method, pathAndQuery);
        if (body is not null) request.Content = new ByteArrayContent(body);
        foreach (var (name, value) in Custos.Node.Api.RequestSignature.Sign(user.Key, user.Certificate.Der, method.Method, pathAndQuery, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public void Dispose() => _http.Dispose();
}
