using System.Diagnostics;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.DigitalCurrency;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Identity.Pseudonyms;
using Custos.Sdk;
using Google.Protobuf;

namespace Custos.Cli.Scenarios;

/// <summary>
/// `custos devnet --scenario dcep`: the two-tier digital currency on a fresh network (issue 8's main scenario). The
/// central bank (org1) designates itself and registers two operators (org2, org3) with reserves and issues to them;
/// the regulator sets the identity escrow policy; the operators open 1,000 pseudonymous wallets of mixed classes;
/// org2 keeps a customer's KYC record off chain at its and the regulator's nodes only, its commitment on chain, then
/// purges it; the operators fund the wallets; the regulator starts its monitoring rules; wallets pay each other across
/// operators by the thousand; payments beyond the limits are refused with their reasons; a large payment is alerted
/// and traced to its escrowed credential; structuring and velocity raise their alerts; a conditional payment is
/// released and another refunded; a frozen wallet can neither pay nor be paid and the regulator forces a transfer out of it; an operator redeems;
/// and the supply is audited from proven state reads: supply == issued − redeemed == Σ balances + escrowed.
/// </summary>
internal sealed partial class DigitalCurrencyScenario(NetworkDirectory network, DevnetProcesses processes, TextWriter output) : IDisposable
{
    public const int WalletsPerOperator = 500;
    public static readonly string[] Operators = ["org2", "org3"];

    // Amounts in fen (¥1 = 100 fen).
    private const ulong Reserve = 800_000_000;
    private const ulong Issuance = 600_000_000;
    private const ulong Redemption = 10_000_000;
    private const uint EscrowThreshold = 2;
    private const int BatchSize = 250;
    private const int BatchesInFlightMax = 4;

    private readonly ScenarioRun _run = new("dcep", output);
    private readonly PaymentTally _payments = new();
    private readonly List<NetworkUser> _users = [];
    private readonly List<LedgerSession> _sessions = [];
    private readonly List<CurrencyWallet> _wallets = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private ulong _issued;
    private ulong _redeemed;
    private ulong _escrowHeld;
    private ulong _rulesHeight;
    private LedgerSession _ledger = null!;

    private NetworkUser User(string label)
    {
        var user = network.User(label);
        _users.Add(user);
        return user;
    }

    private string Elapsed => $"{_clock.Elapsed.TotalSeconds:0.0} s";

    public async Task<ScenarioRun> RunAsync(CancellationToken cancellationToken)
    {
        var validators = network.Chain.Genesis.Validators.Select(v => v.Name).ToList();
        var regulator = User("regulator@regulator");
        // Generous: a pseudonym registration verifies its credential on every node, and a loaded 2-core machine runs
        // five nodes; the mempool does not commit a batch in submission order, so one receipt may wait for the rest.
        _ledger = new LedgerSession(network.Connect(regulator, validators[0]), TimeSpan.FromSeconds(300));
        _sessions.Add(_ledger);

        var centralBank = User("admin@org1");
        var operators = Operators.ToDictionary(o => o, o => (Admin: User($"admin@{o}"), Registrar: User($"registrar@{o}"), Settlement: User($"client1@{o}")));

        await SetUpCurrencyAsync(centralBank, operators.ToDictionary(o => o.Key, o => (o.Value.Admin, o.Value.Settlement)), cancellationToken);
        await OpenWalletsAsync(regulator, centralBank, operators.ToDictionary(o => o.Key, o => (o.Value.Admin, o.Value.Registrar)), cancellationToken);
        await PrivateCustomerRecordAsync(centralBank, regulator, operators["org2"].Admin, operators["org3"].Admin, cancellationToken);
        var cast = CastOf(_wallets);
        await FundWalletsAsync(operators.ToDictionary(o => o.Key, o => o.Value.Settlement), cast, cancellationToken);
        await StartMonitoringAsync(regulator, cancellationToken);

        await PayAcrossOperatorsAsync(cast, cancellationToken);
        await PayBeyondLimitsAsync(cast, centralBank, cancellationToken);
        await UpgradeWalletAsync(cast, operators["org2"].Admin, cancellationToken);
        using var alerts = new SupervisorAlerts(SupervisorUri(), regulator);
        await LargeValueAsync(cast, alerts, cancellationToken);
        await StructuringAndVelocityAsync(cast, alerts, cancellationToken);
        await ConditionalPaymentsAsync(cast, cancellationToken);
        await FreezeAsync(cast, regulator, operators["org3"], cancellationToken);
        await RedeemAsync(operators["org2"].Admin, operators["org3"].Admin, cancellationToken);

        await AuditSupplyAsync(cancellationToken);
        await SummariseAlertsAsync(alerts, cast, operators["org2"].Admin, cancellationToken);
        foreach (var node in processes.Nodes) node.ThrowIfExited();
        PrintSummary();
        return _run;
    }

    // ---- 1. two tiers: the central bank and its operators ----

    private async Task SetUpCurrencyAsync(NetworkUser centralBank, Dictionary<string, (NetworkUser Admin, NetworkUser Settlement)> operators, CancellationToken cancellationToken)
    {
        _run.Step($"the central bank (org1) is designated and registers {string.Join(" and ", Operators)} as operators, each with a reserve of {Yuan(Reserve)}");
        _run.ExpectCode(await CallAsync(centralBank, DigitalCurrencyCalls.Initialise(), cancellationToken), ErrorCode.Ok, "admin@org1 (special privilege) designated org1 the central bank");
        _run.ExpectCode(await CallAsync(centralBank, DigitalCurrencyCalls.Initialise(), cancellationToken), ErrorCode.NotAuthorised, "the central bank is designated once only");
        var expiry = await _ledger.ExpiryAsync(cancellationToken);
        var registered = await _ledger.CommitAllAsync(
            operators.Select(o => Sign(centralBank.Signer, DigitalCurrencyCalls.RegisterOperator(o.Key, o.Value.Settlement.Account, Reserve), expiry)).ToList(), cancellationToken);
        _run.Expect(registered.All(r => r.Code == ErrorCode.Ok), "both operators registered with their settlement accounts (client1@org2, client1@org3)", Codes(registered));

        _run.Step($"the central bank issues {Yuan(Issuance)} to each operator");
        var issued = await _ledger.CommitAllAsync(Operators.Select(o => Sign(centralBank.Signer, DigitalCurrencyCalls.Issue(o, Issuance), expiry)).ToList(), cancellationToken);
        _run.Expect(issued.All(r => r.Code == ErrorCode.Ok), $"issued {Yuan(Issuance)} to each operator's settlement account", Codes(issued));
        _issued += (ulong)issued.Count(r => r.Code == ErrorCode.Ok) * Issuance;
        _run.ExpectCode(await CallAsync(centralBank, DigitalCurrencyCalls.Issue("org2", Reserve - Issuance + 1), cancellationToken), ErrorCode.ReserveExceeded,
            "issuance beyond an operator's reserve is refused");
        _run.ExpectCode(await CallAsync(operators["org2"].Admin, DigitalCurrencyCalls.Issue("org2", 100), cancellationToken), ErrorCode.NotAuthorised,
            "an operator cannot issue money to itself");
    }

    // ---- 2. wallets: pseudonyms registered with supervision, opened by their operator ----

    private async Task OpenWalletsAsync(NetworkUser regulator, NetworkUser centralBank, Dictionary<string, (NetworkUser Admin, NetworkUser Registrar)> operators,
        CancellationToken cancellationToken)
    {
        // Any two of the three authorities open an identity; none alone can.
        _run.Step("the regulator sets the identity escrow policy: 2 of 3 (the regulator, the central bank, org2)");
        NetworkUser[] authorities = [regulator, centralBank, operators["org2"].Admin];
        var policy = new EscrowPolicy { Threshold = EscrowThreshold, Decision = new SupervisionDecision { Reason = "escrow policy of the digital currency" } };
        policy.Authorities.AddRange(authorities.Select(a => a.Account.ToByteString()));
        policy.AuthorityPublicKeys.AddRange(authorities.Select(a => ByteString.CopyFrom(a.Key.PublicKey.Encoded)));
        _run.ExpectCode(await _ledger.CommitAsync(regulator.Signer, SupervisionContract.ContractName, "set_escrow_policy", policy, cancellationToken), ErrorCode.Ok,
            "escrow policy recorded on chain");

        var suite = network.Chain.Suite;
        var escrow = IdentityEscrowPolicy.Of(EscrowThreshold, authorities.Select(a => (a.Label, a.Key.PublicKey)));
        _run.Step($"each operator's registrar issues {WalletsPerOperator} pseudonym credentials (fresh key and account each, identity escrowed)");
        foreach (var (organisation, index) in Operators.Select((o, i) => (o, i)))
        {
            var registrar = new PseudonymRegistrar(suite, operators[organisation].Registrar.Key, network.Chain.ChainId, organisation);
            _wallets.AddRange(CurrencyWalletPopulation.Create(suite, network.Chain.ChainId, registrar, escrow, organisation, index * WalletsPerOperator + 1, WalletsPerOperator));
        }

        output.WriteLine($"  {_wallets.Count} keys and credentials ready ({Elapsed})");
        var expiry = await _ledger.ExpiryAsync(cancellationToken);
        var registrations = _wallets.Select(w => operators[w.Operator].Registrar.Signer.Sign(SupervisionContract.ContractName, 1, "register_pseudonym",
            new RegisterPseudonymArguments { AccountId = w.Account.ToByteString(), Credential = ByteString.CopyFrom(w.Credential.Bytes.Span) }, expiry)).ToList();
        var registered = await CommitInBatchesAsync("pseudonyms registered", registrations, cancellationToken);
        _run.Expect(registered.All(r => r.Code == ErrorCode.Ok), $"{_wallets.Count} pseudonyms registered in system.accounts and system.supervision by their operator's registrar",
            Codes(registered));

        _run.Step("the operators open a wallet for each pseudonym (class 1 to 4; classes 1-3 carry the operator's real-name attestation)");
        var openings = _wallets.Select(w => Sign(operators[w.Operator].Admin.Signer,
            DigitalCurrencyCalls.OpenWallet(w.Account, w.WalletClass, w.Credential.Id, identityAttestation: w.OpeningAttestation(suite)), expiry)).ToList();
        var opened = await CommitInBatchesAsync("wallets opened", openings, cancellationToken);
        var classes = string.Join(", ", _wallets.GroupBy(w => w.WalletClass).OrderBy(g => g.Key).Select(g => $"class {g.Key}: {g.Count()}"));
        _run.Expect(opened.All(r => r.Code == ErrorCode.Ok), $"{_wallets.Count} wallets opened ({classes})", Codes(opened));
        var stranger = _wallets.First(w => w.Operator == "org2");
        _run.ExpectCode(await CallAsync(operators["org3"].Admin, DigitalCurrencyCalls.OpenWallet(stranger.Account, 4, stranger.Credential.Id), cancellationToken),
            ErrorCode.InvalidArguments, "a pseudonym's wallet is opened once");
    }

    // ---- 3. funding, then the regulator's monitoring ----

    private async Task FundWalletsAsync(Dictionary<string, NetworkUser> settlements, CurrencyCast cast, CancellationToken cancellationToken)
    {
        _run.Step("each operator funds its wallets from its settlement account");
        var expiry = await _ledger.ExpiryAsync(cancellationToken);
        var funding = _wallets.Select(w => Sign(settlements[w.Operator].Signer, DigitalCurrencyCalls.Pay(w.Account, cast.Funding(w)), expiry)).ToList();
        var funded = await CommitInBatchesAsync("wallets funded", funding, cancellationToken);
        var total = _wallets.Sum(w => (decimal)cast.Funding(w));
        _run.Expect(funded.All(r => r.Code == ErrorCode.Ok), $"{_wallets.Count} wallets funded, {Yuan((ulong)total)} in all", Codes(funded));
    }

    /// <summary>
    /// The rules take effect from the block that stores them, so the operators' funding (hundreds of payments from one
    /// settlement account) is not mistaken for velocity: monitoring starts as the currency goes to the public.
    /// </summary>
    private async Task StartMonitoringAsync(NetworkUser regulator, CancellationToken cancellationToken)
    {
        var threshold = CurrencyParameters.DefaultLargeValueThreshold;
        _run.Step($"the regulator starts monitoring dcep: large value (≥ {Yuan(threshold)}), structuring (3 payments just under it), velocity (20 payments in 30 blocks)");
        SupervisionRule[] rules =
        [
            new() { Id = "dcep-large-value", Kind = SupervisionRuleKind.LargeValue, Threshold = threshold, Severity = AlertSeverity.High, Enabled = true, Asset = DigitalCurrencyContract.AssetName,
                Description = "a payment at or above the large-value threshold" },
            new() { Id = "dcep-structuring", Kind = SupervisionRuleKind.Structuring, Threshold = threshold, FractionBps = 1_000, Count = 3, WindowBlocks = 200, Severity = AlertSeverity.High,
                Enabled = true, Asset = DigitalCurrencyContract.AssetName, Description = "three payments within 10% under the large-value threshold" },
            new() { Id = "dcep-velocity", Kind = SupervisionRuleKind.Velocity, Count = 20, WindowBlocks = 30, Severity = AlertSeverity.Medium, Enabled = true,
                Asset = DigitalCurrencyContract.AssetName, Description = "20 payments by one payer within 30 blocks" },
        ];
        var expiry = await _ledger.ExpiryAsync(cancellationToken);
        var stored = await _ledger.CommitAllAsync(rules.Select(r => regulator.Signer.Sign(SupervisionContract.ContractName, 1, "set_rule", r, expiry)).ToList(), cancellationToken);
        _run.Expect(stored.All(r => r.Code == ErrorCode.Ok), "three rules recorded on chain; the supervisor node evaluates them on every block", Codes(stored));
        _rulesHeight = stored.Max(r => r.Height);
    }

    // ---- helpers ----

    private static SignedTransaction Sign(TransactionSigner signer, CurrencyCall call, ulong expiry) => signer.Sign(call.Contract, call.Version, call.Method, call.Arguments, expiry);

    private async Task<Receipt> CallAsync(NetworkUser user, CurrencyCall call, CancellationToken cancellationToken) =>
        await _ledger.CommitAsync(user.Signer, call.Contract, call.Method, call.Arguments, cancellationToken);

    private async Task<Receipt> CallAsync(TransactionSigner signer, CurrencyCall call, CancellationToken cancellationToken) =>
        (await _ledger.CommitAllAsync([Sign(signer, call, await _ledger.ExpiryAsync(cancellationToken))], cancellationToken))[0];

    /// <summary>
    /// Submits in batches of <see cref="BatchSize"/>, the next batch submitted while the previous one commits (so the
    /// mempool never runs dry), printing progress as each commits; returns every receipt in submission order.
    /// </summary>
    private async Task<IReadOnlyList<Receipt>> CommitInBatchesAsync(string what, IReadOnlyList<SignedTransaction> transactions, CancellationToken cancellationToken)
    {
        var receipts = new List<Receipt>(transactions.Count);
        var watch = Stopwatch.StartNew();
        var batches = transactions.Chunk(BatchSize).ToList();
        var inFlight = new Queue<Task<IReadOnlyList<Receipt>>>();
        for (var next = 0; next < batches.Count || inFlight.Count > 0;)
        {
            while (next < batches.Count && inFlight.Count < BatchesInFlightMax) inFlight.Enqueue(_ledger.CommitAllAsync(batches[next++], cancellationToken));
            receipts.AddRange(await inFlight.Dequeue());
            var failed = receipts.Count(r => r.Code != ErrorCode.Ok);
            output.WriteLine($"  … {receipts.Count,5} of {transactions.Count} {what}{(failed > 0 ? $", {failed} refused" : "")} ({watch.Elapsed.TotalSeconds:0.0} s; {Elapsed} in all)");
        }

        return receipts;
    }

    private static string Codes(IEnumerable<Receipt> receipts) =>
        string.Join(", ", receipts.GroupBy(r => r.Code).Select(g => $"{g.Count()} {ErrorCodes.Name(g.Key)}"));

    private static string Yuan(ulong fen) => CurrencyParameters.Yuan(fen);

    private Uri SupervisorUri()
    {
        var supervisor = network.Chain.Genesis.Observers.FirstOrDefault(o => o.Kind == Custos.Identity.Consortium.NodeKind.Supervisor)
            ?? throw new CustosException(ErrorCode.InvalidField, "the dcep scenario needs the regulator's supervisor node (--observers 1 or more)");
        return new Uri($"http://{processes.Nodes.First(n => n.Name == supervisor.Name).HttpAddress}");
    }

    public void Dispose()
    {
        foreach (var session in _sessions) session.Dispose();
        foreach (var user in _users) user.Dispose();
        foreach (var wallet in _wallets) wallet.Key.Dispose();
    }
}
