using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Google.Protobuf;

namespace Custos.Consensus;

/// <summary>
/// The host's number for a node (validator or observer). It stays the same across epochs, whereas a validator's
/// index is its position in one epoch's set.
/// </summary>
public readonly record struct NodeId(int Value)
{
    public override string ToString() => $"n{Value}";
}

/// <summary>One member of a validator set: the node that runs it and the public key its statements verify under.</summary>
public sealed record Validator(NodeId Node, PublicKey Key);

/// <summary>
/// The validators of one epoch, indexed 0..n-1. It fixes the fault threshold f = ⌊(n−1)/3⌋, the quorum n − f
/// (any two quorums share an honest validator) and the round-robin leader schedule. Immutable.
/// </summary>
public sealed class ValidatorSet
{
    private readonly Validator[] _members;
    private readonly Dictionary<NodeId, uint> _indexByNode;

    public ValidatorSet(ulong epoch, IEnumerable<Validator> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        _members = [.. members];
        if (_members.Length == 0 || _members.Length > WireLimits.ValidatorsMax)
        {
            throw new CustosException(ErrorCode.InvalidField, $"a validator set has 1 to {WireLimits.ValidatorsMax} members, got {_members.Length}");
        }

        _indexByNode = new Dictionary<NodeId, uint>(_members.Length);
        var keys = new HashSet<PublicKey>();
        for (var i = 0; i < _members.Length; i++)
        {
            if (!_indexByNode.TryAdd(_members[i].Node, (uint)i) || !keys.Add(_members[i].Key))
            {
                throw new CustosException(ErrorCode.InvalidField, $"validator {i} repeats a node or a key of another member");
            }
        }

        Epoch = epoch;
    }

    public ulong Epoch { get; }

    public IReadOnlyList<Validator> Members => _members;

    public int Count => _members.Length;

    /// <summary>f: the number of Byzantine validators the set tolerates.</summary>
    public int FaultsTolerated => (_members.Length - 1) / 3;

    /// <summary>Signatures a certificate needs: n − f (2f + 1 when n = 3f + 1).</summary>
    public int Quorum => _members.Length - FaultsTolerated;

    public PublicKey KeyOf(uint index) => _members[index].Key;

    public NodeId NodeOf(uint index) => _members[index].Node;

    public bool TryIndexOf(NodeId node, out uint index) => _indexByNode.TryGetValue(node, out index);

    /// <summary>Round-robin by (epoch, round), so that consecutive epochs do not start with the same leader.</summary>
    public uint LeaderIndex(ulong round) => (uint)((Epoch + round) % (ulong)_members.Length);

    public NodeId Leader(ulong round) => _members[LeaderIndex(round)].Node;

    public ValidatorSet WithEpoch(ulong epoch) => new(epoch, _members);

    public ValidatorSetRecord ToRecord()
    {
        var record = new ValidatorSetRecord { Epoch = Epoch };
        foreach (var member in _members) record.PublicKeys.Add(ByteString.CopyFrom(member.Key.Encoded));
        return record;
    }

    /// <summary>Rebuilds a set from its journal record; node numbers are the validator indices (an auditor has no hosts).</summary>
    public static bool TryFromRecord(ValidatorSetRecord record, ICryptoSuite suite, out ValidatorSet set, out CustosError error)
    {
        set = null!;
        if (record.PublicKeys.Count == 0 || record.PublicKeys.Count > WireLimits.ValidatorsMax)
        {
            error = new CustosError(ErrorCode.InvalidField, $"validator set record has {record.PublicKeys.Count} keys");
            return false;
        }

        var members = new List<Validator>(record.PublicKeys.Count);
        for (var i = 0; i < record.PublicKeys.Count; i++)
        {
            if (!suite.TryDecodePublicKey(record.PublicKeys[i].Span, out var key, out error)) return false;
            members.Add(new Validator(new NodeId(i), key));
        }

        try
        {
            set = new ValidatorSet(record.Epoch, members);
        }
        catch (CustosException e)
        {
            error = e.Error;
            return false;
        }

        error = null!;
        return true;
    }
}
