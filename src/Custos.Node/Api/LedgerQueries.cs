using System.Runtime.CompilerServices;
using Custos.Api;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Mempool;
using Custos.Network;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Node.Api;

/// <summary>
/// What the client API can ask a node, independent of the transport (gRPC and REST share it). Reads come from
/// storage, which is safe to read while the consensus thread writes; submissions go through mempool admission.
/// Identifiers (PRI-4): what these answers carry about accounts is signed or proven material that clients verify
/// (transaction envelopes, blocks, receipts, state values with their Merkle proofs, epoch proofs), already
/// pseudonymous, and returned byte for byte so that the light client keeps verifying it; the status view names
/// nodes, not people. The one text written here, an admission's refusal message, has its account ids masked.
/// </summary>
internal sealed class LedgerQueries(
    ChainSetup chain,
    string nodeName,
    LedgerStore store,
    TransactionPool pool,
    CommitFeed feed,
    Func<(ulong Round, ulong Epoch, bool Validator, int Validators)> consensus,
    IPeerNetwork network,
    Action transactionsArrived,
    NodeMetrics metrics)
{
    private readonly StoredChain _chain = new(store);
    private readonly IStateReader _committed = new StoreStateReader(store);

    public SubmitResponse Submit(IReadOnlyList<ReadOnlyMemory<byte>> envelopes)
    {
        var response = new SubmitResponse();
        if (envelopes.Count == 0) return response;
        if (envelopes.Count > 10_000) throw LedgerApiService.Failure(new CustosError(ErrorCode.TooLarge, "at most 10000 transactions per request"));
        var head = store.Head?.Height ?? 0;
        var admissions = pool.Admit(envelopes, new AdmissionContext(head + 1, _committed));
        var admitted = 0;
        foreach (var admission in admissions)
        {
            if (admission.Admitted) admitted++;
            response.Results.Add(new SubmitResult
            {
                TransactionId = admission.Id.ToByteString(),
                Code = admission.Error?.Code ?? ErrorCode.Ok,
                Message = IdentifierText.Mask(admission.Error?.Message ?? ""),
            });
        }

        metrics.OnSubmitted(admitted, admissions.Count - admitted);
        if (admitted > 0) transactionsArrived();
        return response;
    }

    public Task<bool> WaitForCommitAsync(Hash32 id, TimeSpan timeout, CancellationToken cancellationToken) =>
        feed.WaitAsync(id, () => store.FindTransaction(id) is not null, timeout, cancellationToken);

    public TransactionStatus Transaction(Hash32 id)
    {
        var status = new TransactionStatus { TransactionId = id.ToByteString() };
        if (store.ReadTransaction(id) is { } found)
        {
            status.State = TransactionState.Committed;
            status.Height = found.Location.Height;
            status.Envelope = ByteString.CopyFrom(found.Transaction.Envelope.Span);
            if (store.ReadBlock(found.Location.Height) is { } block) status.BlockHash = block.Hash.ToByteString();
            if (store.ReadReceipt(found.Location) is { } receipt) status.Receipt = Receipt.Parser.ParseFrom(receipt);
            return status;
        }

        status.State = pool.Contains(id) ? TransactionState.Pending : TransactionState.Unknown;
        return status;
    }

    public BlockResponse Block(ulong height) =>
        Describe(store.ReadBlock(height) ?? throw new CustosException(ErrorCode.NotFound, $"no block at height {height}"));

    public BlockResponse Block(Hash32 hash) =>
        Describe(store.ReadBlock(hash) ?? throw new CustosException(ErrorCode.NotFound, $"no block {hash.ToShortString()}"));

    /// <summary>
    /// A value with its Merkle proof at a committed version, and the header that carries that version's root with
    /// the QC certifying it: a light client checks the QC with the validator set, the root in the header, the proof
    /// against the root. Block h+1's header carries the root of version h, so the default version is the head's
    /// parent: the newest one whose certified header exists.
    /// </summary>
    public StateResponse State(byte[] key, ulong? version)
    {
        if (key.Length == 0 || key.Length > 1024) throw new CustosException(ErrorCode.InvalidLength, "a state key is 1 to 1024 bytes");
        var head = store.Head ?? throw new CustosException(ErrorCode.NotFound, "the node has no blocks yet");
        if (head.Height == 0) throw new CustosException(ErrorCode.NotFound, "no certified state yet: wait for block 1");
        var at = version ?? head.Height - 1;
        if (at >= head.Height) throw new CustosException(ErrorCode.NotFound, $"version {at} has no certified header yet (head is {head.Height})");
        var proof = store.State.Prove(key, at);
        var carrier = store.ReadBlock(at + 1) ?? throw new CustosException(ErrorCode.NotFound, $"no block {at + 1}");
        var (qc, _) = _chain.ReadCertificates(at + 1);
        var response = new StateResponse
        {
            Found = proof.Value is not null,
            Version = proof.Version,
            StateRoot = proof.Root.ToByteString(),
            Proof = ByteString.CopyFrom(proof.Proof),
            Header = ByteString.CopyFrom(carrier.Block.HeaderBytes.Span),
        };
        if (proof.Value is not null) response.Value = ByteString.CopyFrom(proof.Value);
        if (qc is not null) response.Qc = qc;
        return response;
    }

    /// <summary>Every epoch change this node has recorded from <paramref name="fromEpoch"/> on, in order (at most 64).</summary>
    public EpochChanges EpochChanges(ulong fromEpoch)
    {
        var changes = new EpochChanges();
        for (var epoch = fromEpoch; changes.Changes.Count < 64; epoch++)
        {
            if (!_chain.TryGetEpochEnding(epoch, out var proof)) break;
            var state = store.State.Prove(ConsortiumRegistry.ValidatorsKey, proof.EndingHeight);
            if (state.Value is null) throw new CustosException(ErrorCode.StorageCorrupt, $"epoch {epoch} ended at {proof.EndingHeight} without a validator record");
            changes.Changes.Add(new EpochChange
            {
                EpochEndingProof = proof.ToByteString(),
                Validators = ByteString.CopyFrom(state.Value),
                ValidatorsProof = ByteString.CopyFrom(state.Proof),
            });
        }

        return changes;
    }

    /// <param name="transactionIdsOnly">Notices name their transactions instead of carrying receipts (no receipts read or sent).</param>
    public async IAsyncEnumerable<CommitNotice> CommitsAsync(ulong fromHeight, [EnumeratorCancellation] CancellationToken cancellationToken, bool transactionIdsOnly = false)
    {
        var next = fromHeight;
        while (!cancellationToken.IsCancellationRequested)
        {
            var head = store.Head;
            while (head is not null && next <= head.Height)
            {
                if (store.ReadBlock(next) is { } block) yield return Notice(block, transactionIdsOnly);
                next++;
            }

            await feed.AfterHeightAsync((long)next - 1, cancellationToken).ConfigureAwait(false);
        }
    }

    public NodeStatus Status()
    {
        var head = store.Head;
        var (round, epoch, validator, validators) = consensus();
        return new NodeStatus
        {
            Node = nodeName,
            ChainId = chain.ChainId,
            CryptoSuite = chain.Suite.Name,
            Height = head?.Height ?? 0,
            Round = round,
            Epoch = epoch,
            StateRoot = (head?.StateRoot ?? Hash32.Zero).ToByteString(),
            LastBlockHash = (head?.BlockHash ?? Hash32.Zero).ToByteString(),
            PeersConnected = (uint)network.Peers.Count(p => p.State == PeerState.Connected),
            MempoolTransactions = (uint)pool.Count,
            Version = typeof(LedgerQueries).Assembly.GetName().Version?.ToString() ?? "0",
            Validator = validator,
            Validators = (uint)validators,
            OperatingSystem = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ProcessorCount = (uint)Environment.ProcessorCount,
            HostName = Environment.MachineName,
        };
    }

    private BlockResponse Describe(StoredBlock block)
    {
        var response = new BlockResponse { Block = ByteString.CopyFrom(block.Block.Encoded.Span) };
        var (qc, _) = _chain.ReadCertificates(block.Height);
        if (qc is not null) response.Qc = qc;
        response.Receipts.AddRange(Receipts(block));
        return response;
    }

    private CommitNotice Notice(StoredBlock block, bool transactionIdsOnly)
    {
        var notice = new CommitNotice
        {
            Height = block.Height,
            BlockHash = block.Hash.ToByteString(),
            Transactions = (uint)block.Block.Transactions.Count,
            StateRoot = PostRoot(block),
            TimestampMs = block.Block.Header.TimestampMs,
        };
        if (transactionIdsOnly) notice.TransactionIds.AddRange(block.Block.Transactions.Select(t => t.ComputeId(chain.Suite).ToByteString()));
        else notice.Receipts.AddRange(Receipts(block));
        return notice;
    }

    /// <summary>The state root after the block (its own header carries the root before it).</summary>
    private ByteString PostRoot(StoredBlock block)
    {
        try
        {
            return store.State.RootAt(block.Height).ToByteString();
        }
        catch (CustosException)
        {
            return ByteString.Empty; // pruned
        }
    }

    private IEnumerable<Receipt> Receipts(StoredBlock block) => store.ReadReceipts(block.Height).Select(Receipt.Parser.ParseFrom);
}

/// <summary>
/// Committed state at the latest persisted version, as admission and execution read it. Values read at the latest
/// version are kept until the version moves: the same few accounts are read by every transaction that touches them,
/// and each uncached read walks the state tree and reads RocksDB. Reads are pinned to the version the cache is for,
/// so a commit in between cannot mix versions.
/// </summary>
public sealed class StoreStateReader(LedgerStore store, int entriesMax = 65_536) : IStateReader
{
    private sealed class Snapshot(ulong? version)
    {
        public readonly ulong? Version = version;
        public readonly System.Collections.Concurrent.ConcurrentDictionary<byte[], byte[]?> Values = new(ByteKeyComparer.Instance);
        public int Added;
    }

    private Snapshot _snapshot = new(null);

    public bool TryGet(ReadOnlySpan<byte> key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? value)
    {
        // A replay record is looked up once per new transaction and never again: caching the answers would fill the
        // cache with misses. Records have only a latest value, which a newer version can only have added to or
        // removed expired ones from, and those are refused as expired before their record is consulted.
        if (ReplayRecords.IsReplayRecord(key))
        {
            value = store.State.Get(key);
            return value is not null;
        }

        var latest = store.State.LatestVersion;
        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot.Version != latest)
        {
            var fresh = new Snapshot(latest);
            snapshot = Interlocked.CompareExchange(ref _snapshot, fresh, snapshot) == snapshot ? fresh : Volatile.Read(ref _snapshot);
            if (snapshot.Version != latest) snapshot = fresh;
        }

        if (snapshot.Values.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out value)) return value is not null;
        value = latest is { } version ? store.State.Get(key, version) : null;
        if (Interlocked.Increment(ref snapshot.Added) <= entriesMax) snapshot.Values.TryAdd(key.ToArray(), value);
        return value is not null;
    }
}
