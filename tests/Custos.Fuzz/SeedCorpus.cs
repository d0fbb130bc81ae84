using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Google.Protobuf;

namespace Custos.Fuzz;

/// <summary>
/// Valid encodings to start each target from, signed with real keys so that they look like what a node receives.
/// The keys come from fixed scalars; the signatures are randomised (SM2 and ECDSA draw a fresh nonce), so
/// regenerating the corpus changes the signature bytes but nothing else.
/// </summary>
public static class SeedCorpus
{
    private const string ChainId = "custos-fuzz";

    /// <summary>Seed inputs by target name; every target in <see cref="FuzzTargets.All"/> has at least one.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<byte[]>> Generate()
    {
        using var gmKey = ImportKey(CryptoSuites.Gm, 1);
        using var intlKey = ImportKey(CryptoSuites.Intl, 2);
        var validators = Enumerable.Range(10, 4).Select(i => ImportKey(CryptoSuites.Gm, i)).ToArray();
        try
        {
            var transactions = new[]
            {
                SignedTransaction(gmKey, nonce: 1, contract: "token", method: "transfer", arguments: [0x0a, 0x03, 0x61, 0x62, 0x63]),
                SignedTransaction(intlKey, nonce: 2, contract: "system.registry", method: "register_account", arguments: []),
                SignedTransaction(gmKey, nonce: ulong.MaxValue, contract: new string('c', WireLimits.ContractNameLengthMax), method: "m", arguments: new byte[300]),
            };

            var parentData = new VoteData
            {
                ChainId = ChainId, Epoch = 3, Round = 41, Height = 40,
                BlockHash = Filled(32, 0x4b), ParentRound = 40, ParentHash = Filled(32, 0x4a),
            };
            var qc = Certify(parentData, validators, [0, 1, 3]);
            var singleSignerQc = Certify(parentData, validators, [2]);
            var timeoutData = new TimeoutData { ChainId = ChainId, Epoch = 3, Round = 42, HighQcRound = 41 };
            var tc = TimeoutCertificate(timeoutData, validators, [0, 2, 3]);

            var header = new BlockHeader
            {
                ChainId = ChainId, Epoch = 3, Height = 41, Round = 42,
                ParentHash = parentData.BlockHash, StateRoot = Filled(32, 0x53),
                TimestampMs = 1_767_225_600_000, Proposer = 2, ParentQc = qc,
            };
            header.TransactionRoot = MerkleRoot.Compute(CryptoSuites.Gm, transactions.Select(TransactionId).ToArray()).ToByteString();
            var afterTimeout = new BlockHeader(header) { Round = 43, TimeoutCertificate = tc, TransactionRoot = MerkleRoot.Compute(CryptoSuites.Gm, []).ToByteString() };
            var genesis = new BlockHeader
            {
                ChainId = ChainId, ParentHash = Filled(32, 0x00), TransactionRoot = MerkleRoot.Compute(CryptoSuites.Gm, []).ToByteString(),
                StateRoot = Filled(32, 0x00), TimestampMs = 1_767_225_600_000,
            };

            var block = new Block { Header = header.ToByteString() };
            block.Transactions.AddRange(transactions.Select(t => ByteString.CopyFrom(t)));

            var vote = new Vote { Data = parentData.ToByteString(), Voter = 1 };
            vote.Signature = ByteString.CopyFrom(validators[1].SignObject(ObjectType.Vote, vote.Data.Span));

            var timeout = new RoundTimeout { Data = timeoutData.ToByteString(), Author = 2, HighQc = qc };
            timeout.Signature = ByteString.CopyFrom(validators[2].SignObject(ObjectType.Timeout, timeout.Data.Span));
            var firstRoundData = new TimeoutData { ChainId = ChainId, Epoch = 0, Round = 1 };
            var firstRoundTimeout = new RoundTimeout { Data = firstRoundData.ToByteString(), Author = 0 };
            firstRoundTimeout.Signature = ByteString.CopyFrom(validators[0].SignObject(ObjectType.Timeout, firstRoundTimeout.Data.Span));

            return new Dictionary<string, IReadOnlyList<byte[]>>(StringComparer.Ordinal)
            {
                [nameof(FuzzTargets.Transaction)] = transactions,
                [nameof(FuzzTargets.Block)] = [block.ToByteArray(), new Block { Header = genesis.ToByteString() }.ToByteArray()],
                [nameof(FuzzTargets.BlockHeader)] = [header.ToByteArray(), afterTimeout.ToByteArray(), genesis.ToByteArray()],
                [nameof(FuzzTargets.Vote)] = [vote.ToByteArray()],
                [nameof(FuzzTargets.VoteData)] = [parentData.ToByteArray()],
                [nameof(FuzzTargets.QuorumCertificate)] = [qc.ToByteArray(), singleSignerQc.ToByteArray()],
                [nameof(FuzzTargets.Timeout)] = [timeout.ToByteArray(), firstRoundTimeout.ToByteArray()],
                [nameof(FuzzTargets.TimeoutData)] = [timeoutData.ToByteArray(), firstRoundData.ToByteArray()],
                [nameof(FuzzTargets.TimeoutCertificate)] = [tc.ToByteArray()],
                [nameof(FuzzTargets.PublicKeyGm)] = KeySeeds(gmKey),
                [nameof(FuzzTargets.PublicKeyIntl)] = KeySeeds(intlKey),
                [nameof(FuzzTargets.Certificate)] = CertificateSeeds(),
                [nameof(ConsensusFuzzTargets.ConsensusMessage)] = ConsensusFuzzTargets.Seeds(block, vote, timeout, qc, tc),
            };
        }
        finally
        {
            foreach (var validator in validators) validator.Dispose();
        }
    }

    private static readonly Lazy<(CertificateAuthority Authority, CertificateValidator Validator)> Consortium = new(() =>
    {
        // A fixed key, so that stored seeds issued by this CA keep verifying across runs.
        var key = ImportKey(CryptoSuites.Gm, 7);
        var certificate = ConsortiumCertificate.FromPem(FuzzingCaPem, CryptoSuites.Gm);
        var authority = new CertificateAuthority(certificate, key, CryptoSuites.Gm);
        return (authority, new CertificateValidator(CryptoSuites.Gm, [certificate]));
    });

    /// <summary>The consortium the Certificate target validates against.</summary>
    public static CertificateValidator FuzzingConsortium => Consortium.Value.Validator;

    // Self-signed by the scalar 0x01..07 (ImportKey(gm, 7)), valid 2026-2126. Kept as text so it never changes.
    private const string FuzzingCaPem = """
        -----BEGIN CERTIFICATE-----
        MIIB0DCCAXegAwIBAgIQYhj5D4F+AoQtk0CsZSvUSzAKBggqgRzPVQGDdTBGMQsw
        CQYDVQQGEwJDTjEQMA4GA1UECgwHZnV6emluZzELMAkGA1UECwwCY2ExGDAWBgNV
        BAMMD2Z1enppbmcgUm9vdCBDQTAgFw0yNTEyMzEyMzU1MDBaGA8yMTI1MTIwODAw
        MDAwMFowRjELMAkGA1UEBhMCQ04xEDAOBgNVBAoMB2Z1enppbmcxCzAJBgNVBAsM
        AmNhMRgwFgYDVQQDDA9mdXp6aW5nIFJvb3QgQ0EwWTATBgcqhkjOPQIBBggqgRzP
        VQGCLQNCAASc0u7rT2GnOh1IYnGusoCG3LRSmeUeoOUhYGiZj/B4R8mdUWdVPuzU
        lCkZeZaLYNbAWR2ZIKOSegyT0C82gq8Bo0UwQzASBgNVHRMBAf8ECDAGAQH/AgEA
        MA4GA1UdDwEB/wQEAwIBhjAdBgNVHQ4EFgQU9rig1lWhAxRdhXVjZ7iGTwBGbcsw
        CgYIKoEcz1UBg3UDRwAwRAIgZJGQFolgA30u0BCou79k73s3XAun6HYdz7dMTIsG
        so4CICo7zs4bB7y+Jhx97SNV8/rpkC276OUMZ1BCw615GO50
        -----END CERTIFICATE-----
        """;

    private static IReadOnlyList<byte[]> CertificateSeeds()
    {
        var authority = Consortium.Value.Authority;
        var seeds = new List<byte[]> { authority.Certificate.Der.ToArray() };
        var roles = new[] { CertificateRole.Node, CertificateRole.Client, CertificateRole.Regulator };
        for (var i = 0; i < roles.Length; i++)
        {
            using var key = ImportKey(CryptoSuites.Gm, 20 + i);
            seeds.Add(authority.Issue(new CertificateRequest($"fuzz{i}", roles[i], key.PublicKey) { DnsNames = ["fuzz"], IpAddresses = ["127.0.0.1"] }).Der.ToArray());
        }

        return seeds;
    }

    /// <summary>Writes <c>&lt;directory&gt;/&lt;target&gt;/seed-&lt;n&gt;.bin</c>, replacing earlier seeds of the same names.</summary>
    public static void Write(string directory)
    {
        foreach (var (target, seeds) in Generate())
        {
            var folder = Path.Combine(directory, target);
            Directory.CreateDirectory(folder);
            for (var i = 0; i < seeds.Count; i++) File.WriteAllBytes(Path.Combine(folder, $"seed-{i}.bin"), seeds[i]);
        }
    }

    private static SoftwareKey ImportKey(ICryptoSuite suite, int seed)
    {
        var scalar = new byte[32];
        scalar[^1] = (byte)seed;
        scalar[0] = 0x01;
        if (!suite.TryImportPrivateKey(scalar, out var key, out var error)) throw error.ToException();
        return key;
    }

    private static byte[] SignedTransaction(SoftwareKey key, ulong nonce, string contract, string method, byte[] arguments)
    {
        var body = new TransactionBody
        {
            ChainId = ChainId,
            Sender = ByteString.CopyFrom(Enumerable.Range(0x30, AccountId.SizeBytes).Select(b => (byte)b).ToArray()),
            Nonce = nonce,
            ExpiryHeight = 1_000_000,
            Contract = contract,
            ContractVersion = 1,
            Method = method,
            Arguments = ByteString.CopyFrom(arguments),
            Suite = key.Suite,
        };
        var bodyBytes = body.ToByteArray();
        return new TransactionEnvelope
        {
            Body = ByteString.CopyFrom(bodyBytes),
            PublicKey = ByteString.CopyFrom(key.PublicKey.Encoded),
            Signature = ByteString.CopyFrom(key.SignObject(ObjectType.Transaction, bodyBytes)),
        }.ToByteArray();
    }

    private static Hash32 TransactionId(byte[] envelope) =>
        CryptoSuites.Gm.HashObject(ObjectType.Transaction, TransactionEnvelope.Parser.ParseFrom(envelope).Body.Span);

    private static QuorumCertificate Certify(VoteData data, SoftwareKey[] validators, int[] signers)
    {
        var bitmap = new byte[(signers.Max() / 8) + 1];
        var qc = new QuorumCertificate { VoteData = data.ToByteString() };
        foreach (var index in signers.Order())
        {
            bitmap[index / 8] |= (byte)(1 << (index % 8));
            qc.Signatures.Add(ByteString.CopyFrom(validators[index].SignObject(ObjectType.Vote, qc.VoteData.Span)));
        }

        qc.Signers = ByteString.CopyFrom(bitmap);
        return qc;
    }

    private static TimeoutCertificate TimeoutCertificate(TimeoutData data, SoftwareKey[] validators, int[] authors)
    {
        var tc = new TimeoutCertificate { Epoch = data.Epoch, Round = data.Round };
        foreach (var author in authors.Order())
        {
            tc.Signatures.Add(new TimeoutSignature
            {
                Author = (uint)author,
                Data = data.ToByteString(),
                Signature = ByteString.CopyFrom(validators[author].SignObject(ObjectType.Timeout, data.ToByteArray())),
            });
        }

        return tc;
    }

    /// <summary>Key alone; key, message and a valid signature; key and a signature over the empty message.</summary>
    private static IReadOnlyList<byte[]> KeySeeds(SoftwareKey key)
    {
        var message = "custos fuzz seed"u8.ToArray();
        return
        [
            key.PublicKey.ToArray(),
            [.. key.PublicKey.Encoded, .. message, .. key.Sign(message)],
            [.. key.PublicKey.Encoded, .. key.Sign([])],
        ];
    }

    private static ByteString Filled(int length, byte value)
    {
        var bytes = new byte[length];
        Array.Fill(bytes, value);
        return ByteString.CopyFrom(bytes);
    }
}
