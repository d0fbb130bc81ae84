using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Privacy.Envelopes;
using Custos.Privacy.Policy;
using Custos.Privacy.Wire;

namespace Custos.Privacy.Classification;

/// <summary>
/// The platform's half of PRI-1 and PRI-2 inside a contract: the contract names the field it is about to store, as
/// declared in its <see cref="PrivacySchema"/>, and the guard applies the mechanism that the chain's privacy policy
/// gives that field's class. Public: the value as it is. Encrypted: a <see cref="PrivacyEnvelope"/> that verifies,
/// is addressed to this chain, contract, key and class, was written by the caller's registered key, and grants the
/// supervisor's escrow key (<see cref="SupervisionContract.ReadSupervisorKey"/>). Designated nodes: a 32-byte salted
/// commitment, the value itself staying at the entitled organisations' nodes. Anything else is refused with a typed
/// error, and a refused call changes nothing.
/// </summary>
public static class PrivacyGuard
{
    /// <summary>Checks <paramref name="value"/> for <paramref name="field"/> stored under <paramref name="key"/>; returns the strategy applied.</summary>
    public static PrivacyStrategy Admit(ContractCall call, IStateReader state, PrivacySchema schema, string field, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(schema);
        if (!schema.TryClassify([field], out var dataClass, out var undeclared)) throw new ContractFailure(undeclared.Code, undeclared.Message);
        var strategy = PrivacyPolicy.Read(state).StrategyFor(dataClass);
        switch (strategy)
        {
            case PrivacyStrategy.Public:
                return strategy;
            case PrivacyStrategy.DesignatedNodes:
                if (value.Length != Hash32.SizeBytes)
                {
                    throw new ContractFailure(ErrorCode.InvalidArguments,
                        $"{schema.Contract} field '{field}' is {DataClasses.Label(dataClass)}, kept at designated nodes: the chain takes its 32-byte commitment, not {value.Length} bytes");
                }

                return strategy;
            case PrivacyStrategy.Encrypted:
                RequireEnvelope(call, state, schema, field, dataClass, key, value);
                return strategy;
            default:
                throw new ContractFailure(ErrorCode.InvalidArguments, $"the privacy policy gives {DataClasses.Label(dataClass)} no strategy");
        }
    }

    private static void RequireEnvelope(ContractCall call, IStateReader state, PrivacySchema schema, string field, DataClass dataClass, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var suite = call.Suite ?? throw new ContractFailure(ErrorCode.MethodNotFound, "encrypted data needs the chain's crypto suite");
        var supervisorBytes = SupervisionContract.ReadSupervisorKey(state)
            ?? throw new ContractFailure(ErrorCode.EnvelopeInvalid, $"{schema.Contract} field '{field}' is encrypted to the supervisor, and the regulator's escrow policy names no supervisor key yet");
        if (!suite.TryDecodePublicKey(supervisorBytes, out var supervisor, out _))
        {
            throw new ContractFailure(ErrorCode.EnvelopeInvalid, "the escrow policy's supervisor key is not a key of this chain's suite");
        }

        if (!PrivacyEnvelope.TryVerify(suite, value, supervisor, out var envelope, out var error)) throw new ContractFailure(error.Code, $"{schema.Contract} field '{field}': {error.Message}");
        var address = envelope.Address;
        if (address.ChainId != call.Block.ChainId || address.Contract != schema.Contract || !key.SequenceEqual(address.Key) || address.Class != dataClass)
        {
            throw new ContractFailure(ErrorCode.EnvelopeInvalid,
                $"{schema.Contract} field '{field}' takes an envelope addressed to chain {call.Block.ChainId}, contract {schema.Contract}, this record's key and class {DataClasses.Label(dataClass)}");
        }

        if (!envelope.Writer.Encoded.SequenceEqual(call.Caller.PublicKey.Span))
        {
            throw new ContractFailure(ErrorCode.EnvelopeInvalid, $"{schema.Contract} field '{field}': the envelope was written by another key than the sender's");
        }
    }
}
