using System.Security.Cryptography;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Identity.Pseudonyms;
using Custos.Identity.Wire;
using Custos.Node;
using Custos.Sdk;
using Custos.Supervision.Index;
using System.Net;
using Google.Protobuf;

namespace Custos.Cli.Scenarios;

/// <summary>
/// `custos devnet --scenario supervision`: "voluntary front desk, real name in the back office" and the regulator's
/// powers on a fresh network. A registrar opens pseudonymous wallets whose real identities are escrowed to three
/// authorities (two must cooperate); the wallets pay each other; a large payment raises the supervisor node's alert;
/// a freeze stops a wallet's payments; the regulator opens one pseudonym (one approval is shown not to be enough);
/// forged approvals and reused case references are refused; a consensus audit report is exported and verified
/// offline; and the supervisor node's PostgreSQL index holds the chain's transaction count.
/// </summary>
internal sealed class SupervisionScenario(NetworkDirectory network, DevnetProcesses processes, SupervisionBackOffice backOffice, TextWriter output) : IDisposable
{
    public const ulong LargeValueThreshold = 500_000;
    private const int Wallets = 6;
    private const uint EscrowThreshold = 2;

    private readonly ScenarioRun _run = new("supervision", output);
    private readonly List<NetworkUser> _users = [];
    private readonly List<LedgerSession> _sessions = [];
    private readonly List<(AccountId Account, SoftwareKey Key, TransactionSigner Signer, RealIdentity Identity, DecodedCredential Credential)> _wallets = [];

    private NetworkUser User(string label)
    {
        var user = network.User(label);
        _users.Add(user);
        return user;
    }

    private LedgerSession Session(NetworkUser user, string node)
    {
        var session = new LedgerSession(network.Connect(user, node), TimeSpan.FromSeconds(60));
        _sessions.Add(session);
        return session;
    }

    public async Task<ScenarioRun> RunAsync(CancellationToken cancellationToken)
    {
        var suite = network.Chain.Suite;
        var validators = network.Chain.Genesis.Validators.Select(v => v.Name).ToList();
        var regulator = User("regulator@regulator");
        var regulatorAdmin = User("admin@regulator");
        var centralBank = User("admin@org1");
        var registrar = User("registrar@org1");
        var secondRegistrar = User("admin@org2");
        var ledger = Session(regulator, validators[0]);

        // 1. The escrow policy: the regulator, the issuing registrar and a second institution each hold a share;
        //    any two of three open an identity, no single one can.
        _run.Step("the regulator sets the identity escrow policy (2 of 3 authorities)");
        NetworkUser[] authorities = [regulator, registrar, secondRegistrar];
        var policy = new EscrowPolicy { Threshold = EscrowThreshold, Decision = new SupervisionDecision { Reason = "escrow policy of the devnet" } };
        policy.Authorities.AddRange(authorities.Select(a => a.Account.ToByteString()));
        policy.AuthorityPublicKeys.AddRange(authorities.Select(a => ByteString.CopyFrom(a.Key.PublicKey.Encoded)));
        _run.ExpectCode(await ledger.CommitAsync(regulator.Signer, SupervisionContract.ContractName, "set_escrow_policy", policy, cancellationToken), ErrorCode.Ok,
            "escrow policy recorded on chain");

        // 2. Rules the supervisor node evaluates on every block.
        _run.Step($"the regulator configures a large-value rule (at or above {LargeValueThreshold} fen)");
        var rule = new SupervisionRule
        {
            Id = "large-value", Kind = SupervisionRuleKind.LargeValue, Threshold = LargeValueThreshold, Severity = AlertSeverity.High, Enabled = true,
            Description = "payments at or above the large-value threshold",
        };
        _run.ExpectCode(await ledger.CommitAsync(regulator.Signer, SupervisionContract.ContractName, "set_rule", rule, cancellationToken), ErrorCode.Ok, "rule recorded on chain");
        _run.ExpectCode(await ledger.CommitAsync(registrar.Signer, SupervisionContract.ContractName, "set_rule", rule, cancellationToken), ErrorCode.NotAuthorised,
            "a registrar cannot configure supervision rules");

        // 3. Pseudonymous wallets: fresh key and fresh credential per wallet; the registrar alone knows the person.
        _run.Step($"registrar@org1 opens {Wallets} pseudonymous wallets (identity escrowed 2 of 3) and the issuer funds them");
        var registrarSession = Session(registrar, validators[1]);
        var issuer = new PseudonymRegistrar(suite, registrar.Key, network.Chain.ChainId, "org1");
        var escrow = IdentityEscrowPolicy.Of(EscrowThreshold, authorities.Select(a => (a.Label, a.Key.PublicKey)));
        var registrations = new List<SignedTransaction>();
        var expiry = await registrarSession.ExpiryAsync(cancellationToken);
        for (var i = 0; i < Wallets; i++)
        {
            var key = suite.GenerateKey();
            var account = new AccountId(RandomNumberGenerator.GetBytes(AccountId.SizeBytes));
            var identity = new RealIdentity
            {
                LegalName = $"Customer {i + 1}", DocumentType = IdentityDocumentType.ResidentIdentityCard,
                DocumentNumber = $"1101011990030{i:D5}", IssuingCountry = "CN", DateOfBirth = "1990-03-07", CustomerReference = $"ORG1-KYC-{i + 1:D6}",
            };
            var credential = issuer.Issue(key.PublicKey, identity, escrow, CredentialValidity.Unbounded);
            _wallets.Add((account, key, new TransactionSigner(network.Chain.ChainId, suite, key, account), identity, credential));
            registrations.Add(registrar.Signer.Sign(SupervisionContract.ContractName, 1, "register_pseudonym",
                new RegisterPseudonymArguments { AccountId = account.ToByteString(), Credential = ByteString.CopyFrom(credential.Bytes.Span) }, expiry));
        }

        var registered = await registrarSession.CommitAllAsync(registrations, cancellationToken);
        _run.Expect(registered.All(r => r.Code == ErrorCode.Ok), $"{Wallets} pseudonyms registered", string.Join(", ", registered.Select(r => r.Code).Distinct()));
        var mints = _wallets.Select(w => centralBank.Signer.Sign(TokenContract.ContractName, 1, "mint", new MintArguments { To = w.Account.ToByteString(), Amount = 2_000_000 }, expiry)).ToList();
        var minted = await Session(centralBank, validators[2]).CommitAllAsync(mints, cancellationToken);
        _run.Expect(minted.All(r => r.Code == ErrorCode.Ok), "each wallet funded with 20,000.00 by the issuer");
        _run.Expect(_wallets.Select(w => w.Credential.Bytes.ToArray()).Distinct(new BytesComparer()).Count() == Wallets
            && _wallets.Select(w => w.Account).Distinct().Count() == Wallets, "every wallet has its own pseudonym and credential (nothing links them)");

        // 4. Payments between pseudonyms, then a large one.
        _run.Step("wallets pay each other: 30 small payments and one large payment");
        var walletSession = Session(registrar, validators[3]);
        var payments = Enumerable.Range(0, 30).Select(k => _wallets[k % Wallets].Signer.Transfer(_wallets[(k + 1) % Wallets].Account, 1_000 + (ulong)k, expiry)).ToList();
        var paid = await walletSession.CommitAllAsync(payments, cancellationToken);
        _run.Expect(paid.All(r => r.Code == ErrorCode.Ok), "30 small payments committed");
        var large = await walletSession.CommitAllAsync([_wallets[0].Signer.Transfer(_wallets[1].Account, 600_000, expiry)], cancellationToken);
        _run.ExpectCode(large[0], ErrorCode.Ok, "a payment of 6,000.00 committed");
        var largeId = new Hash32(large[0].TransactionId.Span);
        await ExpectLargeValueAlertAsync(largeId, _wallets[0].Account, cancellationToken);

        // 5. Freezes: the regulator's asset freeze and the registrar's account freeze, each enforced after consensus.
        _run.Step("the regulator freezes wallet 3's funds; its registrar freezes wallet 4's account");
        _run.ExpectCode(await ledger.CommitAsync(registrar.Signer, SupervisionContract.ContractName, "freeze_asset",
            new AssetFreezeArguments { Account = _wallets[2].Account.ToByteString(), Reason = "attempt without the power" }, cancellationToken), ErrorCode.NotAuthorised,
            "a registrar cannot use the regulator's asset freeze");
        _run.ExpectCode(await ledger.CommitAsync(regulator.Signer, SupervisionContract.ContractName, "freeze_asset",
            new AssetFreezeArguments { Account = _wallets[2].Account.ToByteString(), Reason = "case 2026-SUP-7: suspected fraud" }, cancellationToken), ErrorCode.Ok,
            "regulator froze wallet 3's funds");
        _run.ExpectCode(await ledger.CommitAsync(registrar.Signer, AccountRegistry.ContractName, "freeze",
            new AccountDecisionArguments { AccountId = _wallets[3].Account.ToByteString(), Reason = "customer reported the device stolen" }, cancellationToken), ErrorCode.Ok,
            "registrar froze wallet 4's account");
        var afterFreeze = await walletSession.CommitAllAsync([
            _wallets[2].Signer.Transfer(_wallets[0].Account, 10, expiry),
            _wallets[0].Signer.Transfer(_wallets[2].Account, 10, expiry),
            _wallets[3].Signer.Transfer(_wallets[0].Account, 10, expiry),
        ], cancellationToken);
        _run.ExpectCode(afterFreeze[0], ErrorCode.AssetFrozen, "wallet 3 cannot pay");
        _run.ExpectCode(afterFreeze[1], ErrorCode.AssetFrozen, "wallet 3 cannot be paid");
        _run.Expect(afterFreeze[2].Code is ErrorCode.AccountFrozen, "wallet 4 cannot pay", $"{afterFreeze[2].Code}: {afterFreeze[2].Message}");

        // 6. Opening the large payer's identity: a case on chain, approvals from the escrow authorities.
        await OpenIdentityAsync(ledger, regulator, regulatorAdmin, centralBank, authorities, largeId, cancellationToken);

        // 7. The consensus history, audited and signed for the regulator, verified offline with only the genesis file.
        await ExportAndVerifyAuditAsync(cancellationToken);

        // 8. The supervisor node's SQL index agrees with the chain.
        await ExpectIndexMatchesChainAsync(regulator, cancellationToken);

        foreach (var node in processes.Nodes) node.ThrowIfExited();
        return _run;
    }

    private async Task OpenIdentityAsync(LedgerSession ledger, NetworkUser regulator, NetworkUser regulatorAdmin, NetworkUser centralBank, NetworkUser[] authorities,
        Hash32 largePayment, CancellationToken cancellationToken)
    {
        var suite = network.Chain.Suite;
        var target = _wallets[0];
        const string caseReference = "CASE-2026-SUP-0042";
        _run.Step($"the regulator opens the identity behind {target.Account} (case {caseReference})");
        var requesterKey = (SoftwareKey)regulator.Key;
        var request = new OpeningRequest
        {
            CaseReference = caseReference, LegalBasis = "Anti-Money Laundering Law, art. 35; large-value report " + largePayment.ToShortString(),
            Pseudonym = target.Account.ToByteString(), RequesterPublicKey = ByteString.CopyFrom(requesterKey.PublicKey.Encoded),
        };
        _run.ExpectCode(await ledger.CommitAsync(centralBank.Signer, SupervisionContract.ContractName, "request_opening", request, cancellationToken), ErrorCode.NotAuthorised,
            "only the regulator may request an opening");
        _run.ExpectCode(await ledger.CommitAsync(regulator.Signer, SupervisionContract.ContractName, "request_opening", request, cancellationToken), ErrorCode.Ok,
            "opening case recorded on chain");
        _run.ExpectCode(await ledger.CommitAsync(regulatorAdmin.Signer, SupervisionContract.ContractName, "request_opening", request, cancellationToken), ErrorCode.CaseReferenceReused,
            "the case reference cannot be reused");

        // The credential comes from the chain, verified against the validators' QC like any light client read.
        var stored = await ledger.Client.ReadVerifiedStateAsync(SupervisionContract.CredentialKey(target.Credential.Id), cancellationToken: cancellationToken);
        if (stored.Value is null || !PseudonymCredentials.TryDecode(suite, stored.Value, out var credential, out _))
        {
            _run.Expect(false, "the pseudonym's credential is readable from the chain with a proof");
            return;
        }

        ReleasedShare Release(NetworkUser authority) =>
            ShareRelease.TryRelease(suite, ((SoftwareKey)authority.Key).AsDecryptionKey(), credential, caseReference, requesterKey.PublicKey, out var share, out var error)
                ? share
                : throw error.ToException();
        ApproveOpeningArguments Approval(uint index, ReleasedShare share) => new() { CaseReference = caseReference, AuthorityIndex = index, ReleasedShare = share.ToByteString() };

        // A forged approval: the central bank is no escrow authority, even if it presents a genuine share.
        _run.ExpectCode(await ledger.CommitAsync(centralBank.Signer, SupervisionContract.ContractName, "approve_opening", Approval(0, Release(authorities[0])), cancellationToken),
            ErrorCode.ApprovalInvalid, "an approval from an account that is not the named authority is refused");
        var first = await ledger.CommitAsync(authorities[0].Signer, SupervisionContract.ContractName, "approve_opening", Approval(0, Release(authorities[0])), cancellationToken);
        _run.ExpectCode(first, ErrorCode.Ok, "authority 1 (the regulator) approved and released its share to the requester");

        var afterOne = await ReadOpeningAsync(ledger, caseReference, first.Height, cancellationToken);
        var oneEnough = IdentityOpening.TryOpen(suite, requesterKey.AsDecryptionKey(), credential, caseReference,
            afterOne.Approvals.Select(a => a.ReleasedShare.Memory), out _, out var tooFew);
        _run.Expect(afterOne.Approvals.Count == 1 && !oneEnough && !afterOne.Approved && tooFew.Code == ErrorCode.ApprovalsInsufficient,
            "with t-1 = 1 approval recorded the identity cannot be opened", tooFew?.Message);

        var second = await ledger.CommitAsync(authorities[1].Signer, SupervisionContract.ContractName, "approve_opening", Approval(1, Release(authorities[1])), cancellationToken);
        _run.ExpectCode(second, ErrorCode.Ok, "authority 2 (the registrar) approved and released its share");
        var opening = await ReadOpeningAsync(ledger, caseReference, second.Height, cancellationToken);
        var opened = IdentityOpening.TryOpen(suite, requesterKey.AsDecryptionKey(), credential, caseReference,
            opening.Approvals.Select(a => a.ReleasedShare.Memory), out var result, out var failure);
        _run.Expect(opened && opening.Approved && result.Identity.Equals(target.Identity),
            "with t = 2 approvals the requester recovers the real identity", opened ? $"{result.Identity.LegalName}, {result.Identity.CustomerReference}" : failure.Message);
        await ExpectRelatedTransactionsAsync(target.Account, cancellationToken);
    }

    /// <summary>The supervisor node raises the large-value alert, serves it to the regulator only, and delivers it to the webhook.</summary>
    private async Task ExpectLargeValueAlertAsync(Hash32 payment, AccountId payer, CancellationToken cancellationToken)
    {
        _run.Step($"the supervisor node {backOffice.Supervisor} evaluates the rule on every block");
        var regulator = User("regulator@regulator");
        var registrar = User("registrar@org2");
        var node = processes.Nodes.First(n => n.Name == backOffice.Supervisor);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{node.HttpAddress}"), Timeout = TimeSpan.FromSeconds(10) };
        Alert? found = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (found is null && DateTime.UtcNow < deadline)
        {
            var (status, body) = await GetSignedAsync(http, regulator, RevealedAlertsPath, cancellationToken);
            if (status == HttpStatusCode.OK)
            {
                var page = JsonParser.Default.Parse<AlertPage>(body);
                found = page.Alerts.FirstOrDefault(a => a.RuleId == "large-value" && a.TransactionIds.Any(t => t.Span.SequenceEqual(payment.ToByteString().Span)));
            }

            if (found is null) await Task.Delay(500, cancellationToken);
        }

        _run.Expect(found is not null && new AccountId(found.SubjectAccount.Span) == payer,
            "the large payment raised a large-value alert naming the payer's pseudonym", found is null ? "no alert within 60 s" : $"alert at height {found.Height}: {found.Detail}");
        var (maskedStatus, masked) = await GetSignedAsync(http, regulator, SupervisionAlertsPath, cancellationToken);
        var mask = Custos.Privacy.Masking.IdentifierMask.Account(payer);
        _run.Expect(maskedStatus == HttpStatusCode.OK && masked.Contains(mask, StringComparison.Ordinal) && !masked.Contains(payer.ToString(), StringComparison.Ordinal),
            "without a reveal the alerts show the payer's pseudonym masked", $"HTTP {(int)maskedStatus}: {mask}");
        var (refused, _) = await GetSignedAsync(http, registrar, SupervisionAlertsPath, cancellationToken);
        _run.Expect(refused is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized, "alerts are refused to a non-regulator", $"HTTP {(int)refused}");
        var (revealRefused, _) = await GetSignedAsync(http, registrar, RevealedAlertsPath, cancellationToken);
        _run.Expect(revealRefused == HttpStatusCode.Forbidden, "a reveal of the alerts' accounts is refused to a non-regulator", $"HTTP {(int)revealRefused}");

        if (found is null) return;
        var id = Convert.ToHexStringLower(found.Id.ToByteArray());
        var delivered = false;
        for (var wait = DateTime.UtcNow + TimeSpan.FromSeconds(30); !delivered && DateTime.UtcNow < wait; await Task.Delay(250, cancellationToken))
        {
            delivered = backOffice.Deliveries.Any(d => d.Contains(id, StringComparison.OrdinalIgnoreCase) || d.Contains(found.Id.ToBase64(), StringComparison.Ordinal));
        }

        _run.Expect(delivered, "the alert was delivered to the regulator's webhook", $"{backOffice.Deliveries.Count} deliveries");
    }

    /// <summary>
    /// After the opening, the regulator lists the pseudonym's transactions through the supervisor node's audit API
    /// (look-through, SUP-2/3), and reads statistics per organisation (SUP-6); a registrar is refused both.
    /// </summary>
    private async Task ExpectRelatedTransactionsAsync(AccountId account, CancellationToken cancellationToken)
    {
        if (backOffice.Database is null)
        {
            _run.Expect(false, "the opened pseudonym's transactions are listed by the audit API", backOffice.DatabaseUnavailable);
            return;
        }

        var regulator = User("regulator@regulator");
        var node = processes.Nodes.First(n => n.Name == backOffice.Supervisor);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{node.HttpAddress}"), Timeout = TimeSpan.FromSeconds(10) };
        var path = $"/v1/supervision/transactions?account={account}&limit=1000";

        // The index follows the chain a moment behind: wait (bounded) until it holds the pseudonym's payments.
        var sent = 0;
        var payee = 0;
        var status = HttpStatusCode.OK;
        for (var wait = DateTime.UtcNow + TimeSpan.FromSeconds(60); DateTime.UtcNow < wait; await Task.Delay(250, cancellationToken))
        {
            (status, var body) = await GetSignedAsync(http, regulator, path, cancellationToken);
            if (status != HttpStatusCode.OK) break;
            var rows = System.Text.Json.JsonDocument.Parse(body).RootElement.EnumerateArray().Select(r => r.GetProperty("role").GetString()).ToList();
            (sent, payee) = (rows.Count(r => r == "sender"), rows.Count(r => r == "payee"));
            if (sent >= 6) break;
        }

        _run.Expect(sent >= 6 && payee >= 1, "the audit API lists the opened pseudonym's transactions (sent and received)", $"HTTP {(int)status}: {sent} sent, {payee} received");
        var (statistics, statisticsBody) = await GetSignedAsync(http, regulator, "/v1/supervision/statistics?by=organisation", cancellationToken);
        _run.Expect(statistics == HttpStatusCode.OK && statisticsBody.Contains("\"org1\"", StringComparison.Ordinal), "daily statistics per organisation are served to the regulator", $"HTTP {(int)statistics}");
        var (refused, _) = await GetSignedAsync(http, User("registrar@org1"), path, cancellationToken);
        _run.Expect(refused is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized, "the audit API refuses a registrar", $"HTTP {(int)refused}");
    }

    /// <summary>
    /// The regulator audits the supervisor node's consensus history while it runs (read-only), signs the report with
    /// its key, and verifies it offline with only the genesis file, through the same CLI commands people use.
    /// </summary>
    private async Task ExportAndVerifyAuditAsync(CancellationToken cancellationToken)
    {
        _run.Step("the regulator exports a signed consensus audit report and verifies it offline");
        var config = NodeConfigurationFile.Load(network.ConfigPath(backOffice.Supervisor));
        var data = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(network.ConfigPath(backOffice.Supervisor))!, config.DataDirectory));
        var user = Path.Combine(network.Root, "orgs", "regulator", "users", "regulator");
        var report = Path.Combine(network.Root, "audit-report.json");
        var log = new StringWriter();
        var audited = await CustosCommand.RunAsync(["audit", "consensus", "--data", data, "--report", report, "--key", Path.Combine(user, "regulator.key"),
            "--certificate", Path.Combine(user, "regulator.pem"), "--passphrase-file", Path.Combine(network.Root, "secrets", "regulator.passphrase")], log, log);
        var auditLine = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith("audit:", StringComparison.Ordinal));
        _run.Expect(audited == 0 && File.Exists(report), "the audit of the running supervisor node passed and the report is signed", auditLine ?? log.ToString().Trim());

        log = new StringWriter();
        var verified = await CustosCommand.RunAsync(["audit", "verify", report, "--genesis", Path.Combine(network.Root, "genesis.json")], log, log);
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        _run.Expect(verified == 0, "the report verifies offline with the genesis file alone", lines.LastOrDefault()?.Trim());

        // One altered fact in the signed body (the head's hash) must be caught.
        var tampered = Path.Combine(network.Root, "audit-report-tampered.json");
        var document = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(report, cancellationToken))!;
        var body = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(document["body"]!.GetValue<string>()));
        var hashAt = body.IndexOf("\"hash\":\"", StringComparison.Ordinal) + 8;
        var altered = body[..hashAt] + (body[hashAt] == '0' ? '1' : '0') + body[(hashAt + 1)..];
        document["body"] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(altered));
        await File.WriteAllTextAsync(tampered, document.ToJsonString(), cancellationToken);
        log = new StringWriter();
        var rejected = await CustosCommand.RunAsync(["audit", "verify", tampered, "--genesis", Path.Combine(network.Root, "genesis.json")], log, log);
        _run.Expect(rejected != 0, "an altered report is rejected", log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim());
    }

    private const string SupervisionAlertsPath = "/v1/supervision/alerts?fromHeight=0";

    // The alerts mask accounts by default; tracing one to its pseudonym is a recorded reveal with a purpose (PRI-4).
    private static readonly string RevealedAlertsPath = SupervisionAlertsPath + "&reveal=true&purpose=" + Uri.EscapeDataString("trace the large-value alert to the payer pseudonym");

    private static async Task<(HttpStatusCode Status, string Body)> GetSignedAsync(HttpClient http, NetworkUser user, string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        foreach (var (name, value) in Custos.Node.Api.RequestSignature.Sign(user.Key, user.Certificate.Der, "GET", pathAndQuery, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>The supervisor node's SQL index reaches the chain's head and holds exactly the chain's transactions.</summary>
    private async Task ExpectIndexMatchesChainAsync(NetworkUser reader, CancellationToken cancellationToken)
    {
        _run.Step("the supervisor node's PostgreSQL index against the chain");
        if (backOffice.Database is not { } database)
        {
            _run.Expect(false, "the PostgreSQL index holds the chain's transactions", backOffice.DatabaseUnavailable);
            return;
        }

        await using var index = await SupervisionIndexWriter.OpenAsync(new SupervisionIndexOptions(database.ConnectionString), cancellationToken);
        using var client = network.Connect(reader, backOffice.Supervisor);
        var head = (await client.StatusAsync(cancellationToken)).Height;
        IndexProgress? progress = null;
        for (var wait = DateTime.UtcNow + TimeSpan.FromSeconds(60); DateTime.UtcNow < wait; await Task.Delay(250, cancellationToken))
        {
            progress = await index.ReadProgressAsync(cancellationToken);
            if (progress is { } p && p.Height >= head) break;
        }

        if (progress is null)
        {
            _run.Expect(false, "the index caught up with the chain", "nothing indexed within 60 s");
            return;
        }

        // The index goes on while we count: take totals between two equal progress reads.
        IndexTotals totals;
        while (true)
        {
            totals = await index.ReadTotalsAsync(cancellationToken);
            var after = await index.ReadProgressAsync(cancellationToken);
            if (after == progress) break;
            progress = after!;
        }

        long onChain = 0;
        for (ulong h = 0; h <= progress.Height; h++)
        {
            onChain += Core.Wire.Block.Parser.ParseFrom((await client.BlockAsync(h, cancellationToken)).Block).Transactions.Count;
        }

        _run.Expect(totals.Transactions == onChain && totals.Blocks == (long)progress.Height + 1,
            $"the PostgreSQL index holds the chain's {onChain} transactions in {progress.Height + 1} blocks",
            $"index: {totals.Transactions} transactions, {totals.Blocks} blocks, {totals.Transfers} transfers, {totals.Alerts} alerts");
        _run.Expect(totals.Alerts >= 1, "the alert is in the index too", $"{totals.Alerts} alerts");
    }

    private static async Task<OpeningRecord> ReadOpeningAsync(LedgerSession ledger, string caseReference, ulong height, CancellationToken cancellationToken)
    {
        var state = await ReadVerifiedAsync(ledger, SupervisionContract.OpeningKey(caseReference), height, cancellationToken);
        return state.Value is null ? new OpeningRecord() : OpeningRecord.Parser.ParseFrom(state.Value);
    }

    private static Task<VerifiedState> ReadVerifiedAsync(LedgerSession ledger, byte[] key, ulong height, CancellationToken cancellationToken) =>
        ledger.ReadVerifiedAtAsync(key, height, cancellationToken);

    public void Dispose()
    {
        foreach (var session in _sessions) session.Dispose();
        foreach (var user in _users) user.Dispose();
        foreach (var wallet in _wallets) wallet.Key.Dispose();
    }

    private sealed class BytesComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length == 0 ? 0 : HashCode.Combine(obj.Length, obj[0], obj[^1], obj[obj.Length / 2]);
    }
}
