using Custos.Core;
using Custos.Crypto;

namespace Custos.Fuzz.Tests;

/// <summary>
/// Runs every fuzz target, uninstrumented, over its seed corpus and a few thousand deterministic mutations of it.
/// It is no substitute for a fuzzing campaign; it keeps the targets working and catches the shallow crashes on
/// every test run.
/// </summary>
public sealed class FuzzTargetSmokeTests
{
    private const int MutationsPerTarget = 3000;

    public static TheoryData<string> TargetNames => new(FuzzTargets.All.Keys.Order(StringComparer.Ordinal));

    public static TheoryData<string> DecoderTargetNames =>
        new(FuzzTargets.All.Keys.Where(name => !name.StartsWith("PublicKey", StringComparison.Ordinal)).Order(StringComparer.Ordinal));

    [Fact]
    public void Every_decoder_of_untrusted_input_has_a_target()
    {
        // New targets need no change here; dropping one of these from FuzzTargets.All fails this test.
        string[] expected =
        [
            "Block", "BlockHeader", "PublicKeyGm", "PublicKeyIntl", "QuorumCertificate", "Timeout", "TimeoutCertificate",
            "TimeoutData", "Transaction", "Vote", "VoteData", "Certificate", "ConsensusMessage",
        ];
        Assert.Subset(FuzzTargets.All.Keys.ToHashSet(), expected.ToHashSet());
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Target_has_a_seed_corpus(string target)
    {
        Assert.NotEmpty(Seeds(target));
    }

    [Theory]
    [MemberData(nameof(DecoderTargetNames))]
    public void Seed_corpus_holds_inputs_the_decoder_accepts(string target)
    {
        foreach (var seed in Seeds(target))
        {
            var (accepted, error) = Decode(target, seed);
            Assert.True(accepted, $"{target} seed refused: {error}");
        }
    }

    [Fact]
    public void Public_key_seeds_hold_valid_keys_and_a_valid_signature()
    {
        foreach (var (target, suite) in new[] { ("PublicKeyGm", CryptoSuites.Gm), ("PublicKeyIntl", CryptoSuites.Intl) })
        {
            var seeds = Seeds(target);
            foreach (var seed in seeds)
            {
                Assert.True(suite.TryDecodePublicKey(seed.AsSpan(0, WireLimits.PublicKeySizeBytes), out _, out var error), error?.ToString());
            }

            // At least one seed carries a signature that verifies, so that mutations start next to the accepting path.
            Assert.Contains(seeds, seed =>
                seed.Length > WireLimits.PublicKeySizeBytes + WireLimits.SignatureSizeBytes
                && suite.TryDecodePublicKey(seed.AsSpan(0, WireLimits.PublicKeySizeBytes), out var key, out _)
                && suite.Verify(key, seed.AsSpan(WireLimits.PublicKeySizeBytes..^WireLimits.SignatureSizeBytes), seed.AsSpan(^WireLimits.SignatureSizeBytes)));
        }
    }

    [Fact]
    public void Freshly_generated_seeds_are_accepted_like_the_stored_ones()
    {
        // The generator is what --write-seeds runs; it must keep producing inputs every decoder accepts.
        var generated = SeedCorpus.Generate();
        Assert.Subset(FuzzTargets.All.Keys.ToHashSet(), generated.Keys.ToHashSet());
        foreach (var (target, seeds) in generated)
        {
            Assert.NotEmpty(seeds);
            foreach (var seed in seeds)
            {
                FuzzTargets.All[target](seed);
                if (!target.StartsWith("PublicKey", StringComparison.Ordinal)) Assert.True(Decode(target, seed).Accepted, target);
            }
        }
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Target_survives_its_seed_corpus_and_thousands_of_mutations(string target)
    {
        var run = FuzzTargets.All[target];
        var seeds = Seeds(target);
        foreach (var seed in seeds) RunReporting(target, run, seed);

        var mutator = new Mutator(StableSeed(target));
        for (var i = 0; i < MutationsPerTarget; i++)
        {
            RunReporting(target, run, mutator.Mutate(seeds[i % seeds.Count]));
        }

        // Inputs of no structure at all, including the empty one.
        RunReporting(target, run, []);
        for (var i = 0; i < 200; i++) RunReporting(target, run, mutator.RandomBytes());
    }

    private static void RunReporting(string target, SharpFuzz.ReadOnlySpanAction run, byte[] input)
    {
        try
        {
            run(input);
        }
        catch (Exception e)
        {
            // Escaping exceptions are exactly what the test looks for; report the input so it can be replayed
            // with `Custos.Fuzz <target> <file>`.
            Assert.Fail($"{target} threw on input {Convert.ToHexStringLower(input)}:\n{e}");
        }
    }

    private static List<byte[]> Seeds(string target)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "corpus", target);
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList()
            : [];
    }

    private static (bool Accepted, CustosError? Error) Decode(string target, byte[] bytes)
    {
        CustosError error;
        var accepted = target switch
        {
            "Transaction" => Decoders.TryDecodeTransaction(bytes, out _, out error),
            "Block" => Decoders.TryDecodeBlock(bytes, out _, out error),
            "BlockHeader" => Decoders.TryDecodeBlockHeader(bytes, out _, out error),
            "Vote" => Decoders.TryDecodeVote(bytes, out _, out _, out error),
            "VoteData" => Decoders.TryDecodeVoteData(bytes, out _, out error),
            "QuorumCertificate" => Decoders.TryDecodeQuorumCertificate(bytes, out _, out _, out error),
            "Timeout" => Decoders.TryDecodeTimeout(bytes, out _, out _, out error),
            "TimeoutData" => Decoders.TryDecodeTimeoutData(bytes, out _, out error),
            "TimeoutCertificate" => Decoders.TryDecodeTimeoutCertificate(bytes, out _, out error),
            "Certificate" => Identity.ConsortiumCertificate.TryDecode(bytes, CryptoSuites.Gm, out _, out error),
            "ConsensusMessage" => Consensus.ConsensusMessages.TryDecode(bytes, out _, out error),
            _ => throw new ArgumentOutOfRangeException(nameof(target), target, "not a decoder target"),
        };
        return (accepted, accepted ? null : error);
    }

    /// <summary>FNV-1a of the name: string.GetHashCode differs between processes, and the runs must repeat.</summary>
    private static int StableSeed(string name)
    {
        var hash = 2166136261u;
        foreach (var c in name) hash = (hash ^ c) * 16777619u;
        return (int)hash;
    }
}
