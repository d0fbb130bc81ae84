using Custos.Core.Wire;
using Custos.Execution;

namespace Custos.Governance.Tests;

public sealed class NodeRegistrationTests
{
    [Fact]
    public void An_administrator_registers_a_node_of_its_organisation_with_its_facts()
    {
        var consortium = new Consortium();
        var key = Consortium.Suite.GenerateKey();

        var receipt = consortium.RegisterNode(Consortium.Admin(2), "node5", key.PublicKey.Encoded);

        Assert.Equal(ErrorCode.Ok, receipt.Code);
        var node = ConsortiumRegistry.LoadNode(consortium.Ledger, "node5")!;
        Assert.Equal(("org2", "1.0.0", "Linux 6.8", 8u, "node5.example", "node5.example:7100"),
            (node.Organisation, node.SoftwareVersion, node.OperatingSystem, node.ProcessorCount, node.HostName, node.P2PEndpoint));
        Assert.Equal(key.PublicKey.ToArray(), node.PublicKey.ToByteArray());
        Assert.Equal(consortium.Height, node.RegisteredHeight);
        Assert.Equal(consortium.Ledger.Ids[Consortium.Admin(2)].ToByteString(), node.RegisteredBy);
        Assert.Equal(["node5"], ConsortiumRegistry.LoadNodes(consortium.Ledger).Select(n => n.Node));
        Assert.Contains(receipt.Events, e => e.Name == "node_registered");
    }

    [Fact]
    public void Re_registration_updates_the_facts_and_only_the_owning_organisation_may_do_it()
    {
        var consortium = new Consortium();
        var key = Consortium.Suite.GenerateKey();
        consortium.RegisterNode(Consortium.Admin(2), "node5", key.PublicKey.Encoded);

        Assert.Equal(ErrorCode.PermissionDenied, consortium.RegisterNode(Consortium.Admin(3), "node5", key.PublicKey.Encoded, "9.9.9").Code);
        Assert.Equal(ErrorCode.Ok, consortium.RegisterNode(Consortium.Admin(2), "node5", key.PublicKey.Encoded, "1.1.0").Code);

        var node = ConsortiumRegistry.LoadNode(consortium.Ledger, "node5")!;
        Assert.Equal("1.1.0", node.SoftwareVersion);
        Assert.Equal(consortium.Height, node.RegisteredHeight);
        Assert.Single(ConsortiumRegistry.LoadNodes(consortium.Ledger));
    }

    [Fact]
    public void A_validator_keeps_its_key_on_re_registration()
    {
        var consortium = new Consortium();
        consortium.RegisterNode(Consortium.Admin(1), "node1", consortium.ValidatorKeys[0].PublicKey.Encoded);

        var receipt = consortium.RegisterNode(Consortium.Admin(1), "node1", Consortium.Suite.GenerateKey().PublicKey.Encoded);

        Assert.Equal(ErrorCode.InvalidArguments, receipt.Code);
        Assert.Equal(consortium.ValidatorKeys[0].PublicKey.ToArray(), ConsortiumRegistry.LoadNode(consortium.Ledger, "node1")!.PublicKey.ToByteArray());
    }

    [Fact]
    public void Registration_is_refused_to_ordinary_accounts_and_for_keys_that_are_not_keys()
    {
        var consortium = new Consortium();

        Assert.Equal(ErrorCode.PermissionDenied, consortium.RegisterNode(consortium.Ordinary, "node5", Consortium.Suite.GenerateKey().PublicKey.Encoded).Code);
        Assert.Equal(ErrorCode.PublicKeyInvalid, consortium.RegisterNode(Consortium.Admin(1), "node5", new byte[33]).Code);
        Assert.Equal(ErrorCode.InvalidArguments, consortium.RegisterNode(Consortium.Admin(1), "node 5", Consortium.Suite.GenerateKey().PublicKey.Encoded).Code);
        Assert.Empty(ConsortiumRegistry.LoadNodes(consortium.Ledger));
    }
}
