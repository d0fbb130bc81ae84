using System.Security.Cryptography;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Privacy.Audit;
using Custos.Privacy.Envelopes;
using Custos.Privacy.Export;
using Custos.Privacy.Policy;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.PrivateData;

/// <summary>Who reads private data and why: recorded in the audit log with every read.</summary>
public sealed record PrivacyReader(string Who, string Organisation, string Purpose);

/// <summary>
/// A local write: the commitment to put on chain, and the replica to send to the nodes of <see cref="SendTo"/> (the
/// other entitled organisations).
/// </summary>
public sealed record PrivateWrite(Hash32 Commitment, PrivateDataReplica Replica, IReadOnlyList<string> SendTo);

/// <summary>A value read from the store with the proof (the commitment's opening) that it is the one on chain.</summary>
public sealed record PrivateRead(byte[] Value, CommitmentOpening Proof);

/// <summary>
/// The "verified by designated nodes" strategy (§14.3.4, PRI-2): private data kept off chain at the nodes of the
/// organisations the privacy policy entitles, with only its salted commitment on chain. This store is one node's
/// share: it accepts a record only for a collection its organisation is entitled to and only if the record matches
/// its commitment; it serves records only to entitled organisations; it keeps them encrypted at rest under the
/// node data key; it logs every read; and it purges on request, keeping the commitment and a purge record.
/// </summary>
/// <remarks>
/// Layout: one file per record under <c>records/</c>, named by a keyed hash of (contract, collection, key) so that
/// the directory listing reveals nothing. A file is <c>CPR1</c> ‖ nonce ‖ AEAD(node data key, nonce,
/// <see cref="StoredPrivateRecord"/>, domain ‖ name): metadata, commitment and purge record are encrypted too, and
/// a file renamed to another record's name does not open. Files are replaced atomically (write, flush, rename).
/// Purging rewrites the file without the value; blocks the file system freed may still hold the old ciphertext, so
/// nodes that must destroy data physically keep this directory on an encrypted volume they can rekey.
/// Threading: all operations are serialised by one lock.
/// </remarks>
public sealed class PrivateDataStore
{
    public const int ValueSizeBytesMax = 1024 * 1024;
    public const int KeySizeBytesMax = 256;
    public const int NameLengthMax = 128;
    public const int ReasonSizeBytesMax = 1024;
    private const int NonceSizeBytes = 12;
    private const int RecordFileSizeBytesMax = ValueSizeBytesMax + 64 * 1024;
    private static ReadOnlySpan<byte> Magic => "CPR1"u8;

    private readonly object _lock = new();
    private readonly string _records;
    private readonly NodeDataKey _dataKey;
    private readonly ICryptoSuite _suite;
    private readonly PrivacyAuditLog _audit;
    private readonly TimeProvider _time;

    public PrivateDataStore(string directory, string organisation, NodeDataKey dataKey, PrivacyAuditLog audit, TimeProvider time)
    {
        if (string.IsNullOrEmpty(organisation)) throw new CustosException(ErrorCode.InvalidField, "a private data store belongs to an organisation");
        Organisation = organisation;
        _records = Path.Combine(directory, "records");
        _dataKey = dataKey;
        _suite = dataKey.Suite;
        _audit = audit;
        _time = time;
        try
        {
            Directory.CreateDirectory(_records, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CustosException(ErrorCode.StorageIo, $"cannot create the private data directory {_records}: {e.Message}", e);
        }
    }

    /// <summary>The organisation whose node keeps this store.</summary>
    public string Organisation { get; }

    /// <summary>
    /// Stores a value written through this node. The node's organisation must be entitled to the collection. Returns
    /// the commitment for the chain and the replica for the other entitled organisations' nodes.
    /// </summary>
    public PrivateWrite Put(string contract, string collection, byte[] key, byte[] value, PrivacyPolicy policy, PrivacyReader writer)
    {
        if (!TryCheckAddress(contract, collection, key, out var error)) throw error.ToException();
        if (value.Length > ValueSizeBytesMax) throw new CustosException(ErrorCode.TooLarge, $"a private value is at most {ValueSizeBytesMax} bytes");
        var entitled = policy.EntitledOrganisations(contract, collection);
        if (!entitled.Contains(Organisation, StringComparer.Ordinal)) throw NotEntitled(Organisation, contract, collection).ToException();

        var salt = Commitment.NewSalt();
        var commitment = Commitment.Compute(_suite, salt, value);
        var record = new StoredPrivateRecord
        {
            Contract = contract,
            Collection = collection,
            Key = ByteString.CopyFrom(key),
            Commitment = commitment.ToByteString(),
            Value = ByteString.CopyFrom(value),
            Salt = ByteString.CopyFrom(salt),
            StoredAtMs = Now(),
            OriginOrganisation = Organisation,
        };
        record.EntitledOrganisations.AddRange(entitled);
        lock (_lock)
        {
            if (TryLoad(contract, collection, key, out var existing, out _) && existing.Purge is not null)
            {
                throw new CustosException(ErrorCode.PrivateDataPurged, "this record was purged; a purged key is not written again");
            }

            _audit.Append(Access(writer, contract, collection, key, "write"));
            Save(record);
        }

        return new PrivateWrite(commitment, ToReplica(record), [.. entitled.Where(o => o != Organisation)]);
    }

    /// <summary>
    /// Accepts a replica sent by the node of <paramref name="fromOrganisation"/> (as authenticated by the node
    /// network, not as the message claims). Refused unless this node's organisation and the sender's are entitled by
    /// <paramref name="policy"/> and named by the replica, and the value opens its commitment. A record already held
    /// is replaced only when <paramref name="onChainCommitment"/> (the commitment the chain holds now) names the new one.
    /// </summary>
    public bool TryAccept(PrivateDataReplica replica, string fromOrganisation, PrivacyPolicy policy, Hash32? onChainCommitment, out CustosError error)
    {
        var key = replica.Key.ToByteArray();
        if (!TryCheckAddress(replica.Contract, replica.Collection, key, out error)) return false;
        if (replica.Value.Length > ValueSizeBytesMax) return Fail(ErrorCode.TooLarge, $"a private value is at most {ValueSizeBytesMax} bytes", out error);
        if (!policy.IsEntitled(Organisation, replica.Contract, replica.Collection)) return Refuse(NotEntitled(Organisation, replica.Contract, replica.Collection), out error);
        if (!replica.EntitledOrganisations.Contains(Organisation)) return Fail(ErrorCode.NotEntitled, $"the replica is not addressed to {Organisation}", out error);
        if (!policy.IsEntitled(fromOrganisation, replica.Contract, replica.Collection)) return Refuse(NotEntitled(fromOrganisation, replica.Contract, replica.Collection), out error);
        if (!Hash32.TryCreate(replica.Commitment.Span, out var commitment)) return Fail(ErrorCode.InvalidLength, "the commitment is not 32 bytes", out error);
        if (!Commitment.Matches(_suite, commitment, replica.Salt.Span, replica.Value.Span)) return Fail(ErrorCode.CommitmentMismatch, "the replica's value does not open its commitment", out error);
        if (onChainCommitment is { } chain && chain != commitment) return Fail(ErrorCode.CommitmentMismatch, "the replica's commitment is not the one on chain", out error);

        lock (_lock)
        {
            if (TryLoad(replica.Contract, replica.Collection, key, out var existing, out _))
            {
                if (existing.Purge is not null) return Fail(ErrorCode.PrivateDataPurged, "this record was purged; its data is not taken back", out error);
                if (existing.Commitment.Equals(replica.Commitment))
                {
                    error = null!;
                    return true;
                }

                if (onChainCommitment is null) return Fail(ErrorCode.CommitmentMismatch, "a held record is replaced only with the commitment now on chain", out error);
            }

            var record = new StoredPrivateRecord
            {
                Contract = replica.Contract,
                Collection = replica.Collection,
                Key = replica.Key,
                Commitment = replica.Commitment,
                Value = replica.Value,
                Salt = replica.Salt,
                StoredAtMs = Now(),
                OriginOrganisation = replica.OriginOrganisation,
            };
            record.EntitledOrganisations.AddRange(policy.EntitledOrganisations(replica.Contract, replica.Collection));
            Save(record);
        }

        error = null!;
        return true;
    }

    /// <summary>
    /// Reads a record for <paramref name="reader"/>, whose organisation must be entitled now. The read is logged
    /// before the value is returned; the value comes with the opening of its commitment.
    /// </summary>
    public bool TryRead(string contract, string collection, ReadOnlySpan<byte> key, PrivacyReader reader, PrivacyPolicy policy, out PrivateRead read, out CustosError error)
    {
        read = null!;
        var keyBytes = key.ToArray();
        if (!TryCheckAddress(contract, collection, keyBytes, out error)) return false;
        if (!policy.IsEntitled(reader.Organisation, contract, collection) || !policy.IsEntitled(Organisation, contract, collection))
        {
            return Refuse(NotEntitled(reader.Organisation, contract, collection), out error);
        }

        lock (_lock)
        {
            if (!TryLoadLive(contract, collection, keyBytes, out var record, out error)) return false;
            _audit.Append(Access(reader, contract, collection, keyBytes, "read"));
            read = new PrivateRead(record.Value.ToByteArray(), new CommitmentOpening(new Hash32(record.Commitment.Span), record.Salt.ToByteArray()));
        }

        return true;
    }

    /// <summary>
    /// Serves a peer's request for a record it missed. <paramref name="peerOrganisation"/> is the peer as the node
    /// network authenticated it; the request's own claim is not trusted. Served only to an entitled organisation.
    /// </summary>
    public bool TryServe(PrivateDataRequest request, string peerOrganisation, PrivacyPolicy policy, out PrivateDataReplica replica, out CustosError error)
    {
        replica = null!;
        var key = request.Key.ToByteArray();
        if (!TryCheckAddress(request.Contract, request.Collection, key, out error)) return false;
        if (!policy.IsEntitled(peerOrganisation, request.Contract, request.Collection) || !policy.IsEntitled(Organisation, request.Contract, request.Collection))
        {
            return Refuse(NotEntitled(peerOrganisation, request.Contract, request.Collection), out error);
        }

        lock (_lock)
        {
            if (!TryLoadLive(request.Contract, request.Collection, key, out var record, out error)) return false;
            _audit.Append(new PrivacyAccess($"node:{peerOrganisation}", peerOrganisation, request.Contract, request.Collection, key, "replication", "serve"));
            replica = ToReplica(record);
        }

        return true;
    }

    /// <summary>
    /// Purges a record: the value and salt are deleted, the commitment stays, and a purge record says who and why.
    /// The purger's organisation must be entitled. Returns the notice to send to the other entitled nodes.
    /// </summary>
    public bool TryPurge(string contract, string collection, ReadOnlySpan<byte> key, PrivacyReader by, string reason, PrivacyPolicy policy,
        out PrivateDataPurgeNotice notice, out CustosError error)
    {
        notice = null!;
        var keyBytes = key.ToArray();
        if (!TryCheckAddress(contract, collection, keyBytes, out error)) return false;
        if (string.IsNullOrWhiteSpace(reason) || Encoding.UTF8.GetByteCount(reason) > ReasonSizeBytesMax)
        {
            return Fail(ErrorCode.InvalidField, $"a purge gives a reason of at most {ReasonSizeBytesMax} bytes", out error);
        }

        if (!policy.IsEntitled(by.Organisation, contract, collection)) return Refuse(NotEntitled(by.Organisation, contract, collection), out error);
        lock (_lock)
        {
            if (!TryLoadLive(contract, collection, keyBytes, out var record, out error)) return false;
            // A certificate's name already ends with its organisation (admin@org2); others get it appended.
            var who = by.Who.EndsWith("@" + by.Organisation, StringComparison.Ordinal) ? by.Who : $"{by.Who}@{by.Organisation}";
            var purge = new PurgeRecord { By = who, Reason = reason, PurgedAtMs = Now() };
            _audit.Append(Access(by, contract, collection, keyBytes, "purge"));
            Save(Purged(record, purge));
            notice = new PrivateDataPurgeNotice { Contract = contract, Collection = collection, Key = record.Key, Commitment = record.Commitment, Purge = purge };
        }

        return true;
    }

    /// <summary>
    /// Applies a purge notice from the node of <paramref name="fromOrganisation"/> (entitled, as authenticated by the
    /// network). A record not held is recorded as purged, so a late replica of it is refused.
    /// </summary>
    public bool TryApplyPurge(PrivateDataPurgeNotice notice, string fromOrganisation, PrivacyPolicy policy, out CustosError error)
    {
        var key = notice.Key.ToByteArray();
        if (!TryCheckAddress(notice.Contract, notice.Collection, key, out error)) return false;
        if (notice.Purge is null || notice.Commitment.Length != Hash32.SizeBytes) return Fail(ErrorCode.InvalidField, "a purge notice carries its commitment and purge record", out error);
        if (!policy.IsEntitled(fromOrganisation, notice.Contract, notice.Collection) || !policy.IsEntitled(Organisation, notice.Contract, notice.Collection))
        {
            return Refuse(NotEntitled(fromOrganisation, notice.Contract, notice.Collection), out error);
        }

        lock (_lock)
        {
            StoredPrivateRecord record;
            if (TryLoad(notice.Contract, notice.Collection, key, out var existing, out _))
            {
                if (!existing.Commitment.Equals(notice.Commitment)) return Fail(ErrorCode.CommitmentMismatch, "the notice purges another version of this record", out error);
                if (existing.Purge is not null)
                {
                    error = null!;
                    return true;
                }

                record = existing;
            }
            else
            {
                record = new StoredPrivateRecord { Contract = notice.Contract, Collection = notice.Collection, Key = notice.Key, Commitment = notice.Commitment };
                record.EntitledOrganisations.AddRange(policy.EntitledOrganisations(notice.Contract, notice.Collection));
            }

            Save(Purged(record, notice.Purge));
        }

        error = null!;
        return true;
    }

    /// <summary>The commitment held for a record, and its purge record if it was purged. No value is read, so nothing is logged.</summary>
    public bool TryGetCommitment(string contract, string collection, ReadOnlySpan<byte> key, out Hash32 commitment, out PurgeRecord? purge)
    {
        commitment = default;
        purge = null;
        lock (_lock)
        {
            if (!TryLoad(contract, collection, key.ToArray(), out var record, out _)) return false;
            commitment = new Hash32(record.Commitment.Span);
            purge = record.Purge;
            return true;
        }
    }

    /// <summary>
    /// An encrypted backup of every record held and not purged, for <paramref name="recipient"/> only
    /// (<see cref="PrivacyExport"/>). Each exported record is logged as an "export" by <paramref name="reader"/>.
    /// </summary>
    public byte[] ExportBackup(PublicKey recipient, PrivacyReader reader)
    {
        var contents = new PrivacyExportContents { CreatedAtMs = Now(), Note = $"private data of {Organisation}" };
        lock (_lock)
        {
            foreach (var path in Directory.EnumerateFiles(_records, "*.rec").Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileNameWithoutExtension(path);
                if (!TryLoadFile(path, name, out var record, out var error)) throw error.ToException();
                if (record.Purge is not null) continue;
                _audit.Append(Access(reader, record.Contract, record.Collection, record.Key.ToByteArray(), "export"));
                contents.Records.Add(new ExportedRecord { Contract = record.Contract, Collection = record.Collection, Key = record.Key, Value = record.Value });
            }
        }

        return PrivacyExport.Seal(_suite, recipient, contents);
    }

    private static StoredPrivateRecord Purged(StoredPrivateRecord record, PurgeRecord purge)
    {
        var purged = record.Clone();
        purged.Value = ByteString.Empty;
        purged.Salt = ByteString.Empty;
        purged.Purge = purge;
        return purged;
    }

    private static PrivateDataReplica ToReplica(StoredPrivateRecord record)
    {
        var replica = new PrivateDataReplica
        {
            Contract = record.Contract,
            Collection = record.Collection,
            Key = record.Key,
            Value = record.Value,
            Salt = record.Salt,
            Commitment = record.Commitment,
            OriginOrganisation = record.OriginOrganisation,
        };
        replica.EntitledOrganisations.AddRange(record.EntitledOrganisations);
        return replica;
    }

    private PrivacyAccess Access(PrivacyReader reader, string contract, string collection, byte[] key, string action) =>
        new(reader.Who, reader.Organisation, contract, collection, key, reader.Purpose, action);

    private bool TryLoadLive(string contract, string collection, byte[] key, out StoredPrivateRecord record, out CustosError error)
    {
        if (!TryLoad(contract, collection, key, out record, out error)) return false;
        if (record.Purge is not null) return Fail(ErrorCode.PrivateDataPurged, $"the record was purged by {record.Purge.By}: {record.Purge.Reason}", out error);
        return true;
    }

    private bool TryLoad(string contract, string collection, byte[] key, out StoredPrivateRecord record, out CustosError error)
    {
        var name = RecordName(contract, collection, key);
        var path = Path.Combine(_records, name + ".rec");
        if (!File.Exists(path))
        {
            record = null!;
            return Fail(ErrorCode.NotFound, "this node holds no such private record", out error);
        }

        if (!TryLoadFile(path, name, out record, out error)) return false;
        // The name is a hash of the address; a collision or a misplaced file must not serve another record.
        if (record.Contract != contract || record.Collection != collection || !record.Key.Span.SequenceEqual(key))
        {
            return Fail(ErrorCode.StorageCorrupt, "a private record file holds another record", out error);
        }

        return true;
    }

    private bool TryLoadFile(string path, string name, out StoredPrivateRecord record, out CustosError error)
    {
        record = null!;
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Length > RecordFileSizeBytesMax) return Fail(ErrorCode.StorageCorrupt, "a private record file is larger than any record", out error);
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(ErrorCode.StorageIo, $"cannot read a private record: {e.Message}", out error);
        }

        if (bytes.Length < Magic.Length + NonceSizeBytes + 16 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return Fail(ErrorCode.StorageCorrupt, "a private record file has no valid header", out error);
        }

        var nonce = bytes.AsSpan(Magic.Length, NonceSizeBytes);
        var ciphertext = bytes.AsSpan(Magic.Length + NonceSizeBytes);
        if (!_suite.TryAeadDecrypt(_dataKey.Key, nonce, ciphertext, AssociatedData(name), out var plaintext))
        {
            return Fail(ErrorCode.StorageCorrupt, "a private record file does not decrypt under the node data key (damaged, moved, or another key)", out error);
        }

        try
        {
            record = StoredPrivateRecord.Parser.ParseFrom(plaintext);
        }
        catch (InvalidProtocolBufferException)
        {
            return Fail(ErrorCode.StorageCorrupt, "a private record does not decode", out error);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }

        error = null!;
        return true;
    }

    private void Save(StoredPrivateRecord record)
    {
        var name = RecordName(record.Contract, record.Collection, record.Key.Span);
        var plaintext = record.ToByteArray();
        var nonce = RandomNumberGenerator.GetBytes(NonceSizeBytes);
        var ciphertext = _suite.AeadEncrypt(_dataKey.Key, nonce, plaintext, AssociatedData(name));
        CryptographicOperations.ZeroMemory(plaintext);
        var content = new byte[Magic.Length + NonceSizeBytes + ciphertext.Length];
        Magic.CopyTo(content);
        nonce.CopyTo(content, Magic.Length);
        ciphertext.CopyTo(content, Magic.Length + NonceSizeBytes);

        var path = Path.Combine(_records, name + ".rec");
        var temporary = path + ".tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CustosException(ErrorCode.StorageIo, $"cannot write a private record: {e.Message}", e);
        }
    }

    private string RecordName(string contract, string collection, ReadOnlySpan<byte> key)
    {
        var address = new LengthPrefixedWriter().Add(contract).Add(collection).Add(key).ToArray();
        using var accumulator = _suite.Begin();
        accumulator.Append(PrivacyDomains.RecordName);
        accumulator.Append(_dataKey.Key);
        accumulator.Append(address);
        return accumulator.Finish().ToString();
    }

    private static byte[] AssociatedData(string name) =>
        new LengthPrefixedWriter().Add(PrivacyDomains.RecordAssociatedData).Add(name).ToArray();

    private ulong Now() => (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds();

    private static bool TryCheckAddress(string contract, string collection, byte[] key, out CustosError error)
    {
        if (string.IsNullOrEmpty(contract) || contract.Length > NameLengthMax || string.IsNullOrEmpty(collection) || collection.Length > NameLengthMax)
        {
            return Fail(ErrorCode.InvalidField, $"contract and collection names have 1 to {NameLengthMax} characters", out error);
        }

        if (key.Length == 0 || key.Length > KeySizeBytesMax) return Fail(ErrorCode.InvalidLength, $"a private key has 1 to {KeySizeBytesMax} bytes", out error);
        error = null!;
        return true;
    }

    private static CustosError NotEntitled(string organisation, string contract, string collection) =>
        new(ErrorCode.NotEntitled, $"organisation {organisation} is not entitled to {contract}/{collection}");

    private static bool Refuse(CustosError refusal, out CustosError error)
    {
        error = refusal;
        return false;
    }

    private static bool Fail(ErrorCode code, string message, out CustosError error)
    {
        error = new CustosError(code, message);
        return false;
    }
}
