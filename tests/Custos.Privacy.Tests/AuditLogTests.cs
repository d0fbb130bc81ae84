using System.Buffers.Binary;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Privacy.Audit;
using Custos.Privacy.Wire;
using Google.Protobuf;

namespace Custos.Privacy.Tests;

public sealed class AuditLogTests : IDisposable
{
    private static readonly ICryptoSuite Suite = CryptoSuites.Gm;
    private readonly TempDirectory _directory = new();
    private string LogPath => _directory.Sub("audit.log");

    private static PrivacyAccess Read(int i) => new($"clerk-{i}", "org1", "dcep", "kyc", System.Text.Encoding.UTF8.GetBytes($"customer/{i:D4}"), "review", "read");

    private AuditHead WriteEntries(int count)
    {
        using var log = PrivacyAuditLog.Open(LogPath, Suite, new FixedTime(DateTimeOffset.UnixEpoch.AddDays(20_000)));
        for (var i = 1; i <= count; i++) log.Append(Read(i));
        return log.Head;
    }

    [Fact]
    public void Entries_chain_and_verify()
    {
        var head = WriteEntries(5);
        Assert.Equal(5ul, head.Sequence);
        Assert.True(PrivacyAuditLog.TryVerify(LogPath, Suite, head, out var verified, out var error), error?.ToString());
        Assert.Equal(head, verified);
        var entries = PrivacyAuditLog.ReadVerified(LogPath, Suite);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (ulong)i), entries.Select(e => e.Sequence));
    }

    [Fact]
    public void Reopening_continues_the_chain()
    {
        WriteEntries(2);
        using (var log = PrivacyAuditLog.Open(LogPath, Suite, TimeProvider.System))
        {
            Assert.Equal(2ul, log.Head.Sequence);
            log.Append(Read(3));
        }

        Assert.True(PrivacyAuditLog.TryVerify(LogPath, Suite, null, out var head, out _));
        Assert.Equal(3ul, head.Sequence);
    }

    [Fact]
    public void A_changed_entry_breaks_the_chain_at_the_next_one()
    {
        WriteEntries(4);
        var entries = Records();
        entries[1].Reader = "someone-else";
        Rewrite(entries);
        Assert.False(PrivacyAuditLog.TryVerify(LogPath, Suite, null, out _, out var error));
        Assert.Equal(ErrorCode.AuditChainBroken, error.Code);
        Assert.Contains("entry 3", error.Message);
        Assert.Throws<Core.CustosException>(() => PrivacyAuditLog.Open(LogPath, Suite, TimeProvider.System));
    }

    [Fact]
    public void A_removed_entry_breaks_the_chain()
    {
        WriteEntries(4);
        var entries = Records();
        entries.RemoveAt(1);
        Rewrite(entries);
        Assert.False(PrivacyAuditLog.TryVerify(LogPath, Suite, null, out _, out var error));
        Assert.Equal(ErrorCode.AuditChainBroken, error.Code);
    }

    [Fact]
    public void A_changed_last_entry_or_a_cut_tail_is_detected_against_the_anchored_head()
    {
        var head = WriteEntries(3);
        var entries = Records();
        entries[2].Purpose = "nothing to see";
        Rewrite(entries);
        Assert.False(PrivacyAuditLog.TryVerify(LogPath, Suite, head, out _, out var error));
        Assert.Equal(ErrorCode.AuditChainBroken, error.Code);

        entries.RemoveAt(2);
        Rewrite(entries);
        Assert.True(PrivacyAuditLog.TryVerify(LogPath, Suite, null, out _, out _));
        Assert.False(PrivacyAuditLog.TryVerify(LogPath, Suite, head, out _, out error));
        Assert.Equal(ErrorCode.AuditChainBroken, error.Code);
    }

    [Fact]
    public void An_incomplete_last_record_is_cut_on_open()
    {
        WriteEntries(2);
        using (var file = new FileStream(LogPath, FileMode.Append)) file.Write([0, 0, 0, 40, 1, 2, 3]);
        Assert.False(PrivacyAuditLog.TryVerify(LogPath, Suite, null, out _, out _));
        using var log = PrivacyAuditLog.Open(LogPath, Suite, TimeProvider.System);
        Assert.True(log.CutTornTail);
        Assert.Equal(2ul, log.Head.Sequence);
        log.Append(Read(3));
        Assert.True(PrivacyAuditLog.TryVerify(LogPath, Suite, log.Head, out _, out var error), error?.ToString());
    }

    [Fact]
    public void The_log_holds_keys_masked_and_hashed_never_in_the_clear()
    {
        WriteEntries(1);
        var content = File.ReadAllBytes(LogPath);
        Assert.Equal(-1, content.AsSpan().IndexOf("customer/0001"u8));
        var entry = Assert.Single(PrivacyAuditLog.ReadVerified(LogPath, Suite));
        Assert.Contains('*', entry.KeyMasked);
        Assert.Equal(PrivacyAuditLog.KeyHash(Suite, "customer/0001"u8).ToArray(), entry.KeyHash.ToByteArray());
    }

    private List<PrivacyAuditEntry> Records()
    {
        var bytes = File.ReadAllBytes(LogPath);
        var entries = new List<PrivacyAuditEntry>();
        for (var offset = 0; offset < bytes.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
            entries.Add(PrivacyAuditEntry.Parser.ParseFrom(bytes.AsSpan(offset + 4, length)));
            offset += 4 + length;
        }

        return entries;
    }

    private void Rewrite(List<PrivacyAuditEntry> entries)
    {
        using var file = new FileStream(LogPath, FileMode.Create);
        foreach (var entry in entries)
        {
            var bytes = entry.ToByteArray();
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            file.Write(length);
            file.Write(bytes);
        }
    }

    public void Dispose() => _directory.Dispose();
}
