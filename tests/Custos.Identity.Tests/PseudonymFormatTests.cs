using System.Numerics;
using Custos.Core;
using Custos.Identity.Pseudonyms;
using Custos.Identity.Wire;
using Google.Protobuf.Reflection;

namespace Custos.Identity.Tests;

/// <summary>
/// Freezes the pseudonym credential format: identity.proto's field numbers and enum values, the fixed sizes, and
/// the layout of an escrow share's plaintext. A failure here is a format change: bump
/// <see cref="CredentialLimits.FormatVersion"/> rather than edit the table.
/// </summary>
public sealed class PseudonymFormatTests
{
    public static TheoryData<string, string> MessageFields => new()
    {
        { "RealIdentity", "legal_name=1 document_type=2 document_number=3 issuing_country=4 date_of_birth=5 customer_reference=6" },
        { "EscrowAuthority", "name=1 public_key=2" },
        { "EscrowShare", "ciphertext=1 commitment=2" },
        { "IdentityEscrow", "threshold=1 authorities=2 nonce=3 sealed_identity=4 shares=5" },
        { "PseudonymCredentialBody", "format_version=1 suite=2 chain_id=3 registrar_organisation=4 pseudonym_public_key=5 valid_from_height=6 valid_until_height=7 escrow=8" },
        { "PseudonymCredential", "body=1 signature=2" },
        { "EscrowContext", "format_version=1 suite=2 chain_id=3 registrar_organisation=4 pseudonym_public_key=5" },
        { "ReleasedShare", "credential_id=1 case_reference=2 authority_index=3 ciphertext=4" },
        { "ReleasedShareContent", "credential_id=1 case_reference=2 authority_index=3 requester_public_key=4 share_plaintext=5" },
    };

    [Theory]
    [MemberData(nameof(MessageFields))]
    public void Identity_proto_field_numbers_are_frozen(string message, string fields)
    {
        var descriptor = IdentityReflection.Descriptor.FindTypeByName<MessageDescriptor>(message);
        Assert.Equal(fields, string.Join(' ', descriptor.Fields.InFieldNumberOrder().Select(f => $"{f.Name}={f.FieldNumber}")));
    }

    [Fact]
    public void Every_identity_proto_message_is_frozen()
    {
        Assert.Equal(MessageFields.Select(row => row.Data.Item1).Order(), IdentityReflection.Descriptor.MessageTypes.Select(m => m.Name).Order());
    }

    [Fact]
    public void Identity_document_types_are_frozen()
    {
        Assert.Equal(
            "UNSPECIFIED=0 RESIDENT_IDENTITY_CARD=1 PASSPORT=2 MAINLAND_TRAVEL_PERMIT=3 FOREIGN_PERMANENT_RESIDENT_CARD=4",
            string.Join(' ', IdentityReflection.Descriptor.FindTypeByName<EnumDescriptor>("IdentityDocumentType").Values
                .Select(v => $"{v.Name["IDENTITY_DOCUMENT_TYPE_".Length..]}={v.Number}")));
    }

    [Fact]
    public void Fixed_sizes_of_format_version_1_are_frozen()
    {
        Assert.Equal(1u, CredentialLimits.FormatVersion);
        Assert.Equal(16, CredentialLimits.AuthoritiesMax);
        Assert.Equal(1024, CredentialLimits.SealedIdentityPlaintextSizeBytes);
        Assert.Equal(66, Shamir.ElementSizeBytes);
        Assert.Equal(154, EscrowSharePlaintext.SizeBytes);
    }

    [Fact]
    public void Escrow_share_plaintext_layout_is_frozen()
    {
        var context = new Hash32(Enumerable.Repeat((byte)0xcc, 32).ToArray());
        var salt = Enumerable.Repeat((byte)0x5a, CredentialLimits.SaltSizeBytes).ToArray();
        var encoded = new EscrowSharePlaintext(context, 3, salt, new BigInteger(0x0102)).Encode();

        var expected = "637573746f732f76312f657363726f775f736861726500" // custos/v1/escrow_share\0
            + new string('c', 64) + "03" + string.Concat(Enumerable.Repeat("5a", 32))
            + new string('0', 128) + "0102";
        Assert.Equal(expected, Convert.ToHexStringLower(encoded));
        Assert.True(EscrowSharePlaintext.TryDecode(encoded, out var decoded));
        Assert.Equal((context, 3, new BigInteger(0x0102)), (decoded.Context, decoded.AuthorityIndex, decoded.Value));
        Assert.Equal(salt, decoded.Salt);
    }
}
