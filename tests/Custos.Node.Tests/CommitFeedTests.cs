using Custos.Core;

namespace Custos.Node.Tests;

public sealed class CommitFeedTests
{
    // Long enough that a wait ending before it can only have been ended by a commit; never reached by a passing test.
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private static Hash32 Id(byte value)
    {
        var bytes = new byte[Hash32.SizeBytes];
        bytes[0] = value;
        return new Hash32(bytes);
    }

    [Fact]
    public async Task Waiter_registered_before_the_commit_completes_when_it_is_published()
    {
        var feed = new CommitFeed();
        var committed = false;
        var waiting = feed.WaitAsync(Id(1), () => Volatile.Read(ref committed), Patience, TestContext.Current.CancellationToken);
        Assert.False(waiting.IsCompleted);

        Volatile.Write(ref committed, true);
        feed.Published(5, [Id(2), Id(1)]);

        Assert.True(await waiting.WaitAsync(Patience / 2, TestContext.Current.CancellationToken));
        Assert.Equal(5, feed.Height);
    }

    [Fact]
    public async Task Waiter_registered_after_the_commit_sees_it_committed()
    {
        var feed = new CommitFeed();
        feed.Published(3, [Id(1)]);

        var result = await feed.WaitAsync(Id(1), () => true, Patience, TestContext.Current.CancellationToken);

        Assert.True(result);
    }

    [Fact]
    public async Task Wait_for_a_transaction_never_committed_times_out_with_false()
    {
        var feed = new CommitFeed();
        feed.Published(1, [Id(2)]);

        var result = await feed.WaitAsync(Id(1), () => false, TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken);

        Assert.False(result);
    }

    [Fact]
    public async Task Timed_out_wait_still_reports_a_commit_the_store_shows()
    {
        // The commit landed in storage but its publication has not reached the feed yet: the store is the authority.
        var feed = new CommitFeed();
        var checks = 0;

        var result = await feed.WaitAsync(Id(1), () => Interlocked.Increment(ref checks) > 1, TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken);

        Assert.True(result);
    }

    [Fact]
    public async Task Cancelled_wait_ends_with_cancellation()
    {
        var feed = new CommitFeed();
        using var cancellation = new CancellationTokenSource();
        var waiting = feed.WaitAsync(Id(1), () => false, Patience, cancellation.Token);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Fact]
    public async Task After_height_completes_when_a_higher_height_is_published()
    {
        var feed = new CommitFeed();
        feed.Published(4, []);
        var waiting = feed.AfterHeightAsync(4, TestContext.Current.CancellationToken);
        Assert.False(waiting.IsCompleted);

        feed.Published(5, []);

        await waiting.WaitAsync(Patience, TestContext.Current.CancellationToken);
        Assert.True(waiting.IsCompletedSuccessfully);
    }

    [Fact]
    public void After_height_below_the_published_height_is_complete_at_once()
    {
        var feed = new CommitFeed();
        feed.Published(7, []);

        Assert.True(feed.AfterHeightAsync(6, TestContext.Current.CancellationToken).IsCompletedSuccessfully);
        Assert.True(feed.AfterHeightAsync(-1, TestContext.Current.CancellationToken).IsCompletedSuccessfully);
        Assert.False(feed.AfterHeightAsync(7, TestContext.Current.CancellationToken).IsCompleted);
    }

    [Fact]
    public void Nothing_published_reads_as_height_minus_one()
    {
        var feed = new CommitFeed();

        Assert.Equal(-1, feed.Height);
        Assert.False(feed.AfterHeightAsync(-1, TestContext.Current.CancellationToken).IsCompleted);
    }

    [Fact]
    public async Task Every_stream_reader_waiting_on_a_height_is_woken_by_one_commit()
    {
        var feed = new CommitFeed();
        var readers = Enumerable.Range(0, 8).Select(_ => feed.AfterHeightAsync(-1, TestContext.Current.CancellationToken)).ToList();

        feed.Published(0, []);

        await Task.WhenAll(readers).WaitAsync(Patience, TestContext.Current.CancellationToken);
        Assert.All(readers, r => Assert.True(r.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task Second_waiter_on_an_id_is_told_of_the_commit_after_the_first_timed_out()
    {
        var feed = new CommitFeed();
        var committed = false;
        var patient = feed.WaitAsync(Id(1), () => Volatile.Read(ref committed), Patience, TestContext.Current.CancellationToken);
        var hasty = await feed.WaitAsync(Id(1), () => Volatile.Read(ref committed), TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken);
        Assert.False(hasty);

        Volatile.Write(ref committed, true);
        feed.Published(1, [Id(1)]);

        // Told of the commit, the patient waiter ends now; otherwise it would sit out its two-minute timeout.
        var ended = await Task.WhenAny(patient, Task.Delay(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        Assert.Same(patient, ended);
        Assert.True(await patient);
    }
}
