using System.CommandLine;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity;
using Custos.Identity.Consortium;

namespace Custos.Cli;

/// <summary>`custos cert show|verify`: inspect a certificate, or judge it the way a node would.</summary>
internal static class CertificateCommands
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("cert", "Inspect and verify consortium certificates");
        command.Subcommands.Add(Show(output));
        command.Subcommands.Add(Verify(output));
        return command;
    }

    private static Command Show(TextWriter output)
    {
        var file = new Argument<string>("file") { Description = "PEM certificate" };
        var crypto = new Option<string>("--crypto") { Description = "Suite the certificate belongs to: gm or intl", DefaultValueFactory = _ => "gm" };
        var command = new Command("show", "Print a certificate's subject, issuer, validity, role and fingerprint") { file, crypto };
        command.SetAction(parse =>
        {
            var suite = CryptoSuites.Parse(parse.GetValue(crypto)!);
            var certificate = ConsortiumCertificate.FromPem(ReadText(parse.GetValue(file)!), suite);
            Print(output, certificate);
            return 0;
        });
        return command;
    }

    private static Command Verify(TextWriter output)
    {
        var file = new Argument<string>("file") { Description = "PEM certificate to verify" };
        var genesis = new Option<string>("--genesis") { Description = "Genesis file naming the consortium's CAs", Required = true };
        var roles = new Option<string[]>("--role") { Description = "Accepted role (repeat for several): client, node, admin, regulator, registrar" };
        var crls = new Option<string[]>("--crl") { Description = "Revocation list(s) (PEM) issued by a consortium CA" };
        var at = new Option<DateTimeOffset?>("--at") { Description = "Judge validity at this time instead of now" };
        var command = new Command("verify", "Verify a certificate against the consortium: chain, validity, key usage, role, revocation") { file, genesis, roles, crls, at };
        command.SetAction(parse =>
        {
            var document = GenesisDocument.Load(parse.GetValue(genesis)!);
            var suite = document.Suite;
            var authorities = document.Organisations.Select(o => ConsortiumCertificate.FromPem(o.CaCertificate, suite)).ToList();
            var revocations = (parse.GetValue(crls) ?? []).Select(path =>
            {
                var der = Pem.Decode("X509 CRL", ReadText(path));
                foreach (var authority in authorities)
                {
                    if (RevocationList.TryDecode(der, authority, suite, out var list, out _)) return list;
                }

                throw new CustosException(ErrorCode.RevocationListInvalid, $"{path} is not a revocation list of any consortium CA");
            }).ToList();
            var validator = new CertificateValidator(suite, authorities, revocations);
            var accepted = (parse.GetValue(roles) ?? []).Select(ParseRole).ToArray();
            var certificate = ConsortiumCertificate.FromPem(ReadText(parse.GetValue(file)!), suite);
            var identity = validator.Validate(certificate, parse.GetValue(at) ?? DateTimeOffset.UtcNow, accepted);
            output.WriteLine($"valid: {identity.CommonName} of {identity.Organisation}, role {identity.Role.ToString().ToLowerInvariant()}");
            return 0;
        });
        return command;
    }

    internal static void Print(TextWriter output, ConsortiumCertificate certificate)
    {
        output.WriteLine($"subject:     {certificate.Subject}");
        output.WriteLine($"issuer:      {certificate.Issuer}");
        output.WriteLine($"serial:      {certificate.SerialNumber}");
        output.WriteLine($"valid:       {certificate.NotBefore:u} to {certificate.NotAfter:u}");
        output.WriteLine($"role:        {(certificate.IsCertificateAuthority ? "certificate authority" : certificate.Role?.ToString().ToLowerInvariant() ?? "none")}");
        output.WriteLine($"public key:  {certificate.PublicKey.ToHex()}");
        output.WriteLine($"fingerprint: {certificate.Fingerprint}");
    }

    private static CertificateRole ParseRole(string text) =>
        Enum.TryParse<CertificateRole>(text, ignoreCase: true, out var role) && Enum.IsDefined(role)
            ? role
            : throw new CustosException(ErrorCode.InvalidField, $"unknown role '{text}' (client, node, admin, regulator, registrar)");

    private static string ReadText(string path) =>
        File.Exists(path) ? File.ReadAllText(path) : throw new CustosException(ErrorCode.NotFound, $"no file at {path}");
}
