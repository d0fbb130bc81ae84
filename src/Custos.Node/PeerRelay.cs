using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Mempool;
using Custos.Network;
using Custos.Network.Wire;
using Custos.Node.Wire;
using Google.Protobuf;

namespace Custos.Node;

/// <summary>
/// Reads frames from peers and turns them into consensus input: consensus messages pass through; batches are
/// decoded, their signatures verified in parallel (a batch with a bad signature gets its sender banned), and kept;
/// compact proposals are rebuilt from the batches they name, fetching missing ones from the sender first. It also
/// forms this node's own batches from its mempool and shares them. Privacy frames go to the <see cref="PrivateDataService"/>.
/// Malformed frames get the peer banned (NET-4).
/// </summary>
internal sealed class PeerRelay : IAsyncDisposable
{
    private const int ParkedProposalsMax = 64;

    /// <summary>Batches waiting for signature verification; beyond it new ones are shed (a proposal naming one fetches it).</summary>
    private const int VerificationQueueMax = 1_024;
    private static readonly TimeSpan ParkedLifetime = TimeSpan.FromSeconds(10);

    private readonly ChainSetup _chain;
    private readonly uint _author;
    private readonly IPeerNetwork _network;
    private readonly TransactionPool _pool;
    private readonly BatchStore _batches;
    private readonly ISignatureCheck _signatures;
    private readonly ConsensusHost _host;
    private readonly NodeLog _log;
    private readonly TimeProvider _clock;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(string Peer, CompactProposal Proposal, List<Hash32> Digests, DateTimeOffset Since)> _parked = [];
    private readonly Lock _parkedGate = new();
    private volatile int _parkedCount;
    private readonly SemaphoreSlim _batchSignal = new(0);
    // Written only with TryWrite, which refuses when full (DropWrite would accept and drop, uncounted).
    private readonly System.Threading.Channels.Channel<(string Peer, ReadOnlyMemory<byte> Batch, int Transactions)> _verification =
        System.Threading.Channels.Channel.CreateBounded<(string, ReadOnlyMemory<byte>, int)>(new System.Threading.Channels.BoundedChannelOptions(VerificationQueueMax)
        {
            SingleReader = true,
            FullMode = System.Threading.Channels.BoundedChannelFullMode.Wait,
        });
    private Task? _receiving;
    private Task? _forming;
    private Task? _verifying;
    private long _batchesShed;

    public PeerRelay(ChainSetup chain, uint author, IPeerNetwork network, TransactionPool pool, BatchStore batches, ISignatureCheck signatures,
        ConsensusHost host, NodeLog log, TimeProvider clock)
    {
        _chain = chain;
        _author = author;
        _network = network;
        _pool = pool;
        _batches = batches;
        _signatures = signatures;
        _host = host;
        _log = log;
        _clock = clock;
    }

    /// <summary>Where privacy frames go; a node without it ignores them (they are not misbehaviour).</summary>
    public PrivateDataService? Privacy { get; init; }

    /// <summary>How long the former waits for more transactions before sealing a partial batch.</summary>
    public TimeSpan BatchInterval { get; init; } = TimeSpan.FromMilliseconds(20);

    public void Start()
    {
        _receiving = Task.Run(ReceiveAsync);
        _forming = Task.Run(FormBatchesAsync);
        _verifying = Task.Run(VerifyBatchesAsync);
    }

    /// <summary>Wakes the batch former early (the API calls it after admitting transactions).</summary>
    public void TransactionsArrived()
    {
        if (_batchSignal.CurrentCount == 0) _batchSignal.Release();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _verification.Writer.TryComplete();
        foreach (var task in new[] { _receiving, _forming, _verifying })
        {
            if (task is null) continue;
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }

    private async Task FormBatchesAsync()
    {
        var token = _stop.Token;
        var limits = _batches.Limits;
        while (!token.IsCancellationRequested)
        {
            await _batchSignal.WaitAsync(BatchInterval, token).ConfigureAwait(false);

            // Let a burst of submissions accumulate a little so that batches are not one transaction each.
            if (_pool.UnbatchedCount < limits.TransactionsPerBatchMax / 4) await Task.Delay(2, token).ConfigureAwait(false);
            while (_pool.UnbatchedCount > 0 && !token.IsCancellationRequested)
            {
                var transactions = _pool.TakeUnbatched(limits.TransactionsPerBatchMax, limits.BatchBytesMax - 1024);
                if (transactions.Count == 0) break;
                var batch = _batches.Form(_author, transactions);
                _log.Info("batch-formed", ("transactions", transactions.Count));
                _network.Broadcast(FrameKind.TransactionBatch, batch.Encoded);
                _host.Post(new EngineInput(new ProposalDue()));
            }
        }
    }

    private async Task ReceiveAsync()
    {
        var token = _stop.Token;
        await foreach (var frame in _network.Received.ReadAllAsync(token).ConfigureAwait(false))
        {
            try
            {
                Handle(frame);
            }
            catch (Exception e) when (e is CustosException or InvalidProtocolBufferException)
            {
                Misbehaved(frame.Peer, $"{frame.Kind}: {e.Message}");
            }
        }
    }

    private void Handle(ReceivedFrame frame)
    {
        if (!_chain.TryGetNode(frame.Peer, out var from))
        {
            Misbehaved(frame.Peer, "not a node of this chain");
            return;
        }

        switch (frame.Kind)
        {
            case FrameKind.Consensus:
                // Undecodable bytes can only come from a broken or hostile peer (NET-4); signatures and rules are the
                // engine's to judge, and a message that is merely stale must not cost its sender anything.
                if (!ConsensusMessages.TryDecode(frame.Payload.Span, out _, out var malformed))
                {
                    Misbehaved(frame.Peer, $"consensus message: {malformed.Message}");
                    break;
                }

                _host.Post(new EngineInput(new MessageReceived(from, frame.Payload)));
                break;
            case FrameKind.TransactionBatch:
                QueueForVerification(frame.Peer, frame.Payload);
                break;
            case FrameKind.CompactProposal:
                var compact = CompactProposal.Parser.ParseFrom(frame.Payload.Span);
                var digests = compact.BatchDigests.Select(d => d.Length == Hash32.SizeBytes ? new Hash32(d.Span) : throw new CustosException(ErrorCode.InvalidLength, "batch digest of wrong length")).ToList();
                if (!TryRebuild(frame.Peer, from, compact, digests))
                {
                    _log.Info("proposal-parked", ("peer", frame.Peer), ("batches", digests.Count), ("missing", _batches.Missing(digests).Count));
                    Park(frame.Peer, compact, digests);
                }
                break;
            case FrameKind.BatchRequest:
                var request = BatchRequest.Parser.ParseFrom(frame.Payload.Span);
                var response = new BatchResponse();
                foreach (var digest in request.Digests.Take(_batches.Limits.BatchesPerProposalMax))
                {
                    if (digest.Length == Hash32.SizeBytes && _batches.TryGet(new Hash32(digest.Span), out var stored)) response.Batches.Add(ByteString.CopyFrom(stored.Encoded));
                }

                _network.TrySend(frame.Peer, FrameKind.BatchResponse, response.ToByteArray(), out _);
                break;
            case FrameKind.BatchResponse:
                var answer = BatchResponse.Parser.ParseFrom(frame.Payload.Span);
                foreach (var batch in answer.Batches) QueueForVerification(frame.Peer, batch.Memory);
                break;
            case FrameKind.Privacy:
                // The store flushes each write to disk, so privacy frames are handled beside this loop, like batches.
                Privacy?.Post(frame.Peer, frame.Payload);
                break;
            default:
                Misbehaved(frame.Peer, $"unexpected frame kind {frame.Kind}");
                break;
        }
    }

    /// <summary>
    /// Queues a peer's batch for decoding and verification, which are the costly part and run beside this loop so that
    /// consensus messages never wait behind them. Its transactions count in the backlog admission sees from now on.
    /// </summary>
    private void QueueForVerification(string peer, ReadOnlyMemory<byte> encoded)
    {
        var transactions = BatchStore.CountTransactions(encoded.Span);
        _batches.AwaitVerification(transactions);
        if (_verification.Writer.TryWrite((peer, encoded, transactions))) return;
        _batches.VerificationEnded(transactions);
        if (Interlocked.Increment(ref _batchesShed) % 100 == 1) _log.Warn("batches-shed", ("total", Interlocked.Read(ref _batchesShed)));
    }

    private async Task VerifyBatchesAsync()
    {
        var token = _stop.Token;
        await foreach (var (peer, batch, transactions) in _verification.Reader.ReadAllAsync(token).ConfigureAwait(false))
        {
            bool accepted;
            try
            {
                accepted = AcceptBatch(peer, batch.Span);
            }
            catch (Exception e) when (e is CustosException or InvalidProtocolBufferException)
            {
                Misbehaved(peer, $"batch: {e.Message}");
                continue;
            }
            finally
            {
                _batches.VerificationEnded(transactions);
            }

            if (accepted && _parkedCount > 0) RetryParked();
        }
    }

    /// <summary>Keeps a peer's batch once every signature in it verifies (in parallel, cached for execution).</summary>
    private bool AcceptBatch(string peer, ReadOnlySpan<byte> encoded)
    {
        if (!_batches.TryDecode(encoded, out var batch, out var error))
        {
            Misbehaved(peer, $"batch: {error.Message}");
            return false;
        }

        if (_batches.TryGet(batch.Digest, out _) || _batches.WasCommitted(batch.Digest)) return false;
        if (Array.IndexOf(_signatures.AreValid(batch.Transactions, batch.Ids), false) >= 0)
        {
            Misbehaved(peer, "batch holds a transaction whose signature does not verify");
            return false;
        }

        _batches.Accept(batch);
        _host.Post(new EngineInput(new ProposalDue()));
        return true;
    }

    private bool TryRebuild(string peer, NodeId from, CompactProposal compact, IReadOnlyList<Hash32> digests)
    {
        var missing = _batches.Missing(digests);
        if (missing.Count > 0) return false;
        if (!ConsensusMessages.TryDecode(compact.Message.Span, out var message, out var error)) throw error.ToException();
        if (message.BodyCase != ConsensusMessage.BodyOneofCase.Proposal) throw new CustosException(ErrorCode.InvalidField, "a compact proposal must hold a proposal");
        var stripped = Block.Parser.ParseFrom(message.Proposal.Block);
        if (stripped.Transactions.Count != 0) throw new CustosException(ErrorCode.InvalidField, "a compact proposal's block must not carry transactions");
        var transactions = new List<Transaction>();
        foreach (var digest in digests)
        {
            if (!_batches.TryGet(digest, out var batch)) return false;
            transactions.AddRange(batch.Transactions);
        }

        // The block is assembled from the batches' transactions as they were decoded (ids remembered), and handed to
        // the engine with the message, so that neither this node's engine nor its execution decodes them again. A block
        // that does not assemble (a bad header, a transaction of another chain) goes to the engine as plain bytes, to be
        // refused and journalled there like any invalid proposal.
        // The engine takes the compact message as it came, with the assembled block beside it: re-encoding the whole
        // proposal here, and the engine parsing and checking it back, copied every block three more times.
        MessageReceived received;
        Hash32 hash;
        if (BlockRecord.TryAssemble(stripped.Header.Span, transactions, _chain.Suite, out var block, out _))
        {
            received = new MessageReceived(from, compact.Message.Memory) { Block = block };
            hash = block.Hash;
        }
        else
        {
            var proposal = message.Proposal.Clone();
            stripped.Transactions.AddRange(transactions.Select(t => UnsafeByteOperations.UnsafeWrap(t.Envelope)));
            proposal.Block = stripped.ToByteString();
            received = new MessageReceived(from, ConsensusMessages.Encode(proposal));
            hash = BlockRecord.HashOfHeader(_chain.Suite, stripped.Header.Span);
        }

        _log.Info("proposal-rebuilt", ("peer", peer), ("batches", digests.Count), ("transactions", transactions.Count));
        _host.Post(new BlockBatchesInput(hash, digests, received));
        return true;
    }

    private void Park(string peer, CompactProposal compact, List<Hash32> digests)
    {
        var missing = _batches.Missing(digests);
        var request = new BatchRequest();
        request.Digests.AddRange(missing.Select(d => d.ToByteString()));
        _network.TrySend(peer, FrameKind.BatchRequest, request.ToByteArray(), out _);
        lock (_parkedGate)
        {
            if (_parked.Count >= ParkedProposalsMax) _parked.RemoveAt(0);
            _parked.Add((peer, compact, digests, _clock.GetUtcNow()));
            _parkedCount = _parked.Count;
        }
    }

    private void RetryParked()
    {
        List<(string Peer, CompactProposal Proposal, List<Hash32> Digests, DateTimeOffset Since)> parked;
        lock (_parkedGate)
        {
            if (_parked.Count == 0) return;
            var now = _clock.GetUtcNow();
            _parked.RemoveAll(p => now - p.Since > ParkedLifetime);
            _parkedCount = _parked.Count;
            parked = [.. _parked];
        }

        foreach (var entry in parked)
        {
            if (!_chain.TryGetNode(entry.Peer, out var from)) continue;
            bool rebuilt;
            try
            {
                rebuilt = TryRebuild(entry.Peer, from, entry.Proposal, entry.Digests);
            }
            catch (Exception e) when (e is CustosException or InvalidProtocolBufferException)
            {
                Misbehaved(entry.Peer, e.Message);
                rebuilt = true;
            }

            if (!rebuilt) continue;
            lock (_parkedGate)
            {
                _parked.Remove(entry);
                _parkedCount = _parked.Count;
            }
        }
    }

    private void Misbehaved(string peer, string reason)
    {
        _log.Warn("peer-misbehaved", ("peer", peer), ("reason", reason));
        _network.ReportMisbehaviour(peer, reason);
    }
}
