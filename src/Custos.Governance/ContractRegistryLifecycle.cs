using Custos.Execution;

namespace Custos.Governance;

/// <summary>Carries out passed contract proposals in the chain's contract registry.</summary>
public sealed class ContractRegistryLifecycle : IContractLifecycle
{
    public static ContractRegistryLifecycle Instance { get; } = new();

    public void Approve(ContractCall call, string name, uint version, ReadOnlySpan<byte> codeHash, string migrateMethod, string proposalId) =>
        ContractRegistry.Approve(call, name, version, codeHash, migrateMethod, proposalId);

    public void Freeze(ContractCall call, string name, string proposalId, string reason) => ContractRegistry.Freeze(call, name, proposalId, reason);

    public void Unfreeze(ContractCall call, string name, string proposalId, string reason) => ContractRegistry.Unfreeze(call, name, proposalId, reason);

    public void Abolish(ContractCall call, string name, string proposalId, string reason) => ContractRegistry.Abolish(call, name, proposalId, reason);
}
