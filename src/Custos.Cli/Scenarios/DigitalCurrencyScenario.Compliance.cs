using Custos.Cli.Network;
using Custos.Core;
using Custos.Core.Wire;
using Custos.DigitalCurrency;
using Custos.DigitalCurrency.Wire;
using Custos.Execution;
using Custos.Execution.Wire;

namespace Custos.Cli.Scenarios;

internal sealed partial class DigitalCurrencyScenario
{
    private const ulong HeldConditional = 10_000;
    private string _conditionalSummary = "none";
    private string _alertSummary = "none read";
    private SupplyAuditResult? _audit;
    private ulong _auditHeight;

    // ---- 9. programmable payments ----

    /// <summary>
    /// Three conditional payments from a buyer to a seller with the merchant platform as co-signer: one released by the
    /// co-signer, one refunded after its expiry height, one left held so that the supply check sees an escrow.
    /// </summary>
    private async Task ConditionalPaymentsAsync(CurrencyCast cast, CancellationToken cancellationToken)
    {
        var (buyer, seller, platform) = (cast.Buyer, cast.Seller, cast.Merchant);
        _run.Step($"conditional payments from {buyer.Label} to {seller.Label}, co-signed by {platform.Label}");
        var height = (await _ledger.Client.StatusAsync(cancellationToken)).Height;

        var released = await CallAsync(buyer.Signer, DigitalCurrencyCalls.PayConditional(seller.Account, 80_000, height + 500, platform.Account), cancellationToken);
        _run.ExpectCode(released, ErrorCode.Ok, "¥800 held in escrow until the co-signer releases it");
        var releasedId = new Hash32(released.TransactionId.Span);
        _run.ExpectCode(await CallAsync(seller.Signer, DigitalCurrencyCalls.Release(releasedId), cancellationToken), ErrorCode.NotAuthorised, "the payee cannot release it alone");
        var release = await CallAsync(platform.Signer, DigitalCurrencyCalls.Release(releasedId), cancellationToken);
        _run.ExpectCode(release, ErrorCode.Ok, "the co-signer released it to the payee");
        _run.ExpectCode(await CallAsync(platform.Signer, DigitalCurrencyCalls.Release(releasedId), cancellationToken), ErrorCode.PaymentSettled, "it cannot be released twice");

        height = (await _ledger.Client.StatusAsync(cancellationToken)).Height;
        // Far enough ahead that the early refund below still lands before it, near enough to wait for.
        var expiry = height + 20;
        var refunded = await CallAsync(buyer.Signer, DigitalCurrencyCalls.PayConditional(seller.Account, 30_000, expiry, platform.Account), cancellationToken);
        _run.ExpectCode(refunded, ErrorCode.Ok, $"¥300 held until height {expiry}");
        var refundedId = new Hash32(refunded.TransactionId.Span);
        _run.ExpectCode(await CallAsync(buyer.Signer, DigitalCurrencyCalls.Refund(refundedId), cancellationToken), ErrorCode.PaymentNotReleasable, "no refund before the expiry height");
        await WaitForHeightAsync(expiry, cancellationToken);
        _run.ExpectCode(await CallAsync(platform.Signer, DigitalCurrencyCalls.Release(refundedId), cancellationToken), ErrorCode.PaymentExpired, "no release once expired");
        var refund = await CallAsync(buyer.Signer, DigitalCurrencyCalls.Refund(refundedId), cancellationToken);
        _run.ExpectCode(refund, ErrorCode.Ok, "the payer took its ¥300 back after expiry");

        var held = await CallAsync(buyer.Signer, DigitalCurrencyCalls.PayConditional(seller.Account, HeldConditional, height + 100_000, platform.Account), cancellationToken);
        _run.ExpectCode(held, ErrorCode.Ok, $"{Yuan(HeldConditional)} left held in escrow");
        if (held.Code == ErrorCode.Ok) _escrowHeld += HeldConditional;

        var record = await _ledger.ReadVerifiedAtAsync(DigitalCurrencyContract.ConditionalKey(releasedId), held.Height, cancellationToken);
        var status = record.Value is null ? ConditionalPaymentStatus.Unspecified : ConditionalPaymentRecord.Parser.ParseFrom(record.Value).Status;
        _run.Expect(status == ConditionalPaymentStatus.Released, "the released payment's record reads RELEASED on chain (proven read)", status.ToString());
        _conditionalSummary = $"3 created: 1 released by the co-signer, 1 refunded after expiry, 1 held ({Yuan(HeldConditional)})";
    }

    private async Task WaitForHeightAsync(ulong height, CancellationToken cancellationToken)
    {
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60); (await _ledger.Client.StatusAsync(cancellationToken)).Height < height; await Task.Delay(200, cancellationToken))
        {
            if (DateTime.UtcNow > deadline) throw new CustosException(ErrorCode.NotFound, $"the chain did not reach height {height} within 60 s");
        }
    }

    // ---- 10. freeze and forced transfer ----

    private async Task FreezeAsync(CurrencyCast cast, NetworkUser regulator, (NetworkUser Admin, NetworkUser Registrar, NetworkUser Settlement) operatorOfSuspect,
        CancellationToken cancellationToken)
    {
        var (suspect, counterparty) = (cast.Suspect, cast.Suppliers[2]);
        _run.Step($"the regulator freezes the dcep of {suspect.Label}, then moves ¥1,000 out of it under a case reference");
        var freeze = new AssetFreezeArguments { Account = suspect.Account.ToByteString(), Asset = DigitalCurrencyContract.AssetName, Reason = "case DCEP-2026-0001: suspected fraud" };
        _run.ExpectCode(await _ledger.CommitAsync(operatorOfSuspect.Registrar.Signer, SupervisionContract.ContractName, "freeze_asset", freeze, cancellationToken),
            ErrorCode.NotAuthorised, "an operator's registrar cannot use the regulator's asset freeze");
        _run.ExpectCode(await _ledger.CommitAsync(regulator.Signer, SupervisionContract.ContractName, "freeze_asset", freeze, cancellationToken), ErrorCode.Ok,
            "the regulator froze the wallet's dcep");
        var expiry = await _ledger.ExpiryAsync(cancellationToken);
        var attempts = await _ledger.CommitAllAsync([
            Sign(suspect.Signer, DigitalCurrencyCalls.Pay(counterparty.Account, 1_000), expiry),
            Sign(counterparty.Signer, DigitalCurrencyCalls.Pay(suspect.Account, 1_000), expiry),
        ], cancellationToken);
        _payments.Add(attempts);
        _run.ExpectCode(attempts[0], ErrorCode.AssetFrozen, "the frozen wallet cannot pay");
        _run.ExpectCode(attempts[1], ErrorCode.AssetFrozen, "the frozen wallet cannot be paid");

        var order = DigitalCurrencyCalls.ForcedTransfer(suspect.Account, operatorOfSuspect.Settlement.Account, 100_000, "DCEP-2026-0001",
            "court order 2026-0001 (restitution)", "returning funds to the operator for restitution");
        _run.ExpectCode(await CallAsync(operatorOfSuspect.Admin, order, cancellationToken), ErrorCode.NotAuthorised, "an operator cannot force a transfer");
        _run.ExpectCode(await CallAsync(regulator, order, cancellationToken), ErrorCode.Ok, "the regulator moved ¥1,000 out of the frozen wallet");
        _run.ExpectCode(await CallAsync(regulator, order, cancellationToken), ErrorCode.CaseReferenceReused, "a case reference orders one transfer only");
    }

    // ---- 11. redemption ----

    private async Task RedeemAsync(NetworkUser org2Admin, NetworkUser org3Admin, CancellationToken cancellationToken)
    {
        _run.Step($"org2 redeems {Yuan(Redemption)} to the central bank");
        _run.ExpectCode(await CallAsync(org3Admin, DigitalCurrencyCalls.Redeem("org2", Redemption), cancellationToken), ErrorCode.NotAuthorised, "org3 cannot redeem org2's money");
        var redeemed = await CallAsync(org2Admin, DigitalCurrencyCalls.Redeem("org2", Redemption), cancellationToken);
        _run.ExpectCode(redeemed, ErrorCode.Ok, $"org2 redeemed {Yuan(Redemption)}");
        if (redeemed.Code == ErrorCode.Ok) _redeemed += Redemption;
    }

    // ---- 12. the supply check ----

    /// <summary>Conservation of money from proven reads of every holder at one height: supply == issued − redeemed == Σ balances + escrowed.</summary>
    private async Task AuditSupplyAsync(CancellationToken cancellationToken)
    {
        _run.Step($"the supply is audited from proven state reads of all {_wallets.Count} wallets and both settlement accounts");
        var height = (await _ledger.Client.StatusAsync(cancellationToken)).Height;
        var settlements = Operators.Select(o => network.Account($"client1@{o}")).ToList();
        var holders = _wallets.Select(w => w.Account).Concat(settlements).ToList();
        byte[][] fixedKeys = [DigitalCurrencyContract.TotalsKey, DigitalCurrencyContract.OperatorIndexKey, .. Operators.Select(DigitalCurrencyContract.OperatorKey)];
        var snapshot = await VerifiedSnapshot.ReadAsync(_ledger, height, [.. fixedKeys, .. holders.Select(DigitalCurrencyContract.BalanceKey)], cancellationToken);
        var settlementsOnChain = SupplyAudit.SettlementAccounts(snapshot).ToHashSet();
        _run.Expect(settlementsOnChain.SetEquals(settlements), "the operators' settlement accounts on chain are client1@org2 and client1@org3");

        var audit = SupplyAudit.Run(snapshot, holders);
        var totals = DigitalCurrencyContract.ReadTotals(snapshot);
        (_audit, _auditHeight) = (audit, height);
        _run.Expect(audit.Holds, "supply == issued − redeemed == Σ balances + escrowed", audit.ToString());
        _run.Expect(audit.Issued == _issued && audit.Redeemed == _redeemed && audit.Escrowed == _escrowHeld,
            "issued, redeemed and escrowed are what the scenario issued, redeemed and left held",
            $"expected {Yuan(_issued)}, {Yuan(_redeemed)}, {Yuan(_escrowHeld)}");
        _run.Expect(totals.Wallets == (ulong)_wallets.Count, $"the currency counts {_wallets.Count} wallets", $"{totals.Wallets} on chain; {totals.ConditionalPayments} conditional payments, {totals.LargeValueReports} large-value reports, {totals.ForcedTransfers} forced transfer");
    }

    // ---- 13. what the supervisor saw ----

    private async Task SummariseAlertsAsync(SupervisorAlerts alerts, CurrencyCast cast, NetworkUser operatorAdmin, CancellationToken cancellationToken)
    {
        var (status, all) = await alerts.ReadAsync(_rulesHeight, cancellationToken);
        _run.Expect(status == System.Net.HttpStatusCode.OK, "the regulator reads every alert since monitoring began", $"HTTP {(int)status}, {all.Count} alerts");
        var byRule = all.GroupBy(a => a.RuleId).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        _alertSummary = all.Count == 0 ? "none" : string.Join(", ", byRule.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}"));
        _run.Expect(byRule.GetValueOrDefault("dcep-large-value") == 1, "exactly one large-value alert: the ordinary traffic and the split payments stayed under the threshold", _alertSummary);
        AccountId[] flagged = [cast.LargePayer.Account, cast.Structurer.Account, cast.Hasty.Account];
        var others = all.Where(a => !flagged.Contains(new AccountId(a.SubjectAccount.Span))).ToList();
        _run.Expect(others.Count == 0, "no alert names a wallet of the ordinary traffic", others.Count == 0 ? null : $"{others.Count}, first: {others[0].RuleId} {others[0].Detail}");
    }

    private void PrintSummary()
    {
        var classes = string.Join(", ", _wallets.GroupBy(w => w.WalletClass).OrderBy(g => g.Key).Select(g => $"class {g.Key}: {g.Count():N0}"));
        output.WriteLine();
        output.WriteLine($"dcep: summary after {Elapsed}");
        output.WriteLine($"  wallets      {_wallets.Count:N0} at {Operators.Length} operators ({classes})");
        output.WriteLine($"  supply       {(_audit is null ? "not audited" : $"{_audit} (proven at height {_auditHeight})")}");
        output.WriteLine($"  payments     {_payments.Accepted + _payments.Refused:N0} between wallets: {_payments.Accepted:N0} accepted, {_payments.Refused:N0} refused"
            + (_payments.Refused == 0 ? "" : $" ({string.Join(", ", _payments.RefusedByReason.Select(r => $"{r.Key}: {r.Value}"))})"));
        foreach (var (reason, message) in _payments.ExampleByReason.OrderBy(r => r.Key, StringComparer.Ordinal)) output.WriteLine($"    {reason,-20} e.g. \"{Mask(message)}\"");
        output.WriteLine($"  conditional  {_conditionalSummary}");
        output.WriteLine($"  alerts       {_alertSummary}");
        output.WriteLine($"  private data {_privateDataSummary}");
        output.WriteLine($"  checks       {_run.Held} held, {_run.Failed} failed");
    }

    /// <summary>Account ids in refusal messages are shortened: summaries do not print identifiers in full (PRI-4).</summary>
    private static string Mask(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, "\\b([0-9a-f]{6})[0-9a-f]{26}\\b", "$1…");
}
