using System.Numerics;
using Custos.Crypto.Reference;
using Custos.Crypto.Sm2;
using Custos.Crypto.Tests.Support;
using static Custos.Crypto.Tests.Support.Sm2EngineReference;

namespace Custos.Crypto.Tests;

/// <summary>
/// The fast SM2 verification engine against OpenSSL's libcrypto and BouncyCastle: the three must give the same
/// answer on every valid and every spoiled (key, message, signature). Keys come from the seeded random source, each
/// signing many messages, mostly with the suite's signer and partly with OpenSSL's. OpenSSL's verification (which
/// recomputes Z_A each time) dominates the cost: 125,000 verifications by each implementation take about a minute
/// of processor time.
/// </summary>
public sealed class Sm2FastVerifyDifferentialTests
{
    private const int Keys = 200;
    private const int MessagesPerKey = 500;

    private static readonly byte[] OtherUserId = "ALICE123@YAHOO.COM"u8.ToArray();

    /// <summary>Spoilings beyond the shared ones: r + s = n, a scalar at or above n, and Z_A of another identity.</summary>
    private enum ExtraCorruption
    {
        RPlusSEqualsOrder,
        RAboveOrder,
        SAllOnes,
        WrongUserId,
    }

    private sealed record Verifiers(PublicKey Ours, OpenSslKey OpenSsl, Org.BouncyCastle.Math.EC.ECPoint BouncyCastle, byte[] Za);

    private static Verifiers Prepare(PublicKey key, OpenSslKey openSsl)
    {
        var point = GmCryptoSuite.Domain.Curve.DecodePoint(key.ToArray()).Normalize();
        return new Verifiers(key, openSsl, point, GmCryptoSuite.ComputeZa(point, GmCryptoSuite.DefaultUserId));
    }

    /// <summary>The three answers; a disagreement or an unexpected answer is reported with everything needed to replay it.</summary>
    private static void Check(Verifiers v, byte[] message, byte[] signature, bool expected, string what, Action<string> fail, byte[]? userId = null)
    {
        bool ours, openSsl, bouncyCastle;
        if (userId is null)
        {
            ours = CryptoSuites.Gm.Verify(v.Ours, message, signature);
            openSsl = v.OpenSsl.Verify(message, signature);
            bouncyCastle = GmCryptoSuite.VerifyWithBouncyCastle(GmCryptoSuite.Domain, v.BouncyCastle, v.Za, message, signature);
        }
        else
        {
            ours = CryptoSuites.Gm.Verify(v.Ours, userId, message, signature);
            openSsl = v.OpenSsl.Verify(message, signature, userId);
            bouncyCastle = GmCryptoSuite.VerifyWithBouncyCastle(GmCryptoSuite.Domain, v.BouncyCastle, GmCryptoSuite.ComputeZa(v.BouncyCastle, userId), message, signature);
        }

        if (ours != expected || openSsl != expected || bouncyCastle != expected)
        {
            fail($"{what}: expected {expected}, Custos {ours}, OpenSSL {openSsl}, BouncyCastle {bouncyCastle}; " +
                 $"key={v.Ours.ToHex()} m={Convert.ToHexString(message)} sig={Convert.ToHexString(signature)}");
        }
    }

    /// <summary>
    /// The 200 keys in parts of 10: each part reports on its own, so that on a loaded machine the test runner keeps
    /// hearing from the process (it declares a process silent for a minute crashed) and a failure names its part.
    /// </summary>
    private const int KeysPerPart = 10;

    public static TheoryData<int> Parts() => [.. Enumerable.Range(0, Keys / KeysPerPart)];

    [Theory]
    [MemberData(nameof(Parts))]
    public void One_hundred_thousand_random_signatures_and_their_spoiled_forms_get_the_same_answer_from_all_three(int part)
    {
        OpenSslReference.Require();
        var suite = CryptoSuites.Gm;
        var order = GmCryptoSuite.Domain.N;
        using var otherKey = suite.GenerateKey();
        using var otherOpenSsl = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, otherKey.PublicKey.Encoded);
        var other = Prepare(otherKey.PublicKey, otherOpenSsl);
        var total = Signatures.AllCorruptions.Length + Enum.GetValues<ExtraCorruption>().Length;

        TestSeed.RunCases($"SM2 fast verification vs OpenSSL and BouncyCastle, keys {part * KeysPerPart} to {(part + 1) * KeysPerPart - 1} of {Keys}",
            part * KeysPerPart, KeysPerPart, (keyIndex, random, fail) =>
        {
            var scalar = random.RandomScalar(order.Subtract(Org.BouncyCastle.Math.BigInteger.One));
            Assert.True(suite.TryImportPrivateKey(scalar, out var key, out _));
            using var ownedKey = key;
            using var openSsl = OpenSslLibCrypto.ImportPrivateKey(OpenSslCurve.Sm2, scalar);
            var v = Prepare(key.PublicKey, openSsl);
            if (!openSsl.PublicPoint.SequenceEqual(key.PublicKey.Encoded)) fail($"public keys differ for d={Convert.ToHexString(scalar)}");

            for (var m = 0; m < MessagesPerKey; m++)
            {
                var index = keyIndex * MessagesPerKey + m;
                var message = random.Bytes(0, 256);
                // One in twenty signed by OpenSSL, so both signers' output is covered.
                var signature = m % 20 == 0 ? openSsl.Sign(message) : key.Sign(message);
                Check(v, message, signature, expected: true, "valid", fail);

                // Every fourth signature is also spoiled, one kind per signature, rotating through all of them:
                // 25,000 spoiled signatures, about 1,900 of each kind.
                if (m % 4 != 0) continue;
                var kind = (index / 4) % total;
                if (kind < Signatures.AllCorruptions.Length)
                {
                    var corruption = Signatures.AllCorruptions[kind];
                    var (alteredMessage, altered, wrongKey) = Signatures.Corrupt(corruption, random, order, message, signature);
                    if (wrongKey)
                    {
                        Check(other, message, signature, expected: false, corruption.ToString(), fail);
                        continue;
                    }

                    Check(v, alteredMessage, altered, expected: false, corruption.ToString(), fail);
                }
                else
                {
                    var extra = (ExtraCorruption)(kind - Signatures.AllCorruptions.Length);
                    if (extra == ExtraCorruption.WrongUserId)
                    {
                        Check(v, message, signature, expected: false, extra.ToString(), fail, OtherUserId);
                        continue;
                    }

                    Check(v, message, Spoil(extra, signature, random), expected: false, extra.ToString(), fail);
                }
            }
        });
    }

    private static byte[] Spoil(ExtraCorruption corruption, byte[] signature, Random random)
    {
        var altered = signature.ToArray();
        var r = new BigInteger(signature.AsSpan(0, 32), isUnsigned: true, isBigEndian: true);
        switch (corruption)
        {
            case ExtraCorruption.RPlusSEqualsOrder:
                BigEndian(N - r).CopyTo(altered, 32);
                break;
            case ExtraCorruption.RAboveOrder:
                // n + r' for a small r' still fits 256 bits: a verifier reducing r mod n instead of rejecting would accept.
                BigEndian(N + random.Next(1, 1 << 30)).CopyTo(altered, 0);
                break;
            case ExtraCorruption.SAllOnes:
                altered.AsSpan(32).Fill(0xFF);
                break;
        }

        return altered;
    }

    [Fact]
    public void Every_single_bit_flip_of_r_or_s_is_rejected_by_all_three()
    {
        OpenSslReference.Require();
        TestSeed.RunCases("SM2 bit flips", 12, (index, random, fail) =>
        {
            using var key = CryptoSuites.Gm.GenerateKey();
            using var openSsl = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, key.PublicKey.Encoded);
            var v = Prepare(key.PublicKey, openSsl);
            var message = random.Bytes(0, 100);
            var signature = key.Sign(message);
            Check(v, message, signature, expected: true, "valid", fail);
            for (var bit = 0; bit < 512; bit++)
            {
                var altered = signature.ToArray();
                altered[bit / 8] ^= (byte)(0x80 >> (bit % 8));
                Check(v, message, altered, expected: false, $"bit {bit} flipped", fail);
            }
        });
    }

    [Fact]
    public void Scalars_zero_at_or_above_the_order_and_r_plus_s_equal_to_n_are_rejected_by_all_three()
    {
        OpenSslReference.Require();
        using var key = CryptoSuites.Gm.GenerateKey();
        using var openSsl = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, key.PublicKey.Encoded);
        var v = Prepare(key.PublicKey, openSsl);
        var message = "spoiled scalars"u8.ToArray();
        var signature = key.Sign(message);
        var r = new BigInteger(signature.AsSpan(0, 32), isUnsigned: true, isBigEndian: true);
        var s = new BigInteger(signature.AsSpan(32), isUnsigned: true, isBigEndian: true);
        Check(v, message, signature, expected: true, "valid", _ => Assert.Fail("the valid signature was not accepted by all three"));

        var failures = new List<string>();
        foreach (var (name, badR, badS) in new (string, BigInteger, BigInteger)[]
                 {
                     ("r = 0", 0, s), ("s = 0", r, 0), ("r = n", N, s), ("s = n", r, N), ("r = n + r", N + r, s), ("s = n + s", r, N + s),
                     ("r = 2^256 - 1", (BigInteger.One << 256) - 1, s), ("s = 2^256 - 1", r, (BigInteger.One << 256) - 1),
                     ("r + s = n", r, N - r), ("r = s = 0", 0, 0),
                 })
        {
            if (badR >= BigInteger.One << 256 || badS >= BigInteger.One << 256) continue;
            Check(v, message, [.. BigEndian(badR), .. BigEndian(badS)], expected: false, name, failures.Add);
        }

        Assert.Empty(failures);
    }

    [Fact]
    public void A_signature_whose_sum_point_is_infinity_is_rejected_by_all_three()
    {
        OpenSslReference.Require();
        var failures = new List<string>();
        var random = TestSeed.ForCase(TestSeed.Value, 0);
        for (var i = 0; i < 20; i++)
        {
            // s·(1 + d) ≡ −r·d (mod n) makes [s]G + [r + s]Q = [s + (r + s)·d]G the point at infinity.
            var scalar = random.RandomScalar(GmCryptoSuite.Domain.N.Subtract(Org.BouncyCastle.Math.BigInteger.One));
            var d = new BigInteger(scalar, isUnsigned: true, isBigEndian: true);
            var r = new BigInteger(random.Bytes(32), isUnsigned: true, isBigEndian: true) % (N - 1) + 1;
            var s = (N - r * d % N) * BigInteger.ModPow(1 + d, N - 2, N) % N;
            if (s.IsZero || (r + s) % N == 0) continue;
            Assert.True(CryptoSuites.Gm.TryImportPrivateKey(scalar, out var key, out _));
            using var ownedKey = key;
            using var openSsl = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, key.PublicKey.Encoded);
            Check(Prepare(key.PublicKey, openSsl), random.Bytes(0, 50), [.. BigEndian(r), .. BigEndian(s)], expected: false, "sum at infinity", failures.Add);
        }

        Assert.Empty(failures);
    }

    [Fact]
    public void A_signature_whose_x1_lies_between_n_and_p_is_accepted_by_all_three_and_its_neighbours_are_not()
    {
        OpenSslReference.Require();
        var random = TestSeed.ForCase(TestSeed.Value, 1);
        var checkedCount = 0;
        for (var attempt = 0; checkedCount < 5 && attempt < 200; attempt++)
        {
            // A point R = (x1, y1) with n ≤ x1 < p, where x1 mod n differs from x1.
            var x1 = N + new BigInteger(random.Bytes(16), isUnsigned: true, isBigEndian: true);
            if (x1 >= P) continue;
            var rhs = (BigInteger.ModPow(x1, 3, P) - 3 * x1 + Value(Sm2Curve.B)) % P;
            if (rhs.Sign < 0) rhs += P;
            var y1 = BigInteger.ModPow(rhs, (P + 1) / 4, P);
            if (y1 * y1 % P != rhs) continue;

            // Choose s and t, then Q = t^−1·(R − [s]G), r = t − s and e = r − x1 (mod n), so that [s]G + [t]Q = R.
            var s = new BigInteger(random.Bytes(32), isUnsigned: true, isBigEndian: true) % (N - 1) + 1;
            var t = new BigInteger(random.Bytes(32), isUnsigned: true, isBigEndian: true) % (N - 1) + 1;
            var r = ((t - s) % N + N) % N;
            if (r.IsZero) continue;
            var curve = GmCryptoSuite.Domain.Curve;
            var point = curve.CreatePoint(ToBc(x1), ToBc(y1));
            var q = point.Subtract(GmCryptoSuite.Domain.G.Multiply(ToBc(s))).Multiply(ToBc(BigInteger.ModPow(t, N - 2, N))).Normalize();
            var e = ((r - x1) % N + N) % N;
            var encoded = q.GetEncoded(false);
            Assert.True(Sm2VerificationKey.TryCreate(encoded.AsSpan(1), out var key));
            using var openSsl = OpenSslLibCrypto.ImportPublicKey(OpenSslCurve.Sm2, encoded);
            byte[] signature = [.. BigEndian(r), .. BigEndian(s)];

            foreach (var (digest, expected) in new[] { (e, true), ((e + 1) % N, false), ((e + N - 1) % N, false) })
            {
                var eBytes = BigEndian(digest);
                var ours = Sm2Verifier.Verify(key, eBytes, signature);
                var bouncyCastle = GmCryptoSuite.VerifyDigestWithBouncyCastle(GmCryptoSuite.Domain, q, eBytes, signature);
                var reference = openSsl.VerifyDigest(eBytes, signature);
                Assert.True(ours == expected && bouncyCastle == expected && reference == expected,
                    $"x1 = n + {x1 - N}, e = {digest:X}: expected {expected}, Custos {ours}, BouncyCastle {bouncyCastle}, OpenSSL {reference}");
            }

            checkedCount++;
        }

        Assert.Equal(5, checkedCount);
    }

    [Fact]
    public void Public_keys_off_the_curve_out_of_range_or_at_infinity_are_refused_by_all_three()
    {
        OpenSslReference.Require();
        using var key = CryptoSuites.Gm.GenerateKey();
        var valid = key.PublicKey.ToArray();
        var random = TestSeed.ForCase(TestSeed.Value, 2);
        var x = new BigInteger(valid.AsSpan(1, 32), isUnsigned: true, isBigEndian: true);
        var y = new BigInteger(valid.AsSpan(33, 32), isUnsigned: true, isBigEndian: true);
        var candidates = new List<(string Name, byte[] Encoded)>
        {
            ("infinity as one zero byte", [0x00]),
            ("all-zero coordinates", [0x04, .. new byte[64]]),
            ("y + 1", [0x04, .. BigEndian(x), .. BigEndian((y + 1) % P)]),
            ("x = p", [0x04, .. BigEndian(P), .. BigEndian(y)]),
        };
        // The same point with a coordinate plus p (not canonical), where that still fits 32 bytes.
        if (y + P < BigInteger.One << 256) candidates.Add(("y + p", [0x04, .. BigEndian(x), .. BigEndian(y + P)]));
        if (x + P < BigInteger.One << 256) candidates.Add(("x + p", [0x04, .. BigEndian(x + P), .. BigEndian(y)]));
        for (var i = 0; i < 200; i++) candidates.Add(($"random {i}", [0x04, .. random.Bytes(64)]));

        foreach (var (name, encoded) in candidates)
        {
            var ours = CryptoSuites.Gm.TryDecodePublicKey(encoded, out _, out _);
            var engine = encoded.Length == 65 && Sm2VerificationKey.TryCreate(encoded.AsSpan(1), out _);
            var reference = OpenSslLibCrypto.TryImportPublicKey(OpenSslCurve.Sm2, encoded, out var openSslKey);
            if (reference && encoded.Length == 1)
            {
                // OpenSSL 3.0 imports the point at infinity (its one-byte encoding) as a key, but accepts no signature
                // under it, which is the refusal that matters; Custos and BouncyCastle refuse it at decode.
                using (openSslKey)
                {
                    var signature = key.Sign("m"u8);
                    reference = openSslKey.Verify("m"u8, signature) || openSslKey.Verify("m"u8, new byte[64]);
                }
            }
            else
            {
                openSslKey?.Dispose();
            }

            bool bouncyCastle;
            try
            {
                bouncyCastle = GmCryptoSuite.Domain.Curve.DecodePoint(encoded) is { IsInfinity: false } point && point.IsValid();
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                bouncyCastle = false;
            }

            Assert.False(ours || engine || reference || bouncyCastle, $"{name} accepted: Custos {ours}, engine {engine}, OpenSSL {reference}, BouncyCastle {bouncyCastle}");
        }

        Assert.True(CryptoSuites.Gm.TryDecodePublicKey(valid, out _, out _));
    }

    [Fact]
    public void Verification_by_the_suite_allocates_nothing()
    {
        using var key = CryptoSuites.Gm.GenerateKey();
        var message = new byte[200];
        var signature = key.Sign(message);
        // Warm up both paths first: the first calls of a method may allocate in the runtime (type loading, tiering).
        for (var i = 0; i < 100; i++)
        {
            Assert.True(CryptoSuites.Gm.Verify(key.PublicKey, message, signature));
            CryptoSuites.Gm.VerifyObject(key.PublicKey, Core.Wire.ObjectType.Transaction, message, signature);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            CryptoSuites.Gm.Verify(key.PublicKey, message, signature);
            CryptoSuites.Gm.VerifyObject(key.PublicKey, Core.Wire.ObjectType.Transaction, message, signature);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
