using System.Globalization;
using System.Text.Json;
using Custos.Consensus;
using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Storage;
using Google.Protobuf;

namespace Custos.Node;

/// <summary>
/// Where governance meets consensus (CON-7): a committed block whose execution wrote the consortium's validator
/// record ends its epoch, and the record becomes the next epoch's validator set. The sets and the names of their
/// members are stored with the block that ended the epoch, so that a node restarting at any height knows its
/// epoch's set, the previous one (whose QC roots the epoch) and whether its head block ended an epoch.
/// </summary>
internal sealed class EpochTransitions(ChainSetup chain, LedgerStore store)
{
    public static string ChangeEntry(ulong height) => "consensus/epoch-change/" + height.ToString(CultureInfo.InvariantCulture);

    public static string NamesEntry(ulong epoch) => "consensus/validator-names/" + epoch.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The next epoch's set when executing this block wrote the validator record, else null; with the configuration
    /// entries to persist with the block.
    /// </summary>
    public ValidatorSet? NextSet(BlockRecord block, WriteSet writes, out IReadOnlyList<KeyValuePair<string, ReadOnlyMemory<byte>>> entries)
    {
        entries = [];
        if (!writes.TryGetChange(ConsortiumRegistry.ValidatorsKey, out var bytes) || bytes is null) return null;
        var record = ConsortiumValidators.Parser.ParseFrom(bytes);
        var next = FromRecord(record, block.Epoch + 1);
        var names = record.Validators.Select(v => v.Node).ToArray();
        entries =
        [
            new(ChangeEntry(block.Height), next.ToRecord().ToByteArray()),
            new(StoredChain.ValidatorSetEntry(next.Epoch), next.ToRecord().ToByteArray()),
            new(NamesEntry(next.Epoch), JsonSerializer.SerializeToUtf8Bytes(names)),
        ];
        return next;
    }

    /// <summary>Builds a set from governance's record; members keep the record's order (it fixes their indices).</summary>
    public ValidatorSet FromRecord(ConsortiumValidators record, ulong epoch)
    {
        var members = new List<Validator>(record.Validators.Count);
        foreach (var entry in record.Validators)
        {
            if (!chain.Suite.TryDecodePublicKey(entry.PublicKey.Span, out var key, out var error)) throw (error with { Message = $"validator {entry.Node}: {error.Message}" }).ToException();
            members.Add(new Validator(chain.NodeIdFor(entry.Node), key));
        }

        return new ValidatorSet(epoch, members);
    }

    /// <summary>The validator set of an epoch this node has recorded (epoch 0 is genesis).</summary>
    public ValidatorSet Load(ulong epoch)
    {
        if (epoch == 0) return chain.Validators;
        var recordBytes = store.ReadConfiguration(StoredChain.ValidatorSetEntry(epoch))
            ?? throw new CustosException(ErrorCode.StorageCorrupt, $"the validator set of epoch {epoch} is not on record");
        var namesBytes = store.ReadConfiguration(NamesEntry(epoch))
            ?? throw new CustosException(ErrorCode.StorageCorrupt, $"the validator names of epoch {epoch} are not on record");
        var record = ValidatorSetRecord.Parser.ParseFrom(recordBytes);
        var names = JsonSerializer.Deserialize<string[]>(namesBytes) ?? [];
        if (names.Length != record.PublicKeys.Count) throw new CustosException(ErrorCode.StorageCorrupt, $"epoch {epoch}: {names.Length} names for {record.PublicKeys.Count} validators");
        var members = new List<Validator>(names.Length);
        for (var i = 0; i < names.Length; i++)
        {
            if (!chain.Suite.TryDecodePublicKey(record.PublicKeys[i].Span, out var key, out var error)) throw error.ToException();
            members.Add(new Validator(chain.NodeIdFor(names[i]), key));
        }

        return new ValidatorSet(record.Epoch, members);
    }

    /// <summary>The next epoch's set when the block at this height ended its epoch, else null.</summary>
    public ValidatorSet? EndedAt(BlockRecord block) =>
        store.ReadConfiguration(ChangeEntry(block.Height)) is null ? null : Load(block.Epoch + 1);
}
