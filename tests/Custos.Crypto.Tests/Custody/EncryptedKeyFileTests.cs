using System.Text;
using System.Text.Json.Nodes;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto.Custody;
using CsCheck;

namespace Custos.Crypto.Tests.Custody;

public sealed class EncryptedKeyFileTests
{
    private const string Passphrase = "correct horse battery staple";
    private const int FastIterations = EncryptedKeyFile.MinimumIterations;

    // One sealed document per suite, shared by the tests that only tamper with it (sealing costs a PBKDF2 run).
    private static readonly Lazy<SealedSample> GmSample = new(() => SealedSample.Create(CryptoSuites.Gm));
    private static readonly Lazy<SealedSample> IntlSample = new(() => SealedSample.Create(CryptoSuites.Intl));

    public static TheoryData<string> Suites => ["gm", "intl"];

    private static SealedSample Sample(string suite) => suite == "gm" ? GmSample.Value : IntlSample.Value;

    [Theory]
    [MemberData(nameof(Suites))]
    public void Key_saved_to_a_file_loads_back_as_the_same_key(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var directory = new TemporaryDirectory();
        var path = directory.File("node.key");
        using var original = suite.GenerateKey();

        EncryptedKeyFile.Save(path, original, Passphrase);
        using var loaded = EncryptedKeyFile.Load(path, suite, Passphrase);

        Assert.Equal(original.PublicKey, loaded.PublicKey);
        Assert.Equal(original.ExportPrivateScalar(), loaded.ExportPrivateScalar());
        var message = "a block header"u8.ToArray();
        Assert.True(suite.Verify(original.PublicKey, message, loaded.Sign(message)));
        var info = EncryptedKeyFile.ReadInfo(path);
        Assert.Equal(suite.Id, info.Suite.Id);
        Assert.Equal(EncryptedKeyFile.DefaultIterations, info.Iterations);
        Assert.True(info.Iterations >= 100_000);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Key_file_records_the_suites_kdf_and_cipher_and_never_the_scalar(string suiteName)
    {
        var sample = Sample(suiteName);
        var text = Encoding.UTF8.GetString(sample.Document);
        var json = JsonNode.Parse(text)!;

        Assert.Equal("custos-key/1", (string?)json["format"]);
        Assert.Equal(suiteName, (string?)json["suite"]);
        Assert.Equal(sample.PublicKey.ToHex(), (string?)json["public_key"]);
        Assert.Equal(suiteName == "gm" ? "pbkdf2-hmac-sm3" : "pbkdf2-hmac-sha256", (string?)json["kdf"]!["name"]);
        Assert.Equal(suiteName == "gm" ? "sm4-gcm" : "aes-256-gcm", (string?)json["cipher"]!["name"]);
        Assert.Equal(32, ((string?)json["kdf"]!["salt"])!.Length);
        Assert.Equal(24, ((string?)json["cipher"]!["nonce"])!.Length);
        Assert.DoesNotContain(Convert.ToHexStringLower(sample.Scalar), text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gm", "p\u00e4ssw\u00f6rd \u5bc6\u7801 \U0001F511")]
    [InlineData("intl", "p\u00e4ssw\u00f6rd \u5bc6\u7801 \U0001F511")]
    [InlineData("intl", "a")]
    public void Unicode_and_short_passphrases_round_trip(string suiteName, string passphrase)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var key = suite.GenerateKey();

        var document = EncryptedKeyFile.Seal(key, passphrase, FastIterations);
        using var opened = EncryptedKeyFile.Open(document, suite, passphrase);

        Assert.Equal(key.PublicKey, opened.PublicKey);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Wrong_passphrase_is_reported_as_wrong_passphrase(string suiteName)
    {
        var sample = Sample(suiteName);

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(sample.Document, sample.Suite, Passphrase + "!"));

        Assert.Equal(ErrorCode.KeyPassphraseWrong, error.Code);
        Assert.DoesNotContain(Passphrase, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Loading_with_the_other_suite_is_a_suite_mismatch(string suiteName)
    {
        var sample = Sample(suiteName);
        var other = suiteName == "gm" ? CryptoSuites.Intl : CryptoSuites.Gm;

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(sample.Document, other, Passphrase));

        Assert.Equal(ErrorCode.SuiteMismatch, error.Code);
    }

    public static TheoryData<string, string> FieldTampers()
    {
        var data = new TheoryData<string, string>();
        foreach (var suite in new[] { "gm", "intl" })
        {
            foreach (var field in new[] { "format", "suite", "public_key", "kdf.name", "kdf.iterations", "kdf.salt", "cipher.name", "cipher.nonce", "ciphertext", "checksum" })
            {
                data.Add(suite, field);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FieldTampers))]
    public void Changing_any_header_field_makes_the_file_corrupt(string suiteName, string field)
    {
        var sample = Sample(suiteName);
        var json = JsonNode.Parse(sample.Document)!;
        var (parent, name) = Locate(json, field);
        parent[name] = field switch
        {
            "format" => "custos-key/2",
            "suite" => suiteName == "gm" ? "intl" : "gm",
            // Another valid point of the same curve: only the binding can tell.
            "public_key" => OtherPublicKey(sample.Suite).ToHex(),
            "kdf.name" => suiteName == "gm" ? "pbkdf2-hmac-sha256" : "pbkdf2-hmac-sm3",
            "kdf.iterations" => (int)parent[name]! + 1,
            "cipher.name" => suiteName == "gm" ? "aes-256-gcm" : "sm4-gcm",
            _ => FlipFirstHexDigit((string)parent[name]!),
        };

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(Encoding.UTF8.GetBytes(json.ToJsonString()), sample.Suite, Passphrase));

        Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
    }

    [Theory]
    [InlineData("gm", "public_key")]
    [InlineData("gm", "kdf.salt")]
    [InlineData("gm", "kdf.iterations")]
    [InlineData("gm", "cipher.nonce")]
    [InlineData("intl", "public_key")]
    [InlineData("intl", "kdf.salt")]
    [InlineData("intl", "cipher.nonce")]
    [InlineData("intl", "ciphertext")]
    public void Field_changed_with_a_recomputed_checksum_still_fails_authentication(string suiteName, string field)
    {
        // A deliberate editor can recompute the checksum; the AEAD binding is what stops them.
        var sample = Sample(suiteName);
        var parsed = EncryptedKeyFile.Parse(sample.Document);
        var header = parsed.Header;
        var ciphertext = parsed.Ciphertext;
        switch (field)
        {
            case "public_key":
                header = header with { PublicKey = OtherPublicKey(sample.Suite) };
                break;
            case "kdf.salt":
                header = header with { Salt = Flip(header.Salt) };
                break;
            case "kdf.iterations":
                header = header with { Iterations = header.Iterations + 1 };
                break;
            case "cipher.nonce":
                header = header with { Nonce = Flip(header.Nonce) };
                break;
            default:
                ciphertext = Flip(ciphertext);
                break;
        }

        var json = JsonNode.Parse(sample.Document)!;
        json["public_key"] = header.PublicKey.ToHex();
        json["kdf"]!["salt"] = Convert.ToHexStringLower(header.Salt);
        json["kdf"]!["iterations"] = header.Iterations;
        json["cipher"]!["nonce"] = Convert.ToHexStringLower(header.Nonce);
        json["ciphertext"] = Convert.ToHexStringLower(ciphertext);
        json["checksum"] = Convert.ToHexStringLower(EncryptedKeyFile.Checksum(sample.Suite, header.AssociatedData(), ciphertext));
        var document = Encoding.UTF8.GetBytes(json.ToJsonString());

        // The structure and checksum are now fine, so only decryption can object.
        Assert.Equal(header.PublicKey, EncryptedKeyFile.Inspect(document).PublicKey);
        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(document, sample.Suite, Passphrase));
        Assert.Equal(ErrorCode.KeyPassphraseWrong, error.Code);
    }

    [Fact]
    public void Any_single_character_change_in_a_field_value_is_refused_as_corrupt()
    {
        var leaves = new[] { "format", "suite", "public_key", "kdf.name", "kdf.iterations", "kdf.salt", "cipher.name", "cipher.nonce", "ciphertext", "checksum" };
        const string replacements = "0123456789abcdefABCDEF-/xyz.: ";
        var gen = Gen.Select(Gen.Int[0, 1], Gen.Int[0, leaves.Length - 1], Gen.Int[0, 1000], Gen.Int[0, replacements.Length - 1]);

        gen.Sample((suiteIndex, leafIndex, position, replacementIndex) =>
        {
            var sample = Sample(suiteIndex == 0 ? "gm" : "intl");
            var json = JsonNode.Parse(sample.Document)!;
            var (parent, name) = Locate(json, leaves[leafIndex]);
            var isNumber = leaves[leafIndex] == "kdf.iterations";
            var value = isNumber ? ((int)parent[name]!).ToString(System.Globalization.CultureInfo.InvariantCulture) : (string)parent[name]!;
            var at = position % value.Length;
            var replacement = replacements[replacementIndex];
            if (value[at] == replacement) replacement = replacement == '0' ? '1' : '0';
            var changed = string.Concat(value.AsSpan(0, at), replacement.ToString(), value.AsSpan(at + 1));
            var text = json.ToJsonString();
            // Numbers are edited in the text itself so that invalid spellings reach the parser too.
            var tampered = isNumber
                ? text.Replace($"\"iterations\":{value}", $"\"iterations\":{changed}", StringComparison.Ordinal)
                : text.Replace($"\"{value}\"", System.Text.Json.JsonSerializer.Serialize(changed), StringComparison.Ordinal);

            var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(Encoding.UTF8.GetBytes(tampered), sample.Suite, Passphrase));
            Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
        }, iter: 300);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Every_truncation_of_a_key_file_is_refused_as_corrupt(string suiteName)
    {
        var sample = Sample(suiteName);
        var end = Array.LastIndexOf(sample.Document, (byte)'}');

        for (var length = 0; length <= end; length++)
        {
            var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(sample.Document.AsSpan(0, length), sample.Suite, Passphrase));
            Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
        }
    }

    [Fact]
    public void Random_bytes_are_refused_as_corrupt()
    {
        Gen.Byte.Array[0, 2000].Sample(bytes =>
        {
            var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(bytes, CryptoSuites.Gm, Passphrase));
            Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
        }, iter: 2000);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("{\"format\":\"custos-key/1\"}")]
    [InlineData("\"custos-key/1\"")]
    [InlineData("{\"format\":1}")]
    public void Json_that_is_not_a_key_file_is_refused_as_corrupt(string text)
    {
        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(Encoding.UTF8.GetBytes(text), CryptoSuites.Intl, Passphrase));

        Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Extra_duplicate_or_uppercase_fields_are_refused_as_corrupt(string suiteName)
    {
        var sample = Sample(suiteName);
        var text = Encoding.UTF8.GetString(sample.Document);
        var checksum = (string)JsonNode.Parse(text)!["checksum"]!;
        var variants = new[]
        {
            text.Replace("\"format\"", "\"comment\": \"x\",\n  \"format\"", StringComparison.Ordinal),
            text.Replace("\"format\"", "\"suite\": \"gm\",\n  \"format\"", StringComparison.Ordinal),
            text.Replace(checksum, checksum.ToUpperInvariant(), StringComparison.Ordinal),
            text.Replace("\"nonce\"", "\"tag\": \"00\",\n    \"nonce\"", StringComparison.Ordinal),
        };

        foreach (var variant in variants)
        {
            var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(Encoding.UTF8.GetBytes(variant), sample.Suite, Passphrase));
            Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
        }
    }

    [Fact]
    public void File_larger_than_the_limit_is_refused_as_corrupt()
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("huge.key");
        File.WriteAllBytes(path, new byte[EncryptedKeyFile.MaximumFileBytes + 1]);

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Load(path, CryptoSuites.Intl, Passphrase));

        Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(EncryptedKeyFile.MinimumIterations - 1)]
    [InlineData(EncryptedKeyFile.MaximumIterations + 1)]
    public void Iteration_count_outside_the_bounds_is_refused_on_load_even_with_a_valid_checksum(int iterations)
    {
        var suite = CryptoSuites.Intl;
        using var key = suite.GenerateKey();
        var scalar = key.ExportPrivateScalar();
        // Build the file honestly but with a bad count, as a careless or hostile writer would.
        var document = iterations > EncryptedKeyFile.MaximumIterations
            ? Retitle(EncryptedKeyFile.SealScalar(suite, scalar, key.PublicKey, Passphrase, EncryptedKeyFile.MinimumIterations), suite, iterations)
            : EncryptedKeyFile.SealScalar(suite, scalar, key.PublicKey, Passphrase, iterations);

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(document, suite, Passphrase));

        Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
        Assert.Contains("iterations", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(EncryptedKeyFile.MinimumIterations - 1)]
    public void Saving_with_too_few_iterations_is_refused(int iterations)
    {
        using var key = CryptoSuites.Intl.GenerateKey();

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Seal(key, Passphrase, iterations));

        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Empty_passphrase_is_refused()
    {
        using var key = CryptoSuites.Intl.GenerateKey();

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Seal(key, "", FastIterations));

        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Private_key_that_does_not_match_the_stored_public_key_is_refused_as_corrupt(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var key = suite.GenerateKey();
        using var other = suite.GenerateKey();
        var scalar = other.ExportPrivateScalar();
        var document = EncryptedKeyFile.SealScalar(suite, scalar, key.PublicKey, Passphrase, FastIterations);

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(document, suite, Passphrase));

        Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
    }

    [Fact]
    public void Sealed_scalar_that_is_not_a_valid_private_key_is_refused_as_corrupt()
    {
        var suite = CryptoSuites.Gm;
        using var key = suite.GenerateKey();
        var document = EncryptedKeyFile.SealScalar(suite, new byte[32], key.PublicKey, Passphrase, FastIterations);

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Open(document, suite, Passphrase));

        Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
    }

    [Fact]
    public void Key_file_is_readable_by_its_owner_only()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes do not apply on Windows");
        using var directory = new TemporaryDirectory();
        var path = directory.File("node.key");
        using var key = CryptoSuites.Intl.GenerateKey();

        EncryptedKeyFile.Save(path, key, Passphrase, iterations: FastIterations);

        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Saving_leaves_no_temporary_file_behind()
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("node.key");
        using var key = CryptoSuites.Intl.GenerateKey();

        EncryptedKeyFile.Save(path, key, Passphrase, iterations: FastIterations);
        EncryptedKeyFile.Save(path, key, Passphrase, overwrite: true, iterations: FastIterations);

        Assert.Equal(new[] { "node.key" }, Directory.GetFileSystemEntries(directory.Path).Select(entry => Path.GetFileName(entry)).ToArray());
    }

    [Fact]
    public void Existing_key_file_is_not_overwritten_unless_asked()
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("node.key");
        using var first = CryptoSuites.Intl.GenerateKey();
        using var second = CryptoSuites.Intl.GenerateKey();
        EncryptedKeyFile.Save(path, first, Passphrase, iterations: FastIterations);
        var before = File.ReadAllBytes(path);

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Save(path, second, Passphrase, iterations: FastIterations));

        Assert.Equal(ErrorCode.StorageIo, error.Code);
        Assert.Equal(before, File.ReadAllBytes(path));
        EncryptedKeyFile.Save(path, second, Passphrase, overwrite: true, iterations: FastIterations);
        Assert.Equal(second.PublicKey, EncryptedKeyFile.ReadInfo(path).PublicKey);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Changing_the_passphrase_keeps_the_key_and_retires_the_old_passphrase(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var directory = new TemporaryDirectory();
        var path = directory.File("node.key");
        using var key = suite.GenerateKey();
        EncryptedKeyFile.Save(path, key, Passphrase, iterations: FastIterations);
        var before = JsonNode.Parse(File.ReadAllBytes(path))!;

        EncryptedKeyFile.ChangePassphrase(path, suite, Passphrase, "a new passphrase", iterations: FastIterations);

        var after = JsonNode.Parse(File.ReadAllBytes(path))!;
        Assert.NotEqual((string?)before["kdf"]!["salt"], (string?)after["kdf"]!["salt"]);
        Assert.NotEqual((string?)before["cipher"]!["nonce"], (string?)after["cipher"]!["nonce"]);
        using var reloaded = EncryptedKeyFile.Load(path, suite, "a new passphrase");
        Assert.Equal(key.PublicKey, reloaded.PublicKey);
        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Load(path, suite, Passphrase));
        Assert.Equal(ErrorCode.KeyPassphraseWrong, error.Code);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Changing_the_passphrase_with_the_wrong_current_one_leaves_the_file_alone()
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("node.key");
        using var key = CryptoSuites.Intl.GenerateKey();
        EncryptedKeyFile.Save(path, key, Passphrase, iterations: FastIterations);
        var before = File.ReadAllBytes(path);

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.ChangePassphrase(path, CryptoSuites.Intl, "guess", "new", FastIterations));

        Assert.Equal(ErrorCode.KeyPassphraseWrong, error.Code);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Backup_exported_and_imported_elsewhere_restores_the_key()
    {
        var suite = CryptoSuites.Gm;
        using var directory = new TemporaryDirectory();
        var path = directory.File("node.key");
        using var key = EncryptedKeyFile.Generate(path, suite, Passphrase, iterations: FastIterations);

        var backup = EncryptedKeyFile.ExportBackup(path);
        EncryptedKeyFile.Destroy(path);
        Assert.False(File.Exists(path));
        var restoredPath = directory.File("restored.key");
        var info = EncryptedKeyFile.ImportBackup(backup, restoredPath);
        using var restored = EncryptedKeyFile.Load(restoredPath, suite, Passphrase);

        Assert.Equal(key.PublicKey, info.PublicKey);
        Assert.Equal(key.PublicKey, restored.PublicKey);
    }

    [Fact]
    public void Damaged_backup_is_not_imported()
    {
        using var directory = new TemporaryDirectory();
        var sample = Sample("intl");
        var damaged = (byte[])sample.Document.Clone();
        damaged[damaged.Length / 2] ^= 0x01;
        var path = directory.File("restored.key");

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.ImportBackup(damaged, path));

        Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Destroy_refuses_a_file_that_is_not_a_key_file()
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("ledger.db");
        File.WriteAllText(path, "not a key file");

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Destroy(path));

        Assert.Equal(ErrorCode.KeyFileCorrupt, error.Code);
        Assert.Equal("not a key file", File.ReadAllText(path));
    }

    [Fact]
    public void Missing_key_file_is_reported_as_key_not_found()
    {
        using var directory = new TemporaryDirectory();

        var load = Assert.Throws<CustosException>(() => EncryptedKeyFile.Load(directory.File("absent.key"), CryptoSuites.Gm, Passphrase));
        var destroy = Assert.Throws<CustosException>(() => EncryptedKeyFile.Destroy(directory.File("absent.key")));

        Assert.Equal(ErrorCode.KeyNotFound, load.Code);
        Assert.Equal(ErrorCode.KeyNotFound, destroy.Code);
    }

    [Fact]
    public void Saving_into_a_missing_directory_is_a_storage_error()
    {
        using var directory = new TemporaryDirectory();
        using var key = CryptoSuites.Intl.GenerateKey();

        var error = Assert.Throws<CustosException>(() => EncryptedKeyFile.Save(directory.File("no/such/dir/node.key"), key, Passphrase, iterations: FastIterations));

        Assert.Equal(ErrorCode.StorageIo, error.Code);
    }

    private static (JsonNode Parent, string Name) Locate(JsonNode root, string field)
    {
        var dot = field.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? (root, field) : (root[field[..dot]]!, field[(dot + 1)..]);
    }

    private static string FlipFirstHexDigit(string hex) => (hex[0] == '0' ? '1' : '0') + hex[1..];

    private static byte[] Flip(byte[] bytes)
    {
        var copy = (byte[])bytes.Clone();
        copy[0] ^= 0x01;
        return copy;
    }

    private static PublicKey OtherPublicKey(ICryptoSuite suite)
    {
        using var key = suite.GenerateKey();
        return key.PublicKey;
    }

    /// <summary>Rewrites the iteration count of a document and recomputes its checksum, as a hostile editor would.</summary>
    private static byte[] Retitle(byte[] document, ICryptoSuite suite, int iterations)
    {
        var json = JsonNode.Parse(document)!;
        var parsed = EncryptedKeyFile.Parse(document);
        var header = parsed.Header with { Iterations = iterations };
        json["kdf"]!["iterations"] = iterations;
        json["checksum"] = Convert.ToHexStringLower(EncryptedKeyFile.Checksum(suite, header.AssociatedData(), parsed.Ciphertext));
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    private sealed record SealedSample(ICryptoSuite Suite, byte[] Document, PublicKey PublicKey, byte[] Scalar)
    {
        public static SealedSample Create(ICryptoSuite suite)
        {
            using var key = suite.GenerateKey();
            return new SealedSample(suite, EncryptedKeyFile.Seal(key, Passphrase, FastIterations), key.PublicKey, key.ExportPrivateScalar());
        }
    }
}
