using System.Security.Cryptography;
using Custos.Core;
using Custos.Crypto;
using Custos.DigitalCurrency;
using Custos.Identity.Pseudonyms;
using Custos.Identity.Wire;
using Custos.Sdk;

namespace Custos.Cli.Scenarios;

/// <summary>
/// One customer's wallet as the scenario holds it: the pseudonym's key (the customer's device), the credential its
/// operator's registrar issued (identity escrowed to the supervision authorities), and the class it is opened in.
/// </summary>
internal sealed record CurrencyWallet(int Number, string Operator, uint WalletClass, AccountId Account, SoftwareKey Key, TransactionSigner Signer,
    DecodedCredential Credential, RealIdentity Identity)
{
    /// <summary>The operator's real-name attestation: the hash of its customer record.</summary>
    public byte[] RealNameAttestation(ICryptoSuite suite) => suite.Hash(Google.Protobuf.MessageExtensions.ToByteArray(Identity)).ToArray();

    /// <summary>What the wallet is opened with: the attestation for classes 1 to 3, nothing for an anonymous class 4 wallet.</summary>
    public byte[] OpeningAttestation(ICryptoSuite suite) => WalletClass == CurrencyParameters.WeakestClass ? [] : RealNameAttestation(suite);

    /// <summary>Short and masked, for progress lines: identifiers are not printed in full (PRI-4).</summary>
    public string Label => $"wallet {Number} ({Operator}, class {WalletClass}, {Account.ToString()[..6]}…)";
}

/// <summary>
/// The scenario's customers: per operator a fixed mix of classes (few strong real-name wallets, many anonymous ones),
/// each with a fresh key, a fresh account id unrelated to the key, and its own credential, so that nothing on chain
/// links two wallets of one person or ties a wallet to a name.
/// </summary>
internal static class CurrencyWalletPopulation
{
    /// <summary>Wallets per operator, by class: 2% class 1, 18% class 2, 30% class 3, 50% class 4.</summary>
    public static uint ClassOf(int index) => (index % 50) switch
    {
        0 => 1,
        < 10 => 2,
        < 25 => 3,
        _ => 4,
    };

    /// <summary>Keys and credentials for <paramref name="count"/> customers of one operator, issued in parallel (each is independent).</summary>
    public static IReadOnlyList<CurrencyWallet> Create(ICryptoSuite suite, string chainId, PseudonymRegistrar registrar, IdentityEscrowPolicy escrow,
        string organisation, int firstNumber, int count)
    {
        var wallets = new CurrencyWallet[count];
        Parallel.For(0, count, i =>
        {
            var number = firstNumber + i;
            var key = suite.GenerateKey();
            var account = new AccountId(RandomNumberGenerator.GetBytes(AccountId.SizeBytes));
            var identity = new RealIdentity
            {
                LegalName = $"Customer {number}", DocumentType = IdentityDocumentType.ResidentIdentityCard,
                DocumentNumber = $"110101198801{number:D6}", IssuingCountry = "CN", DateOfBirth = "1988-01-15",
                CustomerReference = $"{organisation.ToUpperInvariant()}-KYC-{number:D6}",
            };
            var credential = registrar.Issue(key.PublicKey, identity, escrow, CredentialValidity.Unbounded);
            wallets[i] = new CurrencyWallet(number, organisation, ClassOf(i), account, key, new TransactionSigner(chainId, suite, key, account), credential, identity);
        });
        return wallets;
    }
}
