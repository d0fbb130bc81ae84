using Custos.Core;

namespace Custos.Storage.State;

/// <summary>A value (or its absence) at one state version, with the proof that ties it to that version's root.</summary>
public sealed record StateProofResult(ulong Version, Hash32 Root, byte[] Key, byte[]? Value, byte[] Proof)
{
    public bool IsInclusion => Value is not null;
}
