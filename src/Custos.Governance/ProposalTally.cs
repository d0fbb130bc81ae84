using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Governance.Wire;

namespace Custos.Governance;

/// <summary>
/// A proposal's votes counted against the consortium as it is now: only the votes of current member organisations
/// count, and the threshold is taken over the current members. A proposal passes when strictly more than two thirds
/// of the members approve and, for the kinds that touch membership or supervision, a regulator organisation approved;
/// it is rejected once that can no longer happen even if every member still silent approved.
/// </summary>
public readonly record struct ProposalTally(int Members, int Approvals, int Rejections, bool RegulatorApproved, bool RegulatorCanApprove, bool RegulatorRequired)
{
    /// <summary>The kinds that also need the regulator's approval: they change who belongs, what the regulator supervises, or end a contract.</summary>
    public static bool NeedsRegulator(ProposalKind kind) => kind is ProposalKind.AddOrganisation or ProposalKind.RemoveOrganisation
        or ProposalKind.RevokeCertificate or ProposalKind.ContractFreeze or ProposalKind.ContractAbolish;

    /// <summary>Strictly more than two thirds: with 3 members 3 approvals, with 4 members 3, with 6 members 5.</summary>
    public static int ApprovalsRequired(int members) => members * 2 / 3 + 1;

    public bool Passed => Approvals >= ApprovalsRequired(Members) && (!RegulatorRequired || RegulatorApproved);

    /// <summary>True when even every silent member approving would not pass it.</summary>
    public bool Unreachable
    {
        get
        {
            var silent = Members - Approvals - Rejections;
            return Approvals + silent < ApprovalsRequired(Members) || (RegulatorRequired && !RegulatorApproved && !RegulatorCanApprove);
        }
    }

    public static ProposalTally Count(IStateReader state, ProposalRecord proposal)
    {
        var members = ConsortiumRegistry.CurrentOrganisations(state);
        var byId = members.ToDictionary(o => o.Id, StringComparer.Ordinal);
        int approvals = 0, rejections = 0;
        var regulatorApproved = false;
        var voted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var vote in proposal.Votes)
        {
            if (!byId.TryGetValue(vote.Organisation, out var organisation)) continue;
            voted.Add(vote.Organisation);
            if (vote.Approve) approvals++;
            else rejections++;
            if (vote.Approve && organisation.Role == OrganisationRole.Regulator) regulatorApproved = true;
        }

        var regulatorCanApprove = members.Any(o => o.Role == OrganisationRole.Regulator && !voted.Contains(o.Id));
        return new ProposalTally(members.Count, approvals, rejections, regulatorApproved, regulatorCanApprove, proposal.RegulatorRequired);
    }
}
