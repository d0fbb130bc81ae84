using System.Diagnostics.CodeAnalysis;
using Custos.Execution;

namespace Custos.DigitalCurrency;

/// <summary>Reads through a call, so that the shared readers are metered and see the transaction's own writes.</summary>
internal sealed class CallState(ContractCall call) : IStateReader
{
    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value)
    {
        value = call.Get(key.ToArray());
        return value is not null;
    }
}
