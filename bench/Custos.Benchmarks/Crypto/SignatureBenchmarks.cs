using BenchmarkDotNet.Attributes;
using Custos.Core.Wire;
using Custos.Crypto;

namespace Custos.Benchmarks.Crypto;

/// <summary>Sign and verify a 200-byte transaction body under each suite (one core).</summary>
[MemoryDiagnoser]
public class SignatureBenchmarks
{
    private readonly byte[] _message = new byte[200];
    private ISigningKey _key = null!;
    private PublicKey _publicKey = null!;
    private byte[] _signature = null!;
    private ICryptoSuite _suite = null!;

    [Params("gm", "intl")]
    public string Suite { get; set; } = "gm";

    [GlobalSetup]
    public void Setup()
    {
        _suite = CryptoSuites.Parse(Suite);
        new Random(7).NextBytes(_message);
        _key = _suite.GenerateKey();
        _publicKey = _key.PublicKey;
        _signature = _key.SignObject(ObjectType.Transaction, _message);
    }

    [Benchmark]
    public byte[] Sign() => _key.SignObject(ObjectType.Transaction, _message);

    [Benchmark]
    public bool Verify() => _suite.VerifyObject(_publicKey, ObjectType.Transaction, _message, _signature);
}

/// <summary>Hash and authenticated encryption throughput on 4 KiB.</summary>
[MemoryDiagnoser]
public class SymmetricBenchmarks
{
    private readonly byte[] _data = new byte[4096];
    private readonly byte[] _nonce = new byte[12];
    private ICryptoSuite _suite = null!;
    private byte[] _key = null!;

    [Params("gm", "intl")]
    public string Suite { get; set; } = "gm";

    [GlobalSetup]
    public void Setup()
    {
        _suite = CryptoSuites.Parse(Suite);
        _key = new byte[_suite.AeadKeySizeBytes];
    }

    [Benchmark]
    public Custos.Core.Hash32 Hash() => Custos.Core.HashFunctionExtensions.Hash(_suite, _data);

    [Benchmark]
    public byte[] AeadEncrypt() => _suite.AeadEncrypt(_key, _nonce, _data, []);
}
