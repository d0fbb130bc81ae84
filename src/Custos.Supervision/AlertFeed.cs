using System.Threading.Channels;
using Custos.Execution.Wire;

namespace Custos.Supervision;

/// <summary>
/// Hands newly stored alerts to live subscribers (the API's streams). Publishing never waits: each subscriber has a
/// bounded queue, and one that falls behind by more than its capacity is cut off (its reader ends, and
/// <see cref="AlertSubscription.LaggedAt"/> is set) rather than slowing the monitor or holding memory; it then reads
/// the gap back from the <see cref="AlertStore"/> by height. Thread-safe.
/// </summary>
public sealed class AlertFeed
{
    public const int SubscriberCapacityDefault = 4_096;

    private readonly Lock _gate = new();
    private readonly List<AlertSubscription> _subscribers = [];

    public int SubscriberCount
    {
        get
        {
            lock (_gate) return _subscribers.Count;
        }
    }

    public AlertSubscription Subscribe(int capacity = SubscriberCapacityDefault)
    {
        var channel = Channel.CreateBounded<Alert>(new BoundedChannelOptions(Math.Max(1, capacity))
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var subscription = new AlertSubscription(this, channel);
        lock (_gate) _subscribers.Add(subscription);
        return subscription;
    }

    /// <summary>Offers the alerts of one block to every subscriber, in order. Called after the store persisted them.</summary>
    public void Publish(IReadOnlyList<Alert> alerts)
    {
        if (alerts.Count == 0) return;
        AlertSubscription[] subscribers;
        lock (_gate) subscribers = [.. _subscribers];
        foreach (var subscriber in subscribers)
        {
            foreach (var alert in alerts)
            {
                if (subscriber.Channel.Writer.TryWrite(alert.Clone())) continue;
                subscriber.LaggedAt = alert.Height;
                subscriber.Channel.Writer.TryComplete(new AlertFeedLaggedException(alert.Height));
                Remove(subscriber);
                break;
            }
        }
    }

    internal void Remove(AlertSubscription subscription)
    {
        lock (_gate) _subscribers.Remove(subscription);
    }
}

/// <summary>A live subscription to <see cref="AlertFeed"/>; dispose it to stop receiving.</summary>
public sealed class AlertSubscription : IDisposable
{
    private readonly AlertFeed _feed;

    internal AlertSubscription(AlertFeed feed, Channel<Alert> channel)
    {
        _feed = feed;
        Channel = channel;
    }

    /// <summary>
    /// The reader; once it ends with a <see cref="ChannelClosedException"/> wrapping an
    /// <see cref="AlertFeedLaggedException"/>, <see cref="LaggedAt"/> says from which block to read the store again.
    /// </summary>
    public ChannelReader<Alert> Reader => Channel.Reader;

    /// <summary>The height of the first alert this subscriber missed, once it fell behind; null until then.</summary>
    public ulong? LaggedAt { get; internal set; }

    internal Channel<Alert> Channel { get; }

    public void Dispose()
    {
        Channel.Writer.TryComplete();
        _feed.Remove(this);
    }
}

/// <summary>The subscriber fell behind; it should read from <see cref="FromHeight"/> again out of the store.</summary>
public sealed class AlertFeedLaggedException(ulong fromHeight)
    : Exception($"the alert stream fell behind at block {fromHeight}; read again from there")
{
    public ulong FromHeight { get; } = fromHeight;
}
