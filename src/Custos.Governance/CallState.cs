using System.Diagnostics.CodeAnalysis;
using Custos.Execution;

namespace Custos.Governance;

/// <summary>The call's view of state as an <see cref="IStateReader"/>, so the registry's readers work inside a call (each read is charged gas).</summary>
internal sealed class CallState(ContractCall call) : IStateReader
{
    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value)
    {
        value = call.Get(key.ToArray());
        return value is not null;
    }
}
