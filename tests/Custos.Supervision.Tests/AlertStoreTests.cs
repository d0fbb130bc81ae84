using System.Buffers.Binary;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;
using static Custos.Supervision.Tests.Chain;

namespace Custos.Supervision.Tests;

public sealed class AlertStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string LogPath => Path.Combine(_directory.Path, "alerts.log");

    private string ProgressPath => Path.Combine(_directory.Path, "progress");

    private static Alert NewAlert(ulong height, ulong n, ulong subject, ulong counterparty = 0)
    {
        var alert = new Alert
        {
            Id = Tx((height * 1_000) + n).ToByteString(),
            RuleId = "large",
            Kind = SupervisionRuleKind.LargeValue,
            Severity = AlertSeverity.High,
            Height = height,
            BlockTimeMs = height * 1_000,
            SubjectAccount = Account(subject).ToByteString(),
            Amount = n,
        };
        if (counterparty != 0) alert.Counterparty = Account(counterparty).ToByteString();
        return alert;
    }

    /// <summary>Persists blocks 0..last, with the given alerts on their blocks.</summary>
    private static void PersistThrough(AlertStore store, ulong last, params Alert[] alerts)
    {
        for (var h = store.NextHeight; h <= last; h++)
        {
            store.Persist(h, alerts.Where(a => a.Height == h).ToList());
        }
    }

    [Fact]
    public void Stored_alerts_and_progress_survive_reopening()
    {
        var alerts = new[] { NewAlert(3, 1, 1, 2), NewAlert(7, 1, 3), NewAlert(7, 2, 4) };
        using (var store = AlertStore.Open(_directory.Path))
        {
            PersistThrough(store, 9, alerts);
            store.Checkpoint();
        }

        using var reopened = AlertStore.Open(_directory.Path);

        Assert.Equal(10UL, reopened.NextHeight);
        Assert.Equal(alerts, reopened.Query(0).Alerts);
    }

    [Fact]
    public void Without_a_checkpoint_evaluation_resumes_after_the_last_block_with_alerts()
    {
        using (var store = AlertStore.Open(_directory.Path))
        {
            PersistThrough(store, 9, NewAlert(7, 1, 3));
        }

        using var reopened = AlertStore.Open(_directory.Path);

        // Blocks 8 and 9 raised nothing and are evaluated again: harmless, and nothing was lost.
        Assert.Equal(8UL, reopened.NextHeight);
        Assert.Equal(1, reopened.Count);
    }

    [Fact]
    public void Progress_of_alert_free_blocks_becomes_durable_every_interval()
    {
        using (var store = AlertStore.Open(_directory.Path))
        {
            PersistThrough(store, AlertStore.ProgressIntervalBlocks + 5);
        }

        using var reopened = AlertStore.Open(_directory.Path);

        Assert.Equal((ulong)AlertStore.ProgressIntervalBlocks, reopened.NextHeight);
    }

    [Fact]
    public void Block_evaluated_again_is_not_stored_twice()
    {
        using var store = AlertStore.Open(_directory.Path);
        PersistThrough(store, 5, NewAlert(5, 1, 1));
        var length = new FileInfo(LogPath).Length;

        Assert.False(store.Persist(5, [NewAlert(5, 1, 1)]));
        Assert.False(store.Persist(2, []));

        Assert.Equal(1, store.Count);
        Assert.Equal(length, new FileInfo(LogPath).Length);
    }

    [Fact]
    public void Alert_with_an_id_already_stored_is_left_out()
    {
        using var store = AlertStore.Open(_directory.Path);
        var alert = NewAlert(0, 1, 1);
        store.Persist(0, [alert, alert.Clone()]);

        Assert.Equal(1, store.Count);
    }

    [Fact]
    public void Skipping_a_block_is_refused()
    {
        using var store = AlertStore.Open(_directory.Path);

        var error = Assert.Throws<CustosException>(() => store.Persist(1, []));

        Assert.Equal(ErrorCode.InvalidArguments, error.Code);
        Assert.Equal(0UL, store.NextHeight);
    }

    [Fact]
    public void Alert_of_another_block_is_refused()
    {
        using var store = AlertStore.Open(_directory.Path);

        Assert.Throws<CustosException>(() => store.Persist(0, [NewAlert(1, 1, 1)]));
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void New_store_starts_at_the_first_height_and_an_existing_one_ignores_it()
    {
        using (var store = AlertStore.Open(_directory.Path, firstHeight: 500))
        {
            Assert.Equal(500UL, store.NextHeight);
            store.Persist(500, []);
            store.Checkpoint();
        }

        using var reopened = AlertStore.Open(_directory.Path, firstHeight: 0);
        Assert.Equal(501UL, reopened.NextHeight);
    }

    [Fact]
    public void Torn_last_frame_is_cut_off_and_its_block_evaluated_again()
    {
        using (var store = AlertStore.Open(_directory.Path))
        {
            PersistThrough(store, 4, NewAlert(2, 1, 1), NewAlert(4, 1, 2));
        }

        // A crash halfway through appending block 4's frame.
        var length = new FileInfo(LogPath).Length;
        using (var log = new FileStream(LogPath, FileMode.Open)) log.SetLength(length - 5);

        using var reopened = AlertStore.Open(_directory.Path);

        Assert.Equal(3UL, reopened.NextHeight);
        Assert.Equal([2UL], reopened.Query(0).Alerts.Select(a => a.Height));
        Assert.True(reopened.Persist(3, []));
        Assert.True(reopened.Persist(4, [NewAlert(4, 1, 2)]));
        Assert.Equal(2, reopened.Count);
    }

    [Fact]
    public void Cut_off_blocks_are_evaluated_again_even_when_the_marker_had_passed_them()
    {
        using (var store = AlertStore.Open(_directory.Path))
        {
            PersistThrough(store, 10, NewAlert(2, 1, 1), NewAlert(4, 1, 2));
            store.Checkpoint();
        }

        // Block 4's frame loses its last bytes although the marker already says 11.
        var length = new FileInfo(LogPath).Length;
        using (var log = new FileStream(LogPath, FileMode.Open)) log.SetLength(length - 1);

        using (var reopened = AlertStore.Open(_directory.Path)) Assert.Equal(3UL, reopened.NextHeight);
        using var again = AlertStore.Open(_directory.Path);
        Assert.Equal(3UL, again.NextHeight);
    }

    [Fact]
    public void Damaged_frame_that_is_not_the_last_is_corruption()
    {
        using (var store = AlertStore.Open(_directory.Path))
        {
            PersistThrough(store, 4, NewAlert(2, 1, 1), NewAlert(4, 1, 2));
        }

        var bytes = File.ReadAllBytes(LogPath);
        bytes[AlertLogFormat.Magic.Length + AlertLogFormat.FrameHeaderBytes + 3] ^= 0xFF;
        File.WriteAllBytes(LogPath, bytes);

        var error = Assert.Throws<CustosException>(() => AlertStore.Open(_directory.Path));
        Assert.Equal(ErrorCode.StorageCorrupt, error.Code);
    }

    [Fact]
    public void Torn_progress_slot_falls_back_to_the_other()
    {
        using (var store = AlertStore.Open(_directory.Path))
        {
            PersistThrough(store, 9);
            store.Checkpoint();
            PersistThrough(store, 19);
            store.Checkpoint();
        }

        // The later checkpoint (20) went to one slot and the earlier (10) to the other; tear the later one.
        var slots = File.ReadAllBytes(ProgressPath);
        var later = BinaryPrimitives.ReadUInt64BigEndian(slots) == 20 ? 0 : 16;
        slots[later + 9] ^= 0xFF;
        File.WriteAllBytes(ProgressPath, slots);

        using var reopened = AlertStore.Open(_directory.Path);
        Assert.Equal(10UL, reopened.NextHeight);
    }

    [Fact]
    public void Damaged_log_opens_with_a_prefix_of_its_blocks_or_is_refused_as_corrupt()
    {
        using (var store = AlertStore.Open(_directory.Path))
        {
            PersistThrough(store, 20, Enumerable.Range(1, 20).Select(h => NewAlert((ulong)h, 1, (ulong)h)).ToArray());
        }

        var original = File.ReadAllBytes(LogPath);
        var random = new Random(5);
        for (var i = 0; i < 60; i++)
        {
            var damaged = original.ToArray();
            if (i % 2 == 0) damaged = damaged[..random.Next(0, damaged.Length)];
            else damaged[random.Next(0, damaged.Length)] ^= (byte)random.Next(1, 256);
            File.WriteAllBytes(LogPath, damaged);
            File.Delete(ProgressPath);

            try
            {
                using var reopened = AlertStore.Open(_directory.Path);
                var heights = reopened.Query(0).Alerts.Select(a => a.Height).ToList();
                Assert.Equal(Enumerable.Range(1, heights.Count).Select(h => (ulong)h), heights);
                Assert.Equal(heights.Count == 0 ? 0UL : (ulong)heights.Count + 1, reopened.NextHeight);
            }
            catch (CustosException e)
            {
                Assert.Equal(ErrorCode.StorageCorrupt, e.Code);
            }
        }
    }

    [Fact]
    public void Log_of_another_format_is_refused()
    {
        File.WriteAllBytes(LogPath, "NOTALOG!and more"u8.ToArray());

        Assert.Equal(ErrorCode.StorageCorrupt, Assert.Throws<CustosException>(() => AlertStore.Open(_directory.Path)).Code);
    }

    [Fact]
    public void Log_format_is_magic_then_length_checksum_and_alert_batch()
    {
        var alert = NewAlert(0, 1, 1);
        using (var store = AlertStore.Open(_directory.Path)) store.Persist(0, [alert]);

        var bytes = File.ReadAllBytes(LogPath);
        Assert.Equal("CSALRT01"u8.ToArray(), bytes[..8]);
        var length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(8));
        var payload = bytes.AsSpan(16, (int)length).ToArray();
        Assert.Equal(bytes.Length, 16 + (int)length);
        Assert.Equal(AlertLogFormat.Crc32C(payload), BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(12)));
        Assert.Equal(new AlertBatch { Height = 0, Alerts = { alert } }, AlertBatch.Parser.ParseFrom(payload));
        // CRC-32C's check value (RFC 3720): the checksum is the standard one, not a variant of our own.
        Assert.Equal(0xE3069283U, AlertLogFormat.Crc32C("123456789"u8));
    }

    [Fact]
    public void Query_by_height_range_is_inclusive()
    {
        using var store = AlertStore.Open(_directory.Path);
        PersistThrough(store, 10, NewAlert(2, 1, 1), NewAlert(5, 1, 1), NewAlert(8, 1, 1), NewAlert(10, 1, 1));

        var page = store.Query(5, 8);

        Assert.Equal([5UL, 8UL], page.Alerts.Select(a => a.Height));
        Assert.False(page.More);
        Assert.Equal(9UL, page.NextHeight);
        Assert.Equal(11UL, store.Query(11).NextHeight);
    }

    [Fact]
    public void Query_by_account_matches_subject_and_counterparty()
    {
        using var store = AlertStore.Open(_directory.Path);
        PersistThrough(store, 3, NewAlert(1, 1, 1, 2), NewAlert(2, 1, 2), NewAlert(3, 1, 3, 4));

        Assert.Equal([1UL, 2UL], store.Query(0, account: Account(2)).Alerts.Select(a => a.Height));
        Assert.Equal([2UL], store.Query(2, account: Account(2)).Alerts.Select(a => a.Height));
        Assert.Empty(store.Query(0, account: Account(99)).Alerts);
    }

    [Fact]
    public void Pages_end_at_block_boundaries()
    {
        using var store = AlertStore.Open(_directory.Path);
        PersistThrough(store, 3, NewAlert(1, 1, 1), NewAlert(1, 2, 1), NewAlert(2, 1, 1), NewAlert(2, 2, 1), NewAlert(3, 1, 1));

        var first = store.Query(0, limit: 3);
        var second = store.Query(first.NextHeight, limit: 3);

        Assert.Equal([1UL, 1UL, 2UL, 2UL], first.Alerts.Select(a => a.Height));
        Assert.True(first.More);
        Assert.Equal(3UL, first.NextHeight);
        Assert.Equal([3UL], second.Alerts.Select(a => a.Height));
        Assert.False(second.More);
    }

    [Fact]
    public void Query_results_are_copies()
    {
        using var store = AlertStore.Open(_directory.Path);
        store.Persist(0, [NewAlert(0, 1, 1)]);

        store.Query(0).Alerts[0].Detail = "changed by a reader";

        Assert.Equal("", store.Query(0).Alerts[0].Detail);
    }

    [Fact]
    public async Task Reading_while_writing_sees_whole_blocks()
    {
        using var store = AlertStore.Open(_directory.Path);
        var writer = Task.Run(() =>
        {
            for (ulong h = 0; h < 100; h++) store.Persist(h, [NewAlert(h, 1, 1), NewAlert(h, 2, 2)]);
        }, TestContext.Current.CancellationToken);

        while (!writer.IsCompleted)
        {
            var alerts = store.Query(0).Alerts;
            Assert.Equal(0, alerts.Count % 2);
        }

        await writer;
        Assert.Equal(200, store.Count);
    }
}
