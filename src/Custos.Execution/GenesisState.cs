using System.Buffers.Binary;
using Custos.Core;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Execution;

/// <summary>An account that exists from the genesis block, with its opening token balance.</summary>
public sealed record GenesisAccount(AccountId Id, string Organisation, byte[] PublicKey, AccountType Type, ulong Balance);

/// <summary>An organisation of the consortium at genesis and its role.</summary>
public sealed record GenesisOrganisationRole(string Id, OrganisationRole Role);

/// <summary>A validator of the genesis set, in genesis order.</summary>
public sealed record GenesisValidator(string Node, string Organisation, byte[] PublicKey);

/// <summary>
/// The state at height 0: the organisations, the validator set, the genesis accounts and their balances; the supply
/// is their sum.
/// </summary>
public static class GenesisState
{
    public static WriteSet Build(IEnumerable<GenesisAccount> accounts, IEnumerable<GenesisOrganisationRole>? organisations = null,
        IEnumerable<GenesisValidator>? validators = null)
    {
        var state = new StateOverlay(EmptyState.Instance);
        var index = new OrganisationIndex();
        foreach (var organisation in (organisations ?? []).OrderBy(o => o.Id, StringComparer.Ordinal))
        {
            var key = ConsortiumRegistry.OrganisationKey(organisation.Id);
            if (state.TryGet(key, out _)) throw new CustosException(Core.Wire.ErrorCode.InvalidField, $"genesis organisation {organisation.Id} appears twice");
            state.Put(key, new OrganisationRecord { Id = organisation.Id, Role = organisation.Role }.ToByteArray());
            index.Ids.Add(organisation.Id);
        }

        if (index.Ids.Count > 0) state.Put(ConsortiumRegistry.OrganisationIndexKey, index.ToByteArray());
        var set = new ConsortiumValidators();
        foreach (var validator in validators ?? [])
        {
            set.Validators.Add(new ValidatorEntry { Node = validator.Node, Organisation = validator.Organisation, PublicKey = ByteString.CopyFrom(validator.PublicKey) });
        }

        if (set.Validators.Count > 0) state.Put(ConsortiumRegistry.ValidatorsKey, set.ToByteArray());

        ulong supply = 0;
        foreach (var account in accounts.OrderBy(a => a.Id))
        {
            if (state.TryGet(AccountRegistry.RecordKey(account.Id), out _)) throw new CustosException(Core.Wire.ErrorCode.InvalidField, $"genesis account {account.Id} appears twice");
            var record = new AccountRecord
            {
                AccountId = account.Id.ToByteString(),
                Organisation = account.Organisation,
                PublicKey = ByteString.CopyFrom(account.PublicKey),
                Type = account.Type,
                Status = AccountStatus.Active,
            };
            state.Put(AccountRegistry.RecordKey(account.Id), record.ToByteArray());
            if (account.Balance > 0)
            {
                supply = checked(supply + account.Balance);
                state.Put(TokenContract.BalanceKey(account.Id), Encode(account.Balance));
            }
        }

        state.Put(TokenContract.SupplyKey, Encode(supply));
        state.CommitTransaction();
        return state.BlockWrites;
    }

    private static byte[] Encode(ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return bytes;
    }
}

/// <summary>The state before genesis.</summary>
public sealed class EmptyState : IStateReader
{
    public static EmptyState Instance { get; } = new();

    public bool TryGet(ReadOnlySpan<byte> key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? value)
    {
        value = null;
        return false;
    }
}
