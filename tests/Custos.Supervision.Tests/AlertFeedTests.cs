using System.Threading.Channels;
using Custos.Execution.Wire;
using static Custos.Supervision.Tests.Chain;

namespace Custos.Supervision.Tests;

public sealed class AlertFeedTests
{
    private static Alert NewAlert(ulong height) => new() { Id = Tx(height).ToByteString(), RuleId = "large", Height = height };

    [Fact]
    public void Every_subscriber_receives_each_alert_in_order()
    {
        var feed = new AlertFeed();
        using var first = feed.Subscribe();
        using var second = feed.Subscribe();

        feed.Publish([NewAlert(1), NewAlert(2)]);

        foreach (var subscription in new[] { first, second })
        {
            Assert.True(subscription.Reader.TryRead(out var a));
            Assert.True(subscription.Reader.TryRead(out var b));
            Assert.Equal([1UL, 2UL], new[] { a.Height, b.Height });
        }
    }

    [Fact]
    public async Task Subscriber_that_falls_behind_is_cut_off_without_holding_up_the_others()
    {
        var feed = new AlertFeed();
        using var slow = feed.Subscribe(capacity: 2);
        using var fast = feed.Subscribe();

        feed.Publish([NewAlert(1), NewAlert(2), NewAlert(3)]);

        Assert.Equal(1, feed.SubscriberCount);
        Assert.True(slow.Reader.TryRead(out _));
        Assert.True(slow.Reader.TryRead(out _));
        var closed = await Assert.ThrowsAsync<ChannelClosedException>(async () => await slow.Reader.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal(3UL, Assert.IsType<AlertFeedLaggedException>(closed.InnerException).FromHeight);
        Assert.Equal(3UL, slow.LaggedAt);
        Assert.Null(fast.LaggedAt);
        Assert.Equal(3, fast.Reader.Count);
    }

    [Fact]
    public async Task Disposed_subscription_ends_its_reader_and_leaves_the_feed()
    {
        var feed = new AlertFeed();
        var subscription = feed.Subscribe();

        subscription.Dispose();
        feed.Publish([NewAlert(1)]);

        Assert.Equal(0, feed.SubscriberCount);
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await subscription.Reader.ReadAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Subscribers_get_copies()
    {
        var feed = new AlertFeed();
        using var subscription = feed.Subscribe();
        var alert = NewAlert(1);

        feed.Publish([alert]);
        alert.Detail = "changed after publishing";

        Assert.True(subscription.Reader.TryRead(out var received));
        Assert.Equal("", received.Detail);
    }
}
