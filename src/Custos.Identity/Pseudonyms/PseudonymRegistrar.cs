using System.Numerics;
using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Identity.Wire;
using Google.Protobuf;

namespace Custos.Identity.Pseudonyms;

/// <summary>
/// The registrar's side (a bank's front desk): after identifying a customer, it issues a credential for the
/// customer's pseudonym key with the real identity escrowed t-of-n, and signs it. All randomness is fresh per
/// credential (data key, nonce, polynomial, salts, encryption randomness), so two credentials of one person share
/// nothing but what the policy and the registrar fix (authorities, threshold, organisation, chain, validity asked).
/// The registrar learns the identity (it collected it) and, while issuing, the data key; it keeps neither.
/// Thread-safe if the signing key is.
/// </summary>
public sealed class PseudonymRegistrar
{
    private readonly ICryptoSuite _suite;
    private readonly ISigningKey _key;
    private readonly string _chainId;
    private readonly string _organisation;

    public PseudonymRegistrar(ICryptoSuite suite, ISigningKey key, string chainId, string organisation)
    {
        if (key.Suite != suite.Id) throw new CustosException(ErrorCode.SuiteMismatch, "the registrar's key is of another crypto suite");
        if (Decoders.CheckChainId(chainId) is { } chainError) throw chainError.ToException();
        if (PseudonymCredentials.CheckName(organisation, CredentialLimits.OrganisationLengthMax, "registrar organisation") is { } nameError)
        {
            throw new CustosException(ErrorCode.InvalidField, nameError.Message);
        }

        _suite = suite;
        _key = key;
        _chainId = chainId;
        _organisation = organisation;
    }

    /// <summary>Issues a signed credential; a typed error (nothing issued) for an invalid identity, policy or validity.</summary>
    public bool TryIssue(PublicKey pseudonymKey, RealIdentity identity, IdentityEscrowPolicy policy, CredentialValidity validity,
        out DecodedCredential credential, out CustosError error)
    {
        credential = null!;
        error = CheckRequest(pseudonymKey, identity, policy, validity, out var authorityKeys)!;
        if (error is not null) return false;

        var body = new PseudonymCredentialBody
        {
            FormatVersion = CredentialLimits.FormatVersion,
            Suite = _suite.Id,
            ChainId = _chainId,
            RegistrarOrganisation = _organisation,
            PseudonymPublicKey = ByteString.CopyFrom(pseudonymKey.Encoded),
            ValidFromHeight = validity.FromHeight,
            ValidUntilHeight = validity.UntilHeight,
        };
        body.Escrow = Escrow(identity, policy, authorityKeys, EscrowSharePlaintext.ComputeContext(_suite, body));

        var bodyBytes = body.ToByteArray();
        var signed = new PseudonymCredential
        {
            Body = UnsafeByteOperations.UnsafeWrap(bodyBytes),
            Signature = UnsafeByteOperations.UnsafeWrap(_key.SignObject(ObjectType.PseudonymCredential, bodyBytes)),
        };

        // Decode what was made: a credential this code issues must pass the checks every node applies.
        if (!PseudonymCredentials.TryVerify(_suite, signed.ToByteArray(), _key.PublicKey, _chainId, out credential, out error))
        {
            throw new CustosException(error.Code, $"an issued credential does not verify: {error.Message}");
        }

        return true;
    }

    public DecodedCredential Issue(PublicKey pseudonymKey, RealIdentity identity, IdentityEscrowPolicy policy, CredentialValidity validity) =>
        TryIssue(pseudonymKey, identity, policy, validity, out var credential, out var error) ? credential : throw error.ToException();

    private IdentityEscrow Escrow(RealIdentity identity, IdentityEscrowPolicy policy, PublicKey[] authorityKeys, Hash32 context)
    {
        var dataKey = RandomNumberGenerator.GetBytes(_suite.AeadKeySizeBytes);
        var padded = RealIdentities.Pad(identity);
        try
        {
            var escrow = new IdentityEscrow
            {
                Threshold = policy.Threshold,
                Nonce = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(CredentialLimits.AeadNonceSizeBytes)),
            };
            escrow.Authorities.AddRange(policy.Authorities.Select(a => a.Clone()));
            escrow.SealedIdentity = UnsafeByteOperations.UnsafeWrap(_suite.AeadEncrypt(dataKey, escrow.Nonce.Span, padded, context.ToArray()));

            var secret = new BigInteger(dataKey, isUnsigned: true, isBigEndian: true);
            var values = Shamir.Split(secret, (int)policy.Threshold, authorityKeys.Length, Shamir.SystemRandom);
            for (var i = 0; i < authorityKeys.Length; i++)
            {
                var plaintext = new EscrowSharePlaintext(context, i, RandomNumberGenerator.GetBytes(CredentialLimits.SaltSizeBytes), values[i]).Encode();
                escrow.Shares.Add(new EscrowShare
                {
                    Ciphertext = UnsafeByteOperations.UnsafeWrap(_suite.Encrypt(authorityKeys[i], plaintext)),
                    Commitment = _suite.Hash(plaintext).ToByteString(),
                });
                CryptographicOperations.ZeroMemory(plaintext);
            }

            return escrow;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
            CryptographicOperations.ZeroMemory(padded);
        }
    }

    private CustosError? CheckRequest(PublicKey pseudonymKey, RealIdentity identity, IdentityEscrowPolicy policy, CredentialValidity validity, out PublicKey[] authorityKeys)
    {
        authorityKeys = [];
        if (pseudonymKey.Suite != _suite.Id) return new CustosError(ErrorCode.SuiteMismatch, "the pseudonym key is of another crypto suite");
        if (RealIdentities.Validate(identity) is { } identityError) return identityError;
        if (validity.UntilHeight != 0 && validity.UntilHeight <= validity.FromHeight)
        {
            return new CustosError(ErrorCode.InvalidField, $"validity ends at height {validity.UntilHeight}, not after it starts at {validity.FromHeight}");
        }

        var n = policy.Authorities.Count;
        if (n is 0 or > CredentialLimits.AuthoritiesMax) return new CustosError(ErrorCode.InvalidField, $"escrow policy names {n} authorities, 1 to {CredentialLimits.AuthoritiesMax} allowed");
        if (policy.Threshold == 0 || policy.Threshold > n) return new CustosError(ErrorCode.InvalidField, $"escrow threshold {policy.Threshold} is not between 1 and {n}");
        var keys = new PublicKey[n];
        for (var i = 0; i < n; i++)
        {
            var authority = policy.Authorities[i];
            if (PseudonymCredentials.CheckName(authority.Name, CredentialLimits.AuthorityNameLengthMax, $"escrow authority {i} name") is { } nameError)
            {
                return new CustosError(ErrorCode.InvalidField, nameError.Message);
            }

            if (!_suite.TryDecodePublicKey(authority.PublicKey.Span, out keys[i], out var keyError))
            {
                return new CustosError(ErrorCode.PublicKeyInvalid, $"escrow authority {i}: {keyError.Message}");
            }

            if (keys.Take(i).Contains(keys[i])) return new CustosError(ErrorCode.InvalidField, $"escrow authority {i} repeats another authority's key");
        }

        authorityKeys = keys;
        return null;
    }
}
