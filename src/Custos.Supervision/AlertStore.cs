using Custos.Core;
using Custos.Core.Wire;
using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Supervision;

/// <summary>A page of alerts: whole blocks, in height order. Ask again from <see cref="NextHeight"/> when <see cref="More"/> is set.</summary>
public sealed record AlertPageResult(IReadOnlyList<Alert> Alerts, ulong NextHeight, bool More)
{
    public AlertPage ToMessage()
    {
        var page = new AlertPage { NextHeight = NextHeight, More = More };
        page.Alerts.AddRange(Alerts);
        return page;
    }
}

/// <summary>
/// The supervisor node's durable record of alerts (SUP-6), in a directory of its own (<see cref="AlertLogFormat"/>).
/// The alerts of a block are appended as one checksummed frame and fsynced before <see cref="Persist"/> returns;
/// the height up to which blocks were evaluated is the larger of the progress marker and the last frame's height
/// plus one, so a block whose alerts are on disk is never evaluated into the log twice, and a torn frame at the end
/// (a crash mid-append) is cut off at open and its block evaluated again. Blocks without alerts only move the
/// marker, which is made durable every <see cref="ProgressIntervalBlocks"/> blocks and at <see cref="Checkpoint"/>:
/// after a crash those few alert-free blocks are evaluated again, which is harmless.
///
/// Every alert is also held in memory, indexed by height and by account (subject and counterparty): alerts are
/// exceptions, not a copy of the ledger; the PostgreSQL index serves long histories. One writer (the monitor),
/// any number of readers; thread-safe.
/// </summary>
public sealed class AlertStore : IDisposable
{
    public const int PageSizeMax = 1_000;
    public const int ProgressIntervalBlocks = 64;

    private readonly Lock _gate = new();
    private readonly FileStream _log;
    private readonly FileStream _progress;
    private readonly List<Alert> _alerts = [];
    private readonly Dictionary<AccountId, List<int>> _byAccount = [];
    private readonly HashSet<Hash32> _ids = [];
    private ulong _nextHeight;
    private ulong _durableNextHeight;
    private int _progressSlot;
    private bool _disposed;

    private AlertStore(string directory, FileStream log, FileStream progress)
    {
        Directory = directory;
        _log = log;
        _progress = progress;
    }

    public string Directory { get; }

    /// <summary>The next block height to evaluate: every block below it has been evaluated and its alerts stored.</summary>
    public ulong NextHeight
    {
        get
        {
            lock (_gate) return _nextHeight;
        }
    }

    public int Count
    {
        get
        {
            lock (_gate) return _alerts.Count;
        }
    }

    /// <summary>
    /// Opens the store in <paramref name="directory"/>, creating it if needed; a new store starts evaluating at
    /// <paramref name="firstHeight"/> (an existing one ignores it). A damaged frame that is not the last is
    /// <see cref="ErrorCode.StorageCorrupt"/>: only the end of an append-only file can be torn by a crash.
    /// </summary>
    public static AlertStore Open(string directory, ulong firstHeight = 0)
    {
        FileStream? log = null, progress = null;
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            var logPath = Path.Combine(directory, AlertLogFormat.LogFileName);
            var progressPath = Path.Combine(directory, AlertLogFormat.ProgressFileName);
            log = new FileStream(logPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            progress = new FileStream(progressPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            var store = new AlertStore(directory, log, progress);
            store.Load(firstHeight);
            return store;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log?.Dispose();
            progress?.Dispose();
            throw new CustosException(ErrorCode.StorageIo, $"cannot open the alert store in {directory}: {e.Message}", e);
        }
        catch
        {
            log?.Dispose();
            progress?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Records the alerts of block <paramref name="height"/> and moves <see cref="NextHeight"/> past it. A block
    /// below <see cref="NextHeight"/> was recorded before (evaluated again after a restart): nothing is written and
    /// false is returned. Alerts whose id is already stored are left out. Returns after an fsync when anything was
    /// appended.
    /// </summary>
    public bool Persist(ulong height, IReadOnlyList<Alert> alerts)
    {
        ulong next;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            next = _nextHeight;
        }

        if (height < next) return false;
        if (height > next) throw new CustosException(ErrorCode.InvalidArguments, $"the alert store expects block {next}, not {height}");

        var fresh = new List<Alert>(alerts.Count);
        lock (_gate)
        {
            var batchIds = new HashSet<Hash32>();
            foreach (var alert in alerts)
            {
                if (alert.Height != height) throw new CustosException(ErrorCode.InvalidArguments, $"an alert of block {alert.Height} given for block {height}");
                var id = new Hash32(alert.Id.Span);
                if (!_ids.Contains(id) && batchIds.Add(id)) fresh.Add(alert.Clone());
            }
        }

        try
        {
            if (fresh.Count > 0)
            {
                var batch = new AlertBatch { Height = height };
                batch.Alerts.AddRange(fresh);
                var frame = AlertLogFormat.Frame(batch.ToByteArray());
                if (frame.Length - AlertLogFormat.FrameHeaderBytes > AlertLogFormat.FramePayloadBytesMax)
                {
                    throw new CustosException(ErrorCode.TooLarge, $"block {height} raised more alerts than one frame holds");
                }

                _log.Seek(0, SeekOrigin.End);
                _log.Write(frame);
                _log.Flush(flushToDisk: true);
            }
            else if (height + 1 - _durableNextHeight >= ProgressIntervalBlocks)
            {
                WriteProgress(height + 1);
            }
        }
        catch (IOException e)
        {
            throw new CustosException(ErrorCode.StorageIo, $"cannot write the alert store in {Directory}: {e.Message}", e);
        }

        lock (_gate)
        {
            foreach (var alert in fresh) Index(alert);
            _nextHeight = height + 1;
            if (fresh.Count > 0) _durableNextHeight = _nextHeight;
        }

        return true;
    }

    /// <summary>Makes <see cref="NextHeight"/> durable (the monitor calls it when it has caught up, and at stop).</summary>
    public void Checkpoint()
    {
        ulong next;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            next = _nextHeight;
        }

        if (next == _durableNextHeight) return;
        try
        {
            WriteProgress(next);
        }
        catch (IOException e)
        {
            throw new CustosException(ErrorCode.StorageIo, $"cannot write the alert store's progress in {Directory}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Alerts of blocks <paramref name="fromHeight"/> to <paramref name="toHeight"/> (inclusive; null: the newest),
    /// about <paramref name="account"/> as subject or counterparty when given. At most <paramref name="limit"/>
    /// alerts unless one block alone holds more (pages end at block boundaries). Copies: the caller may keep them.
    /// </summary>
    public AlertPageResult Query(ulong fromHeight, ulong? toHeight = null, AccountId? account = null, int limit = PageSizeMax)
    {
        limit = Math.Clamp(limit, 1, PageSizeMax);
        var to = toHeight ?? ulong.MaxValue;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var end = to == ulong.MaxValue ? _nextHeight : Math.Min(to + 1, _nextHeight);
            IReadOnlyList<int>? positions = null;
            if (account is { } wanted)
            {
                if (!_byAccount.TryGetValue(wanted, out var list)) return new AlertPageResult([], Math.Max(fromHeight, end), false);
                positions = list;
            }

            var count = positions?.Count ?? _alerts.Count;
            Alert At(int i) => _alerts[positions is null ? i : positions[i]];
            var start = LowerBound(count, At, fromHeight);
            var page = new List<Alert>();
            for (var i = start; i < count; i++)
            {
                var alert = At(i);
                if (alert.Height > to) break;
                if (page.Count >= limit && alert.Height != page[^1].Height)
                {
                    return new AlertPageResult(page, alert.Height, true);
                }

                page.Add(alert.Clone());
            }

            return new AlertPageResult(page, Math.Max(fromHeight, end), false);
        }
    }

    /// <summary>Every stored alert in height order (copies), to rebuild the engine's memory of window alerts.</summary>
    public IReadOnlyList<Alert> Snapshot()
    {
        lock (_gate) return _alerts.Select(a => a.Clone()).ToList();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }

        _log.Dispose();
        _progress.Dispose();
    }

    private static int LowerBound(int count, Func<int, Alert> at, ulong height)
    {
        int low = 0, high = count;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (at(middle).Height < height) low = middle + 1;
            else high = middle;
        }

        return low;
    }

    private void Load(ulong firstHeight)
    {
        var slots = new byte[2 * AlertLogFormat.ProgressSlotBytes];
        if (_progress.Length != 0 && _progress.Length != slots.Length)
        {
            throw new CustosException(ErrorCode.StorageCorrupt, $"the alert store's progress file in {Directory} is {_progress.Length} bytes, not {slots.Length}");
        }

        _progress.Seek(0, SeekOrigin.Begin);
        if (_progress.Length == slots.Length) _progress.ReadExactly(slots);
        if (slots.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            // A new store, or one whose creation a crash interrupted before the first marker reached the disk.
            _progress.SetLength(slots.Length);
            _progressSlot = 1;
            WriteProgress(firstHeight);
            _progress.Seek(0, SeekOrigin.Begin);
            _progress.ReadExactly(slots);
        }
        var valid0 = AlertLogFormat.TryReadProgressSlot(slots, out var next0);
        var valid1 = AlertLogFormat.TryReadProgressSlot(slots.AsSpan(AlertLogFormat.ProgressSlotBytes), out var next1);
        if (!valid0 && !valid1) throw new CustosException(ErrorCode.StorageCorrupt, $"neither progress slot of the alert store in {Directory} is valid");
        ulong marker;
        if (valid0 && (!valid1 || next0 >= next1))
        {
            marker = next0;
            _progressSlot = 0;
        }
        else
        {
            marker = next1;
            _progressSlot = 1;
        }

        var (lastFrameHeight, cut) = ReadLog();
        if (cut)
        {
            // Something was cut off the end: its block, and any after it, must be evaluated again even if the marker
            // had passed them (a damaged length field can make a good frame's successors look torn). Both slots are
            // rewritten, since the larger slot wins.
            var next = lastFrameHeight is { } good ? good + 1 : Math.Min(marker, firstHeight);
            _progressSlot = 1;
            WriteProgress(next);
            WriteProgress(next);
            marker = next;
        }

        _nextHeight = lastFrameHeight is { } last ? Math.Max(marker, last + 1) : marker;
        _durableNextHeight = _nextHeight;
    }

    /// <summary>Reads every frame into memory; cuts off a torn last frame. Returns the last frame's height and whether anything was cut.</summary>
    private (ulong? LastHeight, bool Cut) ReadLog()
    {
        var magic = AlertLogFormat.Magic;
        if (_log.Length < magic.Length)
        {
            // New, or torn while the magic itself was written.
            var cut = _log.Length > 0;
            _log.SetLength(0);
            _log.Write(magic);
            _log.Flush(flushToDisk: true);
            return (null, cut);
        }

        _log.Seek(0, SeekOrigin.Begin);
        var head = new byte[magic.Length];
        _log.ReadExactly(head);
        if (!head.AsSpan().SequenceEqual(magic)) throw new CustosException(ErrorCode.StorageCorrupt, $"{_log.Name} is not an alert log of format 1");

        ulong? lastHeight = null;
        var header = new byte[AlertLogFormat.FrameHeaderBytes];
        long position = magic.Length;
        var length = _log.Length;
        while (position < length)
        {
            if (length - position < AlertLogFormat.FrameHeaderBytes) break;
            _log.ReadExactly(header);
            var payloadLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header);
            var crc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            var frameEnd = position + AlertLogFormat.FrameHeaderBytes + payloadLength;
            if (payloadLength > AlertLogFormat.FramePayloadBytesMax || frameEnd > length) break;
            var payload = new byte[payloadLength];
            _log.ReadExactly(payload);
            if (AlertLogFormat.Crc32C(payload) != crc)
            {
                if (frameEnd == length) break;
                throw new CustosException(ErrorCode.StorageCorrupt, $"{_log.Name}: the frame at byte {position} is damaged and is not the last");
            }

            AlertBatch batch;
            try
            {
                batch = AlertBatch.Parser.ParseFrom(payload);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new CustosException(ErrorCode.StorageCorrupt, $"{_log.Name}: the frame at byte {position} does not decode: {e.Message}", e);
            }

            if (lastHeight is { } previous && batch.Height <= previous)
            {
                throw new CustosException(ErrorCode.StorageCorrupt, $"{_log.Name}: block {batch.Height} follows block {previous}");
            }

            foreach (var alert in batch.Alerts)
            {
                if (alert.Height != batch.Height || !Hash32.TryCreate(alert.Id.Span, out _))
                {
                    throw new CustosException(ErrorCode.StorageCorrupt, $"{_log.Name}: the frame of block {batch.Height} holds a malformed alert");
                }

                Index(alert);
            }

            lastHeight = batch.Height;
            position = frameEnd;
        }

        if (position < length)
        {
            // A crash tore the last append: its block was not recorded as evaluated and will be evaluated again.
            _log.SetLength(position);
            _log.Flush(flushToDisk: true);
            return (lastHeight, true);
        }

        return (lastHeight, false);
    }

    private void Index(Alert alert)
    {
        var position = _alerts.Count;
        _alerts.Add(alert);
        _ids.Add(new Hash32(alert.Id.Span));
        if (AccountId.TryCreate(alert.SubjectAccount.Span, out var subject)) IndexAccount(subject, position);
        if (AccountId.TryCreate(alert.Counterparty.Span, out var counterparty) && counterparty != subject) IndexAccount(counterparty, position);
    }

    private void IndexAccount(AccountId account, int position)
    {
        if (!_byAccount.TryGetValue(account, out var list))
        {
            list = [];
            _byAccount.Add(account, list);
        }

        list.Add(position);
    }

    private void WriteProgress(ulong nextHeight)
    {
        // The slot not holding the current marker: a torn write leaves the current one intact.
        var slot = 1 - _progressSlot;
        _progress.Seek(slot * AlertLogFormat.ProgressSlotBytes, SeekOrigin.Begin);
        _progress.Write(AlertLogFormat.ProgressSlot(nextHeight));
        _progress.Flush(flushToDisk: true);
        _progressSlot = slot;
        _durableNextHeight = nextHeight;
    }
}
