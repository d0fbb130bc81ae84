using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Custos.Identity.Pseudonyms;
using Google.Protobuf;

namespace Custos.Execution;

/// <summary>Parameters of supervision, from the chain's parameters.</summary>
public sealed record SupervisionParameters
{
    /// <summary>Approvals, from distinct organisations, that a forced transfer, node suspension or system halt needs.</summary>
    public int InterventionApprovalsRequired { get; init; } = 2;

    /// <summary>Blocks after which an intervention that did not gather its approvals can no longer be approved.</summary>
    public ulong InterventionExpiryBlocks { get; init; } = 10_000;
}

/// <summary>
/// The regulator's powers as a system contract (<c>system.supervision</c>; JR/T 0184 SUP-3, SUP-5, GOV-3, ID-3).
/// Every power is a transaction: it takes effect only after consensus, the executor and the token contract enforce it
/// with typed errors, and its record names who decided, when and why, so that each use leaves evidence. The powers
/// with the most reach (forced transfer, node suspension, system halt) are proposals that execute only when holders of
/// several organisations approved them. Identity opening is a case: the regulator requests it, the escrow authorities
/// named by the escrow policy each approve by releasing their share encrypted to the requester, and the requester
/// reconstructs the identity off chain once the threshold is reached.
/// </summary>
public sealed class SupervisionContract(SupervisionParameters? parameters = null) : ISystemContract
{
    public const string ContractName = "system.supervision";

    private readonly SupervisionParameters _parameters = parameters ?? new SupervisionParameters();

    public string Name => ContractName;

    public uint Version => 1;

    public static byte[] MeasuresKey { get; } = StateKeys.For(ContractName, "measures");

    public static byte[] EscrowPolicyKey { get; } = StateKeys.For(ContractName, "escrow-policy");

    /// <summary>
    /// The supervisor's key for encrypted-but-verifiable data (PRI-2, <c>Custos.Privacy.PrivacyEnvelope</c>): the escrow
    /// key of the first authority in the escrow policy that is a regulator's administrator. The regulator sets that
    /// policy, so no writer chooses the key the supervisor's grant goes to. Null before a policy names a regulator.
    /// </summary>
    public static byte[]? ReadSupervisorKey(IStateReader state)
    {
        if (!state.TryGet(EscrowPolicyKey, out var bytes)) return null;
        var policy = EscrowPolicy.Parser.ParseFrom(bytes);
        for (var i = 0; i < policy.Authorities.Count && i < policy.AuthorityPublicKeys.Count; i++)
        {
            if (AccountRegistry.Load(state, new AccountId(policy.Authorities[i].Span)) is { } authority && ConsortiumRegistry.IsRegulatorAccount(state, authority))
            {
                return policy.AuthorityPublicKeys[i].ToByteArray();
            }
        }

        return null;
    }

    /// <summary>The regulator's rule set, one value, so the supervisor node reads every rule with one state read.</summary>
    public static byte[] RulesKey { get; } = StateKeys.For(ContractName, "rules");

    public static byte[] ContractFrozenKey(string contract) => StateKeys.For(ContractName, "contract-frozen/" + contract);

    public static byte[] AssetFrozenKey(string asset, AccountId account) => StateKeys.For(ContractName, "asset-frozen/" + asset + "/", account);

    public static byte[] RestrictionKey(AccountId account) => StateKeys.For(ContractName, "restricted/", account);

    public static byte[] InterventionKey(string reference) => StateKeys.For(ContractName, "intervention/" + reference);

    public static byte[] PseudonymKey(AccountId account) => StateKeys.For(ContractName, "pseudonym/", account);

    public static byte[] CredentialKey(Hash32 credentialId) => StateKeys.For(ContractName, "credential/", credentialId);

    public static byte[] OpeningKey(string caseReference) => StateKeys.For(ContractName, "opening/" + caseReference);

    public static SupervisionMeasures ReadMeasures(IStateReader state) =>
        state.TryGet(MeasuresKey, out var bytes) ? SupervisionMeasures.Parser.ParseFrom(bytes.AsSpan()) : new SupervisionMeasures();

    public static SupervisionRuleSet ReadRules(IStateReader state) =>
        state.TryGet(RulesKey, out var bytes) ? SupervisionRuleSet.Parser.ParseFrom(bytes) : new SupervisionRuleSet();

    public static OpeningRecord? ReadOpening(IStateReader state, string caseReference) =>
        state.TryGet(OpeningKey(caseReference), out var bytes) ? OpeningRecord.Parser.ParseFrom(bytes) : null;

    public static PseudonymRecord? ReadPseudonym(IStateReader state, AccountId account) =>
        state.TryGet(PseudonymKey(account), out var bytes) ? PseudonymRecord.Parser.ParseFrom(bytes) : null;

    public static byte[]? ReadCredential(IStateReader state, Hash32 credentialId) =>
        state.TryGet(CredentialKey(credentialId), out var bytes) ? bytes : null;

    public static InterventionRecord? ReadIntervention(IStateReader state, string reference) =>
        state.TryGet(InterventionKey(reference), out var bytes) ? InterventionRecord.Parser.ParseFrom(bytes) : null;

    /// <summary>
    /// The executor's check before a call: a system halt refuses everything but supervision itself, a frozen contract
    /// refuses its callers, a restricted account may not call the contracts denied to it.
    /// </summary>
    public static void Enforce(SupervisionMeasures measures, IStateReader state, AccountId sender, string contract)
    {
        if (contract == ContractName) return;
        if (measures.Halted) throw new ContractFailure(ErrorCode.Suspended, "the system is halted by supervision");
        if (measures.FrozenContracts.Contains(contract)) throw new ContractFailure(ErrorCode.ContractFrozen, $"contract {contract} is frozen by supervision");
        if (measures.RestrictedAccounts == 0 || !state.TryGet(RestrictionKey(sender), out var bytes)) return;
        var restriction = RestrictionRecord.Parser.ParseFrom(bytes);
        var denied = restriction.DeniedContracts.Count == 0 ? contract != AccountRegistry.ContractName : restriction.DeniedContracts.Contains(contract);
        if (denied) throw new ContractFailure(ErrorCode.RightsRestricted, $"account {sender} may not call {contract}: {restriction.Decision.Reason}");
    }

    /// <summary>The token contract's check: neither side of a payment may have its asset frozen.</summary>
    public static void EnforceAsset(ContractCall call, string asset, AccountId account)
    {
        if ((call.Measures ?? ReadMeasures(call)).FrozenAssets == 0) return;
        if (call.Get(AssetFrozenKey(asset, account)) is { } bytes)
        {
            throw new ContractFailure(ErrorCode.AssetFrozen, $"the {asset} of account {account} is frozen: {SupervisionDecision.Parser.ParseFrom(bytes).Reason}");
        }
    }

    private static SupervisionMeasures ReadMeasures(ContractCall call) =>
        call.Get(MeasuresKey) is { } bytes ? SupervisionMeasures.Parser.ParseFrom(bytes.AsSpan()) : new SupervisionMeasures();

    public void Invoke(ContractCall call)
    {
        switch (call.Method)
        {
            case "freeze_contract": FreezeContract(call, freeze: true); break;
            case "unfreeze_contract": FreezeContract(call, freeze: false); break;
            case "freeze_asset": FreezeAsset(call, freeze: true); break;
            case "unfreeze_asset": FreezeAsset(call, freeze: false); break;
            case "restrict": Restrict(call); break;
            case "lift_restriction": LiftRestriction(call); break;
            case "propose_intervention": ProposeIntervention(call); break;
            case "approve_intervention": ApproveIntervention(call); break;
            case "set_escrow_policy": SetEscrowPolicy(call); break;
            case "register_pseudonym": RegisterPseudonym(call); break;
            case "request_opening": RequestOpening(call); break;
            case "approve_opening": ApproveOpening(call); break;
            case "set_rule": SetRule(call); break;
            case "remove_rule": RemoveRule(call); break;
            default: throw new ContractFailure(ErrorCode.MethodNotFound, $"{Name} has no method '{call.Method}'");
        }
    }

    private static void RequireRegulator(ContractCall call)
    {
        if (!call.CallerIsRegulator) throw new ContractFailure(ErrorCode.NotAuthorised, $"{ContractName}.{call.Method} is a power of the regulator");
    }

    private static SupervisionDecision Decision(ContractCall call, string reason)
    {
        if (string.IsNullOrWhiteSpace(reason)) throw new ContractFailure(ErrorCode.InvalidArguments, "a reason is required");
        if (Encoding.UTF8.GetByteCount(reason) > 1024) throw new ContractFailure(ErrorCode.InvalidArguments, "the reason is longer than 1,024 bytes");
        return new SupervisionDecision { By = call.CallerId.ToByteString(), Height = call.Block.Height, Reason = reason, TransactionId = call.TransactionId.ToByteString() };
    }

    private static void UpdateMeasures(ContractCall call, Action<SupervisionMeasures> change)
    {
        var measures = ReadMeasures(call);
        change(measures);
        call.Put(MeasuresKey, measures.ToByteArray());
    }

    private static void FreezeContract(ContractCall call, bool freeze)
    {
        RequireRegulator(call);
        var arguments = call.ParseArguments(ContractFreezeArguments.Parser);
        if (string.IsNullOrEmpty(arguments.Contract) || arguments.Contract.StartsWith("system.", StringComparison.Ordinal))
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, "name an application contract; system contracts cannot be frozen");
        }

        var decision = Decision(call, arguments.Reason);
        var key = ContractFrozenKey(arguments.Contract);
        var frozen = call.Get(key) is not null;
        if (frozen == freeze) throw new ContractFailure(ErrorCode.InvalidArguments, $"contract {arguments.Contract} is {(frozen ? "already" : "not")} frozen");
        if (freeze) call.Put(key, decision.ToByteArray());
        else call.Delete(key);
        UpdateMeasures(call, m =>
        {
            if (freeze) m.FrozenContracts.Add(arguments.Contract);
            else m.FrozenContracts.Remove(arguments.Contract);
        });
        call.Emit(freeze ? "contract_frozen" : "contract_unfrozen", new ContractFreezeArguments { Contract = arguments.Contract, Reason = arguments.Reason });
    }

    /// <summary>
    /// The assets whose contracts enforce supervision's asset freeze (<see cref="EnforceAsset"/>): the token and the
    /// digital currency (apps/Custos.DigitalCurrency, contract <c>dcep</c>, which execution does not reference).
    /// </summary>
    public static IReadOnlyList<string> SupervisedAssets { get; } = [TokenContract.ContractName, "dcep"];

    private static void FreezeAsset(ContractCall call, bool freeze)
    {
        RequireRegulator(call);
        var arguments = call.ParseArguments(AssetFreezeArguments.Parser);
        var account = ContractCall.ParseAccount(arguments.Account, "account");
        var asset = string.IsNullOrEmpty(arguments.Asset) ? TokenContract.ContractName : arguments.Asset;
        if (!SupervisedAssets.Contains(asset)) throw new ContractFailure(ErrorCode.InvalidArguments, $"unknown asset '{asset}' (supervised assets: {string.Join(", ", SupervisedAssets)})");
        if (call.Get(AccountRegistry.RecordKey(account)) is null) throw new ContractFailure(ErrorCode.SenderUnknown, $"account {account} is not registered");
        var decision = Decision(call, arguments.Reason);
        var key = AssetFrozenKey(asset, account);
        var frozen = call.Get(key) is not null;
        if (frozen == freeze) throw new ContractFailure(ErrorCode.InvalidArguments, $"the {asset} of {account} is {(frozen ? "already" : "not")} frozen");
        if (freeze) call.Put(key, decision.ToByteArray());
        else call.Delete(key);
        UpdateMeasures(call, m => m.FrozenAssets = freeze ? m.FrozenAssets + 1 : m.FrozenAssets - 1);
        call.Emit(freeze ? "asset_frozen" : "asset_unfrozen", new AssetFreezeArguments { Account = arguments.Account, Asset = asset, Reason = arguments.Reason });
    }

    private static void Restrict(ContractCall call)
    {
        RequireRegulator(call);
        var arguments = call.ParseArguments(RestrictionArguments.Parser);
        var account = ContractCall.ParseAccount(arguments.Account, "account");
        if (call.Get(AccountRegistry.RecordKey(account)) is null) throw new ContractFailure(ErrorCode.SenderUnknown, $"account {account} is not registered");
        if (arguments.DeniedContracts.Any(c => c == ContractName)) throw new ContractFailure(ErrorCode.InvalidArguments, "supervision itself cannot be denied");
        var key = RestrictionKey(account);
        var existed = call.Get(key) is not null;
        var record = new RestrictionRecord { Decision = Decision(call, arguments.Reason) };
        record.DeniedContracts.AddRange(arguments.DeniedContracts.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        call.Put(key, record.ToByteArray());
        if (!existed) UpdateMeasures(call, m => m.RestrictedAccounts++);
        call.Emit("restricted", arguments);
    }

    private static void LiftRestriction(ContractCall call)
    {
        RequireRegulator(call);
        var arguments = call.ParseArguments(LiftRestrictionArguments.Parser);
        var account = ContractCall.ParseAccount(arguments.Account, "account");
        Decision(call, arguments.Reason);
        var key = RestrictionKey(account);
        if (call.Get(key) is null) throw new ContractFailure(ErrorCode.InvalidArguments, $"account {account} is not restricted");
        call.Delete(key);
        UpdateMeasures(call, m => m.RestrictedAccounts--);
        call.Emit("restriction_lifted", arguments);
    }

    /// <summary>Holders of the powers with the most reach: the regulator's administrators and special-privilege accounts.</summary>
    private static bool IsInterventionHolder(ContractCall call) => call.CallerIsRegulator || call.Caller.Type == AccountType.SpecialPrivilege;

    private void ProposeIntervention(ContractCall call)
    {
        RequireRegulator(call);
        var proposal = call.ParseArguments(InterventionProposal.Parser);
        ValidateReference(proposal.Reference, "reference");
        Decision(call, proposal.Reason);
        if (string.IsNullOrWhiteSpace(proposal.LegalBasis)) throw new ContractFailure(ErrorCode.InvalidArguments, "a legal basis is required");
        switch (proposal.Kind)
        {
            case InterventionKind.ForcedTransfer:
                var from = ContractCall.ParseAccount(proposal.From, "from");
                var to = ContractCall.ParseAccount(proposal.To, "to");
                if (from == to || proposal.Amount == 0) throw new ContractFailure(ErrorCode.InvalidArguments, "a forced transfer moves a positive amount between two accounts");
                if (call.Get(AccountRegistry.RecordKey(from)) is null || call.Get(AccountRegistry.RecordKey(to)) is null)
                {
                    throw new ContractFailure(ErrorCode.SenderUnknown, "both accounts of a forced transfer must be registered");
                }

                break;
            case InterventionKind.SuspendNode or InterventionKind.ResumeNode:
                if (string.IsNullOrWhiteSpace(proposal.Node)) throw new ContractFailure(ErrorCode.InvalidArguments, "name the node");
                break;
            case InterventionKind.SystemHalt or InterventionKind.SystemResume:
                break;
            default:
                throw new ContractFailure(ErrorCode.InvalidArguments, "unknown intervention kind");
        }

        var key = InterventionKey(proposal.Reference);
        if (call.Get(key) is not null) throw new ContractFailure(ErrorCode.CaseReferenceReused, $"intervention reference '{proposal.Reference}' was used before");
        var record = new InterventionRecord
        {
            Proposal = proposal,
            ApprovalsRequired = (uint)_parameters.InterventionApprovalsRequired,
            ExpiresHeight = call.Block.Height + _parameters.InterventionExpiryBlocks,
            Status = InterventionStatus.Pending,
        };
        record.Approvals.Add(new InterventionApproval { Approver = call.CallerId.ToByteString(), Organisation = call.Caller.Organisation, Height = call.Block.Height });
        call.Emit("intervention_proposed", proposal);
        ExecuteWhenApproved(call, record);
        call.Put(key, record.ToByteArray());
    }

    private static void ApproveIntervention(ContractCall call)
    {
        if (!IsInterventionHolder(call)) throw new ContractFailure(ErrorCode.NotAuthorised, "only the regulator's administrators and special-privilege accounts approve interventions");
        var arguments = call.ParseArguments(ApproveInterventionArguments.Parser);
        var key = InterventionKey(arguments.Reference);
        var record = call.Get(key) is { } bytes ? InterventionRecord.Parser.ParseFrom(bytes) : throw new ContractFailure(ErrorCode.NotFound, $"no intervention '{arguments.Reference}'");
        if (record.Status != InterventionStatus.Pending) throw new ContractFailure(ErrorCode.InvalidArguments, $"intervention '{arguments.Reference}' was executed already");
        if (call.Block.Height > record.ExpiresHeight) throw new ContractFailure(ErrorCode.TransactionExpired, $"intervention '{arguments.Reference}' expired at height {record.ExpiresHeight}");
        if (record.Approvals.Any(a => a.Organisation == call.Caller.Organisation))
        {
            throw new ContractFailure(ErrorCode.ApprovalInvalid, $"organisation {call.Caller.Organisation} approved '{arguments.Reference}' already; approvals must come from distinct organisations");
        }

        record.Approvals.Add(new InterventionApproval { Approver = call.CallerId.ToByteString(), Organisation = call.Caller.Organisation, Height = call.Block.Height });
        call.Emit("intervention_approved", new InterventionApproval { Approver = call.CallerId.ToByteString(), Organisation = call.Caller.Organisation, Height = call.Block.Height });
        ExecuteWhenApproved(call, record);
        call.Put(key, record.ToByteArray());
    }

    private static void ExecuteWhenApproved(ContractCall call, InterventionRecord record)
    {
        if (record.Approvals.Count < record.ApprovalsRequired) return;
        var proposal = record.Proposal;
        switch (proposal.Kind)
        {
            case InterventionKind.ForcedTransfer:
                // Deliberately past any freeze: moving frozen funds is what a forced transfer is for.
                var from = new AccountId(proposal.From.Span);
                var to = new AccountId(proposal.To.Span);
                var fromBalance = ReadAmount(call, TokenContract.BalanceKey(from));
                if (fromBalance < proposal.Amount) throw new ContractFailure(ErrorCode.InsufficientFunds, $"account {from} holds {fromBalance}, less than {proposal.Amount}");
                var toBalance = ReadAmount(call, TokenContract.BalanceKey(to));
                if (toBalance > ulong.MaxValue - proposal.Amount) throw new ContractFailure(ErrorCode.InvalidArguments, "the recipient's balance would overflow");
                WriteAmount(call, TokenContract.BalanceKey(from), fromBalance - proposal.Amount);
                WriteAmount(call, TokenContract.BalanceKey(to), toBalance + proposal.Amount);
                call.Emit("forced_transfer", new TransferEvent { From = proposal.From, To = proposal.To, Amount = proposal.Amount });
                break;
            case InterventionKind.SuspendNode:
                SuspendValidator(call, proposal.Node, proposal.Reference);
                UpdateMeasures(call, m =>
                {
                    if (!m.SuspendedNodes.Contains(proposal.Node)) m.SuspendedNodes.Add(proposal.Node);
                });
                break;
            case InterventionKind.ResumeNode:
                RestoreValidator(call, proposal.Node, proposal.Reference);
                UpdateMeasures(call, m => m.SuspendedNodes.Remove(proposal.Node));
                break;
            case InterventionKind.SystemHalt:
                UpdateMeasures(call, m => m.Halted = true);
                break;
            case InterventionKind.SystemResume:
                UpdateMeasures(call, m => m.Halted = false);
                break;
        }

        record.Status = InterventionStatus.Executed;
        record.ExecutedHeight = call.Block.Height;
        call.Emit("intervention_executed", proposal);
    }

    /// <summary>Where a suspended validator's entry waits for its resumption.</summary>
    public static byte[] SuspendedValidatorKey(string node) => StateKeys.For(ContractName, "suspended-validator/" + node);

    /// <summary>
    /// A suspended validator leaves the validator set: the block that executes the suspension ends the epoch and
    /// the next one runs without it (docs/governance.md). Refused, like any validator change, when it would leave
    /// fewer validators than the chain's minimum. A node that is not a validator is only recorded as suspended.
    /// </summary>
    private static void SuspendValidator(ContractCall call, string node, string reference)
    {
        var current = ConsortiumRegistry.LoadValidators(new CallState(call));
        var entry = current.Validators.FirstOrDefault(v => v.Node == node);
        if (entry is null) return;
        var next = new ConsortiumValidators { Proposal = "supervision:" + reference };
        next.Validators.AddRange(current.Validators.Where(v => v.Node != node));
        ConsortiumRegistry.SetValidators(call, next);
        call.Put(SuspendedValidatorKey(node), entry.ToByteArray());
    }

    /// <summary>A resumed node that was a validator when suspended rejoins the set at the next epoch.</summary>
    private static void RestoreValidator(ContractCall call, string node, string reference)
    {
        if (call.Get(SuspendedValidatorKey(node)) is not { } bytes) return;
        var current = ConsortiumRegistry.LoadValidators(new CallState(call));
        call.Delete(SuspendedValidatorKey(node));
        if (current.Validators.Any(v => v.Node == node)) return;
        var next = new ConsortiumValidators { Proposal = "supervision:" + reference };
        next.Validators.AddRange(current.Validators);
        next.Validators.Add(ValidatorEntry.Parser.ParseFrom(bytes));
        ConsortiumRegistry.SetValidators(call, next);
    }

    /// <summary>Reads through a call, so that reads are metered and see the transaction's own writes.</summary>
    private sealed class CallState(ContractCall call) : IStateReader
    {
        public bool TryGet(ReadOnlySpan<byte> key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? value)
        {
            value = call.Get(key.ToArray());
            return value is not null;
        }
    }

    private static void SetEscrowPolicy(ContractCall call)
    {
        RequireRegulator(call);
        var policy = call.ParseArguments(EscrowPolicy.Parser);
        if (policy.Authorities.Count is 0 or > PseudonymLimits.AuthoritiesMax || policy.Threshold == 0 || policy.Threshold > policy.Authorities.Count)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"an escrow policy names 1 to {PseudonymLimits.AuthoritiesMax} authorities and a threshold between 1 and their number");
        }

        if (policy.AuthorityPublicKeys.Count != policy.Authorities.Count) throw new ContractFailure(ErrorCode.InvalidArguments, "one escrow public key per authority");
        var seen = new HashSet<AccountId>();
        for (var i = 0; i < policy.Authorities.Count; i++)
        {
            var authority = ContractCall.ParseAccount(policy.Authorities[i], "authority");
            if (!seen.Add(authority)) throw new ContractFailure(ErrorCode.InvalidArguments, $"authority {authority} is named twice");
            if (call.Get(AccountRegistry.RecordKey(authority)) is null) throw new ContractFailure(ErrorCode.SenderUnknown, $"authority {authority} is not registered");
            var key = policy.AuthorityPublicKeys[i];
            if (key.Length != WireLimits.PublicKeySizeBytes || key[0] != 0x04) throw new ContractFailure(ErrorCode.InvalidArguments, "escrow keys are uncompressed points");
        }

        policy.Decision = Decision(call, policy.Decision?.Reason is { Length: > 0 } reason ? reason : "escrow policy");
        call.Put(EscrowPolicyKey, policy.ToByteArray());
        call.Emit("escrow_policy_set", policy);
    }

    private void RegisterPseudonym(ContractCall call)
    {
        if (call.Caller.Type is not (AccountType.Administrator or AccountType.SpecialPrivilege))
        {
            throw new ContractFailure(ErrorCode.PermissionDenied, "only an organisation's registrar (administrator) registers pseudonyms");
        }

        var suite = call.Suite ?? throw new ContractFailure(ErrorCode.MethodNotFound, "pseudonym credentials need the chain's crypto suite");
        var arguments = call.ParseArguments(RegisterPseudonymArguments.Parser);
        var id = ContractCall.ParseAccount(arguments.AccountId, "account_id");
        if (id.IsEmpty) throw new ContractFailure(ErrorCode.InvalidArguments, "the zero account id is reserved");
        var policy = call.Get(EscrowPolicyKey) is { } policyBytes
            ? EscrowPolicy.Parser.ParseFrom(policyBytes)
            : throw new ContractFailure(ErrorCode.CredentialInvalid, "the regulator has not set an escrow policy");

        // The registrar's registered key must have signed the credential: that binds the escrow to the pseudonym key.
        if (!PseudonymCredentials.TryVerify(suite, arguments.Credential.Span, call.Caller.PublicKey.Span, call.Block.ChainId, out var credential, out var error))
        {
            throw new ContractFailure(error.Code, error.Message);
        }

        if (PseudonymCredentials.CheckValidAt(credential, call.Block.Height) is { } notNow) throw new ContractFailure(notNow.Code, notNow.Message);

        if (credential.RegistrarOrganisation != call.Caller.Organisation) throw new ContractFailure(ErrorCode.CredentialInvalid, "the credential names another registrar organisation");
        if (credential.Threshold != policy.Threshold || credential.AuthorityPublicKeys.Count != policy.AuthorityPublicKeys.Count
            || !credential.AuthorityPublicKeys.Select((k, i) => k.AsSpan().SequenceEqual(policy.AuthorityPublicKeys[i].Span)).All(same => same))
        {
            throw new ContractFailure(ErrorCode.CredentialInvalid, "the credential's escrow does not follow the escrow policy (threshold and authorities)");
        }

        if (call.Get(AccountRegistry.RecordKey(id)) is not null) throw new ContractFailure(ErrorCode.InvalidArguments, $"account {id} exists already; ids are never reused");
        if (call.Get(CredentialKey(credential.Id)) is not null) throw new ContractFailure(ErrorCode.CredentialInvalid, "this credential is registered already");
        var account = new AccountRecord
        {
            AccountId = arguments.AccountId,
            Organisation = call.Caller.Organisation,
            PublicKey = ByteString.CopyFrom(credential.PseudonymPublicKey),
            Type = AccountType.Ordinary,
            Status = AccountStatus.Active,
            RegisteredHeight = call.Block.Height,
            CredentialId = credential.Id.ToByteString(),
        };
        call.Put(AccountRegistry.RecordKey(id), account.ToByteArray());
        var record = new PseudonymRecord
        {
            AccountId = arguments.AccountId,
            CredentialId = credential.Id.ToByteString(),
            RegistrarOrganisation = call.Caller.Organisation,
            RegisteredHeight = call.Block.Height,
            Threshold = policy.Threshold,
        };
        record.Authorities.AddRange(policy.Authorities);
        call.Put(PseudonymKey(id), record.ToByteArray());
        call.Put(CredentialKey(credential.Id), arguments.Credential.ToByteArray());
        call.Emit("pseudonym_registered", record);
    }

    private static void RequestOpening(ContractCall call)
    {
        RequireRegulator(call);
        var request = call.ParseArguments(OpeningRequest.Parser);
        ValidateReference(request.CaseReference, "case_reference");
        if (string.IsNullOrWhiteSpace(request.LegalBasis)) throw new ContractFailure(ErrorCode.InvalidArguments, "a legal basis is required");
        if (request.RequesterPublicKey.Length != WireLimits.PublicKeySizeBytes || request.RequesterPublicKey[0] != 0x04)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, "requester_public_key must be an uncompressed point");
        }

        var pseudonym = ContractCall.ParseAccount(request.Pseudonym, "pseudonym");
        var record = call.Get(PseudonymKey(pseudonym)) is { } bytes
            ? PseudonymRecord.Parser.ParseFrom(bytes)
            : throw new ContractFailure(ErrorCode.CredentialInvalid, $"account {pseudonym} is not a registered pseudonym");
        var key = OpeningKey(request.CaseReference);
        if (call.Get(key) is not null) throw new ContractFailure(ErrorCode.CaseReferenceReused, $"case reference '{request.CaseReference}' was used before");
        var opening = new OpeningRecord
        {
            Request = request,
            Requester = call.CallerId.ToByteString(),
            RequestedHeight = call.Block.Height,
            Threshold = record.Threshold,
            CredentialId = record.CredentialId,
        };
        call.Put(key, opening.ToByteArray());
        call.Emit("opening_requested", request);
    }

    private static void ApproveOpening(ContractCall call)
    {
        var arguments = call.ParseArguments(ApproveOpeningArguments.Parser);
        var key = OpeningKey(arguments.CaseReference);
        var opening = call.Get(key) is { } bytes
            ? OpeningRecord.Parser.ParseFrom(bytes)
            : throw new ContractFailure(ErrorCode.ApprovalInvalid, $"no opening case '{arguments.CaseReference}'");
        var pseudonym = ReadPseudonymRecord(call, new AccountId(opening.Request.Pseudonym.Span));
        if (arguments.AuthorityIndex >= pseudonym.Authorities.Count || !pseudonym.Authorities[(int)arguments.AuthorityIndex].Span.SequenceEqual(call.CallerId.ToByteString().Span))
        {
            throw new ContractFailure(ErrorCode.ApprovalInvalid, $"account {call.CallerId} is not escrow authority {arguments.AuthorityIndex} of this pseudonym");
        }

        if (opening.Approvals.Any(a => a.AuthorityIndex == arguments.AuthorityIndex))
        {
            throw new ContractFailure(ErrorCode.ApprovalInvalid, $"authority {arguments.AuthorityIndex} approved case '{arguments.CaseReference}' already");
        }

        if (arguments.ReleasedShare.IsEmpty || arguments.ReleasedShare.Length > PseudonymLimits.ReleasedShareBytesMax)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, "released_share is empty or too large");
        }

        var approval = new OpeningApproval
        {
            Authority = call.CallerId.ToByteString(),
            AuthorityIndex = arguments.AuthorityIndex,
            ReleasedShare = arguments.ReleasedShare,
            Height = call.Block.Height,
        };
        opening.Approvals.Add(approval);
        opening.Approved = opening.Approvals.Count >= opening.Threshold;
        call.Put(key, opening.ToByteArray());
        call.Emit("opening_approved", new OpeningApproval { Authority = approval.Authority, AuthorityIndex = approval.AuthorityIndex, Height = approval.Height });
    }

    /// <summary>Adds or replaces a supervision rule (SUP-4, SUP-6); its windows start afresh at this height.</summary>
    private static void SetRule(ContractCall call)
    {
        RequireRegulator(call);
        var rule = call.ParseArguments(SupervisionRule.Parser);
        rule.EffectiveHeight = call.Block.Height;
        var rules = call.Get(RulesKey) is { } bytes ? SupervisionRuleSet.Parser.ParseFrom(bytes) : new SupervisionRuleSet();
        var existing = rules.Rules.FirstOrDefault(r => r.Id == rule.Id);
        if (existing is not null) rules.Rules.Remove(existing);
        rules.Rules.Add(rule);
        if (SupervisionRuleValidation.ValidateSet(rules.Rules) is { } error) throw new ContractFailure(error.Code, error.Message);
        call.Put(RulesKey, rules.ToByteArray());
        call.Emit(existing is null ? "rule_added" : "rule_replaced", rule);
    }

    private static void RemoveRule(ContractCall call)
    {
        RequireRegulator(call);
        var arguments = call.ParseArguments(RemoveRuleArguments.Parser);
        Decision(call, arguments.Reason);
        var rules = call.Get(RulesKey) is { } bytes ? SupervisionRuleSet.Parser.ParseFrom(bytes) : new SupervisionRuleSet();
        var existing = rules.Rules.FirstOrDefault(r => r.Id == arguments.Id) ?? throw new ContractFailure(ErrorCode.InvalidArguments, $"no rule '{arguments.Id}'");
        rules.Rules.Remove(existing);
        call.Put(RulesKey, rules.ToByteArray());
        call.Emit("rule_removed", arguments);
    }

    private static PseudonymRecord ReadPseudonymRecord(ContractCall call, AccountId account) =>
        call.Get(PseudonymKey(account)) is { } bytes ? PseudonymRecord.Parser.ParseFrom(bytes) : throw new ContractFailure(ErrorCode.CredentialInvalid, $"account {account} is not a registered pseudonym");

    private static void ValidateReference(string reference, string what)
    {
        if (string.IsNullOrWhiteSpace(reference) || Encoding.UTF8.GetByteCount(reference) > 128 || reference.Any(char.IsControl))
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"{what} must be 1 to 128 bytes of printable text");
        }
    }

    private static ulong ReadAmount(ContractCall call, byte[] key) => call.Get(key) is { } bytes ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;

    private static void WriteAmount(ContractCall call, byte[] key, ulong value)
    {
        var bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        call.Put(key, bytes);
    }
}

/// <summary>Bounds on pseudonym escrow data a transaction may carry.</summary>
public static class PseudonymLimits
{
    public const int AuthoritiesMax = 16;
    public const int ReleasedShareBytesMax = 4096;
}
