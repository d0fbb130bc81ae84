using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Consensus;

/// <summary>
/// Gathers the votes a leader receives for the rounds it follows, keeping the first vote of each validator per
/// round, and forms a QC when a quorum signed the same vote data. Each vote must have been verified before it is
/// added. Not thread-safe: owned by one engine.
/// </summary>
internal sealed class VoteCollector(int quorum)
{
    private readonly SortedDictionary<ulong, RoundVotes> _rounds = [];

    /// <summary>Adds a verified vote; returns the QC it completes, once per round.</summary>
    public QuorumCertificate? Add(ulong round, uint voter, ByteString voteData, ByteString signature)
    {
        if (!_rounds.TryGetValue(round, out var votes))
        {
            votes = new RoundVotes();
            _rounds.Add(round, votes);
        }

        if (votes.Formed || !votes.Voters.Add(voter)) return null;
        if (!votes.ByData.TryGetValue(voteData, out var signatures))
        {
            signatures = [];
            votes.ByData.Add(voteData, signatures);
        }

        signatures.Add(voter, signature);
        if (signatures.Count < quorum) return null;
        votes.Formed = true;
        return Form(voteData, signatures);
    }

    /// <summary>Forgets rounds below <paramref name="round"/>.</summary>
    public void PruneBelow(ulong round)
    {
        while (_rounds.Count > 0)
        {
            var first = _rounds.Keys.First();
            if (first >= round) break;
            _rounds.Remove(first);
        }
    }

    private static QuorumCertificate Form(ByteString voteData, SortedDictionary<uint, ByteString> signatures)
    {
        var bitmap = new byte[(signatures.Keys.Max() / 8) + 1];
        var qc = new QuorumCertificate { VoteData = voteData };
        foreach (var (voter, signature) in signatures)
        {
            bitmap[voter / 8] |= (byte)(1 << (int)(voter % 8));
            qc.Signatures.Add(signature);
        }

        qc.Signers = ByteString.CopyFrom(bitmap);
        return qc;
    }

    private sealed class RoundVotes
    {
        public HashSet<uint> Voters { get; } = [];

        public Dictionary<ByteString, SortedDictionary<uint, ByteString>> ByData { get; } = [];

        public bool Formed { get; set; }
    }
}

/// <summary>
/// Gathers timeouts per round, first one per validator, and forms a TC at a quorum. Also tells how many distinct
/// validators gave up on a round, for the f+1 joining rule. Each timeout must have been verified first.
/// </summary>
internal sealed class TimeoutCollector(int quorum)
{
    private readonly SortedDictionary<ulong, RoundTimeouts> _rounds = [];

    public TimeoutCertificate? Add(ulong epoch, ulong round, uint author, ByteString data, ByteString signature)
    {
        if (!_rounds.TryGetValue(round, out var timeouts))
        {
            timeouts = new RoundTimeouts();
            _rounds.Add(round, timeouts);
        }

        if (timeouts.Formed || timeouts.ByAuthor.ContainsKey(author)) return null;
        timeouts.ByAuthor.Add(author, (data, signature));
        if (timeouts.ByAuthor.Count < quorum) return null;
        timeouts.Formed = true;
        var tc = new TimeoutCertificate { Epoch = epoch, Round = round };
        foreach (var (index, (timeoutData, timeoutSignature)) in timeouts.ByAuthor)
        {
            tc.Signatures.Add(new TimeoutSignature { Author = index, Data = timeoutData, Signature = timeoutSignature });
        }

        return tc;
    }

    public int CountFor(ulong round) => _rounds.TryGetValue(round, out var timeouts) ? timeouts.ByAuthor.Count : 0;

    public bool Contains(ulong round, uint author) => _rounds.TryGetValue(round, out var timeouts) && timeouts.ByAuthor.ContainsKey(author);

    public void PruneBelow(ulong round)
    {
        while (_rounds.Count > 0)
        {
            var first = _rounds.Keys.First();
            if (first >= round) break;
            _rounds.Remove(first);
        }
    }

    private sealed class RoundTimeouts
    {
        public SortedDictionary<uint, (ByteString Data, ByteString Signature)> ByAuthor { get; } = [];

        public bool Formed { get; set; }
    }
}
