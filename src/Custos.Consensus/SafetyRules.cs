using Custos.Consensus.Wire;
using Custos.Core;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Consensus;

/// <summary>
/// Deliberately broken rules, switched in only by the simulator to prove that its checkers catch a broken engine.
/// Not reachable from any configuration a node reads.
/// </summary>
internal enum EngineMutation
{
    None,

    /// <summary>Votes for any block of a new round, ignoring the lock the TC rule enforces.</summary>
    SkipLock,
}

/// <summary>
/// The rules that decide whether this validator may sign (docs/consensus.md, section 3), over the only state they
/// need, <see cref="SafetyState"/>. Every method that allows a signature updates the state first; the engine
/// persists it before the signed statement leaves the node. Not thread-safe: owned by one engine.
/// </summary>
public sealed class SafetyRules
{
    private readonly SafetyState _state;
    private readonly EngineMutation _mutation;

    public SafetyRules(SafetyState state) : this(state, EngineMutation.None)
    {
    }

    internal SafetyRules(SafetyState state, EngineMutation mutation)
    {
        _state = state.Clone();
        _mutation = mutation;
    }

    public ulong Epoch => _state.Epoch;

    public ulong HighestVotedRound => _state.HighestVotedRound;

    public ulong HighestProposedRound => _state.HighestProposedRound;

    /// <summary>The lock: the round of the highest QC this validator has seen in its epoch.</summary>
    public ulong HighestQcRound => _state.HighestQcRound;

    /// <summary>A copy of the state as it must be persisted.</summary>
    public SafetyState Snapshot() => _state.Clone();

    public QuorumCertificate? HighestQc => _state.HighestQc;

    public TimeoutCertificate? HighestTc => _state.HighestTc;

    /// <summary>
    /// Moves the state to a new epoch rooted at a block of round <paramref name="rootRound"/>. A state already at
    /// that epoch or a later one is kept as it is: a restarted node that had moved on must not forget what it signed.
    /// Returns true if the state changed.
    /// </summary>
    public bool StartEpoch(ulong epoch, QuorumCertificate rootQc, ulong rootRound)
    {
        if (_state.Epoch >= epoch) return false;
        _state.Epoch = epoch;
        _state.HighestVotedRound = rootRound;
        _state.HighestProposedRound = rootRound;
        _state.HighestQcRound = rootRound;
        _state.LastTimeout = ByteString.Empty;
        _state.LastVote = ByteString.Empty;
        _state.HighestQc = rootQc;
        _state.HighestTc = null;
        return true;
    }

    /// <summary>Observe (lock): raises the lock to a verified QC of this epoch. Returns true if the state changed.</summary>
    public bool ObserveQc(QuorumCertificateView qc)
    {
        if (qc.Epoch != _state.Epoch || (qc.Round <= _state.HighestQcRound && _state.HighestQc is not null)) return false;
        _state.HighestQcRound = qc.Round;
        _state.HighestQc = qc.Wire;
        return true;
    }

    /// <summary>Keeps the highest TC so that a restarted node can re-enter its round. Returns true if the state changed.</summary>
    public bool ObserveTc(TimeoutCertificateView tc)
    {
        if (tc.Epoch != _state.Epoch || (_state.HighestTc is not null && _state.HighestTc.Round >= tc.Round)) return false;
        _state.HighestTc = tc.Wire;
        return true;
    }

    /// <summary>
    /// The vote rule. Allows a vote for a block of <paramref name="round"/> extending a QC of <paramref name="qcRound"/>
    /// (with <paramref name="tc"/> when the block follows a view change) only if the round is new and either
    /// qc.round + 1 = round, or tc.round + 1 = round and qc.round ≥ the highest lock the TC reports.
    /// On success the state records the round and the lock; the caller then signs and calls <see cref="RememberVote"/>.
    /// </summary>
    public bool TryVote(ulong epoch, ulong round, ulong qcRound, TimeoutCertificateView? tc, out CustosError error)
    {
        if (epoch != _state.Epoch)
        {
            error = new CustosError(ErrorCode.EpochMismatch, $"vote for epoch {epoch} while the safety state is at epoch {_state.Epoch}");
            return false;
        }

        if (round <= _state.HighestVotedRound)
        {
            error = new CustosError(ErrorCode.RoundStale, $"already voted or timed out in round {_state.HighestVotedRound}; refusing round {round}");
            return false;
        }

        var extendsPrevious = qcRound + 1 == round;
        var justifiedByTc = tc is not null && tc.Epoch == epoch && tc.Round + 1 == round && qcRound >= tc.MaxHighQcRound;
        if (!extendsPrevious && !justifiedByTc && _mutation != EngineMutation.SkipLock)
        {
            error = tc is null
                ? new CustosError(ErrorCode.UnsafeVote, $"block of round {round} extends a QC of round {qcRound} without a timeout certificate")
                : new CustosError(ErrorCode.UnsafeVote, $"block of round {round} extends a QC of round {qcRound}, below the lock {tc.MaxHighQcRound} reported in TC of round {tc.Round}");
            return false;
        }

        _state.HighestVotedRound = round;
        if (qcRound > _state.HighestQcRound) _state.HighestQcRound = qcRound;
        error = null!;
        return true;
    }

    /// <summary>Stores the signed vote so that the same one is re-sent, never a second one.</summary>
    public void RememberVote(byte[] encodedVote) => _state.LastVote = ByteString.CopyFrom(encodedVote);

    /// <summary>The vote already signed for <paramref name="round"/>, if any.</summary>
    public bool TryGetVote(ulong round, out Vote vote)
    {
        vote = null!;
        if (_state.LastVote.IsEmpty || !TryParse(Vote.Parser, _state.LastVote, out Vote stored)) return false;
        if (!Decoders.TryDecodeVoteData(stored.Data.Span, out var data, out _) || data.Round != round || data.Epoch != _state.Epoch) return false;
        vote = stored;
        return true;
    }

    /// <summary>
    /// The timeout rule. Allows signing a timeout for <paramref name="round"/> that reports a QC of
    /// <paramref name="qcRound"/> only if the round is not below the last voted round, the reported QC is not below
    /// the lock, and the node is lawfully in the round (qc.round + 1 = round or highest_tc.round + 1 = round).
    /// If a timeout was already signed for the round, returns it in <paramref name="existing"/> to be re-sent.
    /// </summary>
    public bool TryTimeout(ulong epoch, ulong round, ulong qcRound, out RoundTimeout? existing, out CustosError error)
    {
        existing = null;
        if (epoch != _state.Epoch)
        {
            error = new CustosError(ErrorCode.EpochMismatch, $"timeout for epoch {epoch} while the safety state is at epoch {_state.Epoch}");
            return false;
        }

        if (!_state.LastTimeout.IsEmpty)
        {
            if (!TryParse(RoundTimeout.Parser, _state.LastTimeout, out RoundTimeout last) || !Decoders.TryDecodeTimeoutData(last.Data.Span, out var lastData, out _))
            {
                // The record of the last timeout is unreadable, so which round it was for is unknown: refuse every
                // round it might have been, rather than risk signing a second timeout for it.
                if (round <= _state.HighestVotedRound)
                {
                    error = new CustosError(ErrorCode.StorageCorrupt, "the safety state's last timeout does not decode");
                    return false;
                }
            }
            else if (lastData.Epoch == epoch && lastData.Round == round)
            {
                existing = last;
                error = null!;
                return true;
            }
        }

        if (round < _state.HighestVotedRound)
        {
            error = new CustosError(ErrorCode.RoundStale, $"already voted or timed out in round {_state.HighestVotedRound}; refusing a timeout for round {round}");
            return false;
        }

        if (qcRound < _state.HighestQcRound)
        {
            error = new CustosError(ErrorCode.UnsafeVote, $"timeout would report a QC of round {qcRound}, below the lock {_state.HighestQcRound}");
            return false;
        }

        var tcRound = _state.HighestTc?.Round;
        if (qcRound + 1 != round && tcRound + 1 != round)
        {
            error = new CustosError(ErrorCode.UnsafeVote, $"not lawfully in round {round}: highest QC round {qcRound}, highest TC round {tcRound?.ToString() ?? "none"}");
            return false;
        }

        _state.HighestVotedRound = round;
        error = null!;
        return true;
    }

    /// <summary>Stores the signed timeout so that a repeat in its round re-sends it unchanged.</summary>
    public void RememberTimeout(byte[] encodedTimeout) => _state.LastTimeout = ByteString.CopyFrom(encodedTimeout);

    /// <summary>The proposal rule: at most one proposal per round. Records the round on success.</summary>
    public bool TryPropose(ulong epoch, ulong round, out CustosError error)
    {
        if (epoch != _state.Epoch || round <= _state.HighestProposedRound)
        {
            error = new CustosError(ErrorCode.RoundStale, $"already proposed in round {_state.HighestProposedRound} of epoch {_state.Epoch}; refusing round {round} of epoch {epoch}");
            return false;
        }

        _state.HighestProposedRound = round;
        error = null!;
        return true;
    }

    private static bool TryParse<T>(MessageParser<T> parser, ByteString bytes, out T message)
        where T : IMessage<T>
    {
        try
        {
            message = parser.ParseFrom(bytes);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            message = default!;
            return false;
        }
    }
}
