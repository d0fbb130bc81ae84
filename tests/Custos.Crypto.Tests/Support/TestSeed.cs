using System.Collections.Concurrent;
using System.Diagnostics;

namespace Custos.Crypto.Tests.Support;

/// <summary>
/// Seeds for the randomised tests. Each run draws a fresh seed so that runs explore new inputs; a failure names
/// its seed, and setting CUSTOS_TEST_SEED to it replays the same inputs.
/// </summary>
internal static class TestSeed
{
    public const string Variable = "CUSTOS_TEST_SEED";

    public static int Value { get; } =
        int.TryParse(Environment.GetEnvironmentVariable(Variable), out var seed) ? seed : Random.Shared.Next();

    /// <summary>The random source of one case, independent of which thread runs it or in what order.</summary>
    public static Random ForCase(int seed, int index) => new(unchecked((seed * 1_000_003) ^ (index * 0x3C6EF372) ^ index));

    /// <summary>
    /// Runs <paramref name="cases"/> independent cases over all cores. Each case reports failures through its last
    /// argument; the test fails with every failure's case number and the seed that reproduces it.
    /// </summary>
    public static void RunCases(string name, int cases, Action<int, Random, Action<string>> check) => RunCases(name, 0, cases, check);

    /// <summary>Cases <paramref name="first"/> to <paramref name="first"/> + <paramref name="cases"/> − 1 of a larger set.</summary>
    public static void RunCases(string name, int first, int cases, Action<int, Random, Action<string>> check)
    {
        var seed = Value;
        var failures = new ConcurrentQueue<string>();
        var stopwatch = Stopwatch.StartNew();
        Parallel.For(first, first + cases, index =>
        {
            var random = ForCase(seed, index);
            try
            {
                check(index, random, failure => failures.Enqueue($"case {index}: {failure}"));
            }
            catch (Exception e)
            {
                failures.Enqueue($"case {index}: threw {e}");
            }
        });
        stopwatch.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {cases} cases in {stopwatch.Elapsed.TotalSeconds:F1} s (seed {seed})");
        Assert.True(failures.IsEmpty,
            $"{name}: {failures.Count} failures in {cases} cases, seed {seed} (replay with {Variable}={seed}):\n{string.Join("\n", failures.Take(10))}");
    }

    public static byte[] Bytes(this Random random, int minLength, int maxLength)
    {
        var bytes = new byte[random.Next(minLength, maxLength + 1)];
        random.NextBytes(bytes);
        return bytes;
    }

    public static byte[] Bytes(this Random random, int length) => random.Bytes(length, length);
}
