using Custos.Execution;

namespace Custos.Governance;

/// <summary>
/// What a passed contract proposal changes in the contract registry (<c>system.contracts</c>). The production
/// implementation forwards to <c>ContractRegistry</c>; tests may record the calls.
/// </summary>
public interface IContractLifecycle
{
    void Approve(ContractCall call, string name, uint version, ReadOnlySpan<byte> codeHash, string migrateMethod, string proposalId);

    void Freeze(ContractCall call, string name, string proposalId, string reason);

    void Unfreeze(ContractCall call, string name, string proposalId, string reason);

    void Abolish(ContractCall call, string name, string proposalId, string reason);
}
