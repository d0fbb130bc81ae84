using Custos.Execution.Wire;

namespace Custos.Execution;

/// <summary>
/// The consortium's organisations as execution sees them (namespace <c>system.consortium</c>), written at genesis:
/// which organisation is the regulator decides who may use supervision powers. Governance changes it later.
/// </summary>
public static class ConsortiumRegistry
{
    public const string Namespace = "system.consortium";

    public static byte[] OrganisationKey(string organisation) => StateKeys.For(Namespace, "org/" + organisation);

    public static OrganisationRecord? Load(IStateReader state, string organisation) =>
        state.TryGet(OrganisationKey(organisation), out var bytes) ? OrganisationRecord.Parser.ParseFrom(bytes) : null;

    /// <summary>True when the organisation is registered with the regulator role.</summary>
    public static bool IsRegulator(IStateReader state, string organisation) =>
        Load(state, organisation)?.Role == OrganisationRole.Regulator;

    /// <summary>
    /// True when <paramref name="account"/> may use the regulator's powers: an administrator (or special-privilege)
    /// account of a regulator organisation.
    /// </summary>
    public static bool IsRegulatorAccount(IStateReader state, AccountRecord account) =>
        account.Type is AccountType.Administrator or AccountType.SpecialPrivilege && IsRegulator(state, account.Organisation);
}
