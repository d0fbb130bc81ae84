using Custos.Core;
using Custos.Execution.Wire;
using Custos.Governance.Wire;
using Google.Protobuf;

namespace Custos.Governance;

/// <summary>
/// The arguments of governance calls, for clients: sign them for <see cref="GovernanceContract.ContractName"/>,
/// version <see cref="GovernanceContract.ContractVersion"/>, with the method named alongside, e.g.
/// <c>signer.Sign(GovernanceContract.ContractName, GovernanceContract.ContractVersion, GovernanceContract.ProposeMethod, GovernanceTransactions.AddValidator("fifth validator", "node5"), expiry)</c>.
/// The proposal's id is <see cref="GovernanceContract.ProposalIdOf"/> of the proposing transaction's id.
/// </summary>
public static class GovernanceTransactions
{
    public static ProposeArguments Propose(string title, ProposalAction action, string reason = "", ulong lifetimeBlocks = 0) =>
        new() { Title = title, Reason = reason, Action = action, LifetimeBlocks = lifetimeBlocks };

    public static ProposeArguments AddOrganisation(string title, string organisation, OrganisationRole role, string caCertificatePem,
        AccountId administrator, ReadOnlySpan<byte> administratorPublicKey, string reason = "") =>
        Propose(title, new ProposalAction
        {
            AddOrganisation = new AddOrganisationAction
            {
                Id = organisation, Role = role, CaCertificatePem = caCertificatePem,
                AdministratorAccountId = administrator.ToByteString(), AdministratorPublicKey = ByteString.CopyFrom(administratorPublicKey),
            },
        }, reason);

    public static ProposeArguments RemoveOrganisation(string title, string organisation, string reason = "") =>
        Propose(title, new ProposalAction { RemoveOrganisation = new RemoveOrganisationAction { Id = organisation } }, reason);

    public static ProposeArguments AddValidator(string title, string node, string reason = "") =>
        Propose(title, new ProposalAction { AddValidator = new ValidatorAction { Node = node } }, reason);

    public static ProposeArguments RemoveValidator(string title, string node, string reason = "") =>
        Propose(title, new ProposalAction { RemoveValidator = new ValidatorAction { Node = node } }, reason);

    public static ProposeArguments SetParameter(string title, string name, ulong value, string reason = "") =>
        Propose(title, new ProposalAction { SetParameter = new SetParameterAction { Name = name, Value = value } }, reason);

    public static ProposeArguments RevokeCertificate(string title, string serial, ReadOnlySpan<byte> publicKey, string reason) =>
        Propose(title, new ProposalAction
        {
            RevokeCertificate = new RevokeCertificateAction { Serial = serial, PublicKey = ByteString.CopyFrom(publicKey), Reason = reason },
        }, reason);

    /// <summary>Approves deploying exactly (name, version, code hash); <paramref name="codeHash"/> is the chain suite's hash of the module bytes.</summary>
    public static ProposeArguments DeployContract(string title, string name, uint version, ReadOnlySpan<byte> codeHash, string migrateMethod = "", string reason = "") =>
        Propose(title, new ProposalAction { ContractDeploy = Approval(name, version, codeHash, migrateMethod) }, reason);

    public static ProposeArguments UpgradeContract(string title, string name, uint version, ReadOnlySpan<byte> codeHash, string migrateMethod = "", string reason = "") =>
        Propose(title, new ProposalAction { ContractUpgrade = Approval(name, version, codeHash, migrateMethod) }, reason);

    public static ProposeArguments FreezeContract(string title, string name, string reason) =>
        Propose(title, new ProposalAction { ContractFreeze = new ContractStatusAction { Name = name, Reason = reason } }, reason);

    public static ProposeArguments UnfreezeContract(string title, string name, string reason) =>
        Propose(title, new ProposalAction { ContractUnfreeze = new ContractStatusAction { Name = name, Reason = reason } }, reason);

    public static ProposeArguments AbolishContract(string title, string name, string reason) =>
        Propose(title, new ProposalAction { ContractAbolish = new ContractStatusAction { Name = name, Reason = reason } }, reason);

    public static VoteArguments Approve(string proposalId, string reason = "") => new() { ProposalId = proposalId, Approve = true, Reason = reason };

    public static VoteArguments Reject(string proposalId, string reason = "") => new() { ProposalId = proposalId, Approve = false, Reason = reason };

    public static ExpireArguments Expire(string proposalId) => new() { ProposalId = proposalId };

    public static RegisterNodeArguments RegisterNode(string node, ReadOnlySpan<byte> publicKey, string softwareVersion, string operatingSystem,
        uint processorCount, string hostName, string p2pEndpoint) =>
        new()
        {
            Node = node, PublicKey = ByteString.CopyFrom(publicKey), SoftwareVersion = softwareVersion, OperatingSystem = operatingSystem,
            ProcessorCount = processorCount, HostName = hostName, P2PEndpoint = p2pEndpoint,
        };

    /// <summary>The proposal a committed <c>propose</c> made, from its receipt (null when it made none).</summary>
    public static string? ProposalIdOf(Receipt receipt) =>
        receipt.Code == Core.Wire.ErrorCode.Ok && Hash32.TryCreate(receipt.TransactionId.Span, out var id)
        && receipt.Events.Any(e => e.Contract == GovernanceContract.ContractName && e.Name == "proposed")
            ? GovernanceContract.ProposalIdOf(id) : null;

    /// <summary>The outcome a vote's receipt announced ("executed", "failed", "rejected"), or null while the proposal stays open.</summary>
    public static ProposalOutcome? OutcomeOf(Receipt receipt) =>
        receipt.Events.Where(e => e.Contract == GovernanceContract.ContractName && e.Name is "executed" or "failed" or "rejected" or "expired")
            .Select(e => ProposalOutcome.Parser.ParseFrom(e.Data)).FirstOrDefault();

    private static ContractApprovalAction Approval(string name, uint version, ReadOnlySpan<byte> codeHash, string migrateMethod) =>
        new() { Name = name, Version = version, CodeHash = ByteString.CopyFrom(codeHash), MigrateMethod = migrateMethod };
}
