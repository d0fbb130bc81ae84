using CsCheck;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Network;
using Custos.Network.Wire;
using Custos.Node.Tests.Support;
using Custos.Privacy.Audit;
using Custos.Privacy.Policy;
using Custos.Privacy.PrivateData;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Node.Tests;

/// <summary>
/// The "verified by designated nodes" strategy across nodes: n1 of org1, n2 of org2, n3 of org3 on an in-memory
/// network. The policy entitles org1 and org2 to dcep/kyc; org3 to nothing.
/// </summary>
public sealed class PrivateDataReplicationTests : IAsyncLifetime
{
    private static readonly byte[] Key = "customer/0001"u8.ToArray();
    private static readonly byte[] Value = "张三|110101199003071234|6222021234567890123"u8.ToArray();
    private readonly PrivacyCluster _cluster = new(("n1", "org1"), ("n2", "org2"), ("n3", "org3"));

    public async ValueTask InitializeAsync()
    {
        _cluster.State.SetPolicy(("dcep", "kyc", ["org1", "org2"]));
        await _cluster.StartAsync();
    }

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    private static PrivacyReader Clerk(string organisation) => new($"clerk@{organisation}", organisation, "account opening review");

    private bool Holds(string node, byte[]? key = null) => _cluster.Store(node).TryGetCommitment("dcep", "kyc", key ?? Key, out _, out _);

    private IEnumerable<ReceivedFrame> PrivacyFramesAt(string node) => _cluster.Received(node).Where(f => f.Kind == FrameKind.Privacy);

    [Fact]
    public async Task Data_put_at_an_org1_node_reaches_the_org2_node_and_is_read_there_with_a_proof()
    {
        var put = _cluster["n1"].Put("dcep", "kyc", Key, Value, Clerk("org1"));

        Assert.Equal(["n2"], put.SentTo);
        Assert.Null(put.OnChain);
        Assert.True(await PrivacyCluster.Eventually(() => Holds("n2")));
        _cluster.State.Commit("dcep", "kyc", Key, put.Commitment, "org1");
        Assert.True(_cluster["n2"].TryRead("dcep", "kyc", Key, Clerk("org2"), out var read, out var onChain, out var error), error?.ToString());
        Assert.Equal(Value, read.Value);
        Assert.Equal(put.Commitment.ToByteString(), onChain!.Commitment);
        Assert.True(read.Proof.Verify(PrivacyCluster.Suite, read.Value, put.Commitment));
        // The read is in org2's node's audit log with who and why.
        var last = PrivacyAuditLog.ReadVerified(_cluster.AuditLog("n2"), PrivacyCluster.Suite)[^1];
        Assert.Equal(("read", "clerk@org2", "org2", "account opening review"), (last.Action, last.Reader, last.Organisation, last.Purpose));
    }

    [Fact]
    public async Task A_node_of_an_organisation_not_entitled_never_receives_the_data_and_its_request_is_refused()
    {
        _cluster["n1"].Put("dcep", "kyc", Key, Value, Clerk("org1"));
        Assert.True(await PrivacyCluster.Eventually(() => Holds("n2")));

        var request = PrivacyFrames.Encode(new PrivateDataRequest
        {
            Contract = "dcep",
            Collection = "kyc",
            Key = ByteString.CopyFrom(Key),
            // The claim is ignored: the peer's organisation comes from its authenticated name.
            RequestingOrganisation = "org2",
        });
        Assert.Equal(ErrorCode.NotEntitled, _cluster["n1"].Handle("n3", request)?.Code);
        Assert.Equal(ErrorCode.NotEntitled, _cluster["n2"].Handle("n3", request)?.Code);

        // Sent over the network too: no replica comes back. n2's own request, sent after it, is answered.
        Assert.True(_cluster.Network("n3").TrySend("n1", FrameKind.Privacy, request, out _));
        Assert.True(_cluster.Network("n2").TrySend("n1", FrameKind.Privacy, request, out _));
        Assert.True(await PrivacyCluster.Eventually(() => PrivacyFramesAt("n2").Count(f => f.Peer == "n1") >= 2));
        Assert.Empty(PrivacyFramesAt("n3"));
        Assert.False(Holds("n3"));
        Assert.False(_cluster["n3"].TryRead("dcep", "kyc", Key, Clerk("org3"), out _, out _, out var error));
        Assert.Equal(ErrorCode.NotEntitled, error.Code);
    }

    [Fact]
    public void A_replica_pushed_to_a_node_of_an_organisation_not_entitled_is_refused()
    {
        var write = NewReplica("org1", Value);

        Assert.Equal(ErrorCode.NotEntitled, _cluster["n3"].Handle("n1", PrivacyFrames.Encode(write.Replica))?.Code);
        Assert.False(Holds("n3"));
    }

    [Fact]
    public async Task A_purge_at_org1_removes_the_value_at_org1_and_org2_and_the_commitment_stays()
    {
        var put = _cluster["n1"].Put("dcep", "kyc", Key, Value, Clerk("org1"));
        Assert.True(await PrivacyCluster.Eventually(() => Holds("n2")));
        _cluster.State.Commit("dcep", "kyc", Key, put.Commitment, "org1");

        Assert.True(_cluster["n1"].TryPurge("dcep", "kyc", Key, Clerk("org1"), "the customer withdrew consent", out var notice, out var sentTo, out var error), error?.ToString());
        Assert.Equal(["n2"], sentTo);
        Assert.Equal(put.Commitment.ToByteString(), notice.Commitment);
        Assert.True(await PrivacyCluster.Eventually(() => _cluster["n2"].Commitments("dcep", "kyc", Key).Purge is not null));

        foreach (var (node, organisation) in new[] { ("n1", "org1"), ("n2", "org2") })
        {
            Assert.False(_cluster[node].TryRead("dcep", "kyc", Key, Clerk(organisation), out _, out _, out error));
            Assert.Equal(ErrorCode.PrivateDataPurged, error.Code);
            var commitments = _cluster[node].Commitments("dcep", "kyc", Key);
            Assert.Equal(put.Commitment, commitments.Held);
            Assert.Equal("the customer withdrew consent", commitments.Purge!.Reason);
            Assert.Equal(put.Commitment.ToByteString(), commitments.OnChain!.Commitment);
        }

        // A late copy of the purged record (the replica n2 received before) is not taken back.
        var replica = PrivacyFramesAt("n2").First(f => f.Peer == "n1").Payload;
        Assert.Equal(ErrorCode.PrivateDataPurged, _cluster["n2"].Handle("n1", replica.Span)?.Code);
    }

    [Fact]
    public async Task A_malformed_privacy_frame_gets_its_sender_banned_and_the_node_keeps_serving()
    {
        Assert.Equal(ErrorCode.Malformed, _cluster["n1"].Handle("n3", [0xFF, 0xFF, 0xFF])?.Code);
        Assert.True(await PrivacyCluster.Eventually(() => _cluster.Network("n1").Peers.Single(p => p.Name == "n3").State == PeerState.Banned));
        Assert.Contains("privacy frame", _cluster.Network("n1").Peers.Single(p => p.Name == "n3").BanReason);

        _cluster["n1"].Put("dcep", "kyc", Key, Value, Clerk("org1"));
        Assert.True(await PrivacyCluster.Eventually(() => Holds("n2")));
    }

    [Fact]
    public async Task A_malformed_privacy_frame_over_the_network_gets_its_sender_banned()
    {
        // A length-delimited field that claims 80 bytes and has one does not decode.
        Assert.True(_cluster.Network("n2").TrySend("n1", FrameKind.Privacy, new byte[] { 0x0A, 0x50, 0x01 }, out _));

        Assert.True(await PrivacyCluster.Eventually(() => _cluster.Network("n1").Peers.Single(p => p.Name == "n2").State == PeerState.Banned));
        Assert.False(Holds("n1"));
    }

    [Fact]
    public void A_replica_whose_value_does_not_match_the_on_chain_commitment_is_refused()
    {
        var committed = NewReplica("org1", "the committed value"u8.ToArray());
        _cluster.State.Commit("dcep", "kyc", Key, committed.Commitment, "org1");
        var other = NewReplica("org1", Value);

        Assert.Equal(ErrorCode.CommitmentMismatch, _cluster["n2"].Handle("n1", PrivacyFrames.Encode(other.Replica))?.Code);
        Assert.False(Holds("n2"));

        // A replica whose value was changed after it was committed to does not open its own commitment.
        var forged = committed.Replica.Clone();
        forged.Value = ByteString.CopyFrom(Value);
        Assert.Equal(ErrorCode.CommitmentMismatch, _cluster["n2"].Handle("n1", PrivacyFrames.Encode(forged))?.Code);
        Assert.False(Holds("n2"));

        // The refusals are logged with the key masked, never the value.
        var log = _cluster.Log("n2");
        Assert.Contains("privacy-frame-refused", log);
        Assert.Contains("CommitmentMismatch", log);
        Assert.DoesNotContain(Convert.ToHexStringLower(Key), log);
        Assert.DoesNotContain("110101199003071234", log);
        Assert.DoesNotContain("committed value", log);

        Assert.Null(_cluster["n2"].Handle("n1", PrivacyFrames.Encode(committed.Replica)));
        Assert.True(_cluster["n2"].TryRead("dcep", "kyc", Key, Clerk("org2"), out var read, out _, out var error), error?.ToString());
        Assert.Equal("the committed value"u8.ToArray(), read.Value);
    }

    [Fact]
    public async Task A_node_that_missed_a_committed_record_asks_the_entitled_peers_for_it_when_read()
    {
        var committed = NewReplica("org1", Value);
        // n1 holds the record and the chain its commitment; n2 missed the replica.
        Assert.Null(_cluster["n1"].Handle("n2", PrivacyFrames.Encode(committed.Replica)));
        _cluster.State.Commit("dcep", "kyc", Key, committed.Commitment, "org1");

        Assert.False(_cluster["n2"].TryRead("dcep", "kyc", Key, Clerk("org2"), out _, out _, out var error));
        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.True(await PrivacyCluster.Eventually(() => Holds("n2")));
        Assert.True(_cluster["n2"].TryRead("dcep", "kyc", Key, Clerk("org2"), out var read, out _, out error), error?.ToString());
        Assert.Equal(Value, read.Value);
        Assert.Empty(PrivacyFramesAt("n3"));
    }

    [Fact]
    public void An_oversize_address_in_a_frame_is_refused_before_state_is_read()
    {
        var replica = NewReplica("org1", Value).Replica.Clone();
        replica.Key = ByteString.CopyFrom(new byte[PrivateDataStore.KeySizeBytesMax + 1]);
        Assert.Equal(ErrorCode.InvalidLength, _cluster["n2"].Handle("n1", PrivacyFrames.Encode(replica))?.Code);

        replica.Key = ByteString.CopyFrom(Key);
        replica.Contract = new string('契', 100);
        Assert.Equal(ErrorCode.InvalidField, _cluster["n2"].Handle("n1", PrivacyFrames.Encode(replica))?.Code);
    }

    [Fact]
    public void Arbitrary_privacy_frame_bytes_are_refused_with_a_typed_error_and_never_throw()
    {
        // A smoke test of the frame decoder and dispatch: random bytes, and random bytes behind a valid oneof tag.
        Gen.Select(Gen.Int[0, 3], Gen.Byte.Array[0, 512]).Sample((tag, bytes) =>
        {
            var payload = tag == 0 ? bytes : [(byte)((tag << 3) | 2), .. Varint(bytes.Length), .. bytes];
            var error = _cluster["n1"].Handle("n2", payload);
            Assert.NotNull(error);
        }, iter: 300, threads: 1);
        Assert.False(Holds("n1"));
    }

    private static byte[] Varint(int value)
    {
        var bytes = new List<byte>();
        for (; value >= 0x80; value >>= 7) bytes.Add((byte)(value | 0x80));
        bytes.Add((byte)value);
        return [.. bytes];
    }

    /// <summary>A record written at a detached store of <paramref name="organisation"/>: its replica, not sent anywhere.</summary>
    private static PrivateWrite NewReplica(string organisation, byte[] value)
    {
        using var directory = new TempDirectory();
        using var dataKey = NodeDataKey.Ephemeral(PrivacyCluster.Suite);
        using var audit = PrivacyAuditLog.Open(directory.Sub("audit.log"), PrivacyCluster.Suite, TimeProvider.System);
        var store = new PrivateDataStore(directory.Path, organisation, dataKey, audit, TimeProvider.System);
        var policy = PolicyOf(("dcep", "kyc", ["org1", "org2"]));
        return store.Put("dcep", "kyc", Key, value, policy, new PrivacyReader("writer", organisation, "test"));
    }

    private static PrivacyPolicy PolicyOf(params (string Contract, string Collection, string[] Organisations)[] collections)
    {
        var state = new ChainState();
        state.SetPolicy(collections);
        return PrivacyPolicy.Read(state);
    }
}
