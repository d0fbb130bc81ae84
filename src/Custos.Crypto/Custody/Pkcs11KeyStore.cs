using System.Formats.Asn1;
using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace Custos.Crypto.Custody;

/// <summary>
/// Keys kept inside a PKCS#11 token (an HSM; SoftHSM in tests), JR/T 0184 CRY-2: private keys are generated in
/// the token, marked sensitive and non-extractable, and used there; only public keys and signatures come out.
/// Covers the lifecycle steps a token offers: generate, find, use (sign), destroy. Backup of token keys is the
/// token vendor's own (wrapped) export, outside PKCS#11's portable subset. Thread-safe.
/// </summary>
public sealed class Pkcs11KeyStore : IDisposable
{
    private readonly Pkcs11Token _token;
    private int _disposed;

    private Pkcs11KeyStore(Pkcs11Token token) => _token = token;

    public string ModulePath => _token.ModulePath;

    public string TokenLabel => _token.Label;

    /// <summary>
    /// Opens the token labelled <paramref name="tokenLabel"/> in the module at <paramref name="modulePath"/> and logs
    /// in with the PIN read from <paramref name="pin"/>. Missing token: <see cref="ErrorCode.KeyNotFound"/>; wrong
    /// PIN or any token failure: <see cref="ErrorCode.HsmFailure"/>.
    /// </summary>
    public static Pkcs11KeyStore Open(string modulePath, string tokenLabel, SecretSource pin, string? tokenSerial = null)
    {
        var pinBytes = pin.ReadUtf8(ErrorCode.HsmFailure, "HSM PIN");
        try
        {
            return Open(modulePath, tokenLabel, pinBytes, tokenSerial);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pinBytes);
        }
    }

    /// <summary>As above with the PIN's bytes (for callers that hold it, such as a secrets vault client).</summary>
    public static Pkcs11KeyStore Open(string modulePath, string tokenLabel, ReadOnlySpan<byte> pin, string? tokenSerial = null) =>
        new(Pkcs11Token.Acquire(modulePath, tokenLabel, tokenSerial, pin));

    /// <summary>
    /// Generates a key pair inside the token, labelled <paramref name="label"/> with a random CKA_ID. The private
    /// half is a token object that is private, sensitive and non-extractable, usable only to sign.
    /// </summary>
    public Pkcs11SigningKey GenerateKey(ICryptoSuite suite, string label, Pkcs11MechanismSet? mechanisms = null)
    {
        RequireLabel(label);
        var set = mechanisms ?? Pkcs11MechanismSet.DefaultFor(suite);
        var curve = set.EncodedCurveParameters();
        var id = RandomNumberGenerator.GetBytes(16);
        var privateKey = _token.Run($"generate key '{label}'", session =>
        {
            using (var existing = new AttributeList(session))
            {
                existing.Add(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY).Add(CKA.CKA_LABEL, label);
                if (session.FindAllObjects(existing.Items).Count > 0)
                {
                    throw new CustosException(ErrorCode.InvalidField, $"token '{TokenLabel}' already holds a key labelled '{label}'");
                }
            }

            using var publicTemplate = new AttributeList(session);
            publicTemplate.Add(CKA.CKA_CLASS, CKO.CKO_PUBLIC_KEY).Add(CKA.CKA_KEY_TYPE, set.KeyType).Add(CKA.CKA_TOKEN, true)
                .Add(CKA.CKA_PRIVATE, false).Add(CKA.CKA_VERIFY, true).Add(CKA.CKA_LABEL, label).Add(CKA.CKA_ID, id);
            if (curve is not null) publicTemplate.Add(CKA.CKA_EC_PARAMS, curve);
            using var privateTemplate = new AttributeList(session);
            privateTemplate.Add(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY).Add(CKA.CKA_KEY_TYPE, set.KeyType).Add(CKA.CKA_TOKEN, true)
                .Add(CKA.CKA_PRIVATE, true).Add(CKA.CKA_SENSITIVE, true).Add(CKA.CKA_EXTRACTABLE, false).Add(CKA.CKA_SIGN, true)
                .Add(CKA.CKA_DECRYPT, false).Add(CKA.CKA_DERIVE, false).Add(CKA.CKA_LABEL, label).Add(CKA.CKA_ID, id);
            using var mechanism = session.Factories.MechanismFactory.Create(set.KeyGenerationMechanism);
            session.GenerateKeyPair(mechanism, publicTemplate.Items, privateTemplate.Items, out _, out var handle);
            return handle;
        });

        try
        {
            return Bind(suite, set, privateKey, label, id, ownsStore: false);
        }
        catch (CustosException)
        {
            // A key whose public half cannot be read or is not on the suite's curve is of no use: remove it.
            try
            {
                DestroyKey(label);
            }
            catch (CustosException)
            {
                // The first failure is the one to report.
            }

            throw;
        }
    }

    /// <summary>Finds the key labelled <paramref name="label"/>; <see cref="ErrorCode.KeyNotFound"/> if there is none.</summary>
    public Pkcs11SigningKey FindKey(ICryptoSuite suite, string label, Pkcs11MechanismSet? mechanisms = null) =>
        FindKey(suite, label, id: null, mechanisms, ownsStore: false);

    internal Pkcs11SigningKey FindKey(ICryptoSuite suite, string? label, byte[]? id, Pkcs11MechanismSet? mechanisms, bool ownsStore)
    {
        if (label is null && id is null) throw new CustosException(ErrorCode.InvalidField, "a token key is named by its label, its id, or both");
        if (label is not null) RequireLabel(label);
        var set = mechanisms ?? Pkcs11MechanismSet.DefaultFor(suite);
        var name = label is null ? $"id {Convert.ToHexStringLower(id!)}" : $"'{label}'";
        var (handle, foundId, foundLabel) = _token.Run($"find key {name}", session =>
        {
            using var query = new AttributeList(session);
            query.Add(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY);
            if (label is not null) query.Add(CKA.CKA_LABEL, label);
            if (id is not null) query.Add(CKA.CKA_ID, id);
            var found = session.FindAllObjects(query.Items);
            if (found.Count == 0) throw new CustosException(ErrorCode.KeyNotFound, $"token '{TokenLabel}' holds no private key {name}");
            if (found.Count > 1) throw new CustosException(ErrorCode.HsmFailure, $"token '{TokenLabel}' holds {found.Count} private keys {name}; name one by id");
            var attributes = session.GetAttributeValue(found[0], [CKA.CKA_ID, CKA.CKA_LABEL, CKA.CKA_KEY_TYPE]);
            try
            {
                var keyType = attributes[2].CannotBeRead ? set.KeyType : attributes[2].GetValueAsUlong();
                if (keyType != set.KeyType)
                {
                    throw new CustosException(ErrorCode.SuiteMismatch, $"key {name} has key type 0x{keyType:x}, not 0x{set.KeyType:x} as a {suite.Name} key should");
                }

                return (found[0], attributes[0].GetValueAsByteArray() ?? [], attributes[1].GetValueAsString() ?? "");
            }
            finally
            {
                DisposeAll(attributes);
            }
        });

        return Bind(suite, set, handle, foundLabel, foundId, ownsStore);
    }

    /// <summary>
    /// Whether the token offers <paramref name="mechanism"/>: a quick check that a <see cref="Pkcs11MechanismSet"/>
    /// (for instance a vendor's SM2 numbers) suits this token before keys are generated.
    /// </summary>
    public bool SupportsMechanism(ulong mechanism) => _token.SupportsMechanism(mechanism);

    /// <summary>Whether a private key labelled <paramref name="label"/> exists in the token.</summary>
    public bool ContainsKey(string label)
    {
        RequireLabel(label);
        return _token.Run($"look up key '{label}'", session =>
        {
            using var query = new AttributeList(session);
            query.Add(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY).Add(CKA.CKA_LABEL, label);
            return session.FindAllObjects(query.Items).Count > 0;
        });
    }

    /// <summary>The labels of the private keys in the token, sorted.</summary>
    public IReadOnlyList<string> ListKeyLabels() => _token.Run("list keys", session =>
    {
        using var query = new AttributeList(session);
        query.Add(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY);
        var labels = new List<string>();
        foreach (var handle in session.FindAllObjects(query.Items))
        {
            var attributes = session.GetAttributeValue(handle, [CKA.CKA_LABEL]);
            labels.Add(attributes[0].GetValueAsString() ?? "");
            DisposeAll(attributes);
        }

        labels.Sort(StringComparer.Ordinal);
        return (IReadOnlyList<string>)labels;
    });

    /// <summary>
    /// Destroys every key object (private and public) labelled <paramref name="label"/> (lifecycle: destroy).
    /// <see cref="ErrorCode.KeyNotFound"/> if there is none. Keys already bound to it stop working.
    /// </summary>
    public void DestroyKey(string label)
    {
        RequireLabel(label);
        _token.Run($"destroy key '{label}'", session =>
        {
            var handles = new List<IObjectHandle>();
            foreach (var objectClass in (CKO[])[CKO.CKO_PRIVATE_KEY, CKO.CKO_PUBLIC_KEY])
            {
                using var query = new AttributeList(session);
                query.Add(CKA.CKA_CLASS, objectClass).Add(CKA.CKA_LABEL, label);
                handles.AddRange(session.FindAllObjects(query.Items));
            }

            if (handles.Count == 0) throw new CustosException(ErrorCode.KeyNotFound, $"token '{TokenLabel}' holds no key '{label}'");
            foreach (var handle in handles) session.DestroyObject(handle);
            return true;
        });
    }

    /// <summary>The protection flags the token reports for a private key (CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE).</summary>
    internal (bool Sensitive, bool Extractable, bool AlwaysSensitive, bool NeverExtractable) ReadProtection(Pkcs11SigningKey key) =>
        _token.Run($"read the attributes of key '{key.Label}'", session =>
        {
            var attributes = session.GetAttributeValue(key.Handle, [CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_ALWAYS_SENSITIVE, CKA.CKA_NEVER_EXTRACTABLE]);
            try
            {
                return (attributes[0].GetValueAsBool(), attributes[1].GetValueAsBool(), attributes[2].GetValueAsBool(), attributes[3].GetValueAsBool());
            }
            finally
            {
                DisposeAll(attributes);
            }
        });

    /// <summary>Tries to read the private value (CKA_VALUE); a correctly protected key gives nothing.</summary>
    internal byte[]? TryReadPrivateValue(Pkcs11SigningKey key) =>
        _token.Run($"read the value of key '{key.Label}'", session =>
        {
            var attributes = session.GetAttributeValue(key.Handle, [CKA.CKA_VALUE]);
            try
            {
                return attributes[0].CannotBeRead ? null : attributes[0].GetValueAsByteArray();
            }
            finally
            {
                DisposeAll(attributes);
            }
        });

    internal byte[] Sign(Pkcs11SigningKey key, ulong mechanismId, byte[] input) =>
        _token.Run($"sign with key '{key.Label}'", session =>
        {
            using var mechanism = session.Factories.MechanismFactory.Create(mechanismId);
            return session.Sign(mechanism, key.Handle, input);
        });

    /// <summary>Reads the public half (the public-key object with the same CKA_ID) and binds a signing key to the handle.</summary>
    private Pkcs11SigningKey Bind(ICryptoSuite suite, Pkcs11MechanismSet set, IObjectHandle privateKey, string label, byte[] id, bool ownsStore)
    {
        var point = _token.Run($"read the public key of '{label}'", session =>
        {
            using var query = new AttributeList(session);
            query.Add(CKA.CKA_CLASS, CKO.CKO_PUBLIC_KEY).Add(CKA.CKA_ID, id);
            var found = session.FindAllObjects(query.Items);
            if (found.Count == 0) throw new CustosException(ErrorCode.KeyNotFound, $"token '{TokenLabel}' holds no public key for '{label}'");
            var attributes = session.GetAttributeValue(found[0], [CKA.CKA_EC_POINT]);
            try
            {
                if (attributes[0].CannotBeRead) throw new CustosException(ErrorCode.HsmFailure, $"the token does not reveal the public point of '{label}'");
                return attributes[0].GetValueAsByteArray() ?? [];
            }
            finally
            {
                DisposeAll(attributes);
            }
        });

        var encoded = DecodeEcPoint(point);
        if (!suite.TryDecodePublicKey(encoded, out var publicKey, out _))
        {
            throw new CustosException(ErrorCode.SuiteMismatch, $"the public key of '{label}' is not a point of the {suite.Name} curve");
        }

        return new Pkcs11SigningKey(this, suite, set, privateKey, label, id, publicKey, ownsStore);
    }

    /// <summary>CKA_EC_POINT is a DER OCTET STRING around the 65-byte SEC1 point; a few tokens return the bare point.</summary>
    internal static byte[] DecodeEcPoint(byte[] value)
    {
        if (value.Length == 65 && value[0] == 0x04) return value;
        try
        {
            var inner = AsnDecoder.ReadOctetString(value, AsnEncodingRules.BER, out var consumed);
            if (consumed == value.Length && inner.Length == 65 && inner[0] == 0x04) return inner;
        }
        catch (AsnContentException)
        {
            // Falls through to the error below.
        }

        throw new CustosException(ErrorCode.HsmFailure, "the token returned a CKA_EC_POINT that is not an uncompressed point");
    }

    /// <summary>Signatures come back as r||s (PKCS#11 ECDSA) or, from some SM2 mechanisms, DER; both become 64-byte r||s.</summary>
    internal static bool TryNormaliseSignature(byte[] raw, Span<byte> signature)
    {
        if (raw.Length == 64)
        {
            raw.CopyTo(signature);
            return true;
        }

        try
        {
            var sequence = new AsnReader(raw, AsnEncodingRules.DER);
            var pair = sequence.ReadSequence();
            if (sequence.HasData) return false;
            var r = pair.ReadIntegerBytes().Span;
            var s = pair.ReadIntegerBytes().Span;
            if (pair.HasData) return false;
            return TryCopyUnsigned(r, signature[..32]) && TryCopyUnsigned(s, signature[32..64]);
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    private static bool TryCopyUnsigned(ReadOnlySpan<byte> integer, Span<byte> destination)
    {
        // r and s are positive; DER puts a zero byte before a value whose top bit is set.
        if (integer.IsEmpty || (integer[0] & 0x80) != 0) return false;
        if (integer[0] == 0x00) integer = integer[1..];
        if (integer.Length > destination.Length) return false;
        destination.Clear();
        integer.CopyTo(destination[(destination.Length - integer.Length)..]);
        return true;
    }

    private static void RequireLabel(string label)
    {
        if (string.IsNullOrEmpty(label)) throw new CustosException(ErrorCode.InvalidField, "a token key label must not be empty");
    }

    private static void DisposeAll(List<IObjectAttribute> attributes)
    {
        foreach (var attribute in attributes) attribute.Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _token.Release();
    }

    /// <summary>A PKCS#11 attribute template whose unmanaged buffers are freed on dispose.</summary>
    private sealed class AttributeList(ISession session) : IDisposable
    {
        public List<IObjectAttribute> Items { get; } = [];

        public AttributeList Add(CKA type, CKO value) => Add(session.Factories.ObjectAttributeFactory.Create(type, value));

        public AttributeList Add(CKA type, ulong value) => Add(session.Factories.ObjectAttributeFactory.Create(type, value));

        public AttributeList Add(CKA type, bool value) => Add(session.Factories.ObjectAttributeFactory.Create(type, value));

        public AttributeList Add(CKA type, string value) => Add(session.Factories.ObjectAttributeFactory.Create(type, value));

        public AttributeList Add(CKA type, byte[] value) => Add(session.Factories.ObjectAttributeFactory.Create(type, value));

        private AttributeList Add(IObjectAttribute attribute)
        {
            Items.Add(attribute);
            return this;
        }

        public void Dispose() => DisposeAll(Items);
    }
}
