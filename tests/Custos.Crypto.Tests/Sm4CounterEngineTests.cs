using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;
using Custos.Crypto.Tests.Support;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;

namespace Custos.Crypto.Tests;

/// <summary>The counter engine (sixteen SM4 blocks at a time, S-box by GFNI or AES-NI) against the table engine.</summary>
public sealed class Sm4CounterEngineTests
{
    /// <summary>Every path this processor can run, the table fallback included.</summary>
    public static TheoryData<Sm4CounterEngine.VectorPath> Paths()
    {
        var paths = new TheoryData<Sm4CounterEngine.VectorPath> { Sm4CounterEngine.VectorPath.None };
        if (Sm4CounterEngine.AesNiSBox.IsAvailable) paths.Add(Sm4CounterEngine.VectorPath.AesNi);
        if (Sm4CounterEngine.GaloisSBox.IsAvailable) paths.Add(Sm4CounterEngine.VectorPath.Galois);
        return paths;
    }

    [Fact]
    public void The_fastest_vector_path_is_used_wherever_the_processor_has_its_instructions()
    {
        // Each path's start-up check compares its S-box with the table on all 256 bytes; a failure would leave the
        // engine on a slower path silently, which this makes loud on the machines that have the instructions.
        Assert.Equal(Aes.IsSupported && Avx2.IsSupported, Sm4CounterEngine.AesNiSBox.IsAvailable);
        Assert.Equal(Gfni.V512.IsSupported && Avx512F.IsSupported, Sm4CounterEngine.GaloisSBox.IsAvailable);
        var expected = Sm4CounterEngine.GaloisSBox.IsAvailable ? Sm4CounterEngine.VectorPath.Galois
            : Sm4CounterEngine.AesNiSBox.IsAvailable ? Sm4CounterEngine.VectorPath.AesNi
            : Sm4CounterEngine.VectorPath.None;
        Assert.Equal(expected, Sm4CounterEngine.Preferred);
        Assert.Equal(expected != Sm4CounterEngine.VectorPath.None, Sm4CounterEngine.IsVectorised);
    }

    [Fact]
    public void A_path_the_processor_lacks_is_refused()
    {
        if (!Sm4CounterEngine.GaloisSBox.IsAvailable)
        {
            Assert.Throws<PlatformNotSupportedException>(() => new Sm4CounterEngine(Sm4CounterEngine.VectorPath.Galois));
        }

        if (!Sm4CounterEngine.AesNiSBox.IsAvailable)
        {
            Assert.Throws<PlatformNotSupportedException>(() => new Sm4CounterEngine(Sm4CounterEngine.VectorPath.AesNi));
        }

        Assert.Throws<PlatformNotSupportedException>(() => new Sm4CounterEngine((Sm4CounterEngine.VectorPath)99));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Counter_runs_and_any_other_blocks_encrypt_as_the_table_engine_does(Sm4CounterEngine.VectorPath path)
    {
        TestSeed.RunCases($"SM4 counter engine ({path}) vs table engine", 2_000, (index, random, fail) =>
        {
            var key = new KeyParameter(random.Bytes(16));
            var forEncryption = random.Next(0, 4) != 0;
            var ours = new Sm4CounterEngine(path);
            var tables = new Sm4Engine();
            ours.Init(forEncryption, key);
            tables.Init(forEncryption, key);

            // Runs of consecutive counters of any length (some crossing 2^32 in the last word), broken by other blocks
            // and by counters that repeat or jump, as a mode of operation other than CTR would give.
            var block = random.Bytes(16);
            for (var step = 0; step < 60; step++)
            {
                switch (random.Next(0, 6))
                {
                    case 0:
                        block = random.Bytes(16);
                        break;
                    case 1:
                        BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(12), uint.MaxValue - (uint)random.Next(0, 20));
                        break;
                    case 2:
                        break;
                    default:
                        BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(12), BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(12)) + 1);
                        break;
                }

                var expected = new byte[16];
                tables.ProcessBlock(block, expected);
                var viaSpans = new byte[16];
                ours.ProcessBlock(block, viaSpans);
                var viaArrays = new byte[18];
                ours.ProcessBlock(block, 0, viaArrays, 2);
                if (!expected.AsSpan().SequenceEqual(viaSpans) || !expected.AsSpan().SequenceEqual(viaArrays.AsSpan(2)))
                {
                    fail($"step {step}, {(forEncryption ? "encrypt" : "decrypt")} k={Convert.ToHexString(key.GetKey())} in={Convert.ToHexString(block)}: tables {Convert.ToHexString(expected)}, ours {Convert.ToHexString(viaSpans)}");
                }
            }
        });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Gcm_on_the_counter_engine_seals_and_opens_as_gcm_on_the_table_engine(Sm4CounterEngine.VectorPath path)
    {
        TestSeed.RunCases($"SM4-GCM counter engine ({path}) vs table engine", 1_000, (index, random, fail) =>
        {
            var parameters = new AeadParameters(new KeyParameter(random.Bytes(16)), 128, random.Bytes(12), random.Bytes(0, 40));
            var plaintext = random.Bytes(0, 2_000);
            var sealedByTables = Seal(new GcmBlockCipher(new Sm4Engine()), parameters, plaintext);
            var sealedByCounters = Seal(new GcmBlockCipher(new Sm4CounterEngine(path)), parameters, plaintext);
            if (!sealedByTables.AsSpan().SequenceEqual(sealedByCounters)) fail($"{plaintext.Length} bytes sealed differently");

            var opener = new GcmBlockCipher(new Sm4CounterEngine(path));
            opener.Init(false, parameters);
            var opened = new byte[opener.GetOutputSize(sealedByTables.Length)];
            var length = opener.ProcessBytes(sealedByTables, 0, sealedByTables.Length, opened, 0);
            length += opener.DoFinal(opened, length);
            if (!opened.AsSpan(0, length).SequenceEqual(plaintext)) fail($"{plaintext.Length} bytes did not open to the plaintext");
        });
    }

    [Fact]
    public void The_engine_refuses_short_buffers_and_use_before_init()
    {
        var engine = new Sm4CounterEngine();
        Assert.Throws<InvalidOperationException>(() => engine.ProcessBlock(new byte[16], new byte[16]));
        engine.Init(true, new KeyParameter(new byte[16]));
        Assert.Throws<Org.BouncyCastle.Crypto.DataLengthException>(() => engine.ProcessBlock(new byte[15], new byte[16]));
        Assert.Throws<Org.BouncyCastle.Crypto.OutputLengthException>(() => engine.ProcessBlock(new byte[16], new byte[15]));
        Assert.Equal(16, engine.GetBlockSize());
    }

    private static byte[] Seal(GcmBlockCipher cipher, AeadParameters parameters, byte[] plaintext)
    {
        cipher.Init(true, parameters);
        var output = new byte[cipher.GetOutputSize(plaintext.Length)];
        var length = cipher.ProcessBytes(plaintext, 0, plaintext.Length, output, 0);
        length += cipher.DoFinal(output, length);
        return output[..length];
    }
}
