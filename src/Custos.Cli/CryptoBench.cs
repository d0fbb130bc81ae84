using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Reference;
using Custos.Crypto.Sm2;

namespace Custos.Cli;

/// <summary>
/// `custos bench crypto`: signature verification of the national-standard suite against the international one on
/// this machine, measured in one run on one core and on all cores: SM2 verification by Custos's engine, by OpenSSL
/// and by BouncyCastle, ECDSA P-256 verification by .NET (OpenSSL's optimised P-256 underneath), SM2 signing, SM3 and
/// SM4-GCM throughput, the bytes each verification allocates, and where one SM2 verification's time goes, from
/// microbenchmarks of the engine's field and curve operations. The last line is the one-core ratio of SM2 to P-256
/// verifications per second.
/// </summary>
internal static class CryptoBench
{
    private const int MessageBytes = 200; // about a transfer's body
    private const int BulkBytes = 16 * 1024;

    public static Command Create(TextWriter output)
    {
        var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 1.0, Description = "Measured time per figure (each is measured on one core and on all cores)" };
        var command = new Command("crypto", "SM2 verification (ours, OpenSSL, BouncyCastle) against P-256 verification, signing, SM3 and SM4-GCM, one core and all cores") { seconds };
        command.SetAction(parse =>
        {
            var window = parse.GetValue(seconds);
            if (window <= 0 || window > 600) throw new CustosException(ErrorCode.InvalidField, "--seconds must be in (0, 600]");
            Run(output, window);
            return 0;
        });
        return command;
    }

    private static void Run(TextWriter output, double seconds)
    {
        var cores = Environment.ProcessorCount;
        var suite = CryptoSuites.Gm;
        using var key = suite.GenerateKey();
        var message = new byte[MessageBytes];
        Random.Shared.NextBytes(message);
        var signature = key.Sign(message);
        var publicKey = key.PublicKey;
        var prepared = (GmCryptoSuite.Sm2PreparedKey)publicKey.Prepared;
        if (!suite.Verify(publicKey, message, signature)) throw new CustosException(ErrorCode.SignatureInvalid, "the benchmark's own SM2 signature did not verify");

        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p256Signature = p256.SignData(message, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var p256Public = p256.ExportParameters(includePrivateParameters: false);

        OpenSslKey? openSsl = null;
        if (OpenSslLibCrypto.IsAvailable) openSsl = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, publicKey.Encoded);
        try
        {
            output.WriteLine($"custos bench crypto: {cores} cores, {seconds:0.##} s per figure (best of three windows; the SM2/P-256 pair alternates over eight rounds, medians), {MessageBytes}-byte messages, cached public keys; field multiplication on {(Sm2Field.UsesBmi2 ? "BMI2 MULX" : "portable 64-bit multiply")}");
            output.WriteLine($"{"",-44}{"one core",14}{$"{cores} cores",14}{"scaling",9}");

            // Verification needs every worker's result to count; a rejected signature would be a broken benchmark.
            Func<Action> ours = () => () => Require(suite.Verify(publicKey, message, signature));
            Func<Action> bouncyCastle = () => () => Require(GmCryptoSuite.VerifyWithBouncyCastle(GmCryptoSuite.Domain, prepared.Point, prepared.Za, message, signature));
            Func<Action> dotnetP256 = () =>
            {
                // One ECDsa per thread: the handle is not documented as safe for concurrent use.
                var verifier = ECDsa.Create(p256Public);
                return () => Require(verifier.VerifyData(message, p256Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
            };

            // The headline pair is measured alternately, in eight rounds, so that both see the same machine.
            var (oursOne, p256One, ratio) = Alternating(ours, dotnetP256, seconds);
            var oursAll = Throughput(cores, seconds, ours);
            Print(output, "SM2 verify, Custos engine", oursOne, oursAll, "/s");
            double? openSslOne = null;
            if (openSsl is not null)
            {
                var reference = openSsl;
                Func<Action> openSslVerify = () => () => Require(reference.Verify(message, signature));
                openSslOne = Throughput(1, seconds, openSslVerify);
                Print(output, "SM2 verify, OpenSSL libcrypto (P/Invoke)", openSslOne.Value, Throughput(cores, seconds, openSslVerify), "/s");
            }
            else
            {
                output.WriteLine($"SM2 verify, OpenSSL libcrypto: unavailable ({OpenSslLibCrypto.UnavailableReason})");
            }

            var bouncyCastleOne = Throughput(1, seconds, bouncyCastle);
            Print(output, "SM2 verify, BouncyCastle optimised curve", bouncyCastleOne, Throughput(cores, seconds, bouncyCastle), "/s");
            Print(output, "P-256 verify, .NET ECDsa (OpenSSL)", p256One, Throughput(cores, seconds, dotnetP256), "/s");

            Func<Action> sign = () => () => key.Sign(message);
            Print(output, "SM2 sign (BouncyCastle, constant-time)", Throughput(1, seconds, sign), Throughput(cores, seconds, sign), "/s");
            var bulk = new byte[BulkBytes];
            Random.Shared.NextBytes(bulk);
            Func<Action> sm3 = () => () => suite.Hash(bulk);
            var megabytes = BulkBytes / 1e6;
            Print(output, "SM3 (Custos), 16 KiB inputs", Throughput(1, seconds, sm3) * megabytes, Throughput(cores, seconds, sm3) * megabytes, " MB/s");
            var aeadKey = new byte[16];
            var nonce = new byte[12];
            Func<Action> sm4 = () => () => suite.AeadEncrypt(aeadKey, nonce, bulk, []);
            Print(output, "SM4-GCM encrypt (Custos SM4, BouncyCastle GCM), 16 KiB", Throughput(1, seconds, sm4) * megabytes, Throughput(cores, seconds, sm4) * megabytes, " MB/s");
            Func<Action> bouncyCastleSm4 = () =>
            {
                var sealedBytes = new byte[BulkBytes + 16];
                return () =>
                {
                    var gcm = new Org.BouncyCastle.Crypto.Modes.GcmBlockCipher(new Org.BouncyCastle.Crypto.Engines.SM4Engine());
                    gcm.Init(true, new Org.BouncyCastle.Crypto.Parameters.AeadParameters(new Org.BouncyCastle.Crypto.Parameters.KeyParameter(aeadKey), 128, nonce));
                    var written = gcm.ProcessBytes(bulk, 0, bulk.Length, sealedBytes, 0);
                    gcm.DoFinal(sealedBytes, written);
                };
            };
            Print(output, "SM4-GCM encrypt (BouncyCastle SM4 and GCM), 16 KiB", Throughput(1, seconds, bouncyCastleSm4) * megabytes, Throughput(cores, seconds, bouncyCastleSm4) * megabytes, " MB/s");

            output.WriteLine("bytes allocated per verification (one thread, 2,000 verifications):");
            output.WriteLine($"  Custos engine {AllocatedPerCall(ours()),10:N0}   BouncyCastle {AllocatedPerCall(bouncyCastle()),10:N0}   " +
                $"OpenSSL (managed side) {(openSsl is null ? "n/a" : AllocatedPerCall(() => Require(openSsl.Verify(message, signature))).ToString("N0")),8}   .NET P-256 {AllocatedPerCall(dotnetP256()),8:N0}");

            PrintBreakdown(output, suite, publicKey, message, signature, oursOne);
            if (openSslOne is { } reference1) output.WriteLine($"sm2-verify ours/OpenSSL: {oursOne / reference1:F2}   ours/BouncyCastle: {oursOne / bouncyCastleOne:F2}   BouncyCastle/P-256: {bouncyCastleOne / p256One:F2}");
            output.WriteLine($"sm2-verify/p256-verify: {ratio:F3}");
        }
        finally
        {
            openSsl?.Dispose();
        }
    }

    private static void Require(bool verified)
    {
        if (!verified) throw new CustosException(ErrorCode.SignatureInvalid, "a benchmark signature did not verify");
    }

    private static void Print(TextWriter output, string name, double one, double all, string unit) =>
        output.WriteLine($"{name,-44}{one,10:N0}{unit,-4}{all,10:N0}{unit,-4}{all / one,7:F2}x");

    /// <summary>
    /// Operations per second over <paramref name="threads"/> threads, each with its own operation, after a warm-up:
    /// the best of three windows, since on a shared machine other work only ever slows a window down.
    /// </summary>
    private static double Throughput(int threads, double seconds, Func<Action> createOperation)
    {
        var operations = Enumerable.Range(0, threads).Select(_ => createOperation()).ToArray();
        // Warm-up on one thread brings the code to its optimised tier before anything is timed.
        RunFor(operations[0], Math.Min(0.2, seconds));
        var best = 0.0;
        for (var window = 0; window < 3; window++) best = Math.Max(best, Window(operations, seconds / 3));
        return best;
    }

    private static double Window(Action[] operations, double seconds)
    {
        var threads = operations.Length;
        var counts = new long[threads];
        using var start = new ManualResetEventSlim();
        var workers = Enumerable.Range(0, threads).Select(i => new Thread(() =>
        {
            start.Wait();
            counts[i] = RunFor(operations[i], seconds);
        }) { IsBackground = true }).ToArray();
        foreach (var worker in workers) worker.Start();
        var watch = Stopwatch.StartNew();
        start.Set();
        foreach (var worker in workers) worker.Join();
        return counts.Sum() / watch.Elapsed.TotalSeconds;
    }

    private static long RunFor(Action operation, double seconds)
    {
        var end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        long count = 0;
        do
        {
            for (var i = 0; i < 8; i++) operation();
            count += 8;
        }
        while (Stopwatch.GetTimestamp() < end);
        return count;
    }

    /// <summary>
    /// Two one-core rates measured in alternating short rounds, so that a change in the machine's load hits both;
    /// each rate is the median over rounds, and the ratio is the median of the rounds' own ratios.
    /// </summary>
    private static (double First, double Second, double Ratio) Alternating(Func<Action> first, Func<Action> second, double seconds)
    {
        const int rounds = 8;
        var a = new double[rounds];
        var b = new double[rounds];
        var ratios = new double[rounds];
        for (var round = 0; round < rounds; round++)
        {
            a[round] = Throughput(1, seconds / 4, first);
            b[round] = Throughput(1, seconds / 4, second);
            ratios[round] = a[round] / b[round];
        }

        return (Median(a), Median(b), Median(ratios));
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static long AllocatedPerCall(Action operation)
    {
        const int calls = 2_000;
        for (var i = 0; i < 200; i++) operation();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < calls; i++) operation();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
    }

    /// <summary>
    /// One verification's time split by microbenchmarks of the engine's parts times how often a verification uses
    /// each (counted from the wNAF expansions of random scalars), next to the measured total.
    /// </summary>
    private static void PrintBreakdown(TextWriter output, ICryptoSuite suite, PublicKey publicKey, byte[] message, byte[] signature, double verifiesPerSecond)
    {
        var costs = Sm2EngineCosts.Measure();
        var counts = Sm2EngineCosts.CountPerVerification();
        var zeroSignature = new byte[64];
        var hashNs = NanosecondsPer(() => suite.Verify(publicKey, message, zeroSignature), 2_000); // rejected at B1: hashing and checks only
        var totalNs = 1e9 / verifiesPerSecond;
        var doublingNs = counts.Doublings * costs.DoubleNs;
        var baseAddNs = counts.BaseAdditions * costs.MixedAddNs;
        var keyAddNs = counts.KeyAdditions * costs.MixedAddNs;
        var lookupNs = (counts.BaseAdditions + counts.KeyAdditions) * costs.LookupNs;
        var recodeNs = 2 * costs.RecodeNs;
        var finalNs = costs.FinalCheckNs;
        var fieldOps = counts.Doublings * 8 + (counts.BaseAdditions + counts.KeyAdditions) * 11 + 3;
        output.WriteLine($"where one SM2 verification goes (one core; parts from microbenchmarks, total {totalNs / 1000:F1} µs measured):");
        Part(output, "SM3(Z_A || M) and parsing (rejected-signature path)", hashNs, totalNs);
        Part(output, $"{counts.Doublings:F1} doublings (a = -3, 4M + 4S) at {costs.DoubleNs:F0} ns", doublingNs, totalNs);
        Part(output, $"{counts.BaseAdditions:F1} additions of G-table points (8M + 3S) at {costs.MixedAddNs:F0} ns", baseAddNs, totalNs);
        Part(output, $"{counts.KeyAdditions:F1} additions of Q-table points at {costs.MixedAddNs:F0} ns", keyAddNs, totalNs);
        Part(output, $"table lookups (and negation) at {costs.LookupNs:F1} ns", lookupNs, totalNs);
        Part(output, "wNAF recoding of s and t (four quarters each)", recodeNs, totalNs);
        Part(output, "final check x1·Z² (no inversion)", finalNs, totalNs);
        Part(output, "measured total minus the parts (calls, branches; noise)", totalNs - hashNs - doublingNs - baseAddNs - keyAddNs - lookupNs - recodeNs - finalNs, totalNs);
        output.WriteLine($"  field: multiply {costs.MultiplyNs:F1} ns, square {costs.SquareNs:F1} ns, add {costs.AddNs:F1} ns, subtract {costs.SubtractNs:F1} ns; " +
            $"about {fieldOps:F0} multiplications and squarings per verification = {fieldOps * (costs.MultiplyNs + costs.SquareNs) / 2 / 1000:F1} µs ({fieldOps * (costs.MultiplyNs + costs.SquareNs) / 2 / totalNs:P0})");
        var encodedKey = publicKey.ToArray();
        var decodeNs = NanosecondsPer(() => suite.TryDecodePublicKey(encodedKey, out _, out _), 50);
        output.WriteLine($"  inversion {costs.InvertNs / 1000:F1} µs: never per verification; once per key decode, within building the key's {Sm2SplitTable.Quarters * Sm2VerificationKey.PerQuarter}-point table ({costs.KeyTableNs / 1000:F1} µs per key)");
        output.WriteLine($"  decoding a public key (BouncyCastle's point check, Z_A, the engine's table): {decodeNs / 1000:F1} µs, paid once per key the caller caches");
    }

    private static void Part(TextWriter output, string name, double nanoseconds, double totalNs) =>
        output.WriteLine($"  {name,-62}{nanoseconds / 1000,8:F2} µs {nanoseconds / totalNs,6:P0}");

    /// <summary>Nanoseconds per call, the fastest of ten rounds of <paramref name="calls"/> calls after a warm-up.</summary>
    private static double NanosecondsPer(Action operation, int calls)
    {
        for (var i = 0; i < calls; i++) operation();
        var best = double.MaxValue;
        for (var round = 0; round < 10; round++)
        {
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < calls; i++) operation();
            best = Math.Min(best, watch.Elapsed.TotalNanoseconds / calls);
        }

        return best;
    }

    /// <summary>Microbenchmarks of the SM2 engine's parts, each a dependent chain so the processor cannot overlap iterations.</summary>
    private static class Sm2EngineCosts
    {
        private static ulong _sink;

        public sealed record Costs(double MultiplyNs, double SquareNs, double AddNs, double SubtractNs, double InvertNs, double DoubleNs,
            double MixedAddNs, double LookupNs, double RecodeNs, double FinalCheckNs, double KeyTableNs);

        public sealed record Counts(double Doublings, double BaseAdditions, double KeyAdditions);

        public static Costs Measure()
        {
            // Static lambdas keep every chain's state in locals (registers), as it is inside the engine.
            var multiply = Time(1_000_000, static n =>
            {
                var (x, y) = (Sm2Curve.G.X, Sm2Curve.G.Y);
                for (var i = 0; i < n; i++) Sm2Field.Multiply(x, y, out x);
                return x.L0;
            });
            var square = Time(1_000_000, static n =>
            {
                var x = Sm2Curve.G.X;
                for (var i = 0; i < n; i++) Sm2Field.Square(x, out x);
                return x.L0;
            });
            var add = Time(2_000_000, static n =>
            {
                var (x, y) = (Sm2Curve.G.X, Sm2Curve.G.Y);
                for (var i = 0; i < n; i++) Sm2Field.Add(x, y, out x);
                return x.L0;
            });
            var subtract = Time(2_000_000, static n =>
            {
                var (x, y) = (Sm2Curve.G.X, Sm2Curve.G.Y);
                for (var i = 0; i < n; i++) Sm2Field.Subtract(x, y, out x);
                return x.L0;
            });
            var invert = Time(2_000, static n =>
            {
                var x = Sm2Curve.G.X;
                for (var i = 0; i < n; i++) Sm2Field.Invert(x, out x);
                return x.L0;
            });
            var doubling = Time(200_000, static n =>
            {
                var point = Sm2JacobianPoint.FromAffine(Sm2Curve.G);
                for (var i = 0; i < n; i++) Sm2Curve.Double(point, out point);
                return point.X.L0;
            });
            var mixedAdd = Time(200_000, static n =>
            {
                var table = Sm2BasePointTable.OddMultiples;
                var point = Sm2JacobianPoint.FromAffine(Sm2Curve.G);
                Sm2Curve.Double(point, out point);
                for (var i = 0; i < n; i++) Sm2Curve.AddAffine(point, table[i & (table.Length - 1)], out point);
                return point.X.L0;
            });
            var lookup = Time(2_000_000, static n =>
            {
                // A pseudo-random index per step, dependent on the previous entry, as the wNAF digits make it.
                var table = Sm2BasePointTable.OddMultiples;
                var index = 1u;
                for (var i = 0; i < n; i++)
                {
                    index = (index * 1103515245 + 12345) & (uint)(table.Length - 1);
                    Sm2Field.Negate(table[index].Y, out var negated);
                    index ^= (uint)negated.L0 & 1;
                }

                return index;
            });
            var recode = Time(100_000, static n =>
            {
                var scalar = Sm2Scalar.ReadBigEndian(RandomNumberGenerator.GetBytes(32));
                Span<sbyte> digits = stackalloc sbyte[Sm2SplitTable.QuarterBits + 1];
                for (var i = 0; i < n; i++)
                {
                    for (var quarter = 0; quarter < Sm2SplitTable.Quarters; quarter++)
                    {
                        scalar.L0 += (ulong)scalar.Quarter(quarter).ToWnaf(Sm2VerificationKey.WindowWidth, digits, Sm2SplitTable.QuarterBits);
                    }
                }
                return scalar.L0;
            });
            var finalCheck = Time(500_000, static n =>
            {
                var point = Sm2JacobianPoint.FromAffine(Sm2Curve.G);
                var x = Sm2Curve.G.Y;
                for (var i = 0; i < n; i++)
                {
                    Sm2Field.Square(point.Z, out var zz);
                    var candidate = Sm2Field.ToMontgomery(x);
                    Sm2Field.Multiply(candidate, zz, out var scaled);
                    x.L0 ^= scaled.Equals(point.X) ? 1UL : 0UL;
                    point.Z.L0 ^= scaled.L0 & 1;
                }

                return x.L0;
            });
            var keyTable = Time(500, static n =>
            {
                Span<byte> coordinates = stackalloc byte[64];
                Sm2Field.Encode(Sm2Curve.G.X, coordinates);
                Sm2Field.Encode(Sm2Curve.G.Y, coordinates[32..]);
                ulong accepted = 0;
                for (var i = 0; i < n; i++) accepted += Sm2VerificationKey.TryCreate(coordinates, out _) ? 1UL : 0UL;
                return accepted;
            });
            return new Costs(multiply, square, add, subtract, invert, doubling, mixedAdd, lookup, recode, finalCheck, keyTable);
        }

        /// <summary>Doublings and additions of one verification, averaged over random scalar pairs (s, t) split in quarters as the verifier splits them.</summary>
        public static Counts CountPerVerification()
        {
            const int samples = 2_000;
            Span<sbyte> digits = stackalloc sbyte[Sm2SplitTable.QuarterBits + 1];
            double doublings = 0, baseAdditions = 0, keyAdditions = 0;
            for (var i = 0; i < samples; i++)
            {
                var s = Sm2Scalar.ReduceOnce(Sm2Scalar.ReadBigEndian(RandomNumberGenerator.GetBytes(32)));
                var t = Sm2Scalar.ReduceOnce(Sm2Scalar.ReadBigEndian(RandomNumberGenerator.GetBytes(32)));
                var length = 0;
                for (var quarter = 0; quarter < Sm2SplitTable.Quarters; quarter++)
                {
                    length = Math.Max(length, s.Quarter(quarter).ToWnaf(Sm2BasePointTable.WindowWidth, digits, Sm2SplitTable.QuarterBits));
                    foreach (var digit in digits) baseAdditions += digit != 0 ? 1 : 0;
                    length = Math.Max(length, t.Quarter(quarter).ToWnaf(Sm2VerificationKey.WindowWidth, digits, Sm2SplitTable.QuarterBits));
                    foreach (var digit in digits) keyAdditions += digit != 0 ? 1 : 0;
                }

                // The first step starts from infinity, so it neither doubles nor really adds.
                doublings += length - 1;
            }

            return new Counts(doublings / samples, baseAdditions / samples, keyAdditions / samples);
        }

        /// <summary>
        /// Nanoseconds per iteration of <paramref name="body"/>(n) after a warm-up that reaches the optimised tier: the
        /// fastest of ten rounds, as other work on the machine can only add time.
        /// </summary>
        private static double Time(int iterations, Func<int, ulong> body)
        {
            _sink += body(iterations / 2);
            var best = double.MaxValue;
            for (var round = 0; round < 10; round++)
            {
                var watch = Stopwatch.StartNew();
                _sink += body(iterations / 10);
                best = Math.Min(best, watch.Elapsed.TotalNanoseconds / (iterations / 10));
            }

            return best;
        }
    }
}
