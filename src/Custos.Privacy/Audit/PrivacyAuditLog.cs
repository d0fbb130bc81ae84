using System.Buffers.Binary;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Privacy.Masking;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Audit;

/// <summary>One use of private data, as the audit log records it.</summary>
public sealed record PrivacyAccess(string Reader, string Organisation, string Contract, string Collection, byte[] Key, string Purpose, string Action);

/// <summary>The last entry of an audit log: anchor it elsewhere (a block, a report) to detect truncation later.</summary>
public readonly record struct AuditHead(ulong Sequence, Hash32 Hash);

/// <summary>
/// Every read of private data, with who, what and when (§14.4 "信息使用时，应明确记录使用者、使用内容、使用时间"; PRI-4).
/// Append-only and hash-chained: each entry carries the hash of the one before, so changing, inserting or removing
/// an entry breaks the chain at the next one. Removing the tail leaves a shorter valid chain; that is detected by
/// comparing with an anchored <see cref="AuditHead"/>. Keys are recorded masked and as a hash, so that the log does
/// not itself become a list of identifiers. Thread-safe: appends are serialised.
/// </summary>
/// <remarks>
/// File format: a sequence of records, each a 4-byte big-endian length and an encoded <see cref="PrivacyAuditEntry"/>.
/// An entry's hash is H(domain ‖ entry bytes). An incomplete last record (a crash mid-append) is cut off on open:
/// the read it was logging never returned its data, since the entry is written before the data is handed out.
/// </remarks>
public sealed class PrivacyAuditLog : IDisposable
{
    public const int EntrySizeBytesMax = 4096;
    public const int FieldSizeBytesMax = 512;

    private readonly object _lock = new();
    private readonly IHashFunction _hash;
    private readonly TimeProvider _time;
    private readonly FileStream _file;
    private AuditHead _head;

    private PrivacyAuditLog(IHashFunction hash, TimeProvider time, FileStream file, AuditHead head, bool cutTornTail)
    {
        _hash = hash;
        _time = time;
        _file = file;
        _head = head;
        CutTornTail = cutTornTail;
    }

    public AuditHead Head
    {
        get
        {
            lock (_lock) return _head;
        }
    }

    /// <summary>True when opening found an incomplete last record and removed it.</summary>
    public bool CutTornTail { get; }

    /// <summary>Opens (or creates) the log at <paramref name="path"/>, verifying the whole chain first.</summary>
    public static PrivacyAuditLog Open(string path, IHashFunction hash, TimeProvider time)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        FileStream file;
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.Read };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            file = new FileStream(path, options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CustosException(ErrorCode.StorageIo, $"cannot open the privacy audit log {path}: {e.Message}", e);
        }

        try
        {
            if (!TryScan(file, hash, onEntry: null, out var head, out var validLength, out var error)) throw error.ToException();
            var torn = validLength < file.Length;
            if (torn) file.SetLength(validLength);
            file.Seek(0, SeekOrigin.End);
            return new PrivacyAuditLog(hash, time, file, head, torn);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Records one access and returns its entry. Throws on an I/O failure, so the caller does not hand out data unlogged.</summary>
    public PrivacyAuditEntry Append(PrivacyAccess access)
    {
        var entry = new PrivacyAuditEntry
        {
            AtMs = (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds(),
            Reader = Bounded(access.Reader, "reader"),
            Organisation = Bounded(access.Organisation, "organisation"),
            Contract = Bounded(access.Contract, "contract"),
            Collection = Bounded(access.Collection, "collection"),
            KeyMasked = IdentifierMask.Bytes(access.Key),
            KeyHash = KeyHash(_hash, access.Key).ToByteString(),
            Purpose = Bounded(access.Purpose, "purpose"),
            Action = Bounded(access.Action, "action"),
        };
        lock (_lock)
        {
            entry.Sequence = _head.Sequence + 1;
            entry.PreviousHash = _head.Hash.ToByteString();
            var bytes = entry.ToByteArray();
            if (bytes.Length > EntrySizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"an audit entry is at most {EntrySizeBytesMax} bytes");
            var record = new byte[4 + bytes.Length];
            BinaryPrimitives.WriteInt32BigEndian(record, bytes.Length);
            bytes.CopyTo(record, 4);
            try
            {
                _file.Write(record);
                _file.Flush(flushToDisk: true);
            }
            catch (IOException e)
            {
                throw new CustosException(ErrorCode.StorageIo, $"cannot append to the privacy audit log: {e.Message}", e);
            }

            _head = new AuditHead(entry.Sequence, EntryHash(_hash, bytes));
        }

        return entry;
    }

    /// <summary>
    /// Verifies the log at <paramref name="path"/>: every entry decodes, sequences run from 1 without a gap, and each
    /// entry names the hash of the one before. With <paramref name="expectedHead"/> the log must also end there.
    /// </summary>
    public static bool TryVerify(string path, IHashFunction hash, AuditHead? expectedHead, out AuditHead head, out CustosError error) =>
        TryRead(path, hash, expectedHead, entries: null, out head, out error);

    /// <summary>The verified entries of the log at <paramref name="path"/>, for an auditor.</summary>
    public static IReadOnlyList<PrivacyAuditEntry> ReadVerified(string path, IHashFunction hash, AuditHead? expectedHead = null)
    {
        var entries = new List<PrivacyAuditEntry>();
        return TryRead(path, hash, expectedHead, entries, out _, out var error) ? entries : throw error.ToException();
    }

    /// <summary>The hash the log records for a key: an auditor who holds a key finds its reads by it.</summary>
    public static Hash32 KeyHash(IHashFunction hash, ReadOnlySpan<byte> key)
    {
        using var accumulator = hash.Begin();
        accumulator.Append(PrivacyDomains.AuditKey);
        accumulator.Append(key);
        return accumulator.Finish();
    }

    public void Dispose() => _file.Dispose();

    private static bool TryRead(string path, IHashFunction hash, AuditHead? expectedHead, List<PrivacyAuditEntry>? entries, out AuditHead head, out CustosError error)
    {
        head = default;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (!TryScan(file, hash, entries is null ? null : entries.Add, out head, out var validLength, out error)) return false;
            if (validLength < file.Length)
            {
                error = new CustosError(ErrorCode.AuditChainBroken, $"the audit log ends in an incomplete record after entry {head.Sequence}");
                return false;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = new CustosError(ErrorCode.StorageIo, $"cannot read the privacy audit log {path}: {e.Message}");
            return false;
        }

        if (expectedHead is { } expected && expected != head)
        {
            error = new CustosError(ErrorCode.AuditChainBroken, $"the audit log ends at entry {head.Sequence}, not at the anchored entry {expected.Sequence} with its hash");
            return false;
        }

        return true;
    }

    // Reads records from the start; stops at an incomplete last record (validLength tells where the chain ends).
    private static bool TryScan(FileStream file, IHashFunction hash, Action<PrivacyAuditEntry>? onEntry, out AuditHead head, out long validLength, out CustosError error)
    {
        head = new AuditHead(0, Hash32.Zero);
        validLength = 0;
        file.Seek(0, SeekOrigin.Begin);
        Span<byte> lengthBytes = stackalloc byte[4];
        while (true)
        {
            var read = file.ReadAtLeast(lengthBytes, 4, throwOnEndOfStream: false);
            if (read < 4) break;
            var length = BinaryPrimitives.ReadInt32BigEndian(lengthBytes);
            if (length <= 0 || length > EntrySizeBytesMax)
            {
                error = new CustosError(ErrorCode.AuditChainBroken, $"entry {head.Sequence + 1} has an impossible length {length}");
                return false;
            }

            var bytes = new byte[length];
            if (file.ReadAtLeast(bytes, length, throwOnEndOfStream: false) < length) break;
            PrivacyAuditEntry entry;
            try
            {
                entry = PrivacyAuditEntry.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException)
            {
                error = new CustosError(ErrorCode.AuditChainBroken, $"entry {head.Sequence + 1} does not decode");
                return false;
            }

            if (entry.Sequence != head.Sequence + 1)
            {
                error = new CustosError(ErrorCode.AuditChainBroken, $"entry {head.Sequence + 1} carries sequence {entry.Sequence}");
                return false;
            }

            if (!entry.PreviousHash.Span.SequenceEqual(head.Hash.ToArray()))
            {
                error = new CustosError(ErrorCode.AuditChainBroken, $"entry {entry.Sequence} does not follow from entry {head.Sequence}: an earlier entry was changed");
                return false;
            }

            head = new AuditHead(entry.Sequence, EntryHash(hash, bytes));
            validLength += 4 + length;
            onEntry?.Invoke(entry);
        }

        error = null!;
        return true;
    }

    private static Hash32 EntryHash(IHashFunction hash, ReadOnlySpan<byte> entry)
    {
        using var accumulator = hash.Begin();
        accumulator.Append(PrivacyDomains.AuditEntry);
        accumulator.Append(entry);
        return accumulator.Finish();
    }

    private static string Bounded(string? value, string what)
    {
        value ??= string.Empty;
        if (Encoding.UTF8.GetByteCount(value) > FieldSizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"the audit {what} is longer than {FieldSizeBytesMax} bytes");
        return value;
    }
}
