using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Governance.Wire;
using Google.Protobuf;

namespace Custos.Governance;

/// <summary>
/// Consortium governance as a system contract (<c>system.governance</c>, JR/T 0184 §17, GOV-1..3, CON-7).
/// Administrators of member organisations propose changes (organisations, validators, chain parameters, certificate
/// revocations, the contract lifecycle) and vote on them, one vote per organisation. A proposal passes when strictly
/// more than two thirds of the current member organisations approve it, and, for the kinds that touch membership or
/// supervision, a regulator organisation approves it too (<see cref="ProposalTally"/>). The vote that passes it
/// carries it out in the same transaction; if carrying it out is refused, the proposal is recorded as failed with
/// the refusal, nothing of it takes effect, and the vote still counts. Proposals expire by block height. Nodes
/// declare themselves with <c>register_node</c> (GOV-2). Supervision interventions stay in <c>system.supervision</c>.
/// </summary>
public sealed class GovernanceContract(IContractLifecycle? contracts = null) : ISystemContract
{
    public const string ContractName = "system.governance";
    public const uint ContractVersion = 1;

    public const string ProposeMethod = "propose";
    public const string VoteMethod = "vote";
    public const string ExpireMethod = "expire";
    public const string RegisterNodeMethod = "register_node";

    /// <summary>Proposal ids are this many bytes of the proposing transaction's id, in lowercase hex.</summary>
    public const int ProposalIdBytes = 16;

    /// <summary>The most ids one read of the proposal list returns.</summary>
    public const int ProposalPageEntriesMax = 1_000;

    private readonly ProposalActions _actions = new(contracts ?? ContractRegistryLifecycle.Instance);

    public string Name => ContractName;

    public uint Version => ContractVersion;

    public static byte[] ProposalKey(string id) => StateKeys.For(ContractName, "proposal/" + id);

    /// <summary>The number of proposals ever made (8 bytes, big-endian).</summary>
    public static byte[] ProposalCountKey { get; } = StateKeys.For(ContractName, "proposal-count");

    /// <summary>The id of proposal number <paramref name="sequence"/> (from 0): state has no range scans, so the list is kept by sequence.</summary>
    public static byte[] ProposalSequenceKey(ulong sequence)
    {
        var key = new byte["proposal-seq/"u8.Length + sizeof(ulong)];
        "proposal-seq/"u8.CopyTo(key);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan("proposal-seq/"u8.Length), sequence);
        return StateKeys.For(ContractName, key);
    }

    /// <summary>The id of the proposal a transaction with id <paramref name="transactionId"/> made.</summary>
    public static string ProposalIdOf(Hash32 transactionId)
    {
        Span<byte> bytes = stackalloc byte[Hash32.SizeBytes];
        transactionId.CopyTo(bytes);
        return Convert.ToHexStringLower(bytes[..ProposalIdBytes]);
    }

    // ---- readers for the node API and the CLI ----

    /// <summary>The proposal as stored (an open proposal past its expiry is still OPEN here: see <see cref="StatusAt"/>).</summary>
    public static ProposalRecord? LoadProposal(IStateReader state, string id) =>
        state.TryGet(ProposalKey(id), out var bytes) ? ProposalRecord.Parser.ParseFrom(bytes) : null;

    public static ulong LoadProposalCount(IStateReader state) =>
        state.TryGet(ProposalCountKey, out var bytes) && bytes.Length == sizeof(ulong) ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;

    /// <summary>Up to <paramref name="count"/> (at most <see cref="ProposalPageEntriesMax"/>) proposal ids from number <paramref name="from"/>, oldest first.</summary>
    public static IReadOnlyList<string> LoadProposalIds(IStateReader state, ulong from = 0, int count = ProposalPageEntriesMax)
    {
        var total = LoadProposalCount(state);
        var ids = new List<string>();
        for (var sequence = from; sequence < total && ids.Count < Math.Min(count, ProposalPageEntriesMax); sequence++)
        {
            if (state.TryGet(ProposalSequenceKey(sequence), out var bytes)) ids.Add(System.Text.Encoding.ASCII.GetString(bytes));
        }

        return ids;
    }

    /// <summary>The status a proposal has at <paramref name="height"/>: an open proposal past its expiry height is expired, recorded or not.</summary>
    public static ProposalStatus StatusAt(ProposalRecord proposal, ulong height) =>
        proposal.Status == ProposalStatus.Open && height > proposal.ExpiryHeight ? ProposalStatus.Expired : proposal.Status;

    /// <summary>The votes of a proposal counted against the consortium in <paramref name="state"/>.</summary>
    public static ProposalTally Tally(IStateReader state, ProposalRecord proposal) => ProposalTally.Count(state, proposal);

    // ---- methods ----

    public void Invoke(ContractCall call)
    {
        switch (call.Method)
        {
            case ProposeMethod: Propose(call); break;
            case VoteMethod: Vote(call); break;
            case ExpireMethod: Expire(call); break;
            case RegisterNodeMethod: RegisterNode(call); break;
            default: throw new ContractFailure(ErrorCode.MethodNotFound, $"{Name} has no method '{call.Method}'");
        }
    }

    private static void RequireMemberAdministrator(ContractCall call)
    {
        if (!ConsortiumRegistry.IsMemberAdministrator(new CallState(call), call.Caller))
        {
            throw new ContractFailure(ErrorCode.PermissionDenied, $"{ContractName}.{call.Method} is for administrators of member organisations");
        }
    }

    private void Propose(ContractCall call)
    {
        RequireMemberAdministrator(call);
        var arguments = call.ParseArguments(ProposeArguments.Parser);
        var state = new CallState(call);
        Names.RequireText(arguments.Title, "the title", Names.TitleBytesMax, required: true);
        Names.RequireText(arguments.Reason, "the reason", Names.ReasonBytesMax, required: false);
        var kind = ProposalActions.KindOf(arguments.Action);
        if (kind == ProposalKind.Unspecified) throw Names.Invalid("a proposal names exactly one action");
        var lifetime = ChainParameters.ProposalLifetime(state);
        if (arguments.LifetimeBlocks > lifetime) throw Names.Invalid($"a proposal stays open at most {lifetime} blocks (proposalLifetimeBlocks)");
        _actions.Validate(call, state, arguments.Action);

        var id = ProposalIdOf(call.TransactionId);
        if (call.Get(ProposalKey(id)) is not null) throw Names.Invalid($"proposal {id} exists already");
        var sequence = LoadProposalCount(state);
        var proposal = new ProposalRecord
        {
            Id = id,
            Sequence = sequence,
            Kind = kind,
            Action = arguments.Action,
            Title = arguments.Title,
            Reason = arguments.Reason,
            Proposer = call.CallerId.ToByteString(),
            ProposerOrganisation = call.Caller.Organisation,
            CreatedHeight = call.Block.Height,
            ExpiryHeight = call.Block.Height + (arguments.LifetimeBlocks == 0 ? lifetime : arguments.LifetimeBlocks),
            TransactionId = call.TransactionId.ToByteString(),
            Status = ProposalStatus.Open,
            RegulatorRequired = ProposalTally.NeedsRegulator(kind),
        };
        call.Put(ProposalKey(id), proposal.ToByteArray());
        call.Put(ProposalSequenceKey(sequence), System.Text.Encoding.ASCII.GetBytes(id));
        call.Put(ProposalCountKey, Encode(sequence + 1));
        call.Emit("proposed", proposal);
    }

    private void Vote(ContractCall call)
    {
        RequireMemberAdministrator(call);
        var arguments = call.ParseArguments(VoteArguments.Parser);
        Names.RequireText(arguments.Reason, "the reason", Names.ReasonBytesMax, required: false);
        var proposal = RequireOpen(call, arguments.ProposalId);
        if (proposal.Votes.Any(v => v.Organisation == call.Caller.Organisation))
        {
            throw new ContractFailure(ErrorCode.AlreadyVoted, $"organisation {call.Caller.Organisation} has voted on proposal {proposal.Id} already");
        }

        var vote = new ProposalVote
        {
            Organisation = call.Caller.Organisation,
            Account = call.CallerId.ToByteString(),
            Approve = arguments.Approve,
            Reason = arguments.Reason,
            Height = call.Block.Height,
            TransactionId = call.TransactionId.ToByteString(),
        };
        proposal.Votes.Add(vote);
        var tally = ProposalTally.Count(new CallState(call), proposal);
        call.Emit("voted", new VoteEvent
        {
            ProposalId = proposal.Id, Vote = vote, Approvals = (uint)tally.Approvals, Rejections = (uint)tally.Rejections, Members = (uint)tally.Members,
        });

        if (tally.Passed)
        {
            // Carried out as a unit: a refusal undoes its writes but not the vote, and is recorded as the outcome.
            var refusal = call.TryAtomically(() => _actions.Carry(call, proposal));
            Close(call, proposal, refusal is null ? ProposalStatus.Executed : ProposalStatus.Failed, refusal?.Code ?? ErrorCode.Ok, refusal?.Message ?? "");
        }
        else if (tally.Unreachable)
        {
            Close(call, proposal, ProposalStatus.Rejected, ErrorCode.Ok, "");
        }
        else
        {
            call.Put(ProposalKey(proposal.Id), proposal.ToByteArray());
        }
    }

    /// <summary>Records the expiry of an open proposal past its expiry height, so that its outcome is stored and announced.</summary>
    private static void Expire(ContractCall call)
    {
        RequireMemberAdministrator(call);
        var arguments = call.ParseArguments(ExpireArguments.Parser);
        var proposal = Load(call, arguments.ProposalId);
        if (proposal.Status != ProposalStatus.Open) throw new ContractFailure(ErrorCode.ProposalClosed, $"proposal {proposal.Id} is {Describe(proposal.Status)} already");
        if (call.Block.Height <= proposal.ExpiryHeight) throw Names.Invalid($"proposal {proposal.Id} is open until height {proposal.ExpiryHeight}");
        Close(call, proposal, ProposalStatus.Expired, ErrorCode.Ok, "");
    }

    private static ProposalRecord Load(ContractCall call, string id)
    {
        if (id.Length != ProposalIdBytes * 2) throw new ContractFailure(ErrorCode.ProposalNotFound, $"no proposal '{id}'");
        return call.Get(ProposalKey(id)) is { } bytes ? ProposalRecord.Parser.ParseFrom(bytes) : throw new ContractFailure(ErrorCode.ProposalNotFound, $"no proposal '{id}'");
    }

    /// <summary>
    /// The proposal, if it still takes votes. A vote past the expiry height is refused and so changes nothing; the
    /// expiry is recorded by <c>expire</c> (readers see it at once through <see cref="StatusAt"/>).
    /// </summary>
    private static ProposalRecord RequireOpen(ContractCall call, string id)
    {
        var proposal = Load(call, id);
        var status = StatusAt(proposal, call.Block.Height);
        if (status == ProposalStatus.Open) return proposal;
        var when = status == ProposalStatus.Expired ? $" at height {proposal.ExpiryHeight}" : "";
        throw new ContractFailure(ErrorCode.ProposalClosed, $"proposal {proposal.Id} is {Describe(status)}{when}");
    }

    private static void Close(ContractCall call, ProposalRecord proposal, ProposalStatus status, ErrorCode code, string message)
    {
        proposal.Status = status;
        proposal.ClosedHeight = call.Block.Height;
        proposal.Code = code;
        proposal.Message = message;
        call.Put(ProposalKey(proposal.Id), proposal.ToByteArray());
        call.Emit(Describe(status), new ProposalOutcome
        {
            ProposalId = proposal.Id, Kind = proposal.Kind, Status = status, Height = call.Block.Height, Code = code, Message = message,
        });
    }

    /// <summary>The status as a word; also the name of the event announcing it.</summary>
    public static string Describe(ProposalStatus status) => status switch
    {
        ProposalStatus.Open => "open",
        ProposalStatus.Executed => "executed",
        ProposalStatus.Failed => "failed",
        ProposalStatus.Rejected => "rejected",
        ProposalStatus.Expired => "expired",
        _ => "unknown",
    };

    // ---- nodes (GOV-2) ----

    private static void RegisterNode(ContractCall call)
    {
        RequireMemberAdministrator(call);
        var arguments = call.ParseArguments(RegisterNodeArguments.Parser);
        Names.RequireName(arguments.Node, "node", ErrorCode.InvalidArguments);
        if (arguments.PublicKey.IsEmpty || arguments.PublicKey.Length > ProposalActions.PublicKeyBytesMax)
        {
            throw new ContractFailure(ErrorCode.InvalidArguments, "the node's public key is missing or too long");
        }

        if (call.Suite is { } suite && !suite.TryDecodePublicKey(arguments.PublicKey.Span, out _, out _))
        {
            throw new ContractFailure(ErrorCode.PublicKeyInvalid, $"the node's key is not a {suite.Name} public key");
        }

        Names.RequireText(arguments.SoftwareVersion, "the software version", Names.FactBytesMax, required: true, ErrorCode.InvalidArguments);
        Names.RequireText(arguments.OperatingSystem, "the operating system", Names.FactBytesMax, required: false, ErrorCode.InvalidArguments);
        Names.RequireText(arguments.HostName, "the host name", Names.FactBytesMax, required: false, ErrorCode.InvalidArguments);
        Names.RequireText(arguments.P2PEndpoint, "the p2p endpoint", Names.FactBytesMax, required: false, ErrorCode.InvalidArguments);

        var state = new CallState(call);
        if (ConsortiumRegistry.LoadNode(state, arguments.Node) is { } existing)
        {
            if (existing.Organisation != call.Caller.Organisation)
            {
                throw new ContractFailure(ErrorCode.PermissionDenied, $"node {arguments.Node} belongs to organisation {existing.Organisation}");
            }

            // The key a validator signs with changes only through governance (remove, then add with the new key).
            if (existing.PublicKey != arguments.PublicKey && ConsortiumRegistry.LoadValidators(state).Validators.Any(v => v.Node == arguments.Node))
            {
                throw new ContractFailure(ErrorCode.InvalidArguments, $"node {arguments.Node} is a validator; its key changes through governance");
            }
        }

        var record = new NodeRegistration
        {
            Node = arguments.Node,
            Organisation = call.Caller.Organisation,
            PublicKey = arguments.PublicKey,
            SoftwareVersion = arguments.SoftwareVersion,
            OperatingSystem = arguments.OperatingSystem,
            ProcessorCount = arguments.ProcessorCount,
            HostName = arguments.HostName,
            P2PEndpoint = arguments.P2PEndpoint,
            RegisteredHeight = call.Block.Height,
            RegisteredBy = call.CallerId.ToByteString(),
        };
        ConsortiumRegistry.PutNode(call, record);
        call.Emit("node_registered", record);
    }

    private static byte[] Encode(ulong value)
    {
        var bytes = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return bytes;
    }
}
