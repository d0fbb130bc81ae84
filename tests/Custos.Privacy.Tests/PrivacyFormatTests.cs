using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Privacy.PrivateData;
using Custos.Privacy.Wire;
using Google.Protobuf.Reflection;

namespace Custos.Privacy.Tests;

/// <summary>
/// Freezes what privacy puts on chain, on the wire and on disk: enum values, message field numbers and domain
/// prefixes. A change here is a format change (and bumps the envelope's format version or the file format tag).
/// </summary>
public sealed class PrivacyFormatTests
{
    [Fact]
    public void Data_class_and_strategy_values_are_frozen()
    {
        Assert.Equal([("DATA_CLASS_UNSPECIFIED", 0), ("DATA_CLASS_C1", 1), ("DATA_CLASS_C2", 2), ("DATA_CLASS_C3", 3)], Values("DataClass"));
        Assert.Equal([("PRIVACY_STRATEGY_UNSPECIFIED", 0), ("PRIVACY_STRATEGY_PUBLIC", 1), ("PRIVACY_STRATEGY_ENCRYPTED", 2), ("PRIVACY_STRATEGY_DESIGNATED_NODES", 3)], Values("PrivacyStrategy"));
        Assert.Equal([("RECIPIENT_ROLE_UNSPECIFIED", 0), ("RECIPIENT_ROLE_PARTY", 1), ("RECIPIENT_ROLE_SUPERVISOR", 2)], Values("RecipientRole"));
    }

    [Fact]
    public void Envelope_and_replication_field_numbers_are_frozen()
    {
        Assert.Equal(
            ["format_version=1", "chain_id=2", "contract=3", "key=4", "data_class=5", "commitment=6", "nonce=7", "ciphertext=8", "grants=9", "writer_public_key=10"],
            Fields(EnvelopeBody.Descriptor));
        Assert.Equal(["body=1", "signature=2"], Fields(PrivateEnvelope.Descriptor));
        Assert.Equal(["recipient_public_key=1", "role=2", "wrapped_key=3"], Fields(KeyGrant.Descriptor));
        Assert.Equal(["salt=1", "value=2"], Fields(EnvelopePlaintext.Descriptor));
        Assert.Equal(["replica=1", "request=2", "purge=3"], Fields(PrivacyFrame.Descriptor));
        Assert.Equal(
            ["contract=1", "collection=2", "key=3", "value=4", "salt=5", "commitment=6", "entitled_organisations=7", "origin_organisation=8"],
            Fields(PrivateDataReplica.Descriptor));
        Assert.Equal(
            ["version=1", "strategies=2", "collections=3"],
            Fields(PrivacyPolicyRecord.Descriptor));
    }

    [Fact]
    public void On_disk_field_numbers_are_frozen()
    {
        Assert.Equal(
            ["contract=1", "collection=2", "key=3", "commitment=4", "entitled_organisations=5", "value=6", "salt=7", "purge=8", "stored_at_ms=9", "origin_organisation=10"],
            Fields(StoredPrivateRecord.Descriptor));
        Assert.Equal(
            ["sequence=1", "at_ms=2", "reader=3", "organisation=4", "contract=5", "collection=6", "key_masked=7", "key_hash=8", "purpose=9", "action=10", "previous_hash=11"],
            Fields(PrivacyAuditEntry.Descriptor));
        Assert.Equal(
            ["format=1", "suite=2", "recipient_public_key=3", "wrapped_key=4", "nonce=5", "ciphertext=6"],
            Fields(PrivacyExportFile.Descriptor));
    }

    [Fact]
    public void The_export_decoder_refuses_garbage_without_throwing()
    {
        using var key = Crypto.CryptoSuites.Gm.GenerateKey();
        var recipient = Identity.Pseudonyms.DecryptionKeyExtensions.AsDecryptionKey(key);
        var random = new Random(9);
        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[random.Next(0, 300)];
            random.NextBytes(bytes);
            Assert.False(Export.PrivacyExport.TryOpen(Crypto.CryptoSuites.Gm, bytes, recipient, out _, out var error));
            Assert.NotEqual(ErrorCode.Ok, error.Code);
        }
    }

    [Fact]
    public void Domain_prefixes_are_frozen()
    {
        Assert.Equal("custos/v1/privacy_commitment\0", Encoding.ASCII.GetString(PrivacyDomains.Commitment));
        Assert.Equal("custos/v1/privacy_envelope\0", Encoding.ASCII.GetString(PrivacyDomains.EnvelopeSignature));
        Assert.Equal("custos/v1/privacy_envelope_hash\0", Encoding.ASCII.GetString(PrivacyDomains.EnvelopeHash));
        Assert.Equal("custos/v1/privacy_audit_entry\0", Encoding.ASCII.GetString(PrivacyDomains.AuditEntry));
    }

    [Fact]
    public void The_policy_state_keys_are_frozen()
    {
        Assert.Equal("system.privacy\0policy", Encoding.ASCII.GetString(Policy.PrivacyPolicyContract.PolicyKey));
        Assert.Equal("system.privacy\0designated", Encoding.ASCII.GetString(Policy.PrivacyPolicyContract.DesignatedKey));
        Assert.Equal("73797374656d2e70726976616379006368616e67652f0000000000000001", Convert.ToHexStringLower(Policy.PrivacyPolicyContract.ChangeKey(1)));
    }

    [Fact]
    public void The_commitment_of_a_known_vector_is_frozen()
    {
        var salt = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        var commitment = Envelopes.Commitment.Compute(Crypto.CryptoSuites.Gm, salt, "custos"u8);
        Assert.Equal(Crypto.CryptoSuites.Gm.Hash([.. "custos/v1/privacy_commitment\0"u8, .. salt, .. "custos"u8]), commitment);
    }

    [Fact]
    public void The_frame_decoder_refuses_garbage_and_oversize_input_without_throwing()
    {
        var random = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[random.Next(0, 300)];
            random.NextBytes(bytes);
            if (!PrivacyFrames.TryDecode(bytes, out _, out var error)) Assert.NotEqual(ErrorCode.Ok, error.Code);
        }

        Assert.False(PrivacyFrames.TryDecode([], out _, out var empty));
        Assert.Equal(ErrorCode.Malformed, empty.Code);
        Assert.False(PrivacyFrames.TryDecode(new byte[PrivacyFrames.FrameSizeBytesMax + 1], out _, out var large));
        Assert.Equal(ErrorCode.TooLarge, large.Code);
    }

    private static (string, int)[] Values(string name) =>
        [.. PrivacyReflection.Descriptor.FindTypeByName<EnumDescriptor>(name).Values.Select(v => (v.Name, v.Number))];

    private static string[] Fields(MessageDescriptor descriptor) => [.. descriptor.Fields.InFieldNumberOrder().Select(f => $"{f.Name}={f.FieldNumber}")];
}
