using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution;
using Custos.Privacy.Classification;
using Custos.Privacy.Wire;

namespace Custos.Privacy.Policy;

/// <summary>
/// The platform's privacy policy (PRI-5): which strategy protects each data class, and which organisations are
/// entitled to each private collection of each contract. Kept on chain by <see cref="PrivacyPolicyContract"/>;
/// changed only by the designated account. Immutable; obtain one with <see cref="TryCreate"/> or <see cref="Read"/>.
/// </summary>
/// <remarks>
/// Floors that no policy can lower: C2 and C3 are never public, and a more sensitive class never gets a weaker
/// strategy than a less sensitive one.
/// </remarks>
public sealed class PrivacyPolicy
{
    public const int CollectionsMax = 256;
    public const int OrganisationsPerCollectionMax = 64;
    public const int NameLengthMax = 128;

    private readonly Dictionary<DataClass, PrivacyStrategy> _strategies;
    private readonly Dictionary<(string Contract, string Collection), string[]> _collections;

    private PrivacyPolicy(PrivacyPolicyRecord record, Dictionary<DataClass, PrivacyStrategy> strategies, Dictionary<(string, string), string[]> collections)
    {
        Record = record;
        _strategies = strategies;
        _collections = collections;
    }

    /// <summary>The policy of a chain whose designated account has not set one: C1 public, C2 encrypted, C3 off chain.</summary>
    public static PrivacyPolicy Default { get; } = Create(DefaultRecord());

    /// <summary>The canonical record (strategies by class, collections and organisations sorted).</summary>
    public PrivacyPolicyRecord Record { get; }

    public ulong Version => Record.Version;

    /// <summary>The mechanism the platform applies to data of <paramref name="dataClass"/>.</summary>
    public PrivacyStrategy StrategyFor(DataClass dataClass) =>
        _strategies.TryGetValue(dataClass, out var strategy)
            ? strategy
            : throw new CustosException(ErrorCode.InvalidField, $"data class {(int)dataClass} is not C1, C2 or C3");

    /// <summary>The mechanism for a record holding <paramref name="fields"/> of <paramref name="schema"/>'s contract.</summary>
    public PrivacyStrategy StrategyFor(PrivacySchema schema, IEnumerable<string> fields) =>
        schema.TryClassify(fields, out var dataClass, out var error) ? StrategyFor(dataClass) : throw error.ToException();

    /// <summary>The organisations entitled to a collection; empty when the policy names none (then no one is).</summary>
    public IReadOnlyList<string> EntitledOrganisations(string contract, string collection) =>
        _collections.TryGetValue((contract, collection), out var organisations) ? organisations : [];

    public bool IsEntitled(string organisation, string contract, string collection) =>
        _collections.TryGetValue((contract, collection), out var organisations) && Array.BinarySearch(organisations, organisation, StringComparer.Ordinal) >= 0;

    /// <summary>The policy in force in <paramref name="state"/>, or <see cref="Default"/> before any was set.</summary>
    public static PrivacyPolicy Read(IStateReader state) =>
        state.TryGet(PrivacyPolicyContract.PolicyKey, out var bytes) ? FromStored(bytes) : Default;

    /// <summary>The policy as <see cref="PrivacyPolicyContract"/> stored it.</summary>
    internal static PrivacyPolicy FromStored(byte[] bytes)
    {
        var record = PrivacyPolicyRecord.Parser.ParseFrom(bytes);
        // The contract stores only validated policies; anything else in state is corruption, not input.
        return TryCreate(record, out var policy, out var error)
            ? policy
            : throw new CustosException(ErrorCode.StorageCorrupt, $"the stored privacy policy is invalid: {error.Message}");
    }

    /// <summary>Validates <paramref name="record"/> and builds its canonical form.</summary>
    public static bool TryCreate(PrivacyPolicyRecord record, out PrivacyPolicy policy, out CustosError error)
    {
        policy = null!;
        var strategies = new Dictionary<DataClass, PrivacyStrategy>();
        foreach (var entry in record.Strategies)
        {
            if (!DataClasses.IsDefined(entry.DataClass)) return Fail($"data class {(int)entry.DataClass} is not C1, C2 or C3", out error);
            if (entry.Strategy is not (PrivacyStrategy.Public or PrivacyStrategy.Encrypted or PrivacyStrategy.DesignatedNodes))
            {
                return Fail($"{DataClasses.Label(entry.DataClass)} has no valid strategy", out error);
            }

            if (!strategies.TryAdd(entry.DataClass, entry.Strategy)) return Fail($"{DataClasses.Label(entry.DataClass)} is given two strategies", out error);
        }

        if (strategies.Count != DataClasses.All.Count) return Fail("the policy gives a strategy to each of C1, C2 and C3", out error);
        if (strategies[DataClass.C2] == PrivacyStrategy.Public || strategies[DataClass.C3] == PrivacyStrategy.Public)
        {
            return Fail("C2 and C3 data cannot be public", out error);
        }

        if (strategies[DataClass.C1] > strategies[DataClass.C2] || strategies[DataClass.C2] > strategies[DataClass.C3])
        {
            return Fail("a more sensitive class cannot get a weaker strategy than a less sensitive one", out error);
        }

        if (record.Collections.Count > CollectionsMax) return Fail($"at most {CollectionsMax} collections", out error);
        var collections = new Dictionary<(string, string), string[]>();
        foreach (var entry in record.Collections)
        {
            if (!IsName(entry.Contract) || !IsName(entry.Collection)) return Fail($"contract and collection names have 1 to {NameLengthMax} bytes", out error);
            if (entry.Organisations.Count == 0 || entry.Organisations.Count > OrganisationsPerCollectionMax)
            {
                return Fail($"collection {entry.Contract}/{entry.Collection} names 1 to {OrganisationsPerCollectionMax} organisations", out error);
            }

            if (entry.Organisations.Any(o => !IsName(o))) return Fail($"organisation names have 1 to {NameLengthMax} bytes", out error);
            var organisations = entry.Organisations.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            if (organisations.Length != entry.Organisations.Count) return Fail($"collection {entry.Contract}/{entry.Collection} names an organisation twice", out error);
            if (!collections.TryAdd((entry.Contract, entry.Collection), organisations)) return Fail($"collection {entry.Contract}/{entry.Collection} appears twice", out error);
        }

        var canonical = new PrivacyPolicyRecord { Version = record.Version };
        foreach (var dataClass in DataClasses.All) canonical.Strategies.Add(new ClassStrategy { DataClass = dataClass, Strategy = strategies[dataClass] });
        foreach (var ((contract, collection), organisations) in collections.OrderBy(c => c.Key.Item1, StringComparer.Ordinal).ThenBy(c => c.Key.Item2, StringComparer.Ordinal))
        {
            var entry = new CollectionEntitlement { Contract = contract, Collection = collection };
            entry.Organisations.AddRange(organisations);
            canonical.Collections.Add(entry);
        }

        policy = new PrivacyPolicy(canonical, strategies, collections);
        error = null!;
        return true;
    }

    private static PrivacyPolicyRecord DefaultRecord()
    {
        var record = new PrivacyPolicyRecord { Version = 0 };
        record.Strategies.Add(new ClassStrategy { DataClass = DataClass.C1, Strategy = PrivacyStrategy.Public });
        record.Strategies.Add(new ClassStrategy { DataClass = DataClass.C2, Strategy = PrivacyStrategy.Encrypted });
        record.Strategies.Add(new ClassStrategy { DataClass = DataClass.C3, Strategy = PrivacyStrategy.DesignatedNodes });
        return record;
    }

    private static PrivacyPolicy Create(PrivacyPolicyRecord record) =>
        TryCreate(record, out var policy, out var error) ? policy : throw error.ToException();

    private static bool IsName(string name) => !string.IsNullOrEmpty(name) && Encoding.UTF8.GetByteCount(name) <= NameLengthMax;

    private static bool Fail(string message, out CustosError error)
    {
        error = new CustosError(ErrorCode.InvalidArguments, $"privacy policy: {message}");
        return false;
    }
}
