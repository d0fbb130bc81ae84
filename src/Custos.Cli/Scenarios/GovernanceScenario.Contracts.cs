using System.Buffers.Binary;
using Custos.Cli.Network;
using Custos.Contracts.Wasm;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Governance;
using Custos.Governance.Wire;
using Custos.Sdk;
using Google.Protobuf;

namespace Custos.Cli.Scenarios;

internal sealed partial class GovernanceScenario
{
    private const string TokenName = "wasm-token";
    private const string FaultsName = "wasm-faults";

    /// <summary>
    /// WASM contracts under governance (SC-1, SC-4, SC-5): deployment only of exactly the module a passed proposal
    /// approved; calls metered, a contract running out of fuel changes nothing; a frozen contract cannot be called.
    /// </summary>
    private async Task RunContractsAsync(LedgerSession ledger, IReadOnlyList<TransactionSigner> admins, NetworkUser client, CancellationToken cancellationToken)
    {
        var suite = network.Chain.Suite;
        var token = ExampleContracts.Module("token");
        var payee = User("client1@org2");

        _run.Step($"a WASM token contract ({token.Length} bytes) is proposed, approved by the members, deployed and called");
        var unapproved = await DeployAsync(ledger, admins[0], TokenName, 1, token, cancellationToken);
        _run.ExpectCode(unapproved, ErrorCode.ContractNotApproved, "deploying a module no proposal approved is refused");
        var approval = await DecideAsync(ledger, admins[0], GovernanceTransactions.DeployContract($"deploy {TokenName} v1", TokenName, 1, suite.Hash(token).ToArray(), reason: "a token as an application contract"),
            admins.Take(4), cancellationToken);
        _run.Expect(approval.Status == ProposalStatus.Executed, "the deployment was approved by more than two thirds of the members", Describe(approval));
        var tampered = (byte[])token.Clone();
        tampered[^1] ^= 0x01;
        _run.ExpectCode(await DeployAsync(ledger, admins[0], TokenName, 1, tampered, cancellationToken), ErrorCode.ContractNotApproved,
            "a module that differs from the approved one by a byte is refused");
        _run.ExpectCode(await DeployAsync(ledger, admins[0], TokenName, 1, token, cancellationToken), ErrorCode.Ok, "the approved module is deployed");

        // The central bank (special privilege) mints in the contract; the client pays; an overdraft is refused.
        var minted = await CallAsync(ledger, admins[0], TokenName, "mint", TokenArguments(client.Account, 1_000), cancellationToken);
        _run.ExpectCode(minted, ErrorCode.Ok, $"{TokenName}.mint by the special-privilege administrator");
        var paid = await CallAsync(ledger, client.Signer, TokenName, "transfer", TokenArguments(payee.Account, 400), cancellationToken);
        _run.ExpectCode(paid, ErrorCode.Ok, $"{TokenName}.transfer of 400");
        var overdraft = await CallAsync(ledger, client.Signer, TokenName, "transfer", TokenArguments(payee.Account, 10_000), cancellationToken);
        _run.ExpectCode(overdraft, ErrorCode.InsufficientFunds, "an overdraft is refused with the contract's own typed error");
        var balances = await ReadTokenBalancesAsync(ledger, [client.Account, payee.Account], overdraft.Height, cancellationToken);
        _run.Expect(balances is [600, 400], "balances after the calls, read with proofs: 600 and 400", string.Join(", ", balances));

        _run.Step("a contract that loops forever runs out of fuel");
        var faults = ExampleContracts.Module("faults");
        var faultsApproval = await DecideAsync(ledger, admins[0], GovernanceTransactions.DeployContract($"deploy {FaultsName} v1", FaultsName, 1, suite.Hash(faults).ToArray()),
            admins.Take(4), cancellationToken);
        _run.Expect(faultsApproval.Status == ProposalStatus.Executed, $"{FaultsName} approved", Describe(faultsApproval));
        _run.ExpectCode(await DeployAsync(ledger, admins[0], FaultsName, 1, faults, cancellationToken), ErrorCode.Ok, $"{FaultsName} deployed");
        var spin = await CallAsync(ledger, client.Signer, FaultsName, "spin", [], cancellationToken, gasLimit: 200_000);
        _run.ExpectCode(spin, ErrorCode.OutOfGas, "the endless loop stops when its gas is spent");
        var written = await ledger.ReadVerifiedAtAsync(ContractDataKey(FaultsName, "written"u8), spin.Height, cancellationToken);
        _run.Expect(spin.GasUsed == 200_000 && written.Value is null && spin.Events.Count == 0, "it was charged its whole limit and its write before the loop did not survive",
            $"gas used {spin.GasUsed}, key {(written.Value is null ? "absent (proven)" : "present")}");

        _run.Step($"the consortium freezes {TokenName} (members and the regulator approve)");
        var freeze = await DecideAsync(ledger, admins[0], GovernanceTransactions.FreezeContract($"freeze {TokenName}", TokenName, "defect under review"), admins.Take(4), cancellationToken);
        _run.Expect(freeze.Status == ProposalStatus.Executed, "the freeze passed", Describe(freeze));
        var frozen = await CallAsync(ledger, client.Signer, TokenName, "transfer", TokenArguments(payee.Account, 1), cancellationToken);
        _run.ExpectCode(frozen, ErrorCode.ContractFrozen, "a frozen contract cannot be called");
    }

    private async Task<Receipt> DeployAsync(LedgerSession ledger, TransactionSigner signer, string name, uint version, byte[] module, CancellationToken cancellationToken) =>
        await ledger.CommitAsync(signer, ContractRegistry.Namespace, "deploy",
            new ContractDeployArguments { Name = name, Version = version, Module = ByteString.CopyFrom(module) }, cancellationToken);

    private static async Task<Receipt> CallAsync(LedgerSession ledger, TransactionSigner signer, string contract, string method, byte[] arguments,
        CancellationToken cancellationToken, ulong gasLimit = 0)
    {
        var expiry = await ledger.ExpiryAsync(cancellationToken);
        return await ledger.CommitRawAsync(signer.Sign(contract, 1, method, arguments, expiry, gasLimit), cancellationToken);
    }

    /// <summary>The example token's arguments: the account (16 bytes) and the amount (8 bytes, little-endian).</summary>
    private static byte[] TokenArguments(AccountId account, ulong amount)
    {
        var arguments = new byte[AccountId.SizeBytes + sizeof(ulong)];
        account.CopyTo(arguments);
        BinaryPrimitives.WriteUInt64LittleEndian(arguments.AsSpan(AccountId.SizeBytes), amount);
        return arguments;
    }

    /// <summary>Where the WASM runtime keeps a contract's key (docs/contracts.md: 'd' ++ key in the contract's namespace).</summary>
    private static byte[] ContractDataKey(string contract, ReadOnlySpan<byte> key) => StateKeys.For(contract, [(byte)'d', .. key]);

    private static async Task<List<ulong>> ReadTokenBalancesAsync(LedgerSession ledger, IEnumerable<AccountId> accounts, ulong height, CancellationToken cancellationToken)
    {
        var balances = new List<ulong>();
        foreach (var account in accounts)
        {
            var key = new byte[1 + AccountId.SizeBytes];
            key[0] = (byte)'b';
            account.CopyTo(key.AsSpan(1));
            var state = await ledger.ReadVerifiedAtAsync(ContractDataKey(TokenName, key), height, cancellationToken);
            balances.Add(state.Value is { Length: 8 } value ? BinaryPrimitives.ReadUInt64LittleEndian(value) : 0);
        }

        return balances;
    }
}
