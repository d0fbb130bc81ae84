using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Node.Tests.Support;
using Google.Protobuf;

namespace Custos.Node.Tests;

/// <summary>A peer's organisation, as privacy replication routes by it: genesis's nodes, then governance's registrations.</summary>
public sealed class NodeOrganisationsTests
{
    private readonly ChainState _state = new();
    private readonly NodeOrganisations _organisations;

    public NodeOrganisationsTests()
    {
        _organisations = new NodeOrganisations([("node1", "org1"), ("node2", "org2"), ("node3", "org1")], _state);
    }

    private void Register(string node, string organisation)
    {
        _state.Put(ConsortiumRegistry.NodeKey(node), new NodeRegistration { Node = node, Organisation = organisation }.ToByteArray());
        var index = _state.TryGet(ConsortiumRegistry.NodeIndexKey, out var bytes) ? OrganisationIndex.Parser.ParseFrom(bytes) : new OrganisationIndex();
        index.Ids.Add(node);
        _state.Put(ConsortiumRegistry.NodeIndexKey, index.ToByteArray());
    }

    [Fact]
    public void Genesis_nodes_and_nodes_governance_registered_belong_to_their_organisations()
    {
        Register("node9", "org2");

        Assert.Equal("org1", _organisations.OrganisationOf("node3"));
        Assert.Equal("org2", _organisations.OrganisationOf("node9"));
        Assert.Null(_organisations.OrganisationOf("stranger"));
        Assert.Equal(["node1", "node3"], _organisations.NodesOf("org1"));
        Assert.Equal(["node2", "node9"], _organisations.NodesOf("org2"));
        Assert.Empty(_organisations.NodesOf("org3"));
    }

    [Fact]
    public void A_removed_organisations_nodes_belong_to_none()
    {
        _state.Put(ConsortiumRegistry.OrganisationKey("org2"), new OrganisationRecord { Id = "org2", Removed = true }.ToByteArray());

        Assert.Null(_organisations.OrganisationOf("node2"));
        Assert.Empty(_organisations.NodesOf("org2"));
        Assert.Equal("org1", _organisations.OrganisationOf("node1"));
    }
}
