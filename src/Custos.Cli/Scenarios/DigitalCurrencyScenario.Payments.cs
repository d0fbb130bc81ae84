using System.Text;
using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.DigitalCurrency;
using Custos.DigitalCurrency.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Identity.Pseudonyms;
using Custos.Privacy.Envelopes;
using Custos.Privacy.Wire;
using Custos.Sdk;
using Google.Protobuf;

namespace Custos.Cli.Scenarios;

/// <summary>
/// Who plays which part. The wallets with a part are kept out of the ordinary traffic, so that every outcome below is
/// known in advance whatever order the payments of one batch execute in: the traffic stays within every limit, and
/// each probe is built so that exactly the refusals named are possible.
/// </summary>
internal sealed record CurrencyCast(
    CurrencyWallet LargePayer, CurrencyWallet LargePayee, CurrencyWallet Structurer, IReadOnlyList<CurrencyWallet> Suppliers, CurrencyWallet Hasty,
    CurrencyWallet Merchant, CurrencyWallet OverPayer, CurrencyWallet DailySpender, CurrencyWallet NearlyFull, CurrencyWallet Class3Payer,
    CurrencyWallet Overdrawn, CurrencyWallet Upgraded, CurrencyWallet Buyer, CurrencyWallet Seller, CurrencyWallet Suspect,
    IReadOnlyList<CurrencyWallet> TrafficOrg2, IReadOnlyList<CurrencyWallet> TrafficOrg3)
{
    /// <summary>The anonymous wallets that test limits start close to their class's balance cap (¥10,000).</summary>
    public const ulong ProbeFunding = 900_000;

    public ulong Funding(CurrencyWallet wallet) =>
        wallet == OverPayer || wallet == DailySpender || wallet == NearlyFull || wallet == Upgraded
            ? ProbeFunding
            : wallet.WalletClass switch { 1 => 20_000_000, 2 => 2_000_000, 3 => 500_000, _ => 300_000 };

    public IEnumerable<CurrencyWallet> Players =>
        [LargePayer, LargePayee, Structurer, .. Suppliers, Hasty, Merchant, OverPayer, DailySpender, NearlyFull, Class3Payer, Overdrawn, Upgraded, Buyer, Seller, Suspect];
}

internal sealed partial class DigitalCurrencyScenario
{
    private const int TrafficRounds = 4;

    private static CurrencyCast CastOf(IReadOnlyList<CurrencyWallet> wallets)
    {
        var pools = wallets.GroupBy(w => (w.Operator, w.WalletClass)).ToDictionary(g => g.Key, g => new Queue<CurrencyWallet>(g));
        CurrencyWallet Take(string organisation, uint walletClass) => pools[(organisation, walletClass)].Dequeue();
        var cast = new CurrencyCast(
            LargePayer: Take("org2", 1), LargePayee: Take("org3", 1), Structurer: Take("org3", 1), Suppliers: [Take("org2", 2), Take("org2", 2), Take("org2", 2)],
            Hasty: Take("org2", 2), Merchant: Take("org3", 2), OverPayer: Take("org2", 4), DailySpender: Take("org3", 4), NearlyFull: Take("org2", 4),
            Class3Payer: Take("org3", 3), Overdrawn: Take("org3", 2), Upgraded: Take("org2", 4), Buyer: Take("org2", 3), Seller: Take("org3", 3), Suspect: Take("org3", 2),
            TrafficOrg2: [], TrafficOrg3: []);
        var players = cast.Players.ToHashSet();
        var org2 = wallets.Where(w => w.Operator == "org2" && !players.Contains(w)).ToList();
        var org3 = wallets.Where(w => w.Operator == "org3" && !players.Contains(w)).ToList();
        var n = Math.Min(org2.Count, org3.Count);
        return cast with { TrafficOrg2 = org2.Take(n).ToList(), TrafficOrg3 = org3.Take(n).ToList() };
    }

    // ---- 4. the public pays: thousands of payments across operators ----

    /// <summary>
    /// Every traffic wallet pays once per round to a wallet of the other operator and is paid once per round, ¥1.00 to
    /// ¥100.99 each time: within every class's caps and funds whatever the order of execution.
    /// </summary>
    private async Task PayAcrossOperatorsAsync(CurrencyCast cast, CancellationToken cancellationToken)
    {
        var (org2, org3) = (cast.TrafficOrg2, cast.TrafficOrg3);
        var n = org2.Count;
        _run.Step($"{2 * n} wallets pay each other across operators: {TrafficRounds} rounds, {TrafficRounds * 2 * n} payments");
        var expiry = await _ledger.ExpiryAsync(cancellationToken);
        var payments = new List<(TransactionSigner Signer, CurrencyCall Call)>();
        for (var round = 0; round < TrafficRounds; round++)
        {
            for (var j = 0; j < n; j++)
            {
                payments.Add((org2[j].Signer, DigitalCurrencyCalls.Pay(org3[(j + 1 + 13 * round) % n].Account, TrafficAmount(payments.Count))));
                payments.Add((org3[j].Signer, DigitalCurrencyCalls.Pay(org2[(j + 3 + 17 * round) % n].Account, TrafficAmount(payments.Count))));
            }
        }

        var signed = new SignedTransaction[payments.Count];
        Parallel.For(0, payments.Count, i => signed[i] = Sign(payments[i].Signer, payments[i].Call, expiry));
        var receipts = await CommitInBatchesAsync("payments committed", signed, cancellationToken);
        _payments.Add(receipts);
        _run.Expect(receipts.All(r => r.Code == ErrorCode.Ok), $"{receipts.Count} payments between wallets of org2 and org3 accepted and final", Codes(receipts));
    }

    private static ulong TrafficAmount(int k) => 100 + (ulong)(k * 7_919 % 10_000);

    // ---- 5. payments beyond the limits ----

    private async Task PayBeyondLimitsAsync(CurrencyCast cast, NetworkUser centralBank, CancellationToken cancellationToken)
    {
        _run.Step("payments at and beyond the limits of their class (class 4: ¥2,000 a payment, ¥5,000 a day, ¥10,000 held; class 3: ¥5,000 a payment)");
        var expiry = await _ledger.ExpiryAsync(cancellationToken);
        var probes = new (CurrencyWallet From, AccountId To, ulong Amount)[]
        {
            (cast.OverPayer, cast.Merchant.Account, 200_001),         // 0: one fen over the per-payment limit
            (cast.OverPayer, cast.Merchant.Account, 200_000),         // 1: exactly at it
            (cast.DailySpender, cast.Suppliers[0].Account, 200_000),  // 2..5: ¥5,000.01 in one day; any one may be the one over
            (cast.DailySpender, cast.Suppliers[0].Account, 200_000),
            (cast.DailySpender, cast.Suppliers[0].Account, 100_000),
            (cast.DailySpender, cast.Suppliers[0].Account, 1),
            (cast.Class3Payer, cast.NearlyFull.Account, 150_000),     // 6: past the payee's ¥10,000 in either order
            (cast.Class3Payer, cast.NearlyFull.Account, 100_000),     // 7: fills it exactly
            (cast.Class3Payer, cast.Merchant.Account, 500_001),       // 8: class 3 per-payment limit
            (cast.Overdrawn, cast.Suppliers[1].Account, 3_000_000),   // 9: within class 2's limits, beyond its funds
            (cast.Overdrawn, centralBank.Account, 100),               // 10: the central bank's account holds no wallet
        };
        var receipts = await _ledger.CommitAllAsync(probes.Select(p => Sign(p.From.Signer, DigitalCurrencyCalls.Pay(p.To, p.Amount), expiry)).ToList(), cancellationToken);
        _payments.Add(receipts);

        ExpectRefusal(receipts[0], RefusalReasons.PerPaymentLimit, "¥2,000.01 from a class 4 wallet is refused");
        _run.ExpectCode(receipts[1], ErrorCode.Ok, "¥2,000.00, exactly the per-payment limit, is accepted");
        var daily = receipts.Skip(2).Take(4).ToList();
        _run.Expect(PaymentTally.RefusedFor(daily, RefusalReasons.DailyLimit) == 1 && daily.Count(r => r.Code == ErrorCode.Ok) == 3,
            "¥5,000.01 in one day from a class 4 wallet: ¥5,000 accepted, the payment that goes over refused (daily limit)", Codes(daily));
        ExpectRefusal(receipts[6], RefusalReasons.BalanceLimit, "¥1,500 to a class 4 wallet holding ¥9,000 is refused");
        _run.ExpectCode(receipts[7], ErrorCode.Ok, "¥1,000 that brings it to exactly ¥10,000 is accepted");
        ExpectRefusal(receipts[8], RefusalReasons.PerPaymentLimit, "¥5,000.01 from a class 3 wallet is refused");
        ExpectRefusal(receipts[9], ErrorCodes.Name(ErrorCode.InsufficientFunds), "¥30,000 from a wallet holding ¥20,000 is refused");
        ExpectRefusal(receipts[10], ErrorCodes.Name(ErrorCode.WalletNotFound), "a payment to an account that holds no wallet is refused");
        var full = await ReadBalanceAsync(cast.NearlyFull.Account, receipts[7].Height, cancellationToken);
        _run.Expect(full == 1_000_000, "the class 4 payee holds exactly its cap", Yuan(full));
    }

    private void ExpectRefusal(Receipt receipt, string reason, string what)
    {
        var actual = receipt.Code == ErrorCode.Ok ? "accepted" : RefusalReasons.Of(receipt.Code, receipt.Message);
        _run.Expect(actual == reason, $"{what} ({reason})", receipt.Code == ErrorCode.Ok ? "accepted" : receipt.Message);
    }

    private async Task<ulong> ReadBalanceAsync(AccountId account, ulong height, CancellationToken cancellationToken)
    {
        var state = await _ledger.ReadVerifiedAtAsync(DigitalCurrencyContract.BalanceKey(account), height, cancellationToken);
        return state.Value is null ? 0 : System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(state.Value);
    }

    // ---- 6. a class upgrade ----

    private async Task UpgradeWalletAsync(CurrencyCast cast, NetworkUser operatorAdmin, CancellationToken cancellationToken)
    {
        var wallet = cast.Upgraded;
        _run.Step($"{wallet.Label} pays ¥3,000; its customer then proves their identity and org2 upgrades it to class 3");
        var before = await CallAsync(wallet.Signer, DigitalCurrencyCalls.Pay(cast.Merchant.Account, 300_000), cancellationToken);
        _payments.Add([before]);
        ExpectRefusal(before, RefusalReasons.PerPaymentLimit, "as class 4 it cannot pay ¥3,000");
        _run.ExpectCode(await CallAsync(operatorAdmin, DigitalCurrencyCalls.UpgradeWallet(wallet.Account, 3, wallet.RealNameAttestation(network.Chain.Suite)), cancellationToken),
            ErrorCode.Ok, "org2 upgraded the wallet to class 3 with its real-name attestation");
        var after = await CallAsync(wallet.Signer, DigitalCurrencyCalls.Pay(cast.Merchant.Account, 300_000), cancellationToken);
        _payments.Add([after]);
        _run.ExpectCode(after, ErrorCode.Ok, "as class 3 it pays ¥3,000");
    }

    // ---- 7. managed anonymity: a large payment, alerted and traced ----

    private async Task LargeValueAsync(CurrencyCast cast, SupervisorAlerts alerts, CancellationToken cancellationToken)
    {
        var (payer, payee) = (cast.LargePayer, cast.LargePayee);
        const ulong amount = 6_000_000;
        _run.Step($"{payer.Label} pays {Yuan(amount)} to {payee.Label}: at or above the large-value threshold, with remittance information (C2) sealed to the payee and the supervisor");
        using var regulator = User("regulator@regulator");
        var suite = network.Chain.Suite;
        byte[] reference = [0x4C, 0x56, 0x01];
        var remittance = Encoding.UTF8.GetBytes($"contract DC-2026-0042: equipment purchase, {Yuan(amount)}");
        var address = new EnvelopeAddress(network.Chain.ChainId, DigitalCurrencyContract.ContractName, DigitalCurrencyContract.RemittanceKey(payer.Account, reference), DataClass.C2);
        var envelope = PrivacyEnvelope.Seal(suite, payer.Key, address, remittance, [payee.Key.PublicKey], regulator.Key.PublicKey);
        var receipt = await CallAsync(payer.Signer, DigitalCurrencyCalls.Pay(payee.Account, amount, envelope.ToByteArray(), reference), cancellationToken);
        _payments.Add([receipt]);
        _run.ExpectCode(receipt, ErrorCode.Ok, $"the {Yuan(amount)} payment is final");
        if (receipt.Code != ErrorCode.Ok) return;

        var reportEvent = receipt.Events.FirstOrDefault(e => e.Contract == DigitalCurrencyContract.ContractName && e.Name == "large_value_report");
        var report = reportEvent is null ? null : LargeValueReport.Parser.ParseFrom(reportEvent.Data);
        _run.Expect(report is not null && report.FromCredentialId == payer.Credential.Id.ToByteString() && report.ToCredentialId == payee.Credential.Id.ToByteString()
                && report.FromOperator == "org2" && report.ToOperator == "org3",
            "the contract reported it to the supervisor with both sides' credential ids (the escrow references) and operators",
            report is null ? "no large_value_report event" : $"credential {new Hash32(report.FromCredentialId.Span).ToShortString()} at {report.FromOperator} → {new Hash32(report.ToCredentialId.Span).ToShortString()} at {report.ToOperator}");

        var paymentId = receipt.TransactionId;
        var alert = await alerts.WaitForAsync(_rulesHeight, a => a.RuleId == "dcep-large-value" && a.TransactionIds.Contains(paymentId), TimeSpan.FromSeconds(60), cancellationToken);
        _run.Expect(alert is not null && new AccountId(alert.SubjectAccount.Span) == payer.Account && new AccountId(alert.Counterparty.Span) == payee.Account && alert.Amount == amount,
            "the supervisor node raised a large-value alert naming the payer's pseudonym, the payee and the amount",
            alert is null ? "no alert within 60 s" : $"alert at height {alert.Height}: {alert.Detail}");
        if (alert is null || report is null) return;

        // The trace: alert → pseudonym → its registered credential, whose escrow (2 of 3) opens the identity under the
        // supervision procedure, and whose registrar (the operator) knows the customer. Read with proofs.
        var subject = new AccountId(alert.SubjectAccount.Span);
        var pseudonymState = await _ledger.ReadVerifiedAtAsync(SupervisionContract.PseudonymKey(subject), alert.Height, cancellationToken);
        var pseudonym = pseudonymState.Value is null ? null : PseudonymRecord.Parser.ParseFrom(pseudonymState.Value);
        var credentialState = pseudonym is null ? null : await _ledger.ReadVerifiedAtAsync(SupervisionContract.CredentialKey(new Hash32(pseudonym.CredentialId.Span)), alert.Height, cancellationToken);
        var decoded = credentialState?.Value is { } bytes && PseudonymCredentials.TryDecode(network.Chain.Suite, bytes, out var credential, out _) ? credential : null;
        _run.Expect(pseudonym is not null && pseudonym.CredentialId == report.FromCredentialId && pseudonym.RegistrarOrganisation == "org2"
                && decoded is not null && decoded.Threshold == EscrowThreshold && decoded.PseudonymPublicKey.AsSpan().SequenceEqual(payer.Key.PublicKey.Encoded),
            "the regulator traces the alert to the payer's escrowed credential (proven reads): org2 knows the customer, 2 of 3 authorities open the identity",
            decoded is null ? "credential not found" : $"pseudonym {subject.ToString()[..6]}… → credential {decoded.Id.ToShortString()}, registrar {decoded.RegistrarOrganisation}, escrow {decoded.Threshold} of {decoded.AuthorityPublicKeys.Count}");

        // The remittance information is on chain encrypted: the regulator reads it with a proof and opens it with its
        // escrow key; the operator of neither side can.
        var remittanceState = await _ledger.ReadVerifiedAtAsync(address.Key, alert.Height, cancellationToken);
        var sealedRemittance = remittanceState.Value is { } sealedBytes ? PrivateEnvelope.Parser.ParseFrom(sealedBytes) : null;
        var opened = sealedRemittance is not null && regulator.Key is SoftwareKey regulatorKey
            && PrivacyEnvelope.TryOpen(suite, sealedRemittance, regulatorKey.AsDecryptionKey(), out var plain, out _) && plain.AsSpan().SequenceEqual(remittance);
        using var outsider = User("admin@org1");
        var outsiderOpens = sealedRemittance is not null && outsider.Key is SoftwareKey outsiderKey
            && PrivacyEnvelope.TryOpen(suite, sealedRemittance, outsiderKey.AsDecryptionKey(), out _, out _);
        _run.Expect(opened && !outsiderOpens,
            "the payment's remittance information is on chain only encrypted; the regulator opens it with its escrow key, the central bank cannot",
            sealedRemittance is null ? "no remittance record" : $"regulator opened: {opened}, central bank opened: {outsiderOpens}");
        var status = await alerts.StatusForAsync(User("admin@org3"), cancellationToken);
        _run.Expect(status is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.Unauthorized, "the alerts are refused to an operator", $"HTTP {(int)status}");
    }

    // ---- 8. structuring and velocity ----

    private async Task StructuringAndVelocityAsync(CurrencyCast cast, SupervisorAlerts alerts, CancellationToken cancellationToken)
    {
        const ulong justUnder = 4_800_000;
        _run.Step($"{cast.Structurer.Label} splits ¥144,000 into three payments of {Yuan(justUnder)}; {cast.Hasty.Label} makes 25 small payments at once");
        var expiry = await _ledger.ExpiryAsync(cancellationToken);
        var split = cast.Suppliers.Select(s => Sign(cast.Structurer.Signer, DigitalCurrencyCalls.Pay(s.Account, justUnder), expiry));
        var burst = Enumerable.Range(0, 25).Select(_ => Sign(cast.Hasty.Signer, DigitalCurrencyCalls.Pay(cast.Merchant.Account, 1_000), expiry));
        var receipts = await _ledger.CommitAllAsync([.. split, .. burst], cancellationToken);
        _payments.Add(receipts);
        _run.Expect(receipts.All(r => r.Code == ErrorCode.Ok), "all 28 payments are within their limits and final", Codes(receipts));

        var structuring = await alerts.WaitForAsync(_rulesHeight, a => a.RuleId == "dcep-structuring" && new AccountId(a.SubjectAccount.Span) == cast.Structurer.Account,
            TimeSpan.FromSeconds(60), cancellationToken);
        _run.Expect(structuring is not null, "the supervisor node raised a structuring alert on the splitting payer",
            structuring is null ? "no alert within 60 s" : $"height {structuring.Height}: {structuring.Detail}");
        var velocity = await alerts.WaitForAsync(_rulesHeight, a => a.RuleId == "dcep-velocity" && new AccountId(a.SubjectAccount.Span) == cast.Hasty.Account,
            TimeSpan.FromSeconds(60), cancellationToken);
        _run.Expect(velocity is not null, "the supervisor node raised a velocity alert on the hasty payer",
            velocity is null ? "no alert within 60 s" : $"height {velocity.Height}: {velocity.Detail}");
    }
}
