using Custos.Core;
using Custos.Core.Wire;
using Net.Pkcs11Interop.HighLevelAPI;

namespace Custos.Crypto.Custody;

/// <summary>
/// A private key that lives in a PKCS#11 token: signing happens in the token, the key never leaves it. On intl
/// the digest SHA-256(M) is computed here and signed with CKM_ECDSA; on gm the <see cref="Pkcs11MechanismSet"/>
/// says whether the token gets M (and computes Z_A and SM3 itself) or e = SM3(Z_A || M). Every signature is
/// verified against the public key before it is returned. Thread-safe.
/// </summary>
public sealed class Pkcs11SigningKey : ISigningKey
{
    private readonly Pkcs11KeyStore _store;
    private readonly ICryptoSuite _suite;
    private readonly Pkcs11MechanismSet _mechanisms;
    private readonly byte[] _id;
    private readonly bool _ownsStore;

    internal Pkcs11SigningKey(Pkcs11KeyStore store, ICryptoSuite suite, Pkcs11MechanismSet mechanisms, IObjectHandle handle, string label, byte[] id,
        PublicKey publicKey, bool ownsStore)
    {
        _store = store;
        _suite = suite;
        _mechanisms = mechanisms;
        Handle = handle;
        Label = label;
        _id = id;
        PublicKey = publicKey;
        _ownsStore = ownsStore;
    }

    public CryptoSuiteId Suite => _suite.Id;

    public PublicKey PublicKey { get; }

    public string Custody => "pkcs11";

    /// <summary>The key's CKA_LABEL in the token.</summary>
    public string Label { get; }

    /// <summary>The key's CKA_ID in the token.</summary>
    public byte[] Id => (byte[])_id.Clone();

    internal IObjectHandle Handle { get; }

    internal Pkcs11KeyStore Store => _store;

    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        if (signature.Length < WireLimits.SignatureSizeBytes)
        {
            throw new ArgumentException($"a signature needs {WireLimits.SignatureSizeBytes} bytes", nameof(signature));
        }

        var raw = _store.Sign(this, _mechanisms.SignMechanism, _mechanisms.TokenHashesMessage ? message.ToArray() : Digest(message));
        if (!Pkcs11KeyStore.TryNormaliseSignature(raw, signature))
        {
            throw new CustosException(ErrorCode.HsmFailure, $"the token returned a {raw.Length}-byte signature that is neither r||s nor DER");
        }

        // A wrong mechanism set (or a faulty token) yields signatures peers would reject; catch it here instead.
        if (!_suite.Verify(PublicKey, message, signature[..WireLimits.SignatureSizeBytes]))
        {
            signature[..WireLimits.SignatureSizeBytes].Clear();
            throw new CustosException(ErrorCode.HsmFailure,
                $"the token's signature with key '{Label}' does not verify; check the PKCS#11 mechanism set (hashing mode, mechanism ids)");
        }
    }

    /// <summary>What the token signs when it does not hash: SHA-256(M), or e = SM3(Z_A || M) with Z_A for the default identity.</summary>
    private byte[] Digest(ReadOnlySpan<byte> message)
    {
        using var accumulator = _suite.Begin();
        if (PublicKey.Prepared is GmCryptoSuite.Sm2PreparedKey sm2) accumulator.Append(sm2.Za);
        accumulator.Append(message);
        return accumulator.Finish().ToArray();
    }

    /// <summary>Releases the token if this key was opened on its own (<see cref="KeyCustody.Open(string, ICryptoSuite, SecretSource?, Pkcs11MechanismSet?)"/>).</summary>
    public void Dispose()
    {
        if (_ownsStore) _store.Dispose();
    }
}
