using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto.Custody;

/// <summary>
/// A private key at rest, encrypted under a passphrase (JR/T 0184 CRY-3: keys are never stored in clear).
/// The file is a small JSON document:
/// <code>
/// {
///   "format": "custos-key/1",
///   "suite": "gm",
///   "public_key": "04…",
///   "kdf": { "name": "pbkdf2-hmac-sm3", "iterations": 300000, "salt": "…16 bytes…" },
///   "cipher": { "name": "sm4-gcm", "nonce": "…12 bytes…" },
///   "ciphertext": "…32-byte scalar + 16-byte tag…",
///   "checksum": "…suite hash of everything above…"
/// }
/// </code>
/// The key is PBKDF2 with the suite's HMAC (<see cref="ICryptoSuite.DeriveKeyFromPassphrase"/>); the scalar is
/// sealed with the suite's AEAD (SM4-GCM or AES-256-GCM) and every header field is bound as associated data, so
/// no field can be changed without decryption failing. The checksum is not a security measure (anyone can
/// recompute it): it tells a damaged or edited file (<see cref="ErrorCode.KeyFileCorrupt"/>) from a wrong
/// passphrase (<see cref="ErrorCode.KeyPassphraseWrong"/>), which AEAD alone cannot. All binary values are
/// lowercase hex.
/// <para>
/// The encrypted file is also the backup form: copy it (or <see cref="ExportBackup"/> / <see cref="ImportBackup"/>)
/// to backup media; restoring needs the file and its passphrase, nothing else.
/// </para>
/// </summary>
public static class EncryptedKeyFile
{
    public const string FormatTag = "custos-key/1";

    /// <summary>PBKDF2 iterations used unless the caller asks for more.</summary>
    public const int DefaultIterations = 300_000;

    /// <summary>Files asking for fewer iterations are refused, so a tampered file cannot make guessing cheap.</summary>
    public const int MinimumIterations = 100_000;

    /// <summary>Files asking for more are refused, so a tampered file cannot stall a node at start-up.</summary>
    public const int MaximumIterations = 10_000_000;

    internal const int MaximumFileBytes = 16 * 1024;
    internal const int SaltBytes = 16;
    internal const int NonceBytes = 12;
    private const int ScalarBytes = 32;
    private const int TagBytes = 16;

    private static readonly string[] RootFields = ["format", "suite", "public_key", "kdf", "cipher", "ciphertext", "checksum"];
    private static readonly string[] KdfFields = ["name", "iterations", "salt"];
    private static readonly string[] CipherFields = ["name", "nonce"];

    /// <summary>"pbkdf2-hmac-sm3" or "pbkdf2-hmac-sha256".</summary>
    public static string KdfName(ICryptoSuite suite) => suite.Id == CryptoSuiteId.Gm ? "pbkdf2-hmac-sm3" : "pbkdf2-hmac-sha256";

    /// <summary>"sm4-gcm" or "aes-256-gcm".</summary>
    public static string CipherName(ICryptoSuite suite) => suite.Id == CryptoSuiteId.Gm ? "sm4-gcm" : "aes-256-gcm";

    /// <summary>Generates a key in process memory and stores it encrypted at <paramref name="path"/> (lifecycle: generate, store).</summary>
    public static SoftwareKey Generate(string path, ICryptoSuite suite, ReadOnlySpan<char> passphrase, bool overwrite = false, int iterations = DefaultIterations)
    {
        var key = suite.GenerateKey();
        try
        {
            Save(path, key, passphrase, overwrite, iterations);
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Encrypts <paramref name="key"/> and writes it atomically with mode 0600. An existing file is kept and
    /// <see cref="ErrorCode.StorageIo"/> raised unless <paramref name="overwrite"/> is set.
    /// </summary>
    public static void Save(string path, SoftwareKey key, ReadOnlySpan<char> passphrase, bool overwrite = false, int iterations = DefaultIterations)
    {
        var document = Seal(key, passphrase, iterations);
        AtomicFile.Write(path, document, overwrite);
    }

    /// <summary>Reads and decrypts a key file, insisting that it holds a key of <paramref name="expectedSuite"/>.</summary>
    public static SoftwareKey Load(string path, ICryptoSuite expectedSuite, ReadOnlySpan<char> passphrase) =>
        Open(ReadDocument(path), expectedSuite, passphrase);

    /// <summary>Reads a key file's public header (suite, public key, iterations) without the passphrase, checking its structure and checksum.</summary>
    public static KeyFileInfo ReadInfo(string path) => Inspect(ReadDocument(path));

    /// <summary>Re-encrypts a key file under a new passphrase, with a fresh salt and nonce, replacing it atomically.</summary>
    public static void ChangePassphrase(string path, ICryptoSuite suite, ReadOnlySpan<char> currentPassphrase, ReadOnlySpan<char> newPassphrase,
        int iterations = DefaultIterations)
    {
        using var key = Load(path, suite, currentPassphrase);
        Save(path, key, newPassphrase, overwrite: true, iterations);
    }

    /// <summary>
    /// The key file's bytes for backup media, after checking their structure and checksum (not the passphrase).
    /// They stay encrypted: a backup is as safe as the passphrase that protects it.
    /// </summary>
    public static byte[] ExportBackup(string path)
    {
        var document = ReadDocument(path);
        Inspect(document);
        return document;
    }

    /// <summary>Restores a backup made by <see cref="ExportBackup"/> to <paramref name="path"/> (atomically, mode 0600) after checking it.</summary>
    public static KeyFileInfo ImportBackup(ReadOnlySpan<byte> document, string path, bool overwrite = false)
    {
        var info = Inspect(document);
        AtomicFile.Write(path, document, overwrite);
        return info;
    }

    /// <summary>
    /// Destroys a key file (lifecycle: destroy): overwrites its bytes with zeros, flushes, and deletes it. On
    /// copy-on-write or wear-levelled storage the old blocks may survive; they hold only ciphertext, so the
    /// passphrase must also be retired. Backups must be destroyed separately. Only a well-formed key file is
    /// destroyed, so a mistyped path cannot wipe some other file.
    /// </summary>
    public static void Destroy(string path)
    {
        Inspect(ReadDocument(path));
        try
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None))
            {
                var zeros = new byte[stream.Length];
                stream.Write(zeros);
                stream.Flush(flushToDisk: true);
            }

            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CustosException(ErrorCode.StorageIo, $"cannot destroy the key file {path}: {e.Message}", e);
        }
    }

    /// <summary>The key file document for <paramref name="key"/>, as <see cref="Save"/> writes it.</summary>
    public static byte[] Seal(SoftwareKey key, ReadOnlySpan<char> passphrase, int iterations = DefaultIterations)
    {
        if (iterations is < MinimumIterations or > MaximumIterations)
        {
            throw new CustosException(ErrorCode.InvalidField, $"PBKDF2 iterations must be in [{MinimumIterations}, {MaximumIterations}], got {iterations}");
        }

        if (passphrase.IsEmpty) throw new CustosException(ErrorCode.InvalidField, "a key file passphrase must not be empty");
        var suite = CryptoSuites.Get(key.Suite);
        var scalar = key.ExportPrivateScalar();
        try
        {
            return SealScalar(suite, scalar, key.PublicKey, passphrase, iterations);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    /// <summary>
    /// Builds a document from parts without the checks of <see cref="Seal"/>, so tests can make the files a
    /// careless or hostile writer would (too few iterations, a scalar that does not match its public key).
    /// </summary>
    internal static byte[] SealScalar(ICryptoSuite suite, ReadOnlySpan<byte> scalar, PublicKey publicKey, ReadOnlySpan<char> passphrase, int iterations)
    {
        var header = new KeyFileHeader(FormatTag, suite, publicKey, KdfName(suite), iterations, RandomNumberGenerator.GetBytes(SaltBytes),
            CipherName(suite), RandomNumberGenerator.GetBytes(NonceBytes));
        var associatedData = header.AssociatedData();
        var key = suite.DeriveKeyFromPassphrase(passphrase, header.Salt, iterations, suite.AeadKeySizeBytes);
        byte[] ciphertext;
        try
        {
            ciphertext = suite.AeadEncrypt(key, header.Nonce, scalar, associatedData);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return Serialize(header, ciphertext, Checksum(suite, associatedData, ciphertext));
    }

    /// <summary>Decrypts a key file document held in memory (for instance a backup).</summary>
    public static SoftwareKey Open(ReadOnlySpan<byte> document, ICryptoSuite expectedSuite, ReadOnlySpan<char> passphrase)
    {
        var parsed = Parse(document);
        var header = parsed.Header;
        if (header.Suite.Id != expectedSuite.Id)
        {
            throw new CustosException(ErrorCode.SuiteMismatch, $"the key file holds a {header.Suite.Name} key, but a {expectedSuite.Name} key was expected");
        }

        var suite = header.Suite;
        var key = suite.DeriveKeyFromPassphrase(passphrase, header.Salt, header.Iterations, suite.AeadKeySizeBytes);
        byte[] scalar;
        try
        {
            if (!suite.TryAeadDecrypt(key, header.Nonce, parsed.Ciphertext, header.AssociatedData(), out scalar))
            {
                // The checksum held, so the file is as written: the passphrase is wrong, or someone edited the file
                // and recomputed the checksum (which the AEAD catches all the same).
                throw new CustosException(ErrorCode.KeyPassphraseWrong, "the passphrase does not decrypt this key file");
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        try
        {
            if (!suite.TryImportPrivateKey(scalar, out var softwareKey, out var error))
            {
                throw new CustosException(ErrorCode.KeyFileCorrupt, $"the key file decrypts to an invalid private key: {error.Message}");
            }

            if (!softwareKey.PublicKey.Equals(header.PublicKey))
            {
                softwareKey.Dispose();
                throw new CustosException(ErrorCode.KeyFileCorrupt, "the key file's private key does not match its public key");
            }

            return softwareKey;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    /// <summary>Checks a document's structure and checksum and returns its public header; needs no passphrase.</summary>
    public static KeyFileInfo Inspect(ReadOnlySpan<byte> document)
    {
        var header = Parse(document).Header;
        return new KeyFileInfo(header.Suite, header.PublicKey, header.Iterations);
    }

    private static byte[] ReadDocument(string path) => AtomicFile.ReadSmall(path, MaximumFileBytes, ErrorCode.KeyFileCorrupt, "key file");

    internal static byte[] Checksum(ICryptoSuite suite, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext)
    {
        using var accumulator = suite.Begin();
        accumulator.Append("custos-key/1 checksum"u8);
        accumulator.Append(associatedData);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)ciphertext.Length);
        accumulator.Append(length);
        accumulator.Append(ciphertext);
        return accumulator.Finish().ToArray();
    }

    private static byte[] Serialize(KeyFileHeader header, byte[] ciphertext, byte[] checksum)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("format", header.Format);
            writer.WriteString("suite", header.Suite.Name);
            writer.WriteString("public_key", header.PublicKey.ToHex());
            writer.WriteStartObject("kdf");
            writer.WriteString("name", header.KdfName);
            writer.WriteNumber("iterations", header.Iterations);
            writer.WriteString("salt", Convert.ToHexStringLower(header.Salt));
            writer.WriteEndObject();
            writer.WriteStartObject("cipher");
            writer.WriteString("name", header.CipherName);
            writer.WriteString("nonce", Convert.ToHexStringLower(header.Nonce));
            writer.WriteEndObject();
            writer.WriteString("ciphertext", Convert.ToHexStringLower(ciphertext));
            writer.WriteString("checksum", Convert.ToHexStringLower(checksum));
            writer.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    internal static ParsedKeyFile Parse(ReadOnlySpan<byte> document)
    {
        if (document.Length > MaximumFileBytes) throw Corrupt($"larger than {MaximumFileBytes} bytes");
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(document.ToArray(), new JsonDocumentOptions
            {
                MaxDepth = 4,
                AllowTrailingCommas = false,
                CommentHandling = JsonCommentHandling.Disallow,
                AllowDuplicateProperties = false,
            });
        }
        catch (JsonException)
        {
            throw Corrupt("not a JSON document (truncated or damaged?)");
        }

        using (json)
        {
            var root = json.RootElement;
            RequireExactFields(root, "the document", RootFields);
            var format = RequireString(root, "format");
            if (format != FormatTag) throw Corrupt($"format is not {FormatTag}");

            var suiteName = RequireString(root, "suite");
            var suite = suiteName == CryptoSuites.Gm.Name ? CryptoSuites.Gm
                : suiteName == CryptoSuites.Intl.Name ? CryptoSuites.Intl
                : throw Corrupt("suite is neither gm nor intl");

            var publicKeyBytes = RequireHex(root, "public_key", 65);
            if (!suite.TryDecodePublicKey(publicKeyBytes, out var publicKey, out _)) throw Corrupt($"public_key is not a valid {suite.Name} public key");

            var kdf = root.GetProperty("kdf");
            RequireExactFields(kdf, "kdf", KdfFields);
            var kdfName = RequireString(kdf, "name");
            if (kdfName != KdfName(suite)) throw Corrupt($"kdf.name must be {KdfName(suite)} for suite {suite.Name}");
            var iterationsElement = kdf.GetProperty("iterations");
            if (iterationsElement.ValueKind != JsonValueKind.Number || !iterationsElement.TryGetInt32(out var iterations)) throw Corrupt("kdf.iterations is not an integer");
            if (iterations < MinimumIterations) throw Corrupt($"kdf.iterations {iterations} is below the floor of {MinimumIterations}");
            if (iterations > MaximumIterations) throw Corrupt($"kdf.iterations {iterations} is above the ceiling of {MaximumIterations}");
            var salt = RequireHex(kdf, "salt", SaltBytes);

            var cipher = root.GetProperty("cipher");
            RequireExactFields(cipher, "cipher", CipherFields);
            var cipherName = RequireString(cipher, "name");
            if (cipherName != CipherName(suite)) throw Corrupt($"cipher.name must be {CipherName(suite)} for suite {suite.Name}");
            var nonce = RequireHex(cipher, "nonce", NonceBytes);

            var ciphertext = RequireHex(root, "ciphertext", ScalarBytes + TagBytes);
            var checksum = RequireHex(root, "checksum", 32);
            var header = new KeyFileHeader(format, suite, publicKey, kdfName, iterations, salt, cipherName, nonce);
            if (!CryptographicOperations.FixedTimeEquals(checksum, Checksum(suite, header.AssociatedData(), ciphertext)))
            {
                throw Corrupt("the checksum does not match: the file was damaged or edited");
            }

            return new ParsedKeyFile(header, ciphertext);
        }
    }

    private static void RequireExactFields(JsonElement element, string what, string[] names)
    {
        if (element.ValueKind != JsonValueKind.Object) throw Corrupt($"{what} is not a JSON object");
        var count = 0;
        foreach (var property in element.EnumerateObject())
        {
            if (Array.IndexOf(names, property.Name) < 0) throw Corrupt($"{what} has an unexpected field '{Truncate(property.Name)}'");
            count++;
        }

        // Duplicates are refused by the parser, so the count tells whether every field is present.
        if (count != names.Length) throw Corrupt($"{what} lacks one of {string.Join(", ", names)}");
    }

    private static string RequireString(JsonElement element, string name)
    {
        var value = element.GetProperty(name);
        if (value.ValueKind != JsonValueKind.String) throw Corrupt($"{name} is not a string");
        return value.GetString()!;
    }

    /// <summary>Lowercase hex only, so that every distinct file is a distinct header (no two spellings of one value).</summary>
    private static byte[] RequireHex(JsonElement element, string name, int length)
    {
        var text = RequireString(element, name);
        if (text.Length != length * 2) throw Corrupt($"{name} is not {length} bytes of hex");
        foreach (var c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f'))) throw Corrupt($"{name} is not lowercase hex");
        }

        return Convert.FromHexString(text);
    }

    private static string Truncate(string text) => text.Length <= 32 ? text : text[..32] + "…";

    private static CustosException Corrupt(string detail) => new(ErrorCode.KeyFileCorrupt, $"key file is corrupt: {detail}");

    internal sealed record ParsedKeyFile(KeyFileHeader Header, byte[] Ciphertext);

    /// <summary>The fields bound as associated data: everything but the ciphertext and the checksum.</summary>
    internal sealed record KeyFileHeader(string Format, ICryptoSuite Suite, PublicKey PublicKey, string KdfName, int Iterations, byte[] Salt,
        string CipherName, byte[] Nonce)
    {
        /// <summary>Each field length-prefixed in a fixed order, so no two headers encode alike.</summary>
        public byte[] AssociatedData()
        {
            using var buffer = new MemoryStream();
            Append(buffer, Encoding.UTF8.GetBytes(Format));
            Append(buffer, Encoding.UTF8.GetBytes(Suite.Name));
            Append(buffer, PublicKey.Encoded);
            Append(buffer, Encoding.UTF8.GetBytes(KdfName));
            Span<byte> iterations = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(iterations, Iterations);
            Append(buffer, iterations);
            Append(buffer, Salt);
            Append(buffer, Encoding.UTF8.GetBytes(CipherName));
            Append(buffer, Nonce);
            return buffer.ToArray();
        }

        private static void Append(MemoryStream buffer, ReadOnlySpan<byte> field)
        {
            Span<byte> length = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)field.Length);
            buffer.Write(length);
            buffer.Write(field);
        }
    }
}

/// <summary>What a key file says about itself without its passphrase.</summary>
public sealed record KeyFileInfo(ICryptoSuite Suite, PublicKey PublicKey, int Iterations);
