using CsCheck;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Pseudonyms;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Tests;

public sealed class PseudonymCredentialTests
{
    public static TheoryData<string> Suites => PseudonymTestKit.Suites;

    [Theory]
    [MemberData(nameof(Suites))]
    public void Issued_credential_verifies_with_the_registrar_key_and_carries_the_policy(string suiteName)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Parse(suiteName), threshold: 2, authorities: 3);
        var pseudonym = kit.Suite.GenerateKey();
        var issued = kit.Registrar.Issue(pseudonym.PublicKey, PseudonymTestKit.Alice, kit.Policy, new CredentialValidity(10, 500));

        Assert.True(PseudonymCredentials.TryVerify(kit.Suite, issued.Bytes.Span, kit.RegistrarKey.PublicKey, PseudonymTestKit.ChainId, out var verified, out var error), error?.ToString());
        Assert.Equal(issued.Id, verified.Id);
        Assert.Equal(pseudonym.PublicKey.Encoded.ToArray(), verified.PseudonymPublicKey);
        Assert.Equal(PseudonymTestKit.Organisation, verified.RegistrarOrganisation);
        Assert.Equal(2u, verified.Threshold);
        Assert.Equal(kit.AuthorityKeys.Select(k => k.PublicKey.Encoded.ToArray()), verified.AuthorityPublicKeys);
        Assert.Equal(kit.Suite.Id, verified.Body.Suite);
        Assert.Equal(CredentialLimits.FormatVersion, verified.Body.FormatVersion);
        Assert.Equal((10ul, 500ul), (verified.ValidFromHeight, verified.ValidUntilHeight));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Raw_registrar_key_bytes_verify_like_a_decoded_key(string suiteName)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Parse(suiteName), threshold: 1, authorities: 1);
        var issued = kit.Issue();

        Assert.True(PseudonymCredentials.TryVerify(kit.Suite, issued.Bytes.Span, kit.RegistrarKey.PublicKey.Encoded, PseudonymTestKit.ChainId, out _, out _));
        Assert.False(PseudonymCredentials.TryVerify(kit.Suite, issued.Bytes.Span, new byte[65], PseudonymTestKit.ChainId, out _, out var error));
        Assert.Equal(ErrorCode.PublicKeyInvalid, error.Code);
    }

    [Fact]
    public void Credential_id_is_the_suite_hash_of_the_body_bytes_under_the_pseudonym_credential_domain()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        var issued = kit.Issue();

        Assert.Equal(kit.Suite.Hash(SigningDomain.Wrap(ObjectType.PseudonymCredential, issued.BodyBytes.Span)), issued.Id);
        Assert.Equal("637573746f732f76312f70736575646f6e796d5f63726564656e7469616c00",
            Convert.ToHexStringLower(SigningDomain.Prefix(ObjectType.PseudonymCredential)));
    }

    [Fact]
    public void Credential_signed_by_another_key_is_refused_as_credential_invalid()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 2);
        var issued = kit.Issue();
        using var stranger = kit.Suite.GenerateKey();

        Assert.False(PseudonymCredentials.TryVerify(kit.Suite, issued.Bytes.Span, stranger.PublicKey, PseudonymTestKit.ChainId, out var credential, out var error));
        Assert.Equal(ErrorCode.CredentialInvalid, error.Code);
        Assert.Null(credential);
    }

    [Fact]
    public void Credential_for_another_chain_is_refused_as_chain_id_mismatch()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        var issued = kit.Issue();

        Assert.False(PseudonymCredentials.TryVerify(kit.Suite, issued.Bytes.Span, kit.RegistrarKey.PublicKey, "other-chain", out _, out var error));
        Assert.Equal(ErrorCode.ChainIdMismatch, error.Code);
    }

    [Fact]
    public void Gm_credential_is_refused_on_an_intl_chain_as_suite_mismatch()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        var issued = kit.Issue();

        Assert.False(PseudonymCredentials.TryDecode(CryptoSuites.Intl, issued.Bytes.Span, out _, out var error));
        Assert.Equal(ErrorCode.SuiteMismatch, error.Code);
    }

    public static TheoryData<string> BodyFields => new()
    {
        "format_version", "suite", "chain_id", "registrar_organisation", "pseudonym_public_key", "valid_from_height",
        "valid_until_height", "threshold", "authority_name", "authority_public_key", "authority_removed", "nonce",
        "sealed_identity", "share_ciphertext", "share_commitment", "shares_reordered", "escrow_removed",
    };

    [Theory]
    [MemberData(nameof(BodyFields))]
    public void Changing_any_body_field_breaks_verification(string field)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var issued = kit.Issue(validity: new CredentialValidity(1, 1000));
        using var other = kit.Suite.GenerateKey();
        var otherKey = ByteString.CopyFrom(other.PublicKey.Encoded);

        var tampered = PseudonymTestKit.Tamper(issued, body => Change(body, field, otherKey));

        Assert.NotEqual(issued.Bytes.ToArray(), tampered);
        Assert.False(PseudonymCredentials.TryVerify(kit.Suite, tampered, kit.RegistrarKey.PublicKey, PseudonymTestKit.ChainId, out _, out var error));
        Assert.Contains(error.Code, new[] { ErrorCode.CredentialInvalid, ErrorCode.UnsupportedVersion, ErrorCode.SuiteMismatch, ErrorCode.ChainIdMismatch });
    }

    [Fact]
    public void Flipping_bits_throughout_an_encoded_credential_is_refused_with_a_typed_error()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        var issued = kit.Issue().Bytes.ToArray();

        // Every third byte, a different bit each time: every field of the body is hit (the field-by-field test above
        // covers each one deliberately), at a third of the cost of flipping every byte.
        for (var position = 0; position < issued.Length; position += 3)
        {
            var flipped = (byte[])issued.Clone();
            flipped[position] ^= (byte)(1 << (position % 8));
            var accepted = PseudonymCredentials.TryVerify(kit.Suite, flipped, kit.RegistrarKey.PublicKey, PseudonymTestKit.ChainId, out _, out var error);
            Assert.False(accepted, $"byte {position} changed and still verified");
            Assert.NotEqual(ErrorCode.Ok, error.Code);
        }
    }

    [Fact]
    public void Changing_the_signature_breaks_verification()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Intl, threshold: 1, authorities: 1);
        var issued = kit.Issue();
        var signature = issued.Wire.Signature.ToByteArray();
        signature[5] ^= 0x40;
        var tampered = new PseudonymCredential { Body = issued.Wire.Body, Signature = ByteString.CopyFrom(signature) }.ToByteArray();

        Assert.False(PseudonymCredentials.TryVerify(kit.Suite, tampered, kit.RegistrarKey.PublicKey, PseudonymTestKit.ChainId, out _, out var error));
        Assert.Equal(ErrorCode.CredentialInvalid, error.Code);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Escrow_swapped_between_two_credentials_breaks_the_registrar_signature(string suiteName)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Parse(suiteName), threshold: 2, authorities: 3);
        var alice = kit.Issue();
        var bob = kit.Issue(identity: new RealIdentity(PseudonymTestKit.Alice) { LegalName = "李四", DocumentNumber = "110105195001010011" });

        var swapped = PseudonymTestKit.Tamper(alice, body => body.Escrow = bob.Body.Escrow.Clone());

        Assert.False(PseudonymCredentials.TryVerify(kit.Suite, swapped, kit.RegistrarKey.PublicKey, PseudonymTestKit.ChainId, out _, out var error));
        Assert.Equal(ErrorCode.CredentialInvalid, error.Code);
    }

    [Fact]
    public void Escrow_copied_into_a_credential_for_another_pseudonym_is_not_released_even_if_a_registrar_signs_it()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 2);
        var alice = kit.Issue();
        var mallory = kit.Issue();

        // A registrar that signs Alice's escrow under Mallory's pseudonym key gets a credential that verifies, but
        // every share names Alice's escrow context, so no authority releases it and Alice is not exposed.
        var copied = PseudonymTestKit.Resign(mallory, body => body.Escrow = alice.Body.Escrow.Clone(), kit.RegistrarKey);
        Assert.True(PseudonymCredentials.TryVerify(kit.Suite, copied, kit.RegistrarKey.PublicKey, PseudonymTestKit.ChainId, out var credential, out _));

        for (var i = 0; i < kit.AuthorityKeys.Length; i++)
        {
            Assert.False(ShareRelease.TryRelease(kit.Suite, kit.AuthorityKeys[i].AsDecryptionKey(), credential, "case-1", kit.RequesterKey.PublicKey, out var released, out var error));
            Assert.Equal(ErrorCode.CredentialInvalid, error.Code);
            Assert.Null(released);
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Two_credentials_of_one_person_share_only_the_policy_the_registrar_and_the_chain(string suiteName)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Parse(suiteName), threshold: 2, authorities: 3);
        var first = kit.Issue();
        var second = kit.Issue();
        var (a, b) = (first.Body, second.Body);

        // Shared by design: what the policy, the registrar and the chain fix.
        Assert.Equal(a.Escrow.Threshold, b.Escrow.Threshold);
        Assert.Equal(a.Escrow.Authorities, b.Escrow.Authorities);
        Assert.Equal(a.RegistrarOrganisation, b.RegistrarOrganisation);
        Assert.Equal((a.FormatVersion, a.Suite, a.ChainId, a.ValidFromHeight, a.ValidUntilHeight), (b.FormatVersion, b.Suite, b.ChainId, b.ValidFromHeight, b.ValidUntilHeight));

        // Everything else differs, and sizes do not tell people apart.
        Assert.NotEqual(first.Id, second.Id);
        Assert.NotEqual(first.Wire.Signature, second.Wire.Signature);
        Assert.NotEqual(a.PseudonymPublicKey, b.PseudonymPublicKey);
        Assert.NotEqual(a.Escrow.Nonce, b.Escrow.Nonce);
        Assert.NotEqual(a.Escrow.SealedIdentity, b.Escrow.SealedIdentity);
        Assert.Equal(a.Escrow.SealedIdentity.Length, b.Escrow.SealedIdentity.Length);
        var allShareBytes = a.Escrow.Shares.Concat(b.Escrow.Shares).SelectMany(s => new[] { s.Ciphertext, s.Commitment }).ToArray();
        Assert.Equal(allShareBytes.Length, allShareBytes.Distinct().Count());
        for (var i = 0; i < a.Escrow.Shares.Count; i++)
        {
            Assert.Equal(a.Escrow.Shares[i].Ciphertext.Length, b.Escrow.Shares[i].Ciphertext.Length);
        }
    }

    [Fact]
    public void Sealed_identity_has_one_size_whatever_the_identity()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        var shortName = kit.Issue(identity: new RealIdentity(PseudonymTestKit.Alice) { LegalName = "王" });
        var longName = kit.Issue(identity: new RealIdentity(PseudonymTestKit.Alice) { LegalName = new string('x', CredentialLimits.LegalNameLengthMax) });

        Assert.Equal(shortName.Body.Escrow.SealedIdentity.Length, longName.Body.Escrow.SealedIdentity.Length);
        Assert.Equal(shortName.Bytes.Length, longName.Bytes.Length);
    }

    public static TheoryData<string> StructuralDefects => new()
    {
        "threshold_zero", "threshold_above_n", "no_authorities", "too_many_authorities", "duplicate_authority", "short_nonce",
        "short_pseudonym_key", "pseudonym_key_off_curve", "missing_share", "short_commitment", "empty_share_ciphertext",
        "validity_ends_before_it_starts", "empty_organisation", "control_character_in_authority_name", "bad_chain_id",
    };

    [Theory]
    [MemberData(nameof(StructuralDefects))]
    public void Signed_credential_with_a_structural_defect_is_refused_as_credential_invalid(string defect)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var issued = kit.Issue();
        var bytes = PseudonymTestKit.Resign(issued, body => Break(body, defect), kit.RegistrarKey);

        Assert.False(PseudonymCredentials.TryVerify(kit.Suite, bytes, kit.RegistrarKey.PublicKey, PseudonymTestKit.ChainId, out var credential, out var error));
        Assert.Equal(ErrorCode.CredentialInvalid, error.Code);
        Assert.Null(credential);
    }

    [Fact]
    public void Bytes_that_are_not_a_credential_give_typed_errors_and_never_throw()
    {
        var suite = CryptoSuites.Gm;
        Gen.Byte.Array[0, 600].Sample(bytes =>
        {
            Assert.False(PseudonymCredentials.TryDecode(suite, bytes, out _, out var error));
            Assert.Contains(error.Code, new[] { ErrorCode.Malformed, ErrorCode.CredentialInvalid, ErrorCode.UnsupportedVersion, ErrorCode.SuiteMismatch });
        });

        Assert.False(PseudonymCredentials.TryDecode(suite, [], out _, out var empty));
        Assert.Equal(ErrorCode.CredentialInvalid, empty.Code);
        Assert.False(PseudonymCredentials.TryDecode(suite, new byte[CredentialLimits.CredentialSizeBytesMax + 1], out _, out var large));
        Assert.Equal(ErrorCode.TooLarge, large.Code);
    }

    [Fact]
    public void Truncated_or_extended_credentials_are_refused()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        var bytes = kit.Issue().Bytes.ToArray();

        for (var length = 0; length < bytes.Length; length += 7)
        {
            Assert.False(PseudonymCredentials.TryDecode(kit.Suite, bytes.AsSpan(0, length), out _, out _));
        }

        // An unknown field appended (field 15, varint 1) would give the credential a second encoding.
        Assert.False(PseudonymCredentials.TryDecode(kit.Suite, [.. bytes, 0x78, 0x01], out _, out var error));
        Assert.Equal(ErrorCode.Malformed, error.Code);
    }

    [Fact]
    public void Validity_is_a_half_open_range_of_heights()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        var bounded = kit.Issue(validity: new CredentialValidity(100, 200));
        var open = kit.Issue();

        Assert.NotNull(PseudonymCredentials.CheckValidAt(bounded, 99));
        Assert.Null(PseudonymCredentials.CheckValidAt(bounded, 100));
        Assert.Null(PseudonymCredentials.CheckValidAt(bounded, 199));
        Assert.Equal(ErrorCode.CredentialInvalid, PseudonymCredentials.CheckValidAt(bounded, 200)!.Code);
        Assert.Null(PseudonymCredentials.CheckValidAt(open, ulong.MaxValue));
    }

    public static TheoryData<string> BadRequests => new()
    {
        "threshold_zero", "threshold_above_n", "no_authorities", "seventeen_authorities", "duplicate_authority", "authority_key_not_a_point",
        "empty_legal_name", "unspecified_document", "lowercase_country", "bad_birth_date", "empty_customer_reference", "validity_reversed",
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void Registrar_refuses_to_issue_for_an_invalid_identity_policy_or_validity(string request)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var identity = PseudonymTestKit.Alice;
        var policy = kit.Policy;
        var validity = CredentialValidity.Unbounded;
        var authorities = kit.Policy.Authorities;
        switch (request)
        {
            case "threshold_zero": policy = policy with { Threshold = 0 }; break;
            case "threshold_above_n": policy = policy with { Threshold = 4 }; break;
            case "no_authorities": policy = policy with { Authorities = [] }; break;
            case "seventeen_authorities": policy = IdentityEscrowPolicy.Of(2, Enumerable.Range(0, 17).Select(i => ($"a{i}", kit.Suite.GenerateKey().PublicKey))); break;
            case "duplicate_authority": policy = policy with { Authorities = [authorities[0], authorities[1], authorities[0]] }; break;
            case "authority_key_not_a_point": policy = policy with { Authorities = [authorities[0], authorities[1], new EscrowAuthority { Name = "x", PublicKey = ByteString.CopyFrom(new byte[65]) }] }; break;
            case "empty_legal_name": identity.LegalName = ""; break;
            case "unspecified_document": identity.DocumentType = IdentityDocumentType.Unspecified; break;
            case "lowercase_country": identity.IssuingCountry = "cn"; break;
            case "bad_birth_date": identity.DateOfBirth = "1949-02-30"; break;
            case "empty_customer_reference": identity.CustomerReference = ""; break;
            case "validity_reversed": validity = new CredentialValidity(10, 10); break;
        }

        Assert.False(kit.Registrar.TryIssue(kit.Suite.GenerateKey().PublicKey, identity, policy, validity, out var credential, out var error));
        Assert.Contains(error.Code, new[] { ErrorCode.InvalidField, ErrorCode.PublicKeyInvalid });
        Assert.Null(credential);
    }

    [Fact]
    public void Registrar_refuses_a_pseudonym_key_of_another_suite()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        Assert.False(kit.Registrar.TryIssue(CryptoSuites.Intl.GenerateKey().PublicKey, PseudonymTestKit.Alice, kit.Policy, CredentialValidity.Unbounded, out _, out var error));
        Assert.Equal(ErrorCode.SuiteMismatch, error.Code);
    }

    private static void Change(PseudonymCredentialBody body, string field, ByteString otherKey)
    {
        switch (field)
        {
            case "format_version": body.FormatVersion = 2; break;
            case "suite": body.Suite = CryptoSuiteId.Intl; break;
            case "chain_id": body.ChainId = PseudonymTestKit.ChainId + "x"; break;
            case "registrar_organisation": body.RegistrarOrganisation = "bank-b"; break;
            case "pseudonym_public_key": body.PseudonymPublicKey = otherKey; break;
            case "valid_from_height": body.ValidFromHeight = 0; break;
            case "valid_until_height": body.ValidUntilHeight = 0; break;
            case "threshold": body.Escrow.Threshold = 1; break;
            case "authority_name": body.Escrow.Authorities[1].Name = "impostor"; break;
            case "authority_public_key": body.Escrow.Authorities[2].PublicKey = otherKey; break;
            case "authority_removed": body.Escrow.Authorities.RemoveAt(2); body.Escrow.Shares.RemoveAt(2); break;
            case "nonce": body.Escrow.Nonce = Flip(body.Escrow.Nonce, 0); break;
            case "sealed_identity": body.Escrow.SealedIdentity = Flip(body.Escrow.SealedIdentity, 500); break;
            case "share_ciphertext": body.Escrow.Shares[1].Ciphertext = Flip(body.Escrow.Shares[1].Ciphertext, 80); break;
            case "share_commitment": body.Escrow.Shares[0].Commitment = Flip(body.Escrow.Shares[0].Commitment, 31); break;
            case "shares_reordered": (body.Escrow.Shares[0], body.Escrow.Shares[1]) = (body.Escrow.Shares[1], body.Escrow.Shares[0]); break;
            case "escrow_removed": body.Escrow = null; break;
            default: throw new ArgumentException(field);
        }
    }

    private static void Break(PseudonymCredentialBody body, string defect)
    {
        var escrow = body.Escrow;
        switch (defect)
        {
            case "threshold_zero": escrow.Threshold = 0; break;
            case "threshold_above_n": escrow.Threshold = 4; break;
            case "no_authorities": escrow.Authorities.Clear(); escrow.Shares.Clear(); break;
            case "too_many_authorities":
                for (var i = 0; i < 14; i++)
                {
                    escrow.Authorities.Add(new EscrowAuthority { Name = $"extra-{i}", PublicKey = ByteString.CopyFrom(CryptoSuites.Gm.GenerateKey().PublicKey.Encoded) });
                    escrow.Shares.Add(escrow.Shares[0].Clone());
                }

                break;
            case "duplicate_authority": escrow.Authorities[2].PublicKey = escrow.Authorities[0].PublicKey; break;
            case "short_nonce": escrow.Nonce = ByteString.CopyFrom(new byte[8]); break;
            case "short_pseudonym_key": body.PseudonymPublicKey = ByteString.CopyFrom(body.PseudonymPublicKey.Span[..33]); break;
            case "pseudonym_key_off_curve": body.PseudonymPublicKey = Flip(body.PseudonymPublicKey, 64); break;
            case "missing_share": escrow.Shares.RemoveAt(1); break;
            case "short_commitment": escrow.Shares[0].Commitment = ByteString.CopyFrom(escrow.Shares[0].Commitment.Span[..20]); break;
            case "empty_share_ciphertext": escrow.Shares[2].Ciphertext = ByteString.Empty; break;
            case "validity_ends_before_it_starts": body.ValidFromHeight = 50; body.ValidUntilHeight = 40; break;
            case "empty_organisation": body.RegistrarOrganisation = ""; break;
            case "control_character_in_authority_name": escrow.Authorities[0].Name = "a\u0007"; break;
            case "bad_chain_id": body.ChainId = "chain id with spaces"; break;
            default: throw new ArgumentException(defect);
        }
    }

    private static ByteString Flip(ByteString bytes, int index)
    {
        var copy = bytes.ToByteArray();
        copy[index] ^= 0x01;
        return ByteString.CopyFrom(copy);
    }
}
