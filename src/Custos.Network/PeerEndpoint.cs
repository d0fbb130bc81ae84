using System.Globalization;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Identity.Consortium;

namespace Custos.Network;

/// <summary>A static peer: the node's name (its certificate's CN) and where it listens, written <c>name@host:port</c>.</summary>
public sealed record PeerEndpoint(string Name, string Host, int Port)
{
    public override string ToString() => $"{Name}@{Address}";

    /// <summary><c>host:port</c>, with IPv6 hosts in brackets.</summary>
    public string Address => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    public static bool TryParse(string? text, out PeerEndpoint endpoint, out CustosError error)
    {
        endpoint = null!;
        if (string.IsNullOrWhiteSpace(text) || text.Length > NetworkLimits.PeerAddressLengthMax)
        {
            error = new CustosError(ErrorCode.InvalidField, $"a peer is written name@host:port in at most {NetworkLimits.PeerAddressLengthMax} characters");
            return false;
        }

        var at = text.IndexOf('@');
        if (at <= 0)
        {
            error = new CustosError(ErrorCode.InvalidField, $"peer '{text}' has no name (expected name@host:port)");
            return false;
        }

        var name = text[..at];
        if (!TryParseAddress(text[(at + 1)..], out var host, out var port, out error)) return false;
        return TryCreate(name, host, port, out endpoint, out error);
    }

    public static PeerEndpoint Parse(string text) => TryParse(text, out var endpoint, out var error) ? endpoint : throw error.ToException();

    /// <summary>Builds an endpoint from a name and a <c>host:port</c> address (as genesis writes a node's P2P address).</summary>
    public static bool TryCreate(string name, string address, out PeerEndpoint endpoint, out CustosError error)
    {
        endpoint = null!;
        if (!TryParseAddress(address, out var host, out var port, out error)) return false;
        return TryCreate(name, host, port, out endpoint, out error);
    }

    /// <summary>Every validator and observer of genesis except <paramref name="localNode"/>, at its P2P address.</summary>
    public static IReadOnlyList<PeerEndpoint> FromGenesis(GenesisDocument genesis, string localNode)
    {
        var peers = new List<PeerEndpoint>();
        foreach (var node in genesis.Validators.Concat(genesis.Observers))
        {
            if (node.Name == localNode) continue;
            if (!TryCreate(node.Name, node.P2pAddress, out var endpoint, out var error)) throw error.ToException();
            peers.Add(endpoint);
        }

        return peers;
    }

    private static bool TryCreate(string name, string host, int port, out PeerEndpoint endpoint, out CustosError error)
    {
        endpoint = null!;
        if (!IsValidName(name))
        {
            error = new CustosError(ErrorCode.InvalidField, $"peer name '{name}' is empty, longer than {NetworkLimits.NodeNameLengthMax} characters or has a control character");
            return false;
        }

        endpoint = new PeerEndpoint(name, host, port);
        error = null!;
        return true;
    }

    internal static bool IsValidName(string name) =>
        name.Length is > 0 and <= NetworkLimits.NodeNameLengthMax && !name.Any(char.IsControl) && !name.Contains('@');

    private static bool TryParseAddress(string address, out string host, out int port, out CustosError error)
    {
        host = string.Empty;
        port = 0;
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1)
        {
            error = new CustosError(ErrorCode.InvalidField, $"address '{address}' is not host:port");
            return false;
        }

        host = address[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            error = new CustosError(ErrorCode.InvalidField, $"address '{address}' has no valid host");
            return false;
        }

        if (!int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            error = new CustosError(ErrorCode.InvalidField, $"address '{address}' has no port in 1-65535");
            return false;
        }

        error = null!;
        return true;
    }
}
