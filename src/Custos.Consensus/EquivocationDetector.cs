using Custos.Consensus.Wire;
using Google.Protobuf;

namespace Custos.Consensus;

/// <summary>
/// Remembers the first statement of each kind every validator signed per round of the current epoch, and turns a
/// second, different one into <see cref="EquivocationEvidence"/>. Only statements whose signature verified may be
/// observed. Memory is bounded by a window of rounds. Not thread-safe: owned by one engine.
/// </summary>
internal sealed class EquivocationDetector(ulong epoch, int windowRounds)
{
    private readonly Dictionary<(ulong Round, SignedKind Kind, uint Author), SignedStatement> _first = [];
    private readonly HashSet<(ulong Round, SignedKind Kind, uint Author)> _reported = [];
    private ulong _floor;

    public ulong Epoch { get; } = epoch;

    /// <summary>Returns evidence the first time a validator is seen to sign two different statements for one round and kind.</summary>
    public EquivocationEvidence? Observe(ulong round, SignedKind kind, uint author, ByteString data, ByteString signature)
    {
        if (round < _floor) return null;
        var key = (round, kind, author);
        if (!_first.TryGetValue(key, out var first))
        {
            _first.Add(key, new SignedStatement { Kind = kind, Data = data, Signature = signature });
            return null;
        }

        if (first.Data.Equals(data) || !_reported.Add(key)) return null;
        return new EquivocationEvidence
        {
            Epoch = Epoch,
            Round = round,
            Culprit = author,
            First = first,
            Second = new SignedStatement { Kind = kind, Data = data, Signature = signature },
        };
    }

    /// <summary>Forgets rounds more than the window below <paramref name="currentRound"/>.</summary>
    public void Advance(ulong currentRound)
    {
        var floor = currentRound > (ulong)windowRounds ? currentRound - (ulong)windowRounds : 0;
        if (floor <= _floor) return;
        _floor = floor;
        if (_first.Count < 4 * windowRounds) return;
        foreach (var key in _first.Keys.Where(k => k.Round < floor).ToList()) _first.Remove(key);
        _reported.RemoveWhere(k => k.Round < floor);
    }
}
