namespace Custos.Storage.Tests.Support;

/// <summary>
/// Seeds for the randomised tests. Each run draws a fresh seed so that runs explore new inputs; a failure names its
/// seed, and setting CUSTOS_TEST_SEED to it replays the same inputs.
/// </summary>
internal static class TestSeed
{
    public const string Variable = "CUSTOS_TEST_SEED";

    public static int Value { get; } =
        int.TryParse(Environment.GetEnvironmentVariable(Variable), out var seed) ? seed : Random.Shared.Next();

    public static string Describe => $"seed {Value} (replay with {Variable}={Value})";
}
