using Custos.Execution;
using Custos.Execution.Wire;
using Custos.Identity;
using Custos.Network;
using Custos.Network.InMemory;
using Custos.Network.Tls;
using Custos.Node.Tests.Support;
using Google.Protobuf;

namespace Custos.Node.Tests;

/// <summary>The node trusts and dials whom governance admitted, and stops trusting organisations it removed.</summary>
public sealed class ConsortiumMembershipTests
{
    private static readonly TestConsortium Consortium = TestConsortium.Intl;

    private static (WrittenState State, CertificateAuthority Authority) StateWithAdmittedOrganisation(bool removed)
    {
        var suite = Consortium.Suite;
        var authority = CertificateAuthority.CreateRoot("org9", suite.GenerateKey(), suite, TimeSpan.FromDays(30));
        var organisation = new OrganisationRecord { Id = "org9", Role = OrganisationRole.Member, CaCertificatePem = authority.Certificate.ToPem(), Removed = removed };
        var node = new NodeRegistration { Node = "node9", Organisation = "org9", P2PEndpoint = "127.0.0.1:7999", SoftwareVersion = "1.0" };
        var state = new WrittenState([
            new(ConsortiumRegistry.OrganisationKey("org9"), organisation.ToByteArray()),
            new(ConsortiumRegistry.OrganisationIndexKey, new OrganisationIndex { Ids = { "org9" } }.ToByteArray()),
            new(ConsortiumRegistry.NodeKey("node9"), node.ToByteArray()),
            new(ConsortiumRegistry.NodeIndexKey, new OrganisationIndex { Ids = { "node9" } }.ToByteArray()),
        ]);
        return (state, authority);
    }

    private static ConsortiumCertificate NodeCertificate(CertificateAuthority authority) =>
        authority.Issue(new CertificateRequest("node9", CertificateRole.Node, Consortium.Suite.GenerateKey().PublicKey));

    [Fact]
    public async Task Admitted_organisation_becomes_trusted_and_its_registered_node_a_peer()
    {
        var chain = ChainSetup.FromBytes(Consortium.Encoded);
        var trust = new TrustStore(chain.Genesis.CreateValidator());
        await using var network = new InMemoryPeerNetwork(new InMemoryPeerFabric(), "node1", ["node2"]);
        var membership = new ConsortiumMembership(chain, "node1", trust, network, [], NodeLog.Null);
        var (state, authority) = StateWithAdmittedOrganisation(removed: false);
        var certificate = NodeCertificate(authority);
        Assert.False(trust.TryValidate(certificate, [CertificateRole.Node], out _, out _));

        membership.Apply(state);

        Assert.True(trust.TryValidate(certificate, [CertificateRole.Node], out var identity, out var error), error?.Message);
        Assert.Equal("node9", identity.CommonName);
        Assert.Contains(network.Peers, p => p.Name == "node9");
        Assert.True(chain.TryGetNode("node9", out var id));
        Assert.Equal("node9", chain.NameOf(id));
    }

    [Fact]
    public async Task Removed_organisation_is_no_longer_trusted_and_its_nodes_are_not_dialled()
    {
        var chain = ChainSetup.FromBytes(Consortium.Encoded);
        var trust = new TrustStore(chain.Genesis.CreateValidator());
        await using var network = new InMemoryPeerNetwork(new InMemoryPeerFabric(), "node1", ["node2"]);
        var membership = new ConsortiumMembership(chain, "node1", trust, network, [], NodeLog.Null);
        var (admitted, authority) = StateWithAdmittedOrganisation(removed: false);
        membership.Apply(admitted);
        var certificate = NodeCertificate(authority);
        Assert.True(trust.TryValidate(certificate, [CertificateRole.Node], out _, out _));

        var removedOrganisation = new OrganisationRecord { Id = "org9", Role = OrganisationRole.Member, CaCertificatePem = authority.Certificate.ToPem(), Removed = true };
        membership.Apply(new WrittenState([
            new(ConsortiumRegistry.OrganisationKey("org9"), removedOrganisation.ToByteArray()),
            new(ConsortiumRegistry.OrganisationIndexKey, new OrganisationIndex { Ids = { "org9" } }.ToByteArray()),
        ]));

        Assert.False(trust.TryValidate(certificate, [CertificateRole.Node], out _, out _));
        // Genesis organisations stay trusted.
        Assert.True(trust.TryValidate(Consortium.NodeCertificates[0], [CertificateRole.Node], out _, out _));
    }

    [Fact]
    public void Writes_outside_the_consortium_registry_do_not_touch_membership()
    {
        var registry = new StateOverlay(EmptyState.Instance);
        registry.Put(ConsortiumRegistry.ValidatorsKey, [1]);
        registry.CommitTransaction();
        var tokens = new StateOverlay(EmptyState.Instance);
        tokens.Put(TokenContract.SupplyKey, [1]);
        tokens.CommitTransaction();

        Assert.True(ConsortiumMembership.Touches(registry.BlockWrites));
        Assert.False(ConsortiumMembership.Touches(tokens.BlockWrites));
    }
}
