using Custos.Consensus.Tests.Support;
using Custos.Consensus.Wire;

namespace Custos.Consensus.Tests;

/// <summary>The empty-block delay (docs/consensus.md, proposing): idle leaders hold back empty blocks for a while.</summary>
public sealed class EmptyBlockDelayTests
{
    private static TestNetwork IdleNetwork(int delayMs, bool idle)
    {
        var chain = new TestChain
        {
            Config = new ConsensusConfig { ChainId = TestChain.Id, RoundTimeoutMs = 1_000, RoundTimeoutBackoff = 1.5, RoundTimeoutMsMax = 8_000, EmptyBlockDelayMs = delayMs },
        };
        var network = new TestNetwork(chain, 4);
        foreach (var node in network.Nodes)
        {
            node.PayloadSource = idle ? new IdlePayloadSource() : new EmptyPayloadSource();
            node.NewEngine(null);
        }

        return network;
    }

    private static int Proposals(TestNetwork network) =>
        network.Nodes.Sum(n => n.SentMessages().Count(m => m.BodyCase == ConsensusMessage.BodyOneofCase.Proposal));

    [Fact]
    public void Leader_with_nothing_to_propose_on_an_empty_parent_waits_until_the_delay_has_passed()
    {
        var network = IdleNetwork(200, idle: true);
        network.StartAll();
        network.Run();
        Assert.Equal(0, Proposals(network));

        foreach (var node in network.Nodes)
        {
            node.Now += 100;
            node.Handle(new ProposalDue());
        }

        network.Run();
        Assert.Equal(0, Proposals(network));

        foreach (var node in network.Nodes)
        {
            node.Now += 100;
            node.Handle(new ProposalDue());
        }

        network.Run();
        Assert.True(Proposals(network) >= 1);
    }

    [Fact]
    public void Leader_with_payload_proposes_at_once()
    {
        var network = IdleNetwork(200, idle: false);
        network.StartAll();
        network.Run();
        Assert.True(Proposals(network) >= 1);
    }

    [Fact]
    public void Without_a_delay_an_idle_leader_proposes_at_once()
    {
        var network = IdleNetwork(0, idle: true);
        network.StartAll();
        network.Run();
        Assert.True(Proposals(network) >= 1);
    }

    [Fact]
    public void A_delay_not_below_the_round_timeout_is_refused()
    {
        var chain = new TestChain
        {
            Config = new ConsensusConfig { ChainId = TestChain.Id, RoundTimeoutMs = 1_000, EmptyBlockDelayMs = 1_000 },
        };
        var error = Assert.Throws<Core.CustosException>(() => new TestNode(chain, 0));
        Assert.Equal(Core.Wire.ErrorCode.InvalidField, error.Error.Code);
    }
}
