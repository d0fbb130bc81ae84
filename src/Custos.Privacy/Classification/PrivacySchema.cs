using Custos.Core;
using Custos.Core.Wire;
using Custos.Privacy.Wire;

namespace Custos.Privacy.Classification;

/// <summary>
/// A declared combination of fields that together reveal more than each alone (§14.2: low-class data combined can
/// produce high-class data), for example name + account number ⇒ C3.
/// </summary>
public sealed record FieldCombination(IReadOnlySet<string> Fields, DataClass Class, string Reason);

/// <summary>
/// What a contract declares about the data it stores (PRI-1): the class of every field, and the combinations that
/// raise the class. The contract declares only classes; which mechanism protects a class is the platform's choice
/// (<see cref="Policy.PrivacyPolicy.StrategyFor(DataClass)"/>). Immutable once built.
/// </summary>
public sealed class PrivacySchema
{
    public const int FieldsMax = 256;
    public const int CombinationsMax = 64;
    public const int FieldNameLengthMax = 128;

    private readonly Dictionary<string, DataClass> _fields;
    private readonly List<FieldCombination> _combinations;

    private PrivacySchema(string contract, Dictionary<string, DataClass> fields, List<FieldCombination> combinations)
    {
        Contract = contract;
        _fields = fields;
        _combinations = combinations;
    }

    public string Contract { get; }

    public IReadOnlyDictionary<string, DataClass> Fields => _fields;

    public IReadOnlyList<FieldCombination> Combinations => _combinations;

    public static PrivacySchemaBuilder For(string contract) => new(contract);

    /// <summary>
    /// The class of a record holding <paramref name="fields"/>: the highest class of any field, raised by every
    /// declared combination whose fields are all present. A field the schema does not declare is refused, so that
    /// nothing is stored unclassified.
    /// </summary>
    public bool TryClassify(IEnumerable<string> fields, out DataClass dataClass, out CustosError error)
    {
        dataClass = DataClass.Unspecified;
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            if (!_fields.TryGetValue(field, out var fieldClass))
            {
                error = new CustosError(ErrorCode.FieldUndeclared, $"contract {Contract} declares no privacy class for field '{Truncate(field)}'");
                return false;
            }

            present.Add(field);
            dataClass = DataClasses.Max(dataClass, fieldClass);
        }

        if (present.Count == 0)
        {
            error = new CustosError(ErrorCode.InvalidField, "a record has at least one field");
            return false;
        }

        foreach (var combination in _combinations)
        {
            if (combination.Fields.IsSubsetOf(present)) dataClass = DataClasses.Max(dataClass, combination.Class);
        }

        error = null!;
        return true;
    }

    public DataClass Classify(params string[] fields) =>
        TryClassify(fields, out var dataClass, out var error) ? dataClass : throw error.ToException();

    private static string Truncate(string text) => text.Length <= 32 ? text : text[..32] + "…";

    internal static PrivacySchema Create(string contract, Dictionary<string, DataClass> fields, List<FieldCombination> combinations) =>
        new(contract, fields, combinations);
}

/// <summary>Declares a <see cref="PrivacySchema"/> field by field; refuses inconsistent declarations at once.</summary>
public sealed class PrivacySchemaBuilder
{
    private readonly string _contract;
    private readonly Dictionary<string, DataClass> _fields = new(StringComparer.Ordinal);
    private readonly List<FieldCombination> _combinations = [];

    internal PrivacySchemaBuilder(string contract)
    {
        if (string.IsNullOrEmpty(contract)) throw new CustosException(ErrorCode.InvalidField, "a privacy schema names its contract");
        _contract = contract;
    }

    public PrivacySchemaBuilder Field(string name, DataClass dataClass)
    {
        if (string.IsNullOrEmpty(name) || name.Length > PrivacySchema.FieldNameLengthMax)
        {
            throw new CustosException(ErrorCode.InvalidField, $"a field name has 1 to {PrivacySchema.FieldNameLengthMax} characters");
        }

        if (!DataClasses.IsDefined(dataClass)) throw new CustosException(ErrorCode.InvalidField, $"field '{name}' needs a class C1, C2 or C3");
        if (_fields.Count >= PrivacySchema.FieldsMax) throw new CustosException(ErrorCode.LimitExceeded, $"a schema declares at most {PrivacySchema.FieldsMax} fields");
        if (!_fields.TryAdd(name, dataClass)) throw new CustosException(ErrorCode.InvalidField, $"field '{name}' is declared twice");
        return this;
    }

    /// <summary>
    /// Declares that <paramref name="fields"/> together are of class <paramref name="dataClass"/>. A combination only
    /// raises: its class must be above that of each of its fields, or it would say nothing.
    /// </summary>
    public PrivacySchemaBuilder Combination(DataClass dataClass, string reason, params string[] fields)
    {
        if (!DataClasses.IsDefined(dataClass)) throw new CustosException(ErrorCode.InvalidField, "a combination needs a class C1, C2 or C3");
        var set = new HashSet<string>(fields, StringComparer.Ordinal);
        if (set.Count < 2) throw new CustosException(ErrorCode.InvalidField, "a combination joins at least two distinct fields");
        foreach (var field in set)
        {
            if (!_fields.TryGetValue(field, out var fieldClass)) throw new CustosException(ErrorCode.FieldUndeclared, $"combination names undeclared field '{field}'");
            if ((int)fieldClass >= (int)dataClass)
            {
                throw new CustosException(ErrorCode.InvalidField, $"field '{field}' is already {DataClasses.Label(fieldClass)}; the combination must raise the class");
            }
        }

        if (_combinations.Count >= PrivacySchema.CombinationsMax) throw new CustosException(ErrorCode.LimitExceeded, $"a schema declares at most {PrivacySchema.CombinationsMax} combinations");
        _combinations.Add(new FieldCombination(set, dataClass, reason));
        return this;
    }

    public PrivacySchema Build() => PrivacySchema.Create(_contract, new Dictionary<string, DataClass>(_fields, StringComparer.Ordinal), [.. _combinations]);
}
