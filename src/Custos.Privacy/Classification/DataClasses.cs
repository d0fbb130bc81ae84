using Custos.Privacy.Wire;

namespace Custos.Privacy.Classification;

/// <summary>Reading data classes (JR/T 0171-2020: C3 authentication, C2 identifying account and transaction, C1 internal).</summary>
public static class DataClasses
{
    /// <summary>The classes a record can have, least sensitive first.</summary>
    public static IReadOnlyList<DataClass> All { get; } = [DataClass.C1, DataClass.C2, DataClass.C3];

    public static bool IsDefined(DataClass value) => value is DataClass.C1 or DataClass.C2 or DataClass.C3;

    /// <summary>The more sensitive of two classes: what a record holding both reveals.</summary>
    public static DataClass Max(DataClass a, DataClass b) => (int)a >= (int)b ? a : b;

    /// <summary>"C1", "C2" or "C3", as documents name them.</summary>
    public static string Label(DataClass value) => value switch
    {
        DataClass.C1 => "C1",
        DataClass.C2 => "C2",
        DataClass.C3 => "C3",
        _ => "unclassified",
    };
}
