using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Governance.Wire;
using Google.Protobuf;

namespace Custos.Governance;

/// <summary>
/// What each kind of proposal checks and does. <see cref="Validate"/> runs when the proposal is made and again just
/// before it is carried out (the consortium may have changed in between); <see cref="Carry"/> then makes the change
/// through the registries' writers, which check their own invariants once more (the validator minimum among them).
/// </summary>
internal sealed class ProposalActions(IContractLifecycle contracts)
{
    public const int CertificatePemBytesMax = 16 * 1024;
    public const int PublicKeyBytesMax = 256;
    public const int SerialCharsMax = 128;

    /// <summary>The contract registry keeps reasons up to 1 KiB.</summary>
    public const int ContractReasonBytesMax = 1_024;

    public static ProposalKind KindOf(ProposalAction? action) => action?.ActionCase switch
    {
        ProposalAction.ActionOneofCase.AddOrganisation => ProposalKind.AddOrganisation,
        ProposalAction.ActionOneofCase.RemoveOrganisation => ProposalKind.RemoveOrganisation,
        ProposalAction.ActionOneofCase.AddValidator => ProposalKind.AddValidator,
        ProposalAction.ActionOneofCase.RemoveValidator => ProposalKind.RemoveValidator,
        ProposalAction.ActionOneofCase.SetParameter => ProposalKind.SetParameter,
        ProposalAction.ActionOneofCase.RevokeCertificate => ProposalKind.RevokeCertificate,
        ProposalAction.ActionOneofCase.ContractDeploy => ProposalKind.ContractDeploy,
        ProposalAction.ActionOneofCase.ContractUpgrade => ProposalKind.ContractUpgrade,
        ProposalAction.ActionOneofCase.ContractFreeze => ProposalKind.ContractFreeze,
        ProposalAction.ActionOneofCase.ContractUnfreeze => ProposalKind.ContractUnfreeze,
        ProposalAction.ActionOneofCase.ContractAbolish => ProposalKind.ContractAbolish,
        _ => ProposalKind.Unspecified,
    };

    /// <summary>Refuses an action that cannot be carried out against the current state, with the reason.</summary>
    public void Validate(ContractCall call, IStateReader state, ProposalAction action)
    {
        switch (action.ActionCase)
        {
            case ProposalAction.ActionOneofCase.AddOrganisation: ValidateAddOrganisation(call, state, action.AddOrganisation); break;
            case ProposalAction.ActionOneofCase.RemoveOrganisation: ValidateRemoveOrganisation(state, action.RemoveOrganisation); break;
            case ProposalAction.ActionOneofCase.AddValidator: ValidateAddValidator(state, action.AddValidator); break;
            case ProposalAction.ActionOneofCase.RemoveValidator: ValidateRemoveValidator(state, action.RemoveValidator); break;
            case ProposalAction.ActionOneofCase.SetParameter: ValidateSetParameter(state, action.SetParameter); break;
            case ProposalAction.ActionOneofCase.RevokeCertificate: ValidateRevocation(state, action.RevokeCertificate); break;
            case ProposalAction.ActionOneofCase.ContractDeploy: ValidateApproval(state, action.ContractDeploy, upgrade: false); break;
            case ProposalAction.ActionOneofCase.ContractUpgrade: ValidateApproval(state, action.ContractUpgrade, upgrade: true); break;
            case ProposalAction.ActionOneofCase.ContractFreeze:
                ValidateStatusChange(state, action.ContractFreeze, r => r.Status is ContractStatus.Approved or ContractStatus.Active ? null : "is not callable");
                break;
            case ProposalAction.ActionOneofCase.ContractUnfreeze:
                ValidateStatusChange(state, action.ContractUnfreeze, r => r.Status == ContractStatus.Frozen ? null : "is not frozen");
                break;
            case ProposalAction.ActionOneofCase.ContractAbolish: ValidateStatusChange(state, action.ContractAbolish, _ => null); break;
            default: throw Names.Invalid("a proposal names exactly one action");
        }
    }

    /// <summary>Makes the change of a passed proposal. Raises <see cref="ContractFailure"/> when refused.</summary>
    public void Carry(ContractCall call, ProposalRecord proposal)
    {
        var state = new CallState(call);
        var action = proposal.Action;
        Validate(call, state, action);
        switch (action.ActionCase)
        {
            case ProposalAction.ActionOneofCase.AddOrganisation: AddOrganisation(call, proposal.Id, action.AddOrganisation); break;
            case ProposalAction.ActionOneofCase.RemoveOrganisation:
                var removed = ConsortiumRegistry.Load(state, action.RemoveOrganisation.Id)!;
                removed.Removed = true;
                removed.ChangedHeight = call.Block.Height;
                removed.Proposal = proposal.Id;
                ConsortiumRegistry.PutOrganisation(call, removed);
                break;
            case ProposalAction.ActionOneofCase.AddValidator:
                var node = ConsortiumRegistry.LoadNode(state, action.AddValidator.Node)!;
                var grown = ConsortiumRegistry.LoadValidators(state);
                grown.Validators.Add(new ValidatorEntry { Node = node.Node, PublicKey = node.PublicKey, Organisation = node.Organisation });
                grown.Proposal = proposal.Id;
                ConsortiumRegistry.SetValidators(call, grown);
                break;
            case ProposalAction.ActionOneofCase.RemoveValidator:
                var shrunk = ConsortiumRegistry.LoadValidators(state);
                var leaving = shrunk.Validators.First(v => v.Node == action.RemoveValidator.Node);
                shrunk.Validators.Remove(leaving);
                shrunk.Proposal = proposal.Id;
                ConsortiumRegistry.SetValidators(call, shrunk);
                break;
            case ProposalAction.ActionOneofCase.SetParameter:
                ConsortiumRegistry.SetParameter(call, action.SetParameter.Name, action.SetParameter.Value);
                break;
            case ProposalAction.ActionOneofCase.RevokeCertificate:
                var revocation = action.RevokeCertificate;
                ConsortiumRegistry.Revoke(call, new RevokedCertificate
                {
                    Serial = revocation.Serial, PublicKey = revocation.PublicKey, Reason = revocation.Reason, Proposal = proposal.Id,
                });
                break;
            case ProposalAction.ActionOneofCase.ContractDeploy or ProposalAction.ActionOneofCase.ContractUpgrade:
                var approval = action.ContractDeploy ?? action.ContractUpgrade;
                contracts.Approve(call, approval.Name, approval.Version, approval.CodeHash.Span, approval.MigrateMethod, proposal.Id);
                break;
            case ProposalAction.ActionOneofCase.ContractFreeze:
                contracts.Freeze(call, action.ContractFreeze.Name, proposal.Id, action.ContractFreeze.Reason);
                break;
            case ProposalAction.ActionOneofCase.ContractUnfreeze:
                contracts.Unfreeze(call, action.ContractUnfreeze.Name, proposal.Id, action.ContractUnfreeze.Reason);
                break;
            case ProposalAction.ActionOneofCase.ContractAbolish:
                contracts.Abolish(call, action.ContractAbolish.Name, proposal.Id, action.ContractAbolish.Reason);
                break;
        }
    }

    // ---- organisations ----

    private static void ValidateAddOrganisation(ContractCall call, IStateReader state, AddOrganisationAction add)
    {
        Names.RequireName(add.Id, "organisation id");
        if (ConsortiumRegistry.Load(state, add.Id) is { Removed: false }) throw Names.Invalid($"organisation {add.Id} is a member already");
        if (add.Role is not (OrganisationRole.Member or OrganisationRole.Regulator)) throw Names.Invalid("the role must be member or regulator");
        RequireCertificatePem(add.CaCertificatePem);
        if (!AccountId.TryCreate(add.AdministratorAccountId.Span, out var administrator) || administrator.IsEmpty)
        {
            throw Names.Invalid($"the first administrator needs a non-zero {AccountId.SizeBytes}-byte account id");
        }

        if (AccountRegistry.Load(state, administrator) is not null) throw Names.Invalid($"account {administrator} exists already; ids are never reused");
        RequirePublicKey(call, add.AdministratorPublicKey, "the first administrator's public key");
    }

    /// <summary>A PEM certificate block whose body is base64; parsing the certificate is the identity layer's job.</summary>
    private static void RequireCertificatePem(string pem)
    {
        const string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
        Names.RequireText(pem, "the CA certificate", CertificatePemBytesMax, required: true);
        var text = pem.Trim();
        if (!text.StartsWith(begin, StringComparison.Ordinal) || !text.EndsWith(end, StringComparison.Ordinal) || text.Length <= begin.Length + end.Length)
        {
            throw Names.Invalid("the CA certificate must be one PEM CERTIFICATE block");
        }

        var body = string.Concat(text[begin.Length..^end.Length].Where(c => !char.IsWhiteSpace(c)));
        var buffer = new byte[body.Length];
        if (body.Length == 0 || !Convert.TryFromBase64String(body, buffer, out _)) throw Names.Invalid("the CA certificate's PEM body is not base64");
    }

    private static void RequirePublicKey(ContractCall call, ByteString key, string what)
    {
        if (key.IsEmpty || key.Length > PublicKeyBytesMax) throw Names.Invalid($"{what} is missing or longer than {PublicKeyBytesMax} bytes");
        if (call.Suite is { } suite && !suite.TryDecodePublicKey(key.Span, out _, out _)) throw Names.Invalid($"{what} is not a {suite.Name} public key");
    }

    private static void AddOrganisation(ContractCall call, string proposalId, AddOrganisationAction add)
    {
        ConsortiumRegistry.PutOrganisation(call, new OrganisationRecord
        {
            Id = add.Id, Role = add.Role, CaCertificatePem = add.CaCertificatePem, ChangedHeight = call.Block.Height, Proposal = proposalId,
        });
        var administrator = new AccountId(add.AdministratorAccountId.Span);
        var record = new AccountRecord
        {
            AccountId = add.AdministratorAccountId,
            Organisation = add.Id,
            PublicKey = add.AdministratorPublicKey,
            Type = AccountType.Administrator,
            Status = AccountStatus.Active,
            RegisteredHeight = call.Block.Height,
        };
        call.Put(AccountRegistry.RecordKey(administrator), record.ToByteArray());
        call.Emit("administrator_registered", record);
    }

    private static void ValidateRemoveOrganisation(IStateReader state, RemoveOrganisationAction remove)
    {
        Names.RequireName(remove.Id, "organisation id");
        var organisation = ConsortiumRegistry.Load(state, remove.Id);
        if (organisation is not { Removed: false }) throw Names.Invalid($"organisation {remove.Id} is not a member");
        var current = ConsortiumRegistry.CurrentOrganisations(state);
        if (organisation.Role == OrganisationRole.Regulator && !current.Any(o => o.Id != remove.Id && o.Role == OrganisationRole.Regulator))
        {
            throw Names.Invalid($"organisation {remove.Id} is the last regulator; supervision cannot be left without one");
        }

        if (ConsortiumRegistry.LoadValidators(state).Validators.FirstOrDefault(v => v.Organisation == remove.Id) is { } validator)
        {
            throw Names.Invalid($"organisation {remove.Id} still runs validator {validator.Node}; remove its validators first");
        }
    }

    // ---- validators ----

    private static void ValidateAddValidator(IStateReader state, ValidatorAction add)
    {
        Names.RequireName(add.Node, "node");
        var node = ConsortiumRegistry.LoadNode(state, add.Node)
            ?? throw new ContractFailure(ErrorCode.NodeNotRegistered, $"node {add.Node} has not registered (register_node)");
        if (ConsortiumRegistry.Load(state, node.Organisation) is not { Removed: false }) throw Names.Invalid($"node {add.Node}'s organisation {node.Organisation} is not a member");
        var validators = ConsortiumRegistry.LoadValidators(state).Validators;
        if (validators.Any(v => v.Node == add.Node)) throw Names.Invalid($"node {add.Node} is a validator already");
        if (validators.Any(v => v.PublicKey == node.PublicKey)) throw Names.Invalid($"node {add.Node}'s key is already a validator's key");
        if (validators.Count >= WireLimits.ValidatorsMax) throw Names.Invalid($"the validator set is at its most ({WireLimits.ValidatorsMax})");
    }

    private static void ValidateRemoveValidator(IStateReader state, ValidatorAction remove)
    {
        Names.RequireName(remove.Node, "node");
        var validators = ConsortiumRegistry.LoadValidators(state).Validators;
        if (!validators.Any(v => v.Node == remove.Node)) throw Names.Invalid($"node {remove.Node} is not a validator");
        var minimum = ConsortiumRegistry.Parameter(state, ConsortiumRegistry.MinimumValidatorsParameter, ConsortiumRegistry.DefaultMinimumValidators);
        if ((ulong)(validators.Count - 1) < minimum)
        {
            throw new ContractFailure(ErrorCode.ValidatorsBelowMinimum, $"removing {remove.Node} would leave {validators.Count - 1} validators, fewer than the minimum of {minimum}");
        }
    }

    // ---- parameters and certificates ----

    private static void ValidateSetParameter(IStateReader state, SetParameterAction set)
    {
        if (!ChainParameters.Known.TryGetValue(set.Name, out var parameter))
        {
            throw Names.Invalid($"unknown parameter '{set.Name}'; known: {string.Join(", ", ChainParameters.Known.Keys.Order(StringComparer.Ordinal))}");
        }

        if (set.Value < parameter.Minimum || set.Value > parameter.Maximum)
        {
            throw Names.Invalid($"{set.Name} must lie between {parameter.Minimum} and {parameter.Maximum}");
        }

        var validators = ConsortiumRegistry.LoadValidators(state).Validators.Count;
        if (set.Name == ConsortiumRegistry.MinimumValidatorsParameter && set.Value > (ulong)validators)
        {
            throw Names.Invalid($"a minimum of {set.Value} validators is above the {validators} there are");
        }
    }

    private static void ValidateRevocation(IStateReader state, RevokeCertificateAction revoke)
    {
        if (revoke.Serial.Length is 0 or > SerialCharsMax) throw Names.Invalid($"the certificate's serial is required (at most {SerialCharsMax} characters)");
        if (revoke.PublicKey.IsEmpty || revoke.PublicKey.Length > PublicKeyBytesMax) throw Names.Invalid($"the certificate's public key is required (at most {PublicKeyBytesMax} bytes)");
        Names.RequireText(revoke.Reason, "the reason for revoking", Names.ReasonBytesMax, required: true);
        if (ConsortiumRegistry.LoadRevocation(state, revoke.PublicKey.Span) is not null) throw Names.Invalid("that certificate is revoked already");
    }

    // ---- contracts ----

    /// <summary>
    /// A deployment approves the first version of a name; an upgrade a version above every deployed one. The registry
    /// checks the same again when the approval is recorded.
    /// </summary>
    private static void ValidateApproval(IStateReader state, ContractApprovalAction approval, bool upgrade)
    {
        RequireApplicationContract(approval.Name);
        if (approval.Version < (upgrade ? 2u : 1u)) throw Names.Invalid(upgrade ? "an upgrade names a version from 2 up" : "versions start at 1");
        if (approval.CodeHash.Length != Hash32.SizeBytes) throw Names.Invalid($"the code hash must be {Hash32.SizeBytes} bytes");
        if (approval.MigrateMethod.Length > 0 && !ContractRegistry.IsValidMethodName(approval.MigrateMethod)) throw Names.Invalid($"'{approval.MigrateMethod}' is not a method name");
        var record = ContractRegistry.ReadRecord(state, approval.Name);
        if (record is { Status: ContractStatus.Abolished }) throw Names.Invalid($"contract {approval.Name} is abolished");
        var latest = record is { Versions.Count: > 0 } ? record.Versions[^1] : 0u;
        if (!upgrade && latest > 0) throw Names.Invalid($"contract {approval.Name} is deployed (version {latest}); propose an upgrade");
        if (approval.Version <= latest) throw Names.Invalid($"contract {approval.Name} is at version {latest}; an upgrade names a higher one");
    }

    private static void ValidateStatusChange(IStateReader state, ContractStatusAction change, Func<ContractRecord, string?> refusal)
    {
        RequireApplicationContract(change.Name);
        Names.RequireText(change.Reason, "the reason", ContractReasonBytesMax, required: true);
        var record = ContractRegistry.ReadRecord(state, change.Name) ?? throw Names.Invalid($"there is no contract {change.Name}");
        if (record.Status == ContractStatus.Abolished) throw Names.Invalid($"contract {change.Name} is abolished");
        if (refusal(record) is { } why) throw Names.Invalid($"contract {change.Name} {why}");
    }

    private static void RequireApplicationContract(string name)
    {
        if (!ContractRegistry.IsValidName(name))
        {
            throw Names.Invalid($"'{name}' cannot name an application contract (a-z, 0-9, '.', '_', '-', from a letter, at most {ContractRegistry.NameLengthMax}; never system.* or token)");
        }
    }
}
