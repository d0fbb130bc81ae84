using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution;

/// <summary>
/// The consortium as execution sees it (namespace <c>system.consortium</c>): its organisations and their roles (the
/// regulator's administrators hold supervision powers), the validator set governance decided, chain parameters,
/// the nodes' self-declarations (GOV-2) and revoked certificates. Written at genesis; changed only by governance
/// (<c>system.governance</c>), through the writers below, which record the proposal and height of each change.
/// </summary>
public static class ConsortiumRegistry
{
    public const string Namespace = "system.consortium";

    /// <summary>The smallest validator set governance may leave (3f + 1 with f = 1), unless a chain parameter raises it.</summary>
    public const ulong DefaultMinimumValidators = 4;

    /// <summary>Parameter: the fewest validators a change may leave (GOV-1).</summary>
    public const string MinimumValidatorsParameter = "minimumValidators";

    /// <summary>Parameter: at or below this many validators the network warns (GOV-1).</summary>
    public const string ValidatorAlertThresholdParameter = "validatorAlertThreshold";

    /// <summary>Parameter: the most transactions a proposer puts in a block (genesis's value until governance sets one).</summary>
    public const string BlockTransactionsMaxParameter = "blockTransactionsMax";

    /// <summary>Parameters: the consensus round timer's base and ceiling in milliseconds (each node applies them once committed).</summary>
    public const string RoundTimeoutMsParameter = "roundTimeoutMs";

    public const string RoundTimeoutMsMaxParameter = "roundTimeoutMsMax";

    public static byte[] OrganisationKey(string organisation) => StateKeys.For(Namespace, "org/" + organisation);

    public static readonly byte[] OrganisationIndexKey = StateKeys.For(Namespace, "organisations");

    /// <summary>Executing a block that writes this key ends the epoch at that block (docs/governance.md).</summary>
    public static readonly byte[] ValidatorsKey = StateKeys.For(Namespace, "validators");

    public static byte[] ParameterKey(string name) => StateKeys.For(Namespace, "param/" + name);

    public static byte[] NodeKey(string node) => StateKeys.For(Namespace, "node/" + node);

    public static readonly byte[] NodeIndexKey = StateKeys.For(Namespace, "nodes");

    public static byte[] RevokedKey(ReadOnlySpan<byte> publicKey) => StateKeys.For(Namespace, [.. "revoked/"u8, .. publicKey]);

    /// <summary>How many certificates were ever revoked: the executor checks senders' keys only when it is not zero.</summary>
    public static readonly byte[] RevokedCountKey = StateKeys.For(Namespace, "revoked-count");

    // ---- organisations ----

    public static OrganisationRecord? Load(IStateReader state, string organisation) =>
        state.TryGet(OrganisationKey(organisation), out var bytes) ? OrganisationRecord.Parser.ParseFrom(bytes) : null;

    /// <summary>True when the organisation is registered, not removed, with the regulator role.</summary>
    public static bool IsRegulator(IStateReader state, string organisation) =>
        Load(state, organisation) is { Removed: false, Role: OrganisationRole.Regulator };

    /// <summary>
    /// True when <paramref name="account"/> may use the regulator's powers: an administrator (or special-privilege)
    /// account of a regulator organisation.
    /// </summary>
    public static bool IsRegulatorAccount(IStateReader state, AccountRecord account) =>
        account.Type is AccountType.Administrator or AccountType.SpecialPrivilege && IsRegulator(state, account.Organisation);

    /// <summary>
    /// True when the account is an administrator (or the special-privilege administrator) of an organisation that is a
    /// current member.
    /// </summary>
    public static bool IsMemberAdministrator(IStateReader state, AccountRecord account) =>
        account.Type is AccountType.Administrator or AccountType.SpecialPrivilege && Load(state, account.Organisation) is { Removed: false };

    /// <summary>Every organisation ever recorded (removed ones included), in id order.</summary>
    public static IReadOnlyList<OrganisationRecord> LoadOrganisations(IStateReader state)
    {
        if (!state.TryGet(OrganisationIndexKey, out var bytes)) return [];
        return OrganisationIndex.Parser.ParseFrom(bytes).Ids.Select(id => Load(state, id)).OfType<OrganisationRecord>().ToList();
    }

    /// <summary>The organisations that are members now (not removed), in id order.</summary>
    public static IReadOnlyList<OrganisationRecord> CurrentOrganisations(IStateReader state) =>
        LoadOrganisations(state).Where(o => !o.Removed).ToList();

    /// <summary>Adds or replaces an organisation's record (set <c>Removed</c> to remove it; the record stays).</summary>
    public static void PutOrganisation(ContractCall call, OrganisationRecord record)
    {
        if (string.IsNullOrEmpty(record.Id)) throw new ContractFailure(ErrorCode.InvalidArguments, "an organisation needs an id");
        call.Put(OrganisationKey(record.Id), record.ToByteArray());
        var index = call.Get(OrganisationIndexKey) is { } bytes ? OrganisationIndex.Parser.ParseFrom(bytes) : new OrganisationIndex();
        if (!index.Ids.Contains(record.Id))
        {
            var ids = index.Ids.Append(record.Id).Order(StringComparer.Ordinal).ToList();
            index.Ids.Clear();
            index.Ids.AddRange(ids);
            call.Put(OrganisationIndexKey, index.ToByteArray());
        }
    }

    // ---- validators ----

    /// <summary>The validator set as governance last decided it (at genesis: the genesis validators).</summary>
    public static ConsortiumValidators LoadValidators(IStateReader state) =>
        state.TryGet(ValidatorsKey, out var bytes) ? ConsortiumValidators.Parser.ParseFrom(bytes) : new ConsortiumValidators();

    /// <summary>
    /// Replaces the validator set; the epoch ends after this block. Refused below the chain's safe minimum (GOV-1),
    /// with a node named twice, or with a key that is not a key.
    /// </summary>
    public static void SetValidators(ContractCall call, ConsortiumValidators next)
    {
        var minimum = Parameter(call, MinimumValidatorsParameter, DefaultMinimumValidators);
        if ((ulong)next.Validators.Count < minimum)
        {
            throw new ContractFailure(ErrorCode.ValidatorsBelowMinimum, $"{next.Validators.Count} validators would be fewer than the minimum of {minimum}");
        }

        if (next.Validators.Count > WireLimits.ValidatorsMax)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, $"{next.Validators.Count} validators exceed the most a certificate can carry ({WireLimits.ValidatorsMax})");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var validator in next.Validators)
        {
            if (!names.Add(validator.Node)) throw new ContractFailure(ErrorCode.InvalidArguments, $"validator {validator.Node} is named twice");
            if (!keys.Add(Convert.ToHexString(validator.PublicKey.Span))) throw new ContractFailure(ErrorCode.InvalidArguments, $"validator {validator.Node} shares a key with another");
            if (call.Suite is { } suite && !suite.TryDecodePublicKey(validator.PublicKey.Span, out _, out _))
            {
                throw new ContractFailure(ErrorCode.PublicKeyInvalid, $"validator {validator.Node}'s key is not a {suite.Name} public key");
            }
        }

        next.ChangedHeight = call.Block.Height;
        call.Put(ValidatorsKey, next.ToByteArray());
    }

    /// <summary>The threshold at or below which the network warns about its validator count (GOV-1).</summary>
    public static ulong ValidatorAlertThreshold(IStateReader state) =>
        Parameter(state, ValidatorAlertThresholdParameter, Parameter(state, MinimumValidatorsParameter, DefaultMinimumValidators));

    // ---- chain parameters ----

    public static ulong Parameter(IStateReader state, string name, ulong fallback) =>
        state.TryGet(ParameterKey(name), out var bytes) && bytes.Length == sizeof(ulong) ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : fallback;

    private static ulong Parameter(ContractCall call, string name, ulong fallback) =>
        call.Get(ParameterKey(name)) is { Length: sizeof(ulong) } bytes ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : fallback;

    public static void SetParameter(ContractCall call, string name, ulong value)
    {
        if (string.IsNullOrEmpty(name)) throw new ContractFailure(ErrorCode.InvalidArguments, "a parameter needs a name");
        var bytes = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        call.Put(ParameterKey(name), bytes);
    }

    // ---- nodes (GOV-2) ----

    public static NodeRegistration? LoadNode(IStateReader state, string node) =>
        state.TryGet(NodeKey(node), out var bytes) ? NodeRegistration.Parser.ParseFrom(bytes) : null;

    /// <summary>Every node that registered, in name order.</summary>
    public static IReadOnlyList<NodeRegistration> LoadNodes(IStateReader state)
    {
        if (!state.TryGet(NodeIndexKey, out var bytes)) return [];
        return OrganisationIndex.Parser.ParseFrom(bytes).Ids.Select(id => LoadNode(state, id)).OfType<NodeRegistration>().ToList();
    }

    public static void PutNode(ContractCall call, NodeRegistration record)
    {
        if (string.IsNullOrEmpty(record.Node)) throw new ContractFailure(ErrorCode.InvalidArguments, "a node registration needs the node's name");
        call.Put(NodeKey(record.Node), record.ToByteArray());
        var index = call.Get(NodeIndexKey) is { } bytes ? OrganisationIndex.Parser.ParseFrom(bytes) : new OrganisationIndex();
        if (!index.Ids.Contains(record.Node))
        {
            var ids = index.Ids.Append(record.Node).Order(StringComparer.Ordinal).ToList();
            index.Ids.Clear();
            index.Ids.AddRange(ids);
            call.Put(NodeIndexKey, index.ToByteArray());
        }
    }

    // ---- revoked certificates ----

    public static RevokedCertificate? LoadRevocation(IStateReader state, ReadOnlySpan<byte> publicKey) =>
        state.TryGet(RevokedKey(publicKey), out var bytes) ? RevokedCertificate.Parser.ParseFrom(bytes) : null;

    /// <summary>True once any certificate was revoked on this chain (read once per block by the executor).</summary>
    public static bool AnyRevoked(IStateReader state) => state.TryGet(RevokedCountKey, out _);

    /// <summary>Records a revocation; from the next transaction on, the key signs nothing (CERTIFICATE_REVOKED).</summary>
    public static void Revoke(ContractCall call, RevokedCertificate revocation)
    {
        if (revocation.PublicKey.IsEmpty) throw new ContractFailure(ErrorCode.InvalidArguments, "a revocation names the certificate's public key");
        var key = RevokedKey(revocation.PublicKey.Span);
        if (call.Get(key) is not null) throw new ContractFailure(ErrorCode.CertificateRevoked, "that certificate is already revoked");
        revocation.Height = call.Block.Height;
        call.Put(key, revocation.ToByteArray());
        var count = call.Get(RevokedCountKey) is { Length: sizeof(ulong) } bytes ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;
        var updated = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(updated, count + 1);
        call.Put(RevokedCountKey, updated);
    }
}
