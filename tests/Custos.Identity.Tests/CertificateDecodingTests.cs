using Custos.Core.Wire;
using Custos.Crypto;
using CsCheck;

namespace Custos.Identity.Tests;

public sealed class CertificateDecodingTests
{
    [Fact]
    public void Random_bytes_never_throw_and_are_refused_as_malformed()
    {
        Gen.Byte.Array[0, 2048].Sample(bytes =>
        {
            var decoded = ConsortiumCertificate.TryDecode(bytes, CryptoSuites.Gm, out _, out var error);
            return !decoded && error.Code is ErrorCode.CertificateMalformed or ErrorCode.CertificateSuiteMismatch;
        }, iter: 2_000);
    }

    [Fact]
    public void Every_single_byte_mutation_of_a_certificate_is_decoded_or_refused_without_exception()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (certificate, _) = pki.Issue("bank-a", "alice", CertificateRole.Client);
        var validator = pki.Validator();
        var original = certificate.Der.ToArray();
        var accepted = 0;
        for (var i = 0; i < original.Length; i++)
        {
            var mutated = (byte[])original.Clone();
            mutated[i] ^= (byte)(1 << (i % 8));
            if (validator.TryValidate(mutated, DateTimeOffset.UtcNow, [CertificateRole.Client], out _, out _)) accepted++;
        }

        // Any change to the signed part breaks the signature; a change in the signature breaks it too.
        Assert.Equal(0, accepted);
    }

    [Fact]
    public void Oversized_input_is_refused_before_parsing()
    {
        var bytes = new byte[Core.WireLimits.CertificateSizeBytesMax + 1];

        Assert.False(ConsortiumCertificate.TryDecode(bytes, CryptoSuites.Gm, out _, out var error));
        Assert.Equal(ErrorCode.CertificateMalformed, error.Code);
    }

    [Fact]
    public void Certificate_with_trailing_bytes_is_refused()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (certificate, _) = pki.Issue("bank-a", "alice", CertificateRole.Client);
        var padded = certificate.Der.ToArray().Concat(new byte[] { 0 }).ToArray();

        Assert.False(ConsortiumCertificate.TryDecode(padded, CryptoSuites.Gm, out _, out var error));
        Assert.Equal(ErrorCode.CertificateMalformed, error.Code);
    }

    [Fact]
    public void Pem_round_trips_and_fingerprint_is_the_suite_hash_of_the_der()
    {
        var pki = new Pki(CryptoSuites.Gm, "bank-a");
        var (certificate, _) = pki.Issue("bank-a", "alice", CertificateRole.Client);

        var again = ConsortiumCertificate.FromPem(certificate.ToPem(), CryptoSuites.Gm);

        Assert.True(again.Der.SequenceEqual(certificate.Der));
        Assert.Equal(Core.HashFunctionExtensions.Hash(CryptoSuites.Gm, certificate.Der), again.Fingerprint);
    }
}
