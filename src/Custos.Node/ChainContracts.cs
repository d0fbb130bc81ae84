using Custos.DigitalCurrency;
using Custos.Execution;
using Custos.Governance;
using Custos.Privacy.Policy;

namespace Custos.Node;

/// <summary>
/// The system contracts every node of a chain runs, in one place: execution must be identical on every node, so the
/// node, the tools that re-execute blocks and the tests all take the list from here. The digital currency (the
/// reference application, apps/Custos.DigitalCurrency) and the privacy policy are system contracts of every chain;
/// application contracts (WASM) are deployed through <c>system.contracts</c> and run by the given runtime.
/// </summary>
public static class ChainContracts
{
    public static IReadOnlyList<ISystemContract> Create(IContractRuntime runtime) =>
    [
        .. BlockExecutor.StandardContracts,
        new GovernanceContract(),
        new ContractRegistryContract(runtime),
        new PrivacyPolicyContract(),
        new DigitalCurrencyContract(),
    ];
}
