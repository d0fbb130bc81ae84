using System.Text.Json;
using System.Text.Json.Serialization;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;

namespace Custos.Identity.Consortium;

/// <summary>
/// The chain's founding document: its id, crypto suite, member organisations with their root CAs, the first
/// validator set, observer and supervisor nodes, and the initial chain parameters. Every node starts from the same
/// bytes; the genesis hash (suite hash of the file's exact bytes) identifies the chain.
/// </summary>
public sealed record GenesisDocument
{
    public const string FormatTag = "custos-genesis/1";

    public string Format { get; init; } = FormatTag;

    public required string ChainId { get; init; }

    /// <summary>"gm" (SM2/SM3/SM4, the default) or "intl".</summary>
    public required string CryptoSuite { get; init; }

    /// <summary>Timestamp of the genesis block; block times only grow from here.</summary>
    public required DateTimeOffset GenesisTime { get; init; }

    public required IReadOnlyList<GenesisOrganisation> Organisations { get; init; }

    public required IReadOnlyList<GenesisNode> Validators { get; init; }

    public IReadOnlyList<GenesisNode> Observers { get; init; } = [];

    /// <summary>Accounts that exist from the first block, with their opening token balances.</summary>
    public IReadOnlyList<GenesisAccountEntry> Accounts { get; init; } = [];

    public required ChainParameters Parameters { get; init; }

    /// <summary>
    /// Base64 of the QuorumCertificate by which the first validators certify the genesis block, so that the first
    /// proposal has a parent QC. Written by <c>custos init</c>; part of the genesis hash like everything else here.
    /// </summary>
    public string? GenesisQuorumCertificate { get; init; }

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public byte[] Encode() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    /// <summary>Decodes and checks a genesis file. Certificates are validated against the organisations' CAs at genesis time.</summary>
    public static GenesisDocument Decode(ReadOnlySpan<byte> bytes)
    {
        GenesisDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<GenesisDocument>(bytes, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new CustosException(ErrorCode.Malformed, $"genesis is not valid: {e.Message}");
        }

        if (document is null) throw new CustosException(ErrorCode.Malformed, "genesis is empty");

        // JSON null satisfies `required`; every list and object below must be present.
        if (document.ChainId is null || document.CryptoSuite is null || document.Organisations is null || document.Validators is null
            || document.Observers is null || document.Accounts is null || document.Parameters is null
            || document.Organisations.Any(o => o is null) || document.Validators.Any(v => v is null) || document.Observers.Any(v => v is null)
            || document.Accounts.Any(a => a is null))
        {
            throw new CustosException(ErrorCode.Malformed, "genesis has a null where a value, list or object is required");
        }

        document.Check();
        return document;
    }

    public static GenesisDocument Load(string path)
    {
        if (!File.Exists(path)) throw new CustosException(ErrorCode.NotFound, $"no genesis file at {path}");
        return Decode(File.ReadAllBytes(path));
    }

    [JsonIgnore]
    public ICryptoSuite Suite => CryptoSuites.Parse(CryptoSuite);

    public Hash32 ComputeHash(ReadOnlySpan<byte> encoded) => Suite.HashObject(ObjectType.Genesis, encoded);

    /// <summary>The certificate validator for the organisations' CAs as they stand in genesis.</summary>
    public CertificateValidator CreateValidator() =>
        new(Suite, Organisations.Select(o => ConsortiumCertificate.FromPem(o.CaCertificate, Suite)));

    private void CheckAccounts(ICryptoSuite suite, Dictionary<string, GenesisOrganisation> organisations)
    {
        var ids = new HashSet<AccountId>();
        ulong supply = 0;
        foreach (var account in Accounts)
        {
            var id = AccountId.Parse(account.Id);
            if (id.IsEmpty || !ids.Add(id)) throw new CustosException(ErrorCode.InvalidField, $"genesis account id {account.Id} is zero or repeated");
            if (!organisations.ContainsKey(account.Organisation))
            {
                throw new CustosException(ErrorCode.InvalidField, $"account {account.Label} names unknown organisation {account.Organisation}");
            }

            if (!suite.TryDecodePublicKey(HexText.Decode(account.PublicKey, WireLimits.PublicKeySizeBytes, "public key"), out _, out var error))
            {
                throw new CustosException(error.Code, $"account {account.Label}: {error.Message}");
            }

            supply = supply > ulong.MaxValue - account.Balance
                ? throw new CustosException(ErrorCode.InvalidField, "genesis balances overflow the supply")
                : supply + account.Balance;
        }
    }

    private void Check()
    {
        if (Format != FormatTag) throw new CustosException(ErrorCode.UnsupportedVersion, $"genesis format '{Format}' is not {FormatTag}");
        if (!CryptoSuites.TryParse(CryptoSuite, out var suite)) throw new CustosException(ErrorCode.SuiteMismatch, $"unknown crypto suite '{CryptoSuite}'");
        var chainIdError = Decoders.CheckChainId(ChainId);
        if (chainIdError is not null) throw chainIdError.ToException();
        if (Organisations.Count == 0) throw new CustosException(ErrorCode.InvalidField, "genesis names no organisation");
        if (Organisations.Select(o => o.Id).Distinct().Count() != Organisations.Count) throw new CustosException(ErrorCode.InvalidField, "organisation ids repeat");
        if (Validators.Count < Parameters.ValidatorsMin)
        {
            throw new CustosException(ErrorCode.InvalidField, $"genesis has {Validators.Count} validators, fewer than the minimum safe number {Parameters.ValidatorsMin}");
        }

        if (Parameters.KeyResetLockWindowBlocks < 1) throw new CustosException(ErrorCode.InvalidField, "keyResetLockWindowBlocks must be at least 1 (ID-5)");
        if (Validators.Count > WireLimits.ValidatorsMax) throw new CustosException(ErrorCode.InvalidField, $"at most {WireLimits.ValidatorsMax} validators");
        var nodes = Validators.Concat(Observers).ToList();
        if (nodes.Select(n => n.Name).Distinct().Count() != nodes.Count) throw new CustosException(ErrorCode.InvalidField, "node names repeat");
        var validator = CreateValidator();
        var organisations = Organisations.ToDictionary(o => o.Id);
        CheckAccounts(suite, organisations);
        foreach (var node in nodes)
        {
            if (!organisations.TryGetValue(node.Organisation, out var organisation))
            {
                throw new CustosException(ErrorCode.InvalidField, $"node {node.Name} names unknown organisation {node.Organisation}");
            }

            var certificate = ConsortiumCertificate.FromPem(node.Certificate, suite);
            var identity = validator.Validate(certificate, GenesisTime, CertificateRole.Node);
            if (identity.Organisation != organisation.Name || identity.CommonName != node.Name)
            {
                throw new CustosException(ErrorCode.CertificateUntrusted, $"node {node.Name}'s certificate is for {identity.CommonName} of {identity.Organisation}");
            }
        }
    }
}

public enum AccountKind
{
    Ordinary,
    Administrator,
    SpecialPrivilege,
}

/// <summary>An account of the genesis state: its id (assigned here, unrelated to its key), owner, key and balance.</summary>
public sealed record GenesisAccountEntry
{
    /// <summary>32 hexadecimal digits (16 bytes).</summary>
    public required string Id { get; init; }

    /// <summary>A name for people and tools (for example "client1@org1"); not used by execution.</summary>
    public required string Label { get; init; }

    public required string Organisation { get; init; }

    public required AccountKind Kind { get; init; }

    /// <summary>SEC1 uncompressed public key, hexadecimal.</summary>
    public required string PublicKey { get; init; }

    public ulong Balance { get; init; }
}

public enum OrganisationKind
{
    /// <summary>A consortium member: a bank, an operating institution, the central bank as issuer.</summary>
    Member,

    /// <summary>The supervisory authority.</summary>
    Regulator,
}

public enum NodeKind
{
    Validator,
    Observer,

    /// <summary>An observer run by the regulator, entitled to escrowed data.</summary>
    Supervisor,
}

public sealed record GenesisOrganisation
{
    /// <summary>Short stable id (for example "org1"), used in file paths and configuration.</summary>
    public required string Id { get; init; }

    /// <summary>Name as it appears in certificates' O= attribute.</summary>
    public required string Name { get; init; }

    public required OrganisationKind Kind { get; init; }

    /// <summary>PEM of the organisation's root CA certificate.</summary>
    public required string CaCertificate { get; init; }
}

public sealed record GenesisNode
{
    public required string Name { get; init; }

    public required string Organisation { get; init; }

    public required NodeKind Kind { get; init; }

    /// <summary>PEM of the node's certificate (role node).</summary>
    public required string Certificate { get; init; }

    /// <summary>host:port peers dial for consensus and sync.</summary>
    public required string P2pAddress { get; init; }

    /// <summary>host:port of the client API.</summary>
    public required string ApiAddress { get; init; }
}

/// <summary>Parameters governance may later change; genesis fixes their first values.</summary>
public sealed record ChainParameters
{
    /// <summary>
    /// Kept so that every validator executes a full block well within a round's timeout even with several nodes
    /// sharing cores: bigger blocks under load made rounds time out and throughput collapse.
    /// </summary>
    public int BlockTransactionsMax { get; init; } = 2_000;

    public int BlockSizeBytesMax { get; init; } = 16 * 1024 * 1024;

    public int RoundTimeoutMs { get; init; } = 1_000;

    /// <summary>Each consecutive timed-out round multiplies the timeout by this factor, up to <see cref="RoundTimeoutMsMax"/>.</summary>
    public double RoundTimeoutBackoff { get; init; } = 1.5;

    public int RoundTimeoutMsMax { get; init; } = 60_000;

    /// <summary>Minimum safe number of validators (GOV-1); a change below it is refused.</summary>
    public int ValidatorsMin { get; init; } = 4;

    /// <summary>The network warns when the validator count falls to this number (GOV-1).</summary>
    public int ValidatorsAlert { get; init; } = 4;

    /// <summary>Blocks during which a key reset can be cancelled by the old key and assets are locked (ID-5).</summary>
    public long KeyResetLockWindowBlocks { get; init; } = 1_000;

    /// <summary>How far a proposal's timestamp may run ahead of a voter's clock.</summary>
    public int BlockTimestampDriftMsMax { get; init; } = 5_000;
}
