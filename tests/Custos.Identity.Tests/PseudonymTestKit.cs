using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Pseudonyms;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Tests;

/// <summary>
/// A registrar, n escrow authorities and a requester (the regulator) in memory, for the pseudonym tests.
/// Keys are made once per kit; kits are cheap enough to make per test.
/// </summary>
internal sealed class PseudonymTestKit : IDisposable
{
    public const string ChainId = "custos-test";
    public const string Organisation = "bank-a";

    public PseudonymTestKit(ICryptoSuite suite, uint threshold, int authorities)
    {
        Suite = suite;
        RegistrarKey = suite.GenerateKey();
        Registrar = new PseudonymRegistrar(suite, RegistrarKey, ChainId, Organisation);
        AuthorityKeys = Enumerable.Range(0, authorities).Select(_ => suite.GenerateKey()).ToArray();
        Policy = IdentityEscrowPolicy.Of(threshold, AuthorityKeys.Select((k, i) => ($"authority-{i}", k.PublicKey)));
        RequesterKey = suite.GenerateKey();
    }

    public static TheoryData<string> Suites => new() { "gm", "intl" };

    public ICryptoSuite Suite { get; }

    public SoftwareKey RegistrarKey { get; }

    public PseudonymRegistrar Registrar { get; }

    public SoftwareKey[] AuthorityKeys { get; }

    public IdentityEscrowPolicy Policy { get; }

    public SoftwareKey RequesterKey { get; }

    public static RealIdentity Alice => new()
    {
        LegalName = "张三",
        DocumentType = IdentityDocumentType.ResidentIdentityCard,
        DocumentNumber = "11010519491231002X",
        IssuingCountry = "CN",
        DateOfBirth = "1949-12-31",
        CustomerReference = "KYC-2024-000917",
    };

    public DecodedCredential Issue(RealIdentity? identity = null, CredentialValidity? validity = null) =>
        Registrar.Issue(Suite.GenerateKey().PublicKey, identity ?? Alice, Policy, validity ?? CredentialValidity.Unbounded);

    public ReleasedShare Release(int authority, DecodedCredential credential, string caseReference, SoftwareKey? requester = null)
    {
        Assert.True(
            ShareRelease.TryRelease(Suite, AuthorityKeys[authority].AsDecryptionKey(), credential, caseReference, (requester ?? RequesterKey).PublicKey, out var released, out var error),
            error?.ToString());
        return released;
    }

    /// <summary>The credential's body changed by <paramref name="change"/>, re-encoded, and signed again by <paramref name="signer"/>.</summary>
    public static byte[] Resign(DecodedCredential credential, Action<PseudonymCredentialBody> change, ISigningKey signer)
    {
        var body = credential.Body.Clone();
        change(body);
        var bodyBytes = body.ToByteArray();
        return new PseudonymCredential
        {
            Body = ByteString.CopyFrom(bodyBytes),
            Signature = ByteString.CopyFrom(signer.SignObject(ObjectType.PseudonymCredential, bodyBytes)),
        }.ToByteArray();
    }

    /// <summary>The credential's body changed by <paramref name="change"/> and re-encoded, with the original signature kept.</summary>
    public static byte[] Tamper(DecodedCredential credential, Action<PseudonymCredentialBody> change)
    {
        var body = credential.Body.Clone();
        change(body);
        return new PseudonymCredential { Body = body.ToByteString(), Signature = credential.Wire.Signature }.ToByteArray();
    }

    public void Dispose()
    {
        RegistrarKey.Dispose();
        RequesterKey.Dispose();
        foreach (var key in AuthorityKeys) key.Dispose();
    }
}
