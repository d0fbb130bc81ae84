namespace Custos.Consensus;

/// <summary>
/// Keeps the current round and the round timer's duration (docs/consensus.md, section 4). A node is in round
/// max(highest QC round, highest TC round) + 1; each round without a new QC lengthens the timer by the back-off
/// factor, computed in integer per-mille so every node gets the same durations.
/// </summary>
internal sealed class Pacemaker
{
    private long _baseMs;
    private long _maxMs;
    private readonly long _backoffPermille;

    public Pacemaker(ConsensusConfig config)
    {
        _baseMs = config.RoundTimeoutMs;
        _maxMs = config.RoundTimeoutMsMax;
        _backoffPermille = (long)Math.Round(config.RoundTimeoutBackoff * 1000);
    }

    public ulong CurrentRound { get; private set; }

    /// <summary>New timer durations (governance changed them); they apply from the next timer on.</summary>
    public void Retime(long baseMs, long maxMs)
    {
        if (baseMs <= 0 || maxMs < baseMs) throw new ArgumentOutOfRangeException(nameof(baseMs), $"round timeouts need 0 < base ({baseMs}) <= max ({maxMs})");
        _baseMs = baseMs;
        _maxMs = maxMs;
    }

    /// <summary>Moves to the round the certificates justify; true if that is a new, higher round.</summary>
    public bool TryAdvance(ulong highestQcRound, ulong? highestTcRound)
    {
        var next = Math.Max(highestQcRound, highestTcRound ?? 0) + 1;
        if (next <= CurrentRound) return false;
        CurrentRound = next;
        return true;
    }

    /// <summary>Restarts counting for a new epoch (rounds continue; only the floor moves).</summary>
    public void Reset() => CurrentRound = 0;

    /// <summary>min(max, base × backoff^k), k = rounds since the highest QC (0 in the happy path).</summary>
    public long TimeoutMs(ulong round, ulong highestQcRound)
    {
        var roundsSinceQc = round > highestQcRound + 1 ? round - highestQcRound - 1 : 0;
        var duration = _baseMs;
        for (ulong i = 0; i < roundsSinceQc && duration < _maxMs; i++) duration = duration * _backoffPermille / 1000;
        return Math.Min(duration, _maxMs);
    }
}
