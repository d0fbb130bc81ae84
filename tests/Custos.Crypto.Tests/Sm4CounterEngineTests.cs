using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;
using Custos.Crypto.Tests.Support;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;

namespace Custos.Crypto.Tests;

/// <summary>The counter engine (sixteen SM4 blocks per vector, S-box by GFNI) against the table engine.</summary>
public sealed class Sm4CounterEngineTests
{
    [Fact]
    public void The_vector_path_is_used_wherever_the_processor_has_GFNI_and_AVX512()
    {
        // Its start-up check compares the Galois-field S-box with the table on all 256 bytes; a failure would leave
        // the engine on tables silently, which this makes loud on the machines that have the instructions.
        Assert.Equal(Gfni.V512.IsSupported && Avx512F.IsSupported, Sm4CounterEngine.IsVectorised);
    }

    [Fact]
    public void Counter_runs_and_any_other_blocks_encrypt_as_the_table_engine_does()
    {
        TestSeed.RunCases("SM4 counter engine vs table engine", 2_000, (index, random, fail) =>
        {
            var key = new KeyParameter(random.Bytes(16));
            var forEncryption = random.Next(0, 4) != 0;
            var ours = new Sm4CounterEngine();
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

    [Fact]
    public void Gcm_on_the_counter_engine_seals_and_opens_as_gcm_on_the_table_engine()
    {
        TestSeed.RunCases("SM4-GCM counter engine vs table engine", 1_000, (index, random, fail) =>
        {
            var parameters = new AeadParameters(new KeyParameter(random.Bytes(16)), 128, random.Bytes(12), random.Bytes(0, 40));
            var plaintext = random.Bytes(0, 2_000);
            var sealedByTables = Seal(new GcmBlockCipher(new Sm4Engine()), parameters, plaintext);
            var sealedByCounters = Seal(new GcmBlockCipher(new Sm4CounterEngine()), parameters, plaintext);
            if (!sealedByTables.AsSpan().SequenceEqual(sealedByCounters)) fail($"{plaintext.Length} bytes sealed differently");

            var opener = new GcmBlockCipher(new Sm4CounterEngine());
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
