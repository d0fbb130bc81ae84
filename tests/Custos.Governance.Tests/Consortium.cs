using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Governance.Wire;
using Google.Protobuf;

namespace Custos.Governance.Tests;

/// <summary>
/// A consortium on a <see cref="Ledger"/>: a regulator and <c>members</c> member organisations, one administrator
/// each (account i administers org i; account 0 the regulator), an ordinary account and a second administrator of
/// org1, and genesis validators node1..nodeN run by org1.
/// </summary>
internal sealed class Consortium
{
    public const int Regulator = 0;
    private ulong _nonce;

    public Consortium(int members = 3, int validators = 4, IContractLifecycle? contracts = null)
    {
        Members = members;
        Contracts = contracts ?? new RecordingLifecycle();
        ValidatorKeys = Enumerable.Range(0, validators).Select(_ => Suite.GenerateKey()).ToList();
        Ledger = new Ledger(Suite, members + 3, 0,
            contracts: [.. BlockExecutor.StandardContracts, new GovernanceContract(Contracts)],
            accountOf: i => i == Regulator ? ("regulator", AccountType.Administrator)
                : i <= members ? ($"org{i}", AccountType.Administrator)
                : i == members + 1 ? ("org1", AccountType.Ordinary)
                : ("org1", AccountType.Administrator),
            organisations: [new("regulator", OrganisationRole.Regulator), .. Enumerable.Range(1, members).Select(m => new GenesisOrganisationRole($"org{m}", OrganisationRole.Member))],
            validators: ValidatorKeys.Select((key, v) => new GenesisValidator($"node{v + 1}", "org1", key.PublicKey.ToArray())));
    }

    public static ICryptoSuite Suite => CryptoSuites.Intl;

    public Ledger Ledger { get; }

    public IContractLifecycle Contracts { get; }

    public int Members { get; }

    /// <summary>Administrator of org<paramref name="member"/>.</summary>
    public static int Admin(int member) => member;

    public int Ordinary => Members + 1;

    public int SecondAdminOfOrg1 => Members + 2;

    public List<SoftwareKey> ValidatorKeys { get; }

    public ulong Height => Ledger.Height;

    public Receipt Call(int from, string method, IMessage arguments, SoftwareKey? key = null, AccountId? sender = null) =>
        Run(Ledger.Sign(from, GovernanceContract.ContractName, method, arguments, nonce: ++_nonce, key: key, sender: sender));

    public Receipt Run(Transaction transaction) => Ledger.Execute(transaction).Receipts[0];

    public (Receipt Receipt, string Id) Propose(int from, ProposeArguments arguments)
    {
        var receipt = Call(from, GovernanceContract.ProposeMethod, arguments);
        return (receipt, GovernanceContract.ProposalIdOf(new Hash32(receipt.TransactionId.Span)));
    }

    /// <summary>Proposes and asserts that the proposal was recorded.</summary>
    public string Proposed(int from, ProposeArguments arguments)
    {
        var (receipt, id) = Propose(from, arguments);
        Assert.True(receipt.Code == ErrorCode.Ok, receipt.Message);
        return id;
    }

    public Receipt Vote(int from, string id, bool approve = true) =>
        Call(from, GovernanceContract.VoteMethod, approve ? GovernanceTransactions.Approve(id, "agreed") : GovernanceTransactions.Reject(id, "disagreed"));

    /// <summary>Every organisation (the regulator included) approves, one after another; returns the receipt of the last vote.</summary>
    public Receipt ApproveByAll(string id)
    {
        Receipt last = Vote(Regulator, id);
        for (var member = 1; member <= Members && Proposal(id).Status == ProposalStatus.Open; member++) last = Vote(Admin(member), id);
        return last;
    }

    public ProposalRecord Proposal(string id) => GovernanceContract.LoadProposal(Ledger, id) ?? throw new InvalidOperationException($"no proposal {id}");

    public Receipt RegisterNode(int from, string node, ReadOnlySpan<byte> publicKey, string version = "1.0.0") =>
        Call(from, GovernanceContract.RegisterNodeMethod, GovernanceTransactions.RegisterNode(node, publicKey, version, "Linux 6.8", 8, node + ".example", node + ".example:7100"));

    /// <summary>Advances the chain by empty blocks.</summary>
    public void Wait(int blocks)
    {
        for (var i = 0; i < blocks; i++) Ledger.Execute();
    }
}

/// <summary>Records the contract registry calls governance makes; can be told to refuse them.</summary>
internal sealed class RecordingLifecycle : IContractLifecycle
{
    public List<string> Calls { get; } = [];

    public ErrorCode? Refusal { get; set; }

    public void Approve(ContractCall call, string name, uint version, ReadOnlySpan<byte> codeHash, string migrateMethod, string proposalId) =>
        Record(call, $"approve {name} v{version} {Convert.ToHexStringLower(codeHash)} migrate={migrateMethod} by {proposalId}");

    public void Freeze(ContractCall call, string name, string proposalId, string reason) => Record(call, $"freeze {name} by {proposalId}: {reason}");

    public void Unfreeze(ContractCall call, string name, string proposalId, string reason) => Record(call, $"unfreeze {name} by {proposalId}: {reason}");

    public void Abolish(ContractCall call, string name, string proposalId, string reason) => Record(call, $"abolish {name} by {proposalId}: {reason}");

    public static byte[] MarkerKey { get; } = StateKeys.For("system.contracts", "marker");

    private void Record(ContractCall call, string what)
    {
        // Writes before refusing, as a registry might: the write must not survive a refusal.
        call.Put(MarkerKey, System.Text.Encoding.UTF8.GetBytes(what));
        if (Refusal is { } code) throw new ContractFailure(code, $"refused: {what}");
        Calls.Add(what);
    }
}
