using CsCheck;
using Custos.Core.Wire;
using Custos.Identity.Consortium;

namespace Custos.Network.Tests;

public sealed class PeerEndpointTests
{
    [Theory]
    [InlineData("node-2@127.0.0.1:7102", "node-2", "127.0.0.1", 7102)]
    [InlineData("v1@validator1.bank.example:443", "v1", "validator1.bank.example", 443)]
    [InlineData("v1@[::1]:7101", "v1", "::1", 7101)]
    public void A_peer_written_name_at_host_port_parses(string text, string name, string host, int port)
    {
        var peer = PeerEndpoint.Parse(text);

        Assert.Equal(new PeerEndpoint(name, host, port), peer);
        Assert.Equal(peer, PeerEndpoint.Parse(peer.ToString()));
    }

    [Theory]
    [InlineData("127.0.0.1:7101")]
    [InlineData("@127.0.0.1:7101")]
    [InlineData("v1@127.0.0.1")]
    [InlineData("v1@127.0.0.1:0")]
    [InlineData("v1@127.0.0.1:65536")]
    [InlineData("v1@:7101")]
    [InlineData("v1@127.0.0.1:-1")]
    [InlineData("")]
    public void A_malformed_peer_is_a_typed_error(string text)
    {
        Assert.False(PeerEndpoint.TryParse(text, out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Parsing_any_string_never_throws()
    {
        Gen.String.Sample(text =>
        {
            if (PeerEndpoint.TryParse(text, out var peer, out _)) Assert.Equal(peer, PeerEndpoint.Parse(peer.ToString()));
        });
    }

    [Fact]
    public void Static_peers_from_genesis_are_every_other_node_at_its_p2p_address()
    {
        GenesisNode Node(string name, NodeKind kind, int port) => new()
        {
            Name = name, Organisation = "org1", Kind = kind, Certificate = "", P2pAddress = $"127.0.0.1:{port}", ApiAddress = $"127.0.0.1:{port + 1000}",
        };
        var genesis = new GenesisDocument
        {
            ChainId = "test",
            CryptoSuite = "gm",
            GenesisTime = DateTimeOffset.UnixEpoch,
            Organisations = [],
            Validators = [Node("v1", NodeKind.Validator, 7101), Node("v2", NodeKind.Validator, 7102), Node("v3", NodeKind.Validator, 7103)],
            Observers = [Node("s1", NodeKind.Supervisor, 7104)],
            Parameters = new ChainParameters(),
        };

        var peers = PeerEndpoint.FromGenesis(genesis, "v2");

        Assert.Equal(["v1@127.0.0.1:7101", "v3@127.0.0.1:7103", "s1@127.0.0.1:7104"], peers.Select(p => p.ToString()));
    }
}
