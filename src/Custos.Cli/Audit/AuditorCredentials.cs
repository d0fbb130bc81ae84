using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Identity;

namespace Custos.Cli.Audit;

/// <summary>
/// The key that signs an audit report and the certificate that names its holder. The key is an encrypted key file
/// (a path, or <c>file:PATH</c>) whose passphrase comes from an environment variable or a file, never from the
/// command line, or a PKCS#11 URI whose PIN source the URI names. Disposing wipes or releases the key.
/// </summary>
internal sealed class AuditorCredentials : IDisposable
{
    private AuditorCredentials(ISigningKey key, ConsortiumCertificate certificate)
    {
        Key = key;
        Certificate = certificate;
    }

    public ISigningKey Key { get; }

    public ConsortiumCertificate Certificate { get; }

    /// <param name="certificatePath">The auditor's PEM certificate; by default the key file's path with the extension .pem (as `custos init` lays users out).</param>
    public static AuditorCredentials Open(string key, string? certificatePath, string? passphraseVariable, string? passphraseFile, ICryptoSuite suite)
    {
        if (passphraseVariable is not null && passphraseFile is not null)
        {
            throw new CustosException(ErrorCode.InvalidField, "give the key's passphrase by --passphrase-env or by --passphrase-file, not both");
        }

        var reference = key.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || key.StartsWith("pkcs11:", StringComparison.OrdinalIgnoreCase) ? key : "file:" + key;
        var parsed = KeyReference.Parse(reference);
        certificatePath ??= parsed is KeyFileReference file
            ? Path.ChangeExtension(file.Path, ".pem")
            : throw new CustosException(ErrorCode.InvalidField, "a token key needs --certificate (the auditor's PEM certificate)");
        if (!File.Exists(certificatePath)) throw new CustosException(ErrorCode.NotFound, $"no auditor certificate at {certificatePath} (give it with --certificate)");
        var certificate = ConsortiumCertificate.FromPem(File.ReadAllText(certificatePath), suite);

        var passphrase = passphraseVariable is not null ? SecretSource.FromEnvironment(passphraseVariable)
            : passphraseFile is not null ? SecretSource.FromFile(passphraseFile)
            : null;
        if (parsed is KeyFileReference && passphrase is null)
        {
            throw new CustosException(ErrorCode.InvalidField, "the key file needs its passphrase: --passphrase-env VARIABLE or --passphrase-file FILE");
        }

        var signingKey = KeyCustody.Open(parsed, suite, passphrase);
        if (!signingKey.PublicKey.Equals(certificate.PublicKey))
        {
            signingKey.Dispose();
            throw new CustosException(ErrorCode.InvalidField, $"the key is not the key of {certificatePath} ({certificate.Subject})");
        }

        return new AuditorCredentials(signingKey, certificate);
    }

    public void Dispose() => Key.Dispose();
}
