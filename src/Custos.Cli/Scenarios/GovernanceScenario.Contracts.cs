using Custos.Sdk;

namespace Custos.Cli.Scenarios;

internal sealed partial class GovernanceScenario
{
    /// <summary>WASM contracts under governance: proposed, approved, deployed, called; and the refusals.</summary>
    private Task RunContractsAsync(LedgerSession ledger, IReadOnlyList<TransactionSigner> admins, Network.NetworkUser client, CancellationToken cancellationToken)
    {
        _run.Expect(false, "WASM contracts under governance", "the contract runtime is not built yet");
        return Task.CompletedTask;
    }
}
