using Custos.Api;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Mempool;
using Custos.Storage;
using Google.Protobuf;
using Grpc.Core;

namespace Custos.Node.Api;

/// <summary>
/// The client API's gRPC service (<c>custos.v1.Ledger</c>). Callers are authenticated by their client certificate in
/// the TLS handshake (the listener admits client roles only); transactions are additionally signed by their sender.
/// Errors are typed: a refused transaction comes back with its <see cref="ErrorCode"/>; a bad request is an RPC
/// error whose detail starts with the code's name, with any account id in the message masked (PRI-4). Everything
/// else it returns is verifiable material, which is never altered (<see cref="LedgerQueries"/>).
/// </summary>
internal sealed class LedgerApiService(LedgerQueries queries) : Ledger.LedgerBase
{
    private static readonly TimeSpan WaitMax = TimeSpan.FromMinutes(2);

    public override Task<SubmitResponse> Submit(SubmitRequest request, ServerCallContext context) =>
        Task.FromResult(queries.Submit(request.Transactions.Select(t => t.Memory).ToList()));

    public override async Task<TransactionStatus> WaitForCommit(WaitRequest request, ServerCallContext context)
    {
        var id = Id(request.TransactionId);
        var timeout = request.TimeoutMs == 0 ? TimeSpan.FromSeconds(30) : TimeSpan.FromMilliseconds(Math.Min(request.TimeoutMs, WaitMax.TotalMilliseconds));
        await queries.WaitForCommitAsync(id, timeout, context.CancellationToken).ConfigureAwait(false);
        return queries.Transaction(id);
    }

    public override Task<TransactionStatus> GetTransaction(TransactionQuery request, ServerCallContext context) =>
        Task.FromResult(queries.Transaction(Id(request.TransactionId)));

    public override Task<BlockResponse> GetBlock(BlockQuery request, ServerCallContext context) =>
        Task.FromResult(Guard(() => request.SelectorCase switch
        {
            BlockQuery.SelectorOneofCase.Hash => queries.Block(Id(request.Hash)),
            _ => queries.Block(request.Height),
        }));

    public override Task<StateResponse> GetState(StateQuery request, ServerCallContext context) =>
        Task.FromResult(Guard(() => queries.State(request.Key.ToByteArray(), request.Version == 0 ? null : request.Version)));

    public override async Task StreamCommits(CommitStreamRequest request, IServerStreamWriter<CommitNotice> responseStream, ServerCallContext context)
    {
        await foreach (var notice in queries.CommitsAsync(request.FromHeight, context.CancellationToken, request.TransactionIdsOnly).ConfigureAwait(false))
        {
            await responseStream.WriteAsync(notice).ConfigureAwait(false);
        }
    }

    public override Task<NodeStatus> GetStatus(StatusRequest request, ServerCallContext context) => Task.FromResult(queries.Status());

    public override Task<EpochChanges> GetEpochChanges(EpochChangesQuery request, ServerCallContext context) =>
        Task.FromResult(Guard(() => queries.EpochChanges(request.FromEpoch)));

    private static Hash32 Id(ByteString bytes) => bytes.Length == Hash32.SizeBytes
        ? new Hash32(bytes.Span)
        : throw Failure(new CustosError(ErrorCode.InvalidLength, $"an id is {Hash32.SizeBytes} bytes, got {bytes.Length}"));

    private static T Guard<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (CustosException e)
        {
            throw Failure(e.Error);
        }
    }

    public static RpcException Failure(CustosError error) => new(new Status(error.Code switch
    {
        ErrorCode.NotFound => StatusCode.NotFound,
        ErrorCode.NotAuthorised or ErrorCode.PermissionDenied => StatusCode.PermissionDenied,
        ErrorCode.MempoolFull or ErrorCode.SenderLimitExceeded => StatusCode.ResourceExhausted,
        ErrorCode.StorageIo or ErrorCode.StorageCorrupt => StatusCode.Internal,
        _ => StatusCode.InvalidArgument,
    }, $"{error.Code}: {IdentifierText.Mask(error.Message)}"));
}
