using System.Security.Cryptography;
using Custos.Core;

namespace Custos.Privacy.Envelopes;

/// <summary>
/// The salted hash commitment to a private value: H(domain ‖ salt ‖ value) with the chain's hash. The salt is fresh
/// per record, so two equal values give unrelated commitments and the chain does not reveal which records match.
/// Knowing the salt and the value (the opening) proves a value is the committed one.
/// </summary>
public static class Commitment
{
    public const int SaltSizeBytes = 16;

    public static byte[] NewSalt() => RandomNumberGenerator.GetBytes(SaltSizeBytes);

    public static Hash32 Compute(IHashFunction hash, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> value)
    {
        using var accumulator = hash.Begin();
        accumulator.Append(PrivacyDomains.Commitment);
        accumulator.Append(salt);
        accumulator.Append(value);
        return accumulator.Finish();
    }

    /// <summary>True when <paramref name="salt"/> and <paramref name="value"/> open <paramref name="commitment"/>.</summary>
    public static bool Matches(IHashFunction hash, Hash32 commitment, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> value) =>
        salt.Length == SaltSizeBytes && Compute(hash, salt, value) == commitment;
}

/// <summary>
/// Proof that a value read from a private store is the one committed on chain: the salt that, hashed with the value,
/// gives the commitment. Anyone holding the value and this opening checks it against the chain's commitment.
/// </summary>
public sealed record CommitmentOpening(Hash32 Commitment, byte[] Salt)
{
    public bool Verify(IHashFunction hash, ReadOnlySpan<byte> value, Hash32 onChainCommitment) =>
        Commitment == onChainCommitment && Envelopes.Commitment.Matches(hash, onChainCommitment, Salt, value);
}
