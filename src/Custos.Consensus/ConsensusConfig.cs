namespace Custos.Consensus;

/// <summary>
/// The chain parameters consensus needs, as plain values. The composition root fills it from genesis
/// (<c>ChainParameters</c> in Custos.Identity); consensus does not reference Identity.
/// </summary>
public sealed record ConsensusConfig
{
    public required string ChainId { get; init; }

    /// <summary>Duration of a round that follows a certified round.</summary>
    public int RoundTimeoutMs { get; init; } = 1_000;

    /// <summary>Each round without a new QC multiplies the duration by this factor, up to <see cref="RoundTimeoutMsMax"/>.</summary>
    public double RoundTimeoutBackoff { get; init; } = 1.5;

    public int RoundTimeoutMsMax { get; init; } = 60_000;

    /// <summary>How far a proposal's timestamp may run ahead of a voter's clock.</summary>
    public int BlockTimestampDriftMsMax { get; init; } = 5_000;

    /// <summary>Most blocks one catch-up answer carries; a node further behind asks again.</summary>
    public int SyncBlocksMax { get; init; } = 64;

    /// <summary>Rounds below the current one for which signed statements are kept to detect equivocation.</summary>
    public int EquivocationWindowRounds { get; init; } = 10_000;

    /// <summary>
    /// How long a leader with nothing to propose waits after its parent block's time before proposing an empty block
    /// (0: never waits). A parent holding transactions is always followed at once, since its commit needs children.
    /// Hosts report <see cref="ProposalDue"/> when payload arrives or the delay passes. Keep it well below the round timeout.
    /// </summary>
    public int EmptyBlockDelayMs { get; init; }

    internal void Validate()
    {
        var error = Core.Decoders.CheckChainId(ChainId);
        if (error is not null) throw error.ToException();
        if (RoundTimeoutMs <= 0 || RoundTimeoutMsMax < RoundTimeoutMs || RoundTimeoutBackoff < 1.0 || RoundTimeoutBackoff > 10.0
            || BlockTimestampDriftMsMax < 0 || EmptyBlockDelayMs < 0 || EmptyBlockDelayMs >= RoundTimeoutMs || SyncBlocksMax < 1 || EquivocationWindowRounds < 1)
        {
            throw new Core.CustosException(Core.Wire.ErrorCode.InvalidField, "consensus configuration out of range");
        }
    }
}
