using CsCheck;
using Custos.Core.Wire;

namespace Custos.Network.Tests;

/// <summary>Back-off, token buckets, bans and option bounds, on an injected clock and seeded randomness.</summary>
public sealed class PeerPolicyTests
{
    [Fact]
    public void Reconnect_delays_double_up_to_the_cap_with_half_of_each_delay_random()
    {
        Gen.Select(Gen.Int, Gen.Int[1, 40]).Sample((seed, attempts) =>
        {
            var initial = TimeSpan.FromMilliseconds(100);
            var max = TimeSpan.FromSeconds(30);
            var backoff = new ReconnectBackoff(initial, max, new Random(seed));
            for (var n = 0; n < attempts; n++)
            {
                var ceiling = Math.Min(max.Ticks, initial.Ticks * (1L << Math.Min(n, 30)));
                var delay = backoff.NextDelay();
                Assert.InRange(delay.Ticks, ceiling / 2, ceiling);
            }

            backoff.Reset();
            Assert.InRange(backoff.NextDelay(), initial / 2, initial);
        });
    }

    [Fact]
    public void An_isolated_node_caps_its_reconnect_delay_lower()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30), new Random(7));
        for (var n = 0; n < 20; n++) backoff.NextDelay();

        Assert.InRange(backoff.NextDelay(TimeSpan.FromSeconds(2)), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.InRange(backoff.NextDelay(), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Equal_seeds_give_equal_delays()
    {
        var first = new ReconnectBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(5), new Random(42));
        var second = new ReconnectBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(5), new Random(42));

        Assert.Equal(Enumerable.Range(0, 10).Select(_ => first.NextDelay()), Enumerable.Range(0, 10).Select(_ => second.NextDelay()));
    }

    [Fact]
    public void A_token_bucket_holds_its_burst_and_refills_at_its_rate()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(ratePerSecond: 10, capacity: 5, clock);

        Assert.Equal(5, Enumerable.Range(0, 8).Count(_ => bucket.TryTake(1)));
        clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.Equal(3, Enumerable.Range(0, 8).Count(_ => bucket.TryTake(1)));
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(5, Enumerable.Range(0, 8).Count(_ => bucket.TryTake(1)));
    }

    [Fact]
    public void A_ban_lasts_its_period_and_a_longer_ban_replaces_a_shorter_one()
    {
        var clock = new ManualClock();
        var bans = new BanList(clock);

        bans.Ban("b", "oversize frame", TimeSpan.FromMinutes(10));
        bans.Ban("b", "repeat", TimeSpan.FromMinutes(1));
        clock.Advance(TimeSpan.FromMinutes(9));

        Assert.True(bans.TryGet("b", out var ban));
        Assert.Equal("oversize frame", ban.Reason);
        Assert.Single(bans.Active);
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.False(bans.IsBanned("b"));
        Assert.Empty(bans.Active);
    }

    [Fact]
    public void Default_options_are_valid_and_options_that_disable_a_bound_are_refused()
    {
        Assert.Null(new PeerNetworkOptions().Validate());
        var defaults = new PeerNetworkOptions();
        PeerNetworkOptions[] invalid =
        [
            defaults with { FrameSizeBytesLimit = NetworkLimits.FrameSizeBytesMax + 1 },
            defaults with { FrameSizeBytesLimit = 0 },
            defaults with { ByteBurstPerPeer = defaults.FrameSizeBytesLimit - 1 },
            defaults with { SendQueueBytesMax = 10 },
            defaults with { BanDuration = TimeSpan.Zero },
            defaults with { ReconnectDelayMax = TimeSpan.FromMilliseconds(1) },
            defaults with { HandshakesPerSecondPerSource = 0 },
        ];

        Assert.All(invalid, options => Assert.Equal(ErrorCode.InvalidField, options.Validate()?.Code));
        Assert.Throws<Core.CustosException>(() => new InMemory.InMemoryPeerNetwork(new InMemory.InMemoryPeerFabric(), "a", ["b"], invalid[0]));
    }
}
