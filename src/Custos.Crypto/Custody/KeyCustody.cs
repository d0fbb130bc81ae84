using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto.Custody;

/// <summary>
/// Opens, generates and destroys keys wherever a <see cref="KeyReference"/> says they are, so that nodes and tools
/// treat key files and HSM keys alike (JR/T 0184 CRY-2, CRY-5).
/// </summary>
public static class KeyCustody
{
    /// <summary>
    /// The signing key at <paramref name="reference"/>. A <c>file:</c> key needs <paramref name="passphrase"/>; a
    /// <c>pkcs11:</c> key reads its PIN from the URI's pin-source, and its mechanisms are
    /// <paramref name="mechanisms"/> (default: the suite's) with the URI's overrides applied. Disposing the key
    /// releases the token session or wipes the in-memory scalar.
    /// </summary>
    public static ISigningKey Open(string reference, ICryptoSuite suite, SecretSource? passphrase = null, Pkcs11MechanismSet? mechanisms = null) =>
        Open(KeyReference.Parse(reference), suite, passphrase, mechanisms);

    public static ISigningKey Open(KeyReference reference, ICryptoSuite suite, SecretSource? passphrase = null, Pkcs11MechanismSet? mechanisms = null)
    {
        switch (reference)
        {
            case KeyFileReference file:
            {
                var characters = ReadPassphrase(passphrase, file);
                try
                {
                    return EncryptedKeyFile.Load(file.Path, suite, characters);
                }
                finally
                {
                    Array.Clear(characters);
                }
            }

            case Pkcs11KeyReference token:
            {
                var store = Pkcs11KeyStore.Open(token.ModulePath, token.TokenLabel, token.PinSource, token.TokenSerial);
                try
                {
                    return store.FindKey(suite, token.ObjectLabel, token.ObjectId, MechanismsFor(token, suite, mechanisms), ownsStore: true);
                }
                catch
                {
                    store.Dispose();
                    throw;
                }
            }

            default:
                throw new CustosException(ErrorCode.InvalidField, $"unsupported key reference {reference}");
        }
    }

    /// <summary>
    /// Generates a new key at <paramref name="reference"/>: in process memory then sealed into a new key file, or
    /// inside the token under the URI's object label. Refuses to replace an existing key.
    /// </summary>
    public static ISigningKey Generate(string reference, ICryptoSuite suite, SecretSource? passphrase = null, Pkcs11MechanismSet? mechanisms = null)
    {
        switch (KeyReference.Parse(reference))
        {
            case KeyFileReference file:
            {
                var characters = ReadPassphrase(passphrase, file);
                try
                {
                    return EncryptedKeyFile.Generate(file.Path, suite, characters);
                }
                finally
                {
                    Array.Clear(characters);
                }
            }

            case Pkcs11KeyReference token:
            {
                if (token.ObjectLabel is null) throw new CustosException(ErrorCode.InvalidField, "generating a token key needs object= (its label)");
                var store = Pkcs11KeyStore.Open(token.ModulePath, token.TokenLabel, token.PinSource, token.TokenSerial);
                try
                {
                    var generated = store.GenerateKey(suite, token.ObjectLabel, MechanismsFor(token, suite, mechanisms));
                    // Hand back a key that owns the store, so the caller disposes one thing.
                    return store.FindKey(suite, generated.Label, generated.Id, MechanismsFor(token, suite, mechanisms), ownsStore: true);
                }
                catch
                {
                    store.Dispose();
                    throw;
                }
            }

            default:
                throw new CustosException(ErrorCode.InvalidField, $"unsupported key reference {reference}");
        }
    }

    /// <summary>Destroys the key at <paramref name="reference"/> (key file, or every token object with the URI's label).</summary>
    public static void Destroy(string reference)
    {
        switch (KeyReference.Parse(reference))
        {
            case KeyFileReference file:
                EncryptedKeyFile.Destroy(file.Path);
                break;
            case Pkcs11KeyReference token:
            {
                if (token.ObjectLabel is null) throw new CustosException(ErrorCode.InvalidField, "destroying a token key needs object= (its label)");
                using var store = Pkcs11KeyStore.Open(token.ModulePath, token.TokenLabel, token.PinSource, token.TokenSerial);
                store.DestroyKey(token.ObjectLabel);
                break;
            }
        }
    }

    private static char[] ReadPassphrase(SecretSource? passphrase, KeyFileReference file) =>
        passphrase is null
            ? throw new CustosException(ErrorCode.InvalidField, $"the key file {file.Path} needs a passphrase source (env:NAME or file:PATH)")
            : passphrase.ReadChars(ErrorCode.KeyPassphraseWrong, "key passphrase");

    private static Pkcs11MechanismSet MechanismsFor(Pkcs11KeyReference token, ICryptoSuite suite, Pkcs11MechanismSet? mechanisms) =>
        token.MechanismOverrides.ApplyTo(mechanisms ?? Pkcs11MechanismSet.DefaultFor(suite));
}
