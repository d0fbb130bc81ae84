using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Pseudonyms;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Tests;

public sealed class PseudonymOpeningTests
{
    private const string Case = "SUP-2025-0042";

    public static TheoryData<string, uint, int> RoundTrips => new()
    {
        { "gm", 1, 1 }, { "gm", 2, 3 }, { "gm", 3, 5 },
        { "intl", 1, 1 }, { "intl", 2, 3 }, { "intl", 3, 5 },
    };

    [Theory]
    [MemberData(nameof(RoundTrips))]
    public void T_authorities_releasing_their_shares_open_the_real_identity(string suiteName, uint t, int n)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Parse(suiteName), t, n);
        var credential = kit.Issue();

        var released = Enumerable.Range(0, (int)t).Select(i => kit.Release(i, credential, Case)).ToArray();
        var opened = Open(kit, credential, released);

        Assert.Equal(PseudonymTestKit.Alice, opened.Identity);
        Assert.Equal(Enumerable.Range(0, (int)t).Select(i => (uint)i), opened.AuthorityIndices);
        Assert.Empty(opened.Rejected);
    }

    [Theory]
    [MemberData(nameof(PseudonymTestKit.Suites), MemberType = typeof(PseudonymTestKit))]
    public void Every_set_of_at_least_t_shares_opens_and_every_smaller_set_is_refused(string suiteName)
    {
        const uint t = 3;
        const int n = 5;
        using var kit = new PseudonymTestKit(CryptoSuites.Parse(suiteName), t, n);
        var credential = kit.Issue();
        var released = Enumerable.Range(0, n).Select(i => kit.Release(i, credential, Case)).ToArray();

        for (var subset = 0; subset < 1 << n; subset++)
        {
            var chosen = Enumerable.Range(0, n).Where(i => (subset & (1 << i)) != 0).ToArray();
            var ok = IdentityOpening.TryOpen(kit.Suite, kit.RequesterKey.AsDecryptionKey(), credential, Case, chosen.Select(i => released[i]), out var opened, out var error);
            if (chosen.Length >= t)
            {
                Assert.True(ok, $"subset {string.Join(",", chosen)}: {error}");
                Assert.Equal(PseudonymTestKit.Alice, opened.Identity);
                Assert.Equal(chosen.Take((int)t).Select(i => (uint)i), opened.AuthorityIndices);
            }
            else
            {
                Assert.False(ok, $"subset {string.Join(",", chosen)} of fewer than t opened");
                Assert.Equal(ErrorCode.ApprovalsInsufficient, error.Code);
                Assert.Null(opened);
            }
        }
    }

    [Fact]
    public void Encoded_released_shares_as_recorded_on_chain_open_the_identity()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var credential = kit.Issue();
        var encoded = new[] { 2, 0 }.Select(i => (ReadOnlyMemory<byte>)kit.Release(i, credential, Case).ToByteArray()).ToArray();

        Assert.All(encoded, bytes => Assert.InRange(bytes.Length, 1, CredentialLimits.ReleasedShareSizeBytesMax));
        Assert.True(IdentityOpening.TryOpen(kit.Suite, kit.RequesterKey.AsDecryptionKey(), credential, Case, encoded, out var opened, out var error), error?.ToString());
        Assert.Equal(PseudonymTestKit.Alice, opened.Identity);
        Assert.Equal(new uint[] { 0, 2 }, opened.AuthorityIndices);
    }

    [Fact]
    public void Released_share_names_credential_case_and_authority_in_the_clear_and_decodes()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var credential = kit.Issue();
        var released = kit.Release(1, credential, Case);

        Assert.True(ShareRelease.TryDecode(released.ToByteArray(), out var decoded, out _));
        Assert.Equal(credential.Id.ToByteString(), decoded.CredentialId);
        Assert.Equal(Case, decoded.CaseReference);
        Assert.Equal(1u, decoded.AuthorityIndex);
        Assert.False(ShareRelease.TryDecode([0xff, 0xff], out _, out var error));
        Assert.Equal(ErrorCode.Malformed, error.Code);
    }

    [Fact]
    public void Share_released_for_another_case_is_refused()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var credential = kit.Issue();
        var released = new[] { kit.Release(0, credential, Case), kit.Release(1, credential, "SUP-2025-0043") };

        var error = Refused(kit, credential, released);
        Assert.Equal(ErrorCode.ApprovalInvalid, error.Code);

        // Relabelling the share for this case does not help: its encrypted content still names the other case.
        released[1].CaseReference = Case;
        Assert.Equal(ErrorCode.ApprovalInvalid, Refused(kit, credential, released).Code);
    }

    [Fact]
    public void Share_released_for_another_credential_is_refused()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var alice = kit.Issue();
        var bob = kit.Issue();
        var released = new[] { kit.Release(0, alice, Case), kit.Release(1, bob, Case) };

        Assert.Equal(ErrorCode.ApprovalInvalid, Refused(kit, alice, released).Code);
        released[1].CredentialId = alice.Id.ToByteString();
        Assert.Equal(ErrorCode.ApprovalInvalid, Refused(kit, alice, released).Code);
    }

    [Fact]
    public void Share_released_to_another_requester_is_refused()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Intl, threshold: 2, authorities: 2);
        var credential = kit.Issue();
        using var other = kit.Suite.GenerateKey();
        var released = new[] { kit.Release(0, credential, Case), kit.Release(1, credential, Case, requester: other) };

        Assert.Equal(ErrorCode.ApprovalInvalid, Refused(kit, credential, released).Code);
    }

    [Fact]
    public void Share_relabelled_as_another_authority_is_refused()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var credential = kit.Issue();
        var relabelled = kit.Release(0, credential, Case);
        relabelled.AuthorityIndex = 2;

        Assert.Equal(ErrorCode.ApprovalInvalid, Refused(kit, credential, [kit.Release(0, credential, Case), relabelled]).Code);
    }

    [Fact]
    public void Forged_share_from_someone_who_is_not_an_authority_is_refused()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var credential = kit.Issue();
        var forged = Forge(kit, credential, authorityIndex: 1);

        var error = Refused(kit, credential, [kit.Release(0, credential, Case), forged]);
        Assert.Equal(ErrorCode.ApprovalInvalid, error.Code);
        Assert.Contains("commitment", error.Message);
    }

    [Fact]
    public void Garbled_share_is_set_aside_when_t_valid_shares_remain()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var credential = kit.Issue();
        var garbled = kit.Release(1, credential, Case);
        var ciphertext = garbled.Ciphertext.ToByteArray();
        ciphertext[^3] ^= 0x10;
        garbled.Ciphertext = ByteString.CopyFrom(ciphertext);

        var opened = Open(kit, credential, [kit.Release(0, credential, Case), garbled, kit.Release(2, credential, Case)]);

        Assert.Equal(PseudonymTestKit.Alice, opened.Identity);
        Assert.Equal(new uint[] { 0, 2 }, opened.AuthorityIndices);
        var rejected = Assert.Single(opened.Rejected);
        Assert.Equal(1, rejected.Position);
        Assert.Equal(ErrorCode.ApprovalInvalid, rejected.Error.Code);
    }

    [Fact]
    public void Garbled_share_with_fewer_than_t_valid_ones_is_refused_as_approval_invalid()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var credential = kit.Issue();
        ReadOnlyMemory<byte>[] shares = [kit.Release(0, credential, Case).ToByteArray(), new byte[] { 1, 2, 3 }];

        Assert.False(IdentityOpening.TryOpen(kit.Suite, kit.RequesterKey.AsDecryptionKey(), credential, Case, shares, out var opened, out var error));
        Assert.Equal(ErrorCode.ApprovalInvalid, error.Code);
        Assert.Null(opened);
    }

    [Fact]
    public void The_same_authority_twice_counts_once()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 2, authorities: 3);
        var credential = kit.Issue();
        var released = new[] { kit.Release(1, credential, Case), kit.Release(1, credential, Case) };

        Assert.Equal(ErrorCode.ApprovalsInsufficient, Refused(kit, credential, released).Code);
    }

    [Fact]
    public void No_shares_open_nothing()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        Assert.Equal(ErrorCode.ApprovalsInsufficient, Refused(kit, kit.Issue(), []).Code);
    }

    [Theory]
    [MemberData(nameof(PseudonymTestKit.Suites), MemberType = typeof(PseudonymTestKit))]
    public void A_key_that_is_not_an_authority_of_the_credential_releases_nothing(string suiteName)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Parse(suiteName), threshold: 1, authorities: 2);
        var credential = kit.Issue();
        using var stranger = kit.Suite.GenerateKey();

        Assert.False(ShareRelease.TryRelease(kit.Suite, stranger.AsDecryptionKey(), credential, Case, kit.RequesterKey.PublicKey, out var released, out var error));
        Assert.Equal(ErrorCode.NotAuthorised, error.Code);
        Assert.Null(released);

        // The requester's own key is no authority's either.
        Assert.False(ShareRelease.TryRelease(kit.Suite, kit.RequesterKey.AsDecryptionKey(), credential, Case, kit.RequesterKey.PublicKey, out _, out error));
        Assert.Equal(ErrorCode.NotAuthorised, error.Code);
    }

    [Fact]
    public void An_authority_key_that_cannot_decrypt_its_slot_releases_nothing()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 2);
        var credential = kit.Issue();

        // A decryption key that claims authority 0's public key but holds authority 1's private key.
        var impostor = new ClaimedKey(kit.AuthorityKeys[0].PublicKey, kit.AuthorityKeys[1]);
        Assert.False(ShareRelease.TryRelease(kit.Suite, impostor, credential, Case, kit.RequesterKey.PublicKey, out var released, out var error));
        Assert.Equal(ErrorCode.CredentialInvalid, error.Code);
        Assert.Null(released);
    }

    [Theory]
    [InlineData("")]
    [InlineData("case with spaces")]
    [InlineData("case\n1")]
    public void Release_refuses_an_invalid_case_reference(string caseReference)
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        var credential = kit.Issue();

        Assert.False(ShareRelease.TryRelease(kit.Suite, kit.AuthorityKeys[0].AsDecryptionKey(), credential, caseReference, kit.RequesterKey.PublicKey, out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Too_many_released_shares_are_refused_before_any_decryption()
    {
        using var kit = new PseudonymTestKit(CryptoSuites.Gm, threshold: 1, authorities: 1);
        var credential = kit.Issue();
        var many = Enumerable.Repeat((ReadOnlyMemory<byte>)new byte[] { 0x0a, 0x00 }, IdentityOpening.ReleasedSharesMax + 1);

        Assert.False(IdentityOpening.TryOpen(kit.Suite, kit.RequesterKey.AsDecryptionKey(), credential, Case, many, out _, out var error));
        Assert.Equal(ErrorCode.TooLarge, error.Code);
    }

    private static OpenedIdentity Open(PseudonymTestKit kit, DecodedCredential credential, IEnumerable<ReleasedShare> released)
    {
        Assert.True(IdentityOpening.TryOpen(kit.Suite, kit.RequesterKey.AsDecryptionKey(), credential, Case, released, out var opened, out var error), error?.ToString());
        return opened;
    }

    private static CustosError Refused(PseudonymTestKit kit, DecodedCredential credential, IEnumerable<ReleasedShare> released)
    {
        Assert.False(IdentityOpening.TryOpen(kit.Suite, kit.RequesterKey.AsDecryptionKey(), credential, Case, released, out var opened, out var error));
        Assert.Null(opened);
        return error;
    }

    /// <summary>A well-formed released share with a made-up share value, encrypted to the requester.</summary>
    private static ReleasedShare Forge(PseudonymTestKit kit, DecodedCredential credential, uint authorityIndex)
    {
        var sharePlaintext = new EscrowSharePlaintext(credential.EscrowContext, (int)authorityIndex, new byte[CredentialLimits.SaltSizeBytes],
            Shamir.RandomElement(Shamir.SystemRandom)).Encode();
        var content = new ReleasedShareContent
        {
            CredentialId = credential.Id.ToByteString(),
            CaseReference = Case,
            AuthorityIndex = authorityIndex,
            RequesterPublicKey = ByteString.CopyFrom(kit.RequesterKey.PublicKey.Encoded),
            SharePlaintext = ByteString.CopyFrom(sharePlaintext),
        };
        return new ReleasedShare
        {
            CredentialId = content.CredentialId,
            CaseReference = Case,
            AuthorityIndex = authorityIndex,
            Ciphertext = ByteString.CopyFrom(kit.Suite.Encrypt(kit.RequesterKey.PublicKey, SigningDomain.Wrap(ObjectType.ReleasedShare, content.ToByteArray()))),
        };
    }

    private sealed class ClaimedKey(PublicKey claimed, SoftwareKey actual) : IDecryptionKey
    {
        public PublicKey PublicKey => claimed;

        public bool TryDecrypt(ReadOnlySpan<byte> ciphertext, out byte[] plaintext) => actual.TryDecrypt(ciphertext, out plaintext);
    }
}
