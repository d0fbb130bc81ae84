using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Pseudonyms;
using Custos.Privacy.Audit;
using Custos.Privacy.Envelopes;
using Custos.Privacy.Export;
using Custos.Privacy.Policy;
using Custos.Privacy.PrivateData;
using Custos.Privacy.Wire;

namespace Custos.Privacy.Tests;

/// <summary>Three organisations' nodes, each with its own store; the policy entitles org1 and org2 to "kyc", only org1 to "internal".</summary>
public sealed class PrivateDataStoreTests : IDisposable
{
    private static readonly ICryptoSuite Suite = CryptoSuites.Gm;
    private static readonly byte[] Key = "customer/0001"u8.ToArray();
    private static readonly byte[] Value = "张三|110101199003071234|6222021234567890123"u8.ToArray();
    private readonly TempDirectory _directory = new();
    private readonly Dictionary<string, Node> _nodes = [];
    private readonly PrivacyPolicy _policy = Policy(("dcep", "kyc", ["org1", "org2"]), ("dcep", "internal", ["org1"]));

    public PrivateDataStoreTests()
    {
        foreach (var organisation in new[] { "org1", "org2", "org3" }) _nodes[organisation] = new Node(_directory.Sub(organisation), organisation);
    }

    private PrivateDataStore Store(string organisation) => _nodes[organisation].Store;

    private static PrivacyReader Clerk(string organisation) => new($"clerk@{organisation}", organisation, "account opening review");

    internal static PrivacyPolicy Policy(params (string Contract, string Collection, string[] Organisations)[] collections)
    {
        var record = PrivacyPolicy.Default.Record.Clone();
        record.Version = 1;
        foreach (var (contract, collection, organisations) in collections)
        {
            var entry = new CollectionEntitlement { Contract = contract, Collection = collection };
            entry.Organisations.AddRange(organisations);
            record.Collections.Add(entry);
        }

        Assert.True(PrivacyPolicy.TryCreate(record, out var policy, out var error), error?.ToString());
        return policy;
    }

    [Fact]
    public void A_write_replicates_to_the_entitled_peer_which_reads_it_with_a_proof_against_the_commitment()
    {
        var write = Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        Assert.Equal(["org2"], write.SendTo);
        var frame = PrivacyFrames.Encode(write.Replica);

        Assert.True(PrivacyFrames.TryDecode(frame, out var received, out var error), error?.ToString());
        Assert.True(Store("org2").TryAccept(received.Replica, "org1", _policy, write.Commitment, out error), error?.ToString());
        Assert.True(Store("org2").TryRead("dcep", "kyc", Key, Clerk("org2"), _policy, out var read, out error), error?.ToString());
        Assert.Equal(Value, read.Value);
        Assert.True(read.Proof.Verify(Suite, read.Value, write.Commitment));
        Assert.False(read.Proof.Verify(Suite, "something else"u8, write.Commitment));
    }

    [Fact]
    public void A_store_of_an_organisation_that_is_not_entitled_refuses_to_accept_the_data()
    {
        var write = Store("org1").Put("dcep", "internal", Key, Value, _policy, Clerk("org1"));
        Assert.Empty(write.SendTo);
        Assert.False(Store("org3").TryAccept(write.Replica, "org1", _policy, write.Commitment, out var error));
        Assert.Equal(ErrorCode.NotEntitled, error.Code);
        Assert.False(Store("org3").TryGetCommitment("dcep", "internal", Key, out _, out _));
        Assert.Empty(Directory.EnumerateFiles(_directory.Sub("org3"), "*.rec", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_replica_claiming_to_include_an_organisation_the_policy_does_not_entitle_is_still_refused()
    {
        var write = Store("org1").Put("dcep", "internal", Key, Value, _policy, Clerk("org1"));
        write.Replica.EntitledOrganisations.Add("org3");
        Assert.False(Store("org3").TryAccept(write.Replica, "org1", _policy, write.Commitment, out var error));
        Assert.Equal(ErrorCode.NotEntitled, error.Code);
    }

    [Fact]
    public void A_store_refuses_to_serve_a_node_of_an_organisation_that_is_not_entitled()
    {
        Store("org1").Put("dcep", "internal", Key, Value, _policy, Clerk("org1"));
        var request = new PrivateDataRequest { Contract = "dcep", Collection = "internal", Key = Google.Protobuf.ByteString.CopyFrom(Key), RequestingOrganisation = "org1" };
        // The request claims org1, but the network authenticated the peer as org3: the claim is not trusted.
        Assert.False(Store("org1").TryServe(request, "org3", _policy, out _, out var error));
        Assert.Equal(ErrorCode.NotEntitled, error.Code);
    }

    [Fact]
    public void A_store_serves_a_missed_record_to_an_entitled_peer()
    {
        var write = Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        var request = new PrivateDataRequest { Contract = "dcep", Collection = "kyc", Key = Google.Protobuf.ByteString.CopyFrom(Key), RequestingOrganisation = "org2" };
        Assert.True(Store("org1").TryServe(request, "org2", _policy, out var replica, out var error), error?.ToString());
        Assert.True(Store("org2").TryAccept(replica, "org1", _policy, write.Commitment, out error), error?.ToString());
    }

    [Fact]
    public void A_reader_of_an_organisation_that_is_not_entitled_cannot_read_and_nothing_is_logged()
    {
        Store("org1").Put("dcep", "internal", Key, Value, _policy, Clerk("org1"));
        var before = _nodes["org1"].Audit.Head.Sequence;
        Assert.False(Store("org1").TryRead("dcep", "internal", Key, Clerk("org2"), _policy, out _, out var error));
        Assert.Equal(ErrorCode.NotEntitled, error.Code);
        Assert.Equal(before, _nodes["org1"].Audit.Head.Sequence);
    }

    [Fact]
    public void A_write_by_a_node_whose_organisation_is_not_entitled_is_refused()
    {
        var failure = Assert.Throws<CustosException>(() => Store("org3").Put("dcep", "kyc", Key, Value, _policy, Clerk("org3")));
        Assert.Equal(ErrorCode.NotEntitled, failure.Code);
    }

    [Fact]
    public void A_replica_whose_value_does_not_open_its_commitment_is_refused()
    {
        var write = Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        var forged = write.Replica.Clone();
        forged.Value = Google.Protobuf.ByteString.CopyFromUtf8("李四|forged");
        Assert.False(Store("org2").TryAccept(forged, "org1", _policy, onChainCommitment: null, out var error));
        Assert.Equal(ErrorCode.CommitmentMismatch, error.Code);
    }

    [Fact]
    public void A_replica_whose_commitment_is_not_the_one_on_chain_is_refused()
    {
        var write = Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        var other = Store("org1").Put("dcep", "kyc", "customer/0002"u8.ToArray(), Value, _policy, Clerk("org1"));
        Assert.False(Store("org2").TryAccept(write.Replica, "org1", _policy, other.Commitment, out var error));
        Assert.Equal(ErrorCode.CommitmentMismatch, error.Code);
    }

    [Fact]
    public void Purge_removes_the_data_and_leaves_the_commitment_with_who_and_why()
    {
        var write = Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        Assert.True(Store("org2").TryAccept(write.Replica, "org1", _policy, write.Commitment, out _));

        Assert.True(Store("org1").TryPurge("dcep", "kyc", Key, Clerk("org1"), "customer closed the account and asked for deletion", _policy, out var notice, out var error), error?.ToString());
        Assert.True(Store("org2").TryApplyPurge(notice, "org1", _policy, out error), error?.ToString());

        foreach (var organisation in new[] { "org1", "org2" })
        {
            Assert.False(Store(organisation).TryRead("dcep", "kyc", Key, Clerk(organisation), _policy, out _, out error));
            Assert.Equal(ErrorCode.PrivateDataPurged, error.Code);
            Assert.True(Store(organisation).TryGetCommitment("dcep", "kyc", Key, out var commitment, out var purge));
            Assert.Equal(write.Commitment, commitment);
            Assert.NotNull(purge);
            Assert.Equal("clerk@org1", purge.By);
            Assert.Equal("customer closed the account and asked for deletion", purge.Reason);
        }

        // The value is gone from the record itself, not merely hidden: opening the file shows no value or salt.
        var reopened = new Node(_directory.Sub("org1"), "org1", _nodes["org1"].Secret, auditFile: "audit-2.log");
        Assert.False(reopened.Store.TryRead("dcep", "kyc", Key, Clerk("org1"), _policy, out _, out error));
        Assert.Equal(ErrorCode.PrivateDataPurged, error.Code);
        reopened.Dispose();

        // A late copy of the purged data is not taken back.
        Assert.False(Store("org2").TryAccept(write.Replica, "org1", _policy, write.Commitment, out error));
        Assert.Equal(ErrorCode.PrivateDataPurged, error.Code);
    }

    [Fact]
    public void Private_data_is_encrypted_at_rest_and_does_not_open_under_another_node_key()
    {
        Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        var files = Directory.EnumerateFiles(_directory.Sub("org1"), "*.rec", SearchOption.AllDirectories).ToList();
        Assert.Single(files);
        var content = File.ReadAllBytes(files[0]);
        Assert.Equal(-1, content.AsSpan().IndexOf(Value));
        Assert.Equal(-1, content.AsSpan().IndexOf(Key));
        Assert.Equal(-1, content.AsSpan().IndexOf("dcep"u8));

        // Same directory, same organisation, another key: the file name does not even match (it is keyed).
        using var wrongKey = new Node(_directory.Sub("org1"), "org1", auditFile: "audit-2.log");
        Assert.False(wrongKey.Store.TryRead("dcep", "kyc", Key, Clerk("org1"), _policy, out _, out var error));
        Assert.Equal(ErrorCode.NotFound, error.Code);
    }

    [Fact]
    public void A_record_file_moved_to_another_records_name_does_not_open()
    {
        Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        Store("org1").Put("dcep", "kyc", "customer/0002"u8.ToArray(), "李四"u8.ToArray(), _policy, Clerk("org1"));
        var files = Directory.EnumerateFiles(_directory.Sub("org1"), "*.rec", SearchOption.AllDirectories).Order().ToList();
        File.Copy(files[0], files[1], overwrite: true);
        var failures = new[] { Key, "customer/0002"u8.ToArray() }
            .Count(key => !Store("org1").TryRead("dcep", "kyc", key, Clerk("org1"), _policy, out _, out var error) && error.Code == ErrorCode.StorageCorrupt);
        Assert.Equal(1, failures);
    }

    [Fact]
    public void Data_survives_a_restart_with_the_same_node_key()
    {
        Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        using var restarted = new Node(_directory.Sub("org1"), "org1", _nodes["org1"].Secret, auditFile: "audit-2.log");
        Assert.True(restarted.Store.TryRead("dcep", "kyc", Key, Clerk("org1"), _policy, out var read, out var error), error?.ToString());
        Assert.Equal(Value, read.Value);
    }

    [Fact]
    public void Every_read_is_logged_with_who_what_and_when()
    {
        var write = Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        Store("org1").TryRead("dcep", "kyc", Key, new PrivacyReader("auditor-7", "org1", "quarterly review"), _policy, out _, out _);
        var entries = PrivacyAuditLog.ReadVerified(_nodes["org1"].AuditPath, Suite);
        Assert.Equal(["write", "read"], entries.Select(e => e.Action));
        var read = entries[1];
        Assert.Equal("auditor-7", read.Reader);
        Assert.Equal("quarterly review", read.Purpose);
        Assert.Equal("kyc", read.Collection);
        Assert.Equal(Node.Start.ToUnixTimeMilliseconds(), (long)read.AtMs);
        Assert.Equal(PrivacyAuditLog.KeyHash(Suite, Key).ToArray(), read.KeyHash.ToByteArray());
        Assert.NotNull(write);
    }

    [Fact]
    public void A_backup_export_opens_only_for_its_recipient()
    {
        Store("org1").Put("dcep", "kyc", Key, Value, _policy, Clerk("org1"));
        using var recipient = Suite.GenerateKey();
        using var other = Suite.GenerateKey();
        var file = Store("org1").ExportBackup(recipient.PublicKey, Clerk("org1"));
        Assert.Equal(-1, file.AsSpan().IndexOf(Value));

        Assert.True(PrivacyExport.TryOpen(Suite, file, recipient.AsDecryptionKey(), out var contents, out var error), error?.ToString());
        Assert.Equal(Value, Assert.Single(contents.Records).Value.ToByteArray());
        Assert.False(PrivacyExport.TryOpen(Suite, file, other.AsDecryptionKey(), out _, out error));
        Assert.Equal(ErrorCode.NotAuthorised, error.Code);
    }

    public void Dispose()
    {
        foreach (var node in _nodes.Values) node.Dispose();
        _directory.Dispose();
    }

    /// <summary>One organisation's node: its data key, audit log and store.</summary>
    private sealed class Node : IDisposable
    {
        public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public Node(string directory, string organisation, byte[]? secret = null, string auditFile = "audit.log")
        {
            Secret = secret ?? System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            DataKey = NodeDataKey.FromSecret(Suite, Secret);
            AuditPath = Path.Combine(directory, auditFile);
            Audit = PrivacyAuditLog.Open(AuditPath, Suite, new FixedTime(Start));
            Store = new PrivateDataStore(directory, organisation, DataKey, Audit, new FixedTime(Start));
        }

        public byte[] Secret { get; }

        public NodeDataKey DataKey { get; }

        public string AuditPath { get; }

        public PrivacyAuditLog Audit { get; }

        public PrivateDataStore Store { get; }

        public void Dispose()
        {
            Audit.Dispose();
            DataKey.Dispose();
        }
    }
}

/// <summary>A clock that stands still: tests assert exact times.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
