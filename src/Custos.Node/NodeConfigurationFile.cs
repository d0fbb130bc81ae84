using System.Text.Json;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity.Consortium;

namespace Custos.Node;

/// <summary>
/// One node's configuration as `custos init` writes it and `custos node --config` reads it. Paths are relative to
/// the file's own directory, so a network directory can be moved as a whole. Secrets are never in it: the key's
/// passphrase is named by a secret source (<c>file:PATH</c> or <c>env:NAME</c>).
/// </summary>
public sealed record NodeConfigurationFile
{
    public const string FormatTag = "custos-node-config/1";

    public string Format { get; init; } = FormatTag;

    public required string Node { get; init; }

    public required string Organisation { get; init; }

    public required NodeKind Kind { get; init; }

    public required string Genesis { get; init; }

    public required string DataDirectory { get; init; }

    public required string P2pListen { get; init; }

    public required string ApiListen { get; init; }

    /// <summary>Plain HTTP listener for /health, /metrics, the REST API and its OpenAPI document; absent: none.</summary>
    public string? HttpListen { get; init; }

    /// <summary>Key reference: <c>file:PATH</c> to an encrypted key file, or an RFC 7512 <c>pkcs11:</c> URI.</summary>
    public required string Key { get; init; }

    /// <summary>Secret source of the key file's passphrase or the token PIN.</summary>
    public required string KeySecret { get; init; }

    public required string Certificate { get; init; }

    /// <summary>Static peers as name@host:port.</summary>
    public required IReadOnlyList<string> Peers { get; init; }

    /// <summary>A supervisor node's alert store, webhook and SQL index (ignored on other kinds of node).</summary>
    public SupervisionSettings? Supervision { get; init; }

    /// <summary>
    /// PEM files of CA certificates to trust besides genesis's: a node of an organisation the consortium admitted
    /// by governance after genesis names its own organisation's CA here, so that it can start before it has synced
    /// the state that records it. Nodes learn every admitted organisation's CA from state as well.
    /// </summary>
    public IReadOnlyList<string>? Authorities { get; init; }

    public byte[] Encode() => JsonSerializer.SerializeToUtf8Bytes(this, GenesisDocument.JsonOptions);

    public static NodeConfigurationFile Load(string path)
    {
        if (!File.Exists(path)) throw new CustosException(ErrorCode.NotFound, $"no node configuration at {path}");
        try
        {
            var config = JsonSerializer.Deserialize<NodeConfigurationFile>(File.ReadAllBytes(path), GenesisDocument.JsonOptions)
                ?? throw new CustosException(ErrorCode.Malformed, $"{path} is empty");
            if (config.Format != FormatTag) throw new CustosException(ErrorCode.UnsupportedVersion, $"{path}: format '{config.Format}' is not {FormatTag}");
            return config;
        }
        catch (JsonException e)
        {
            throw new CustosException(ErrorCode.Malformed, $"{path} is not a valid node configuration: {e.Message}");
        }
    }
}
