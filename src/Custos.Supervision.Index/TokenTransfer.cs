using Custos.Core;
using Custos.Execution;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Supervision.Index;

/// <summary>
/// A movement of the token decoded from the event that announces it (data: a TransferEvent): "transfer" (token,
/// from one account to another), "mint" (token, issued to an account, no payer) and "forced_transfer" (an executed
/// supervision intervention moving an amount from one account to another). Other events stay opaque bytes in the
/// events table.
/// </summary>
public readonly record struct TokenTransfer(string Kind, AccountId? From, AccountId To, ulong Amount)
{
    public const string TransferKind = "transfer";
    public const string MintKind = "mint";
    public const string ForcedTransferKind = "forced_transfer";

    /// <summary>
    /// The transfer an event announces, or null when the event announces none or its data does not decode to a
    /// well-formed TransferEvent (such an event is still indexed, as bytes).
    /// </summary>
    public static TokenTransfer? TryDecode(IndexedEvent e)
    {
        var kind = (e.Contract, e.Name) switch
        {
            (TokenContract.ContractName, TransferKind) => TransferKind,
            (TokenContract.ContractName, MintKind) => MintKind,
            (SupervisionContract.ContractName, ForcedTransferKind) => ForcedTransferKind,
            _ => null,
        };
        if (kind is null) return null;
        TransferEvent data;
        try
        {
            data = TransferEvent.Parser.ParseFrom(e.Data.Span);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }

        if (!AccountId.TryCreate(data.To.Span, out var to)) return null;
        if (kind == MintKind) return data.From.IsEmpty ? new TokenTransfer(kind, null, to, data.Amount) : null;
        return AccountId.TryCreate(data.From.Span, out var from) ? new TokenTransfer(kind, from, to, data.Amount) : null;
    }
}
