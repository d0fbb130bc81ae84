using System.Text;
using System.Threading.Channels;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Execution;
using Custos.Network;
using Custos.Network.Wire;
using Custos.Privacy.Audit;
using Custos.Privacy.Masking;
using Custos.Privacy.Policy;
using Custos.Privacy.PrivateData;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Node;

/// <summary>
/// Which organisation each node belongs to, as the chain says: genesis names its nodes' organisations, and
/// governance registers the nodes admitted later (<see cref="ConsortiumRegistry"/>). A node of an organisation the
/// consortium removed belongs to none. Peers are named by the common name their TLS certificate proved, so this is
/// the authenticated peer's organisation, never what a message claims.
/// </summary>
internal sealed class NodeOrganisations(IReadOnlyList<(string Node, string Organisation)> genesis, IStateReader committed)
{
    public static NodeOrganisations For(ChainSetup chain, IStateReader committed) =>
        new([.. chain.Nodes.Select(n => (n.Name, n.Organisation))], committed);

    public string? OrganisationOf(string node)
    {
        var organisation = genesis.FirstOrDefault(n => n.Node == node).Organisation ?? ConsortiumRegistry.LoadNode(committed, node)?.Organisation;
        return organisation is null || IsRemoved(organisation) ? null : organisation;
    }

    /// <summary>The nodes of <paramref name="organisation"/>, genesis's first, in a stable order.</summary>
    public IReadOnlyList<string> NodesOf(string organisation)
    {
        if (IsRemoved(organisation)) return [];
        return genesis.Where(n => n.Organisation == organisation).Select(n => n.Node)
            .Concat(ConsortiumRegistry.LoadNodes(committed).Where(n => n.Organisation == organisation).Select(n => n.Node).Order(StringComparer.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    private bool IsRemoved(string organisation) => ConsortiumRegistry.Load(committed, organisation) is { Removed: true };
}

/// <summary>What a local write did: the commitment for the chain, the one the chain holds now (to name as the
/// previous commitment when committing), and the peers the replica was queued for.</summary>
internal sealed record PrivateDataPut(Hash32 Commitment, Hash32? OnChain, IReadOnlyList<string> SentTo);

/// <summary>A record's commitments: the one this node holds (with its purge record) and the one on chain.</summary>
internal sealed record PrivateDataCommitments(Hash32? Held, PurgeRecord? Purge, PrivateDataCommitment? OnChain);

/// <summary>
/// The node's share of the "verified by designated nodes" strategy (§14.3.4, PRI-2): its <see cref="PrivateDataStore"/>
/// under <c>&lt;data&gt;/privacy/</c>, the privacy frames it exchanges with peers, and the operations the API calls.
/// The policy and the on-chain commitments are read from committed state on every operation, so a policy change
/// applies from the next frame. Replicas and purge notices go only to the nodes of the entitled organisations, never
/// broadcast.
/// </summary>
/// <remarks>
/// Threading: frames are queued by the relay (<see cref="Post"/>, never blocks) and handled one at a time by a worker,
/// because the store flushes every write to disk and consensus frames must not wait behind that. The API calls the
/// store from request threads; the store serialises them. A full queue sheds frames: a peer that missed a replica
/// asks for it again when it is read (<see cref="TryRead"/>). An undecodable frame gets its sender reported as
/// misbehaving; a refused one (not entitled, commitment mismatch, purged) is logged with the key masked and dropped.
/// </remarks>
internal sealed class PrivateDataService : IAsyncDisposable
{
    /// <summary>Frames waiting for the worker; each is at most <see cref="PrivacyFrames.FrameSizeBytesMax"/>, so ~70 MiB at most.</summary>
    public const int PendingFramesMax = 64;

    private readonly PrivateDataStore _store;
    private readonly IStateReader _committed;
    private readonly NodeOrganisations _organisations;
    private readonly IPeerNetwork _network;
    private readonly NodeLog _log;
    private readonly IDisposable[] _owned;
    private readonly Channel<(string Peer, ReadOnlyMemory<byte> Payload)> _pending = Channel.CreateBounded<(string, ReadOnlyMemory<byte>)>(
        new BoundedChannelOptions(PendingFramesMax) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private Task? _worker;
    private long _shed;

    public PrivateDataService(PrivateDataStore store, ICryptoSuite suite, IStateReader committed, NodeOrganisations organisations, IPeerNetwork network,
        NodeLog log, params IDisposable[] owned)
    {
        _store = store;
        Suite = suite;
        _committed = committed;
        _organisations = organisations;
        _network = network;
        _log = log;
        _owned = owned;
    }

    /// <summary>The node's privacy audit log (every use of private data, and every reveal of a masked identifier).</summary>
    public PrivacyAuditLog? AuditLog { get; init; }

    /// <summary>
    /// A backup of every live record this node keeps, sealed to <paramref name="recipient"/> alone (PRI-4: exports
    /// are encrypted); each record exported is logged with <paramref name="reader"/>.
    /// </summary>
    public byte[] ExportBackup(PublicKey recipient, PrivacyReader reader) => _store.ExportBackup(recipient, reader);

    /// <summary>The chain's suite: its hash makes the commitments.</summary>
    public ICryptoSuite Suite { get; }

    /// <summary>This node's organisation: the one whose private data it keeps.</summary>
    public string Organisation => _store.Organisation;

    /// <summary>
    /// Opens the node's privacy files under <c>&lt;data&gt;/privacy/</c>: the node data key (created on first start,
    /// sealed with the same passphrase source as the node key), the read log, and the store of
    /// <paramref name="organisation"/>. The service disposes them.
    /// </summary>
    public static PrivateDataService Open(string dataDirectory, string organisation, ICryptoSuite suite, SecretSource passphrase, TimeProvider clock,
        IStateReader committed, NodeOrganisations organisations, IPeerNetwork network, NodeLog log)
    {
        var paths = PrivacyPaths.Under(dataDirectory);
        Directory.CreateDirectory(paths.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var dataKey = NodeDataKey.Open(paths.DataKeyReference, suite, passphrase, create: true);
        PrivacyAuditLog? audit = null;
        try
        {
            audit = PrivacyAuditLog.Open(paths.AuditLog, suite, clock);
            if (audit.CutTornTail) log.Warn("privacy-audit-torn-tail-cut", ("path", paths.AuditLog));
            var store = new PrivateDataStore(paths.Directory, organisation, dataKey, audit, clock);
            log.Info("privacy-opened", ("organisation", organisation), ("directory", paths.Directory), ("audit-sequence", audit.Head.Sequence));
            return new PrivateDataService(store, suite, committed, organisations, network, log, audit, dataKey) { AuditLog = audit };
        }
        catch
        {
            audit?.Dispose();
            dataKey.Dispose();
            throw;
        }
    }

    public void Start() => _worker = Task.Run(ProcessAsync);

    /// <summary>Queues a privacy frame from <paramref name="peer"/> for the worker. Never blocks; sheds when full.</summary>
    public void Post(string peer, ReadOnlyMemory<byte> payload)
    {
        if (!_pending.Writer.TryWrite((peer, payload)) && Interlocked.Increment(ref _shed) % 100 == 1)
        {
            _log.Warn("privacy-frames-shed", ("total", Interlocked.Read(ref _shed)));
        }
    }

    /// <summary>
    /// Handles one frame from <paramref name="peer"/>: a replica is accepted, a request served (the replica goes
    /// back to that peer only), a purge notice applied. Returns null when done, or why it was refused.
    /// </summary>
    internal CustosError? Handle(string peer, ReadOnlySpan<byte> payload)
    {
        if (!PrivacyFrames.TryDecode(payload, out var frame, out var malformed))
        {
            _log.Warn("peer-misbehaved", ("peer", peer), ("reason", $"privacy frame: {malformed.Message}"));
            _network.ReportMisbehaviour(peer, $"privacy frame: {malformed.Message}");
            return malformed;
        }

        var (contract, collection, key) = frame.KindCase switch
        {
            PrivacyFrame.KindOneofCase.Replica => (frame.Replica.Contract, frame.Replica.Collection, frame.Replica.Key),
            PrivacyFrame.KindOneofCase.Request => (frame.Request.Contract, frame.Request.Collection, frame.Request.Key),
            _ => (frame.Purge.Contract, frame.Purge.Collection, frame.Purge.Key),
        };
        var error = Dispatch(peer, frame, contract, collection, key.Span);
        if (error is not null)
        {
            // The address is the peer's input: logged only within bounds, and the key masked.
            var bounded = CheckAddress(contract, collection, key.Span) is null;
            _log.Warn("privacy-frame-refused", ("peer", peer), ("kind", frame.KindCase.ToString()), ("contract", bounded ? contract : "(out of bounds)"),
                ("collection", bounded ? collection : "(out of bounds)"), ("key", bounded ? IdentifierMask.Bytes(key.Span) : $"({key.Length} bytes)"),
                ("code", error.Code.ToString()), ("reason", error.Message));
        }

        return error;
    }

    /// <summary>
    /// Stores a value written through this node's API and queues its replica for the nodes of the other entitled
    /// organisations. The caller commits <see cref="PrivateDataPut.Commitment"/> on chain (system.privacy / commit).
    /// </summary>
    public PrivateDataPut Put(string contract, string collection, byte[] key, byte[] value, PrivacyReader writer)
    {
        if (CheckAddress(contract, collection, key) is { } invalid) throw invalid.ToException();
        var write = _store.Put(contract, collection, key, value, PrivacyPolicy.Read(_committed), writer);
        var sentTo = SendToOrganisations(write.SendTo, PrivacyFrames.Encode(write.Replica));
        _log.Info("private-data-written", ("contract", contract), ("collection", collection), ("key", IdentifierMask.Bytes(key)), ("peers", sentTo.Count));
        return new PrivateDataPut(write.Commitment, OnChainCommitment(contract, collection, key), sentTo);
    }

    /// <summary>
    /// Reads a value for <paramref name="reader"/> (the store logs the read first). When this node misses the record,
    /// or holds another version than the chain's, it asks the other entitled organisations' nodes for it, so that a
    /// later read finds it; this read still fails.
    /// </summary>
    public bool TryRead(string contract, string collection, byte[] key, PrivacyReader reader, out PrivateRead read, out PrivateDataCommitment? onChain, out CustosError error)
    {
        read = null!;
        onChain = null;
        if (CheckAddress(contract, collection, key) is { } invalid)
        {
            error = invalid;
            return false;
        }

        var policy = PrivacyPolicy.Read(_committed);
        onChain = PrivacyPolicyContract.ReadCommitment(_committed, contract, collection, key);
        if (!_store.TryRead(contract, collection, key, reader, policy, out read, out error))
        {
            if (error.Code == ErrorCode.NotFound && onChain is not null) RequestFromPeers(contract, collection, key, policy);
            return false;
        }

        if (onChain is not null && !read.Proof.Commitment.ToByteString().Equals(onChain.Commitment)) RequestFromPeers(contract, collection, key, policy);
        return true;
    }

    /// <summary>Purges a record here and sends the purge notice to the other entitled organisations' nodes.</summary>
    public bool TryPurge(string contract, string collection, byte[] key, PrivacyReader by, string reason, out PrivateDataPurgeNotice notice,
        out IReadOnlyList<string> sentTo, out CustosError error)
    {
        notice = null!;
        sentTo = [];
        if (CheckAddress(contract, collection, key) is { } invalid)
        {
            error = invalid;
            return false;
        }

        var policy = PrivacyPolicy.Read(_committed);
        if (!_store.TryPurge(contract, collection, key, by, reason, policy, out notice, out error)) return false;
        var others = policy.EntitledOrganisations(contract, collection).Where(o => o != Organisation);
        sentTo = SendToOrganisations(others, PrivacyFrames.Encode(notice));
        _log.Info("private-data-purged", ("contract", contract), ("collection", collection), ("key", IdentifierMask.Bytes(key)), ("peers", sentTo.Count));
        return true;
    }

    /// <summary>The commitment this node holds (and its purge record) and the one on chain. Reads no value, logs nothing.</summary>
    public PrivateDataCommitments Commitments(string contract, string collection, byte[] key)
    {
        if (CheckAddress(contract, collection, key) is { } invalid) throw invalid.ToException();
        var onChain = PrivacyPolicyContract.ReadCommitment(_committed, contract, collection, key);
        return _store.TryGetCommitment(contract, collection, key, out var held, out var purge)
            ? new PrivateDataCommitments(held, purge, onChain)
            : new PrivateDataCommitments(null, null, onChain);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _pending.Writer.TryComplete();
        if (_worker is not null)
        {
            try
            {
                await _worker.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
        foreach (var owned in _owned) owned.Dispose();
    }

    private async Task ProcessAsync()
    {
        var token = _stop.Token;
        await foreach (var (peer, payload) in _pending.Reader.ReadAllAsync(token).ConfigureAwait(false))
        {
            try
            {
                Handle(peer, payload.Span);
            }
            catch (Exception e) when (e is CustosException or InvalidProtocolBufferException or IOException or UnauthorizedAccessException)
            {
                // A storage failure refuses this frame; the node goes on, and the peer's data can be asked for again.
                _log.Error("privacy-frame-failed", ("peer", peer), ("reason", e.Message));
            }
        }
    }

    private CustosError? Dispatch(string peer, PrivacyFrame frame, string contract, string collection, ReadOnlySpan<byte> key)
    {
        if (_organisations.OrganisationOf(peer) is not { } from) return new CustosError(ErrorCode.NotEntitled, $"{peer} belongs to no current organisation");
        // Bounds first: the on-chain commitment is read under a state key built from the address.
        if (CheckAddress(contract, collection, key) is { } invalid) return invalid;
        var policy = PrivacyPolicy.Read(_committed);
        switch (frame.KindCase)
        {
            case PrivacyFrame.KindOneofCase.Replica:
                var onChain = OnChainCommitment(contract, collection, key);
                if (!_store.TryAccept(frame.Replica, from, policy, onChain, out var refused)) return refused;
                _log.Info("private-data-replicated", ("peer", peer), ("contract", contract), ("collection", collection), ("key", IdentifierMask.Bytes(key)),
                    ("checked-on-chain", onChain is not null));
                return null;
            case PrivacyFrame.KindOneofCase.Request:
                if (!_store.TryServe(frame.Request, from, policy, out var replica, out refused)) return refused;
                return _network.TrySend(peer, FrameKind.Privacy, PrivacyFrames.Encode(replica), out var unsent) ? null : unsent;
            default:
                return _store.TryApplyPurge(frame.Purge, from, policy, out refused) ? null : refused;
        }
    }

    private void RequestFromPeers(string contract, string collection, byte[] key, PrivacyPolicy policy)
    {
        var request = new PrivateDataRequest { Contract = contract, Collection = collection, Key = ByteString.CopyFrom(key), RequestingOrganisation = Organisation };
        var others = policy.EntitledOrganisations(contract, collection).Where(o => o != Organisation);
        var asked = SendToOrganisations(others, PrivacyFrames.Encode(request));
        _log.Info("private-data-requested", ("contract", contract), ("collection", collection), ("key", IdentifierMask.Bytes(key)), ("peers", asked.Count));
    }

    private List<string> SendToOrganisations(IEnumerable<string> organisations, byte[] payload)
    {
        var sent = new List<string>();
        foreach (var organisation in organisations)
        {
            foreach (var node in _organisations.NodesOf(organisation))
            {
                if (node == _network.LocalNode) continue;
                if (_network.TrySend(node, FrameKind.Privacy, payload, out var error)) sent.Add(node);
                else _log.Warn("privacy-send-failed", ("peer", node), ("organisation", organisation), ("reason", error.Message));
            }
        }

        return sent;
    }

    private Hash32? OnChainCommitment(string contract, string collection, ReadOnlySpan<byte> key) =>
        PrivacyPolicyContract.ReadCommitment(_committed, contract, collection, key) is { } held && Hash32.TryCreate(held.Commitment.Span, out var commitment)
            ? commitment
            : null;

    /// <summary>
    /// The store's bounds, with names counted in bytes as the policy counts them, so that an address always makes a
    /// state key within the store's limit.
    /// </summary>
    private static CustosError? CheckAddress(string contract, string collection, ReadOnlySpan<byte> key)
    {
        if (!IsName(contract) || !IsName(collection)) return new CustosError(ErrorCode.InvalidField, $"contract and collection names have 1 to {PrivacyPolicy.NameLengthMax} bytes");
        if (key.IsEmpty || key.Length > PrivateDataStore.KeySizeBytesMax) return new CustosError(ErrorCode.InvalidLength, $"a private key has 1 to {PrivateDataStore.KeySizeBytesMax} bytes");
        return null;
    }

    private static bool IsName(string name) => !string.IsNullOrEmpty(name) && Encoding.UTF8.GetByteCount(name) <= PrivacyPolicy.NameLengthMax;
}
