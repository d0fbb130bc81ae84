using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Custos.Storage;
using Custos.Supervision;
using Google.Protobuf;

namespace Custos.Node.Api;

/// <summary>
/// The node's committed chain as supervision reads it: blocks and receipts from storage (safe to read while the
/// consensus thread writes), the token transfers of each block as payments, and the commit feed to wait on.
/// </summary>
internal sealed class SupervisionBlockSource(LedgerStore store, CommitFeed feed) : ICommittedBlocks
{
    public ulong? Head => store.Head?.Height;

    public CommittedBlock? Load(ulong height)
    {
        if (store.ReadBlock(height) is not { } block) return null;
        var receipts = new List<Receipt>();
        foreach (var bytes in store.ReadReceipts(height))
        {
            try
            {
                receipts.Add(Receipt.Parser.ParseFrom(bytes));
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new CustosException(ErrorCode.StorageCorrupt, $"a receipt of block {height} does not decode: {e.Message}", e);
            }
        }

        return new CommittedBlock(height, block.Block.Header.TimestampMs, TokenPayments.FromReceipts(receipts));
    }

    public Task WaitForAsync(ulong height, CancellationToken cancellationToken) =>
        store.Head is { } head && head.Height >= height ? Task.CompletedTask : feed.AfterHeightAsync((long)height - 1, cancellationToken);
}
