using System.Runtime.CompilerServices;
using Custos.Api;
using Custos.Consensus;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Consensus.Wire;
using Custos.Crypto;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Identity;
using Custos.Network.Hosting;
using Custos.Network.Tls;
using Custos.Storage.State;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Custos.Sdk;

/// <summary>A state value proven against a QC-certified header: what a light client can trust with the validator set alone.</summary>
public sealed record VerifiedState(byte[] Key, byte[]? Value, ulong Version, Hash32 StateRoot, ulong CertifiedHeight);

/// <summary>The chain facts a client trusts: its id, suite, consortium CAs and the validator set that signs QCs.</summary>
public sealed record ChainTrust(string ChainId, ICryptoSuite Suite, CertificateValidator Authorities, ValidatorSet Validators);

/// <summary>
/// A connection to one node's client API: gRPC over the chain's TLS stack (gm: TLS 1.3 with TLS_SM4_GCM_SM3;
/// intl: TLS 1.3), authenticated both ways by consortium certificates. Thread-safe.
/// </summary>
public sealed class CustosClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly ChainTrust _trust;
    private readonly SortedDictionary<ulong, ValidatorSet> _sets;

    private CustosClient(GrpcChannel channel, ChainTrust trust)
    {
        _channel = channel;
        _trust = trust;
        _sets = new SortedDictionary<ulong, ValidatorSet> { [trust.Validators.Epoch] = trust.Validators };
        Ledger = new Ledger.LedgerClient(channel);
    }

    /// <summary>The raw gRPC client, for calls this class does not wrap.</summary>
    public Ledger.LedgerClient Ledger { get; }

    /// <summary>Connects to node <paramref name="nodeName"/> at host:port with a client certificate and its key.</summary>
    public static CustosClient Connect(ChainTrust trust, ConsortiumCertificate clientCertificate, ISigningKey clientKey, string nodeName, string host, int port)
    {
        var stack = TlsStack.For(trust.Suite, new TlsIdentity(clientCertificate, clientKey));
        var policy = HandshakePolicy.ForNode(new TrustStore(trust.Authorities), nodeName);
        CustosClient? client = null;
        var options = new SecureClientOptions { Connected = session => client!.Session = $"{session.Protocol} {session.CipherSuite} ({session.Stack} stack)" };
        var channel = SecureHttpHandler.CreateGrpcChannel(stack, policy, host, port, options, maxReceiveMessageSize: 64 * 1024 * 1024, maxSendMessageSize: 64 * 1024 * 1024);
        client = new CustosClient(channel, trust);
        return client;
    }

    /// <summary>The protocol and cipher suite of the last secured connection to the node (null before the first call).</summary>
    public string? Session { get; private set; }

    public async Task<IReadOnlyList<SubmitResult>> SubmitAsync(IEnumerable<SignedTransaction> transactions, CancellationToken cancellationToken = default)
    {
        var request = new SubmitRequest();
        request.Transactions.AddRange(transactions.Select(t => ByteString.CopyFrom(t.Envelope)));
        var response = await Ledger.SubmitAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Results;
    }

    /// <summary>Waits until the transaction is committed (its status then carries the receipt) or the timeout passes.</summary>
    public async Task<TransactionStatus> WaitForCommitAsync(Hash32 id, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        await Ledger.WaitForCommitAsync(new WaitRequest { TransactionId = id.ToByteString(), TimeoutMs = (uint)timeout.TotalMilliseconds },
            deadline: DateTime.UtcNow + timeout + TimeSpan.FromSeconds(10), cancellationToken: cancellationToken).ConfigureAwait(false);

    public async Task<NodeStatus> StatusAsync(CancellationToken cancellationToken = default) =>
        await Ledger.GetStatusAsync(new StatusRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);

    public async Task<BlockResponse> BlockAsync(ulong height, CancellationToken cancellationToken = default) =>
        await Ledger.GetBlockAsync(new BlockQuery { Height = height }, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Reads a state value and verifies it as a light client: the QC signs the header (checked with the validator
    /// set), the header carries the state root, and the Merkle proof ties the value (or its absence) to that root.
    /// Anything that does not verify throws a <see cref="CustosException"/>; a lying node cannot pass a false value.
    /// </summary>
    public async Task<VerifiedState> ReadVerifiedStateAsync(byte[] key, ulong? version = null, CancellationToken cancellationToken = default)
    {
        var response = await Ledger.GetStateAsync(new StateQuery { Key = ByteString.CopyFrom(key), Version = version ?? 0 }, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.Qc is null) throw new CustosException(ErrorCode.QuorumInvalid, "the node sent no QC for the state's header");
        if (!CertificateVerifier.TryDecode(response.Qc, out var view, out var error)) throw error.ToException();
        return Verify(_trust, await ValidatorsOfEpochAsync(view.Epoch, cancellationToken).ConfigureAwait(false), key, response);
    }

    public static VerifiedState Verify(ChainTrust trust, byte[] key, StateResponse response) => Verify(trust, trust.Validators, key, response);

    /// <summary>
    /// The validator set of <paramref name="epoch"/>, learnt from the node and verified from the genesis set on:
    /// each epoch's end is proved by its own validators, and the next set is read from the state after the ending
    /// block with a Merkle proof (<see cref="VerifyEpochChange"/>). A node cannot make the client trust a set it
    /// did not get from the consortium's validators.
    /// </summary>
    public async Task<ValidatorSet> ValidatorsOfEpochAsync(ulong epoch, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ValidatorSet latest;
            lock (_sets)
            {
                if (_sets.TryGetValue(epoch, out var known)) return known;
                latest = _sets.Values.Last();
            }

            if (latest.Epoch > epoch) throw new CustosException(ErrorCode.EpochMismatch, $"epoch {epoch} precedes the trusted validators of epoch {latest.Epoch}");
            var changes = await Ledger.GetEpochChangesAsync(new EpochChangesQuery { FromEpoch = latest.Epoch }, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (changes.Changes.Count == 0) throw new CustosException(ErrorCode.EpochMismatch, $"the node proves no end of epoch {latest.Epoch}, so epoch {epoch} cannot be trusted");
            foreach (var change in changes.Changes)
            {
                var next = VerifyEpochChange(_trust, latest, change);
                lock (_sets) _sets[next.Epoch] = next;
                latest = next;
            }
        }
    }

    /// <summary>
    /// Checks one epoch change with the ending epoch's set alone: the proof that the epoch ended, the state root after
    /// its ending block, and the validator record against that root. Returns the next epoch's set.
    /// </summary>
    public static ValidatorSet VerifyEpochChange(ChainTrust trust, ValidatorSet current, EpochChange change)
    {
        EpochEndingProof proof;
        try
        {
            proof = EpochEndingProof.Parser.ParseFrom(change.EpochEndingProof);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new CustosException(ErrorCode.Malformed, "the epoch-ending proof does not decode");
        }

        if (!EpochEndingVerifier.TryVerify(proof, trust.ChainId, current, trust.Suite, out var error)) throw error.ToException();
        if (!EpochEndingVerifier.TryGetPostStateRoot(proof, out var root, out error)) throw error.ToException();
        var record = change.Validators.ToByteArray();
        if (!StateProofVerifier.VerifyInclusion(trust.Suite, root, ConsortiumRegistry.ValidatorsKey, record, change.ValidatorsProof.ToByteArray()))
        {
            throw new CustosException(ErrorCode.InvalidField, $"the validator record after epoch {proof.Epoch} does not verify against the certified state root");
        }

        ConsortiumValidators validators;
        try
        {
            validators = ConsortiumValidators.Parser.ParseFrom(record);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new CustosException(ErrorCode.Malformed, "the validator record does not decode");
        }

        var members = new List<Validator>(validators.Validators.Count);
        for (var i = 0; i < validators.Validators.Count; i++)
        {
            if (!trust.Suite.TryDecodePublicKey(validators.Validators[i].PublicKey.Span, out var key, out error)) throw error.ToException();
            members.Add(new Validator(new NodeId(i), key));
        }

        return new ValidatorSet(proof.Epoch + 1, members);
    }

    public static VerifiedState Verify(ChainTrust trust, ValidatorSet validators, byte[] key, StateResponse response)
    {
        var suite = trust.Suite;
        if (response.Qc is null) throw new CustosException(ErrorCode.QuorumInvalid, "the node sent no QC for the state's header");
        if (!CertificateVerifier.TryVerify(response.Qc, trust.ChainId, validators, suite, out var qc, out var error)) throw error.ToException();
        if (!Decoders.TryDecodeBlockHeader(response.Header.Span, out var header, out error)) throw error.ToException();
        var headerHash = BlockRecord.HashOfHeader(suite, response.Header.Span);
        if (qc.BlockHash != headerHash) throw new CustosException(ErrorCode.QuorumInvalid, "the QC certifies another block than the header sent");
        if (response.StateRoot.Length != Hash32.SizeBytes || !header.StateRoot.Equals(response.StateRoot))
        {
            throw new CustosException(ErrorCode.InvalidField, "the state root is not the one the certified header carries");
        }

        if (header.Height != response.Version + 1) throw new CustosException(ErrorCode.InvalidField, "the header does not carry the root of the version sent");
        var root = new Hash32(response.StateRoot.Span);
        var proof = response.Proof.ToByteArray();
        var valid = response.Found
            ? StateProofVerifier.VerifyInclusion(suite, root, key, response.Value.ToByteArray(), proof)
            : StateProofVerifier.VerifyNonInclusion(suite, root, key, proof);
        if (!valid) throw new CustosException(ErrorCode.InvalidField, "the Merkle proof does not verify against the certified root");
        return new VerifiedState(key, response.Found ? response.Value.ToByteArray() : null, response.Version, root, header.Height);
    }

    /// <summary>Every committed block from <paramref name="fromHeight"/> on, with receipts (and their events), as they commit.</summary>
    public IAsyncEnumerable<CommitNotice> StreamCommitsAsync(ulong fromHeight, CancellationToken cancellationToken = default) =>
        StreamCommitsAsync(new CommitStreamRequest { FromHeight = fromHeight }, cancellationToken);

    /// <summary>
    /// Every committed block from <paramref name="fromHeight"/> on, naming its transactions
    /// (<see cref="CommitNotice.TransactionIds"/>) instead of carrying receipts: for following what committed cheaply.
    /// </summary>
    public IAsyncEnumerable<CommitNotice> StreamCommittedIdsAsync(ulong fromHeight, CancellationToken cancellationToken = default) =>
        StreamCommitsAsync(new CommitStreamRequest { FromHeight = fromHeight, TransactionIdsOnly = true }, cancellationToken);

    private async IAsyncEnumerable<CommitNotice> StreamCommitsAsync(CommitStreamRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = Ledger.StreamCommits(request, cancellationToken: cancellationToken);
        await foreach (var notice in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false)) yield return notice;
    }

    public void Dispose() => _channel.Dispose();
}
