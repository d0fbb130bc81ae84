using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto.Custody;
using CsCheck;

namespace Custos.Crypto.Tests.Custody;

public sealed class KeyReferenceTests
{
    [Theory]
    [InlineData("file:/etc/custos/node.key", "/etc/custos/node.key")]
    [InlineData("file:///etc/custos/node.key", "/etc/custos/node.key")]
    [InlineData("file:keys/node.key", "keys/node.key")]
    public void File_reference_names_the_key_file_path(string text, string path)
    {
        var reference = Assert.IsType<KeyFileReference>(KeyReference.Parse(text));

        Assert.Equal(path, reference.Path);
    }

    [Fact]
    public void Pkcs11_uri_gives_module_token_object_and_pin_source()
    {
        var reference = Assert.IsType<Pkcs11KeyReference>(KeyReference.Parse(
            "pkcs11:token=custos;object=node1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:CUSTOS_HSM_PIN"));

        Assert.Equal("/usr/lib/softhsm/libsofthsm2.so", reference.ModulePath);
        Assert.Equal("custos", reference.TokenLabel);
        Assert.Equal("node1", reference.ObjectLabel);
        Assert.Null(reference.ObjectId);
        Assert.Null(reference.TokenSerial);
        Assert.Equal(SecretSource.FromEnvironment("CUSTOS_HSM_PIN"), reference.PinSource);
        Assert.Equal(Pkcs11MechanismOverrides.None, reference.MechanismOverrides);
    }

    [Fact]
    public void Pkcs11_uri_attributes_are_percent_decoded()
    {
        var reference = Assert.IsType<Pkcs11KeyReference>(KeyReference.Parse(
            "pkcs11:token=Custos%20HSM%3Bmain;serial=0a1b;object=n%C3%B6de%2F1;id=%01%02%ff;type=private" +
            "?pin-source=file:/run/secrets/hsm%20pin&module-path=/opt/hsm/lib%20p11.so"));

        Assert.Equal("Custos HSM;main", reference.TokenLabel);
        Assert.Equal("0a1b", reference.TokenSerial);
        Assert.Equal("n\u00f6de/1", reference.ObjectLabel);
        Assert.Equal(new byte[] { 1, 2, 0xff }, reference.ObjectId);
        Assert.Equal(SecretSource.FromFile("/run/secrets/hsm pin"), reference.PinSource);
        Assert.Equal("/opt/hsm/lib p11.so", reference.ModulePath);
    }

    [Fact]
    public void Vendor_mechanism_overrides_replace_the_suites_defaults()
    {
        var reference = Assert.IsType<Pkcs11KeyReference>(KeyReference.Parse(
            "pkcs11:token=t;object=k?module-path=/m.so&pin-source=env:P&x-custos-sign-mechanism=0x80008104&x-custos-token-hashes=false" +
            "&x-custos-key-type=2147483652&x-other-vendor=ignored"));

        var set = reference.MechanismOverrides.ApplyTo(Pkcs11MechanismSet.Sm2VendorDefault);

        Assert.Equal(0x80008104UL, set.SignMechanism);
        Assert.False(set.TokenHashesMessage);
        Assert.Equal(0x80000004UL, set.KeyType);
        Assert.Equal(Pkcs11MechanismSet.Sm2VendorDefault.KeyGenerationMechanism, set.KeyGenerationMechanism);
        Assert.Equal(Pkcs11MechanismSet.Sm2VendorPrehashed, set);
    }

    [Theory]
    [InlineData("pkcs11:token=t;object=k?module-path=/m.so&pin-value=1234", ErrorCode.InvalidField)]
    [InlineData("pkcs11:token=t;object=k?module-path=/m.so", ErrorCode.InvalidField)]
    [InlineData("pkcs11:token=t;object=k?pin-source=env:P", ErrorCode.InvalidField)]
    [InlineData("pkcs11:object=k?module-path=/m.so&pin-source=env:P", ErrorCode.InvalidField)]
    [InlineData("pkcs11:token=t?module-path=/m.so&pin-source=env:P", ErrorCode.InvalidField)]
    [InlineData("pkcs11:token=t;object=k?module-path=/m.so&pin-source=1234", ErrorCode.InvalidField)]
    [InlineData("pkcs11:token=t;object=k;type=cert?module-path=/m.so&pin-source=env:P", ErrorCode.InvalidField)]
    [InlineData("pkcs11:token=t;object=k;slot-id=3?module-path=/m.so&pin-source=env:P", ErrorCode.InvalidField)]
    [InlineData("pkcs11:token=t;object=k;colour=red?module-path=/m.so&pin-source=env:P", ErrorCode.InvalidField)]
    [InlineData("pkcs11:token=t;object=k?module-path=/m.so&pin-source=env:P&x-custos-sign-mechanism=abc", ErrorCode.InvalidField)]
    [InlineData("pkcs11:token=t;token=u;object=k?module-path=/m.so&pin-source=env:P", ErrorCode.Malformed)]
    [InlineData("pkcs11:token=t;object=k%2?module-path=/m.so&pin-source=env:P", ErrorCode.Malformed)]
    [InlineData("pkcs11:token=t;object=k%zz?module-path=/m.so&pin-source=env:P", ErrorCode.Malformed)]
    [InlineData("pkcs11:token=t;object=%ff?module-path=/m.so&pin-source=env:P", ErrorCode.Malformed)]
    [InlineData("pkcs11:token=t;;object=k?module-path=/m.so&pin-source=env:P", ErrorCode.Malformed)]
    [InlineData("pkcs11:token=a b;object=k?module-path=/m.so&pin-source=env:P", ErrorCode.Malformed)]
    [InlineData("/etc/custos/node.key", ErrorCode.Malformed)]
    [InlineData("hsm:node1", ErrorCode.Malformed)]
    [InlineData("file://otherhost/node.key", ErrorCode.InvalidField)]
    [InlineData("file:", ErrorCode.InvalidField)]
    [InlineData("", ErrorCode.InvalidField)]
    public void Bad_key_reference_is_refused_with_a_typed_error(string text, ErrorCode expected)
    {
        Assert.False(KeyReference.TryParse(text, out _, out var error));
        Assert.Equal(expected, error.Code);
        var thrown = Assert.Throws<CustosException>(() => KeyReference.Parse(text));
        Assert.Equal(expected, thrown.Code);
    }

    [Fact]
    public void Pin_value_in_a_refused_uri_is_not_echoed_in_the_error()
    {
        KeyReference.TryParse("pkcs11:token=t;object=k?module-path=/m.so&pin-value=s3cr3t-PIN", out _, out var error);

        Assert.DoesNotContain("s3cr3t-PIN", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_token_and_object_labels_survive_formatting_and_parsing()
    {
        var label = Gen.Char.Where(c => !char.IsSurrogate(c)).Array[1, 24].Select(chars => new string(chars));
        var gen = Gen.Select(label, label, Gen.Byte.Array[0, 20], Gen.Bool);

        gen.Sample((token, objectLabel, id, withSerial) =>
        {
            var reference = new Pkcs11KeyReference("/usr/lib/x y/lib.so", token, objectLabel, id, SecretSource.FromEnvironment("HSM_PIN"),
                withSerial ? "9f:0a" : null, new Pkcs11MechanismOverrides(null, 0x80008001, null, true));

            var parsed = Assert.IsType<Pkcs11KeyReference>(KeyReference.Parse(reference.ToString()));

            Assert.Equal(token, parsed.TokenLabel);
            Assert.Equal(objectLabel, parsed.ObjectLabel);
            Assert.Equal(id.Length == 0 ? null : id, parsed.ObjectId);
            Assert.Equal(reference.TokenSerial, parsed.TokenSerial);
            Assert.Equal(reference.ModulePath, parsed.ModulePath);
            Assert.Equal(reference.MechanismOverrides, parsed.MechanismOverrides);
            Assert.Equal(reference, parsed);
        }, iter: 2000);
    }

    [Fact]
    public void Arbitrary_text_never_escapes_as_an_untyped_exception()
    {
        var alphabet = Gen.Char["pkcs11:file%;?&=/-_.xabcdefginorstuv0123456789 \u00e9"];
        var text = Gen.OneOf(
            alphabet.Array[0, 60].Select(chars => new string(chars)),
            alphabet.Array[0, 60].Select(chars => "pkcs11:" + new string(chars)),
            Gen.String);

        text.Sample(candidate =>
        {
            if (!KeyReference.TryParse(candidate, out var reference, out var error))
            {
                Assert.NotNull(error);
                return;
            }

            Assert.NotNull(reference);
        }, iter: 20_000);
    }

    [Fact]
    public void File_reference_formats_back_to_itself()
    {
        Gen.Char.Where(c => c != '\0' && !char.IsSurrogate(c)).Array[1, 40].Select(chars => new string(chars)).Sample(path =>
        {
            var reference = new KeyFileReference(path);

            Assert.Equal(reference, KeyReference.Parse(reference.ToString()));
        }, iter: 2000);
    }

    [Fact]
    public void Secret_from_an_environment_variable_is_read()
    {
        var name = "CUSTOS_TEST_SECRET_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "pin 1234");
        try
        {
            var source = SecretSource.Parse("env:" + name);

            Assert.Equal("pin 1234"u8.ToArray(), source.ReadUtf8(ErrorCode.HsmFailure, "HSM PIN"));
            Assert.Equal("env:" + name, source.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Theory]
    [InlineData("s3cret\n", "s3cret")]
    [InlineData("s3cret\r\n", "s3cret")]
    [InlineData("s3cret", "s3cret")]
    [InlineData("two words \n\n", "two words \n")]
    public void Secret_file_loses_one_trailing_line_break(string content, string expected)
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("pin");
        File.WriteAllText(path, content);

        var secret = SecretSource.FromFile(path).ReadUtf8(ErrorCode.HsmFailure, "HSM PIN");

        Assert.Equal(Encoding.UTF8.GetBytes(expected), secret);
    }

    [Fact]
    public void Missing_or_empty_secret_is_a_typed_error_naming_only_the_place()
    {
        using var directory = new TemporaryDirectory();
        File.WriteAllText(directory.File("empty"), "\n");
        var sources = new[]
        {
            SecretSource.FromEnvironment("CUSTOS_TEST_UNSET_" + Guid.NewGuid().ToString("N")),
            SecretSource.FromFile(directory.File("absent")),
            SecretSource.FromFile(directory.File("empty")),
        };

        foreach (var source in sources)
        {
            var error = Assert.Throws<CustosException>(() => source.ReadUtf8(ErrorCode.HsmFailure, "HSM PIN"));
            Assert.Equal(ErrorCode.HsmFailure, error.Code);
            Assert.Contains(source.Location, error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("1234")]
    [InlineData("env:")]
    [InlineData("file:")]
    [InlineData("env:A=B")]
    public void Bad_secret_source_is_refused_without_echoing_it(string text)
    {
        Assert.False(SecretSource.TryParse(text, out _, out var error));
        Assert.Equal(ErrorCode.InvalidField, error.Code);
        if (text == "1234") Assert.DoesNotContain("1234", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gm")]
    [InlineData("intl")]
    public void Key_custody_opens_a_key_file_with_the_passphrase_from_the_environment(string suiteName)
    {
        var suite = CryptoSuites.Parse(suiteName);
        using var directory = new TemporaryDirectory();
        var path = directory.File("node.key");
        var variable = "CUSTOS_TEST_PASSPHRASE_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, "node passphrase");
        try
        {
            using var original = EncryptedKeyFile.Generate(path, suite, "node passphrase", iterations: EncryptedKeyFile.MinimumIterations);

            using var key = KeyCustody.Open("file:" + path, suite, SecretSource.FromEnvironment(variable));

            Assert.Equal("software", key.Custody);
            Assert.Equal(original.PublicKey, key.PublicKey);
            var message = "vote"u8.ToArray();
            Assert.True(suite.Verify(key.PublicKey, message, key.Sign(message)));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void Key_custody_needs_a_passphrase_source_for_a_key_file()
    {
        var error = Assert.Throws<CustosException>(() => KeyCustody.Open("file:/nonexistent/node.key", CryptoSuites.Gm));

        Assert.Equal(ErrorCode.InvalidField, error.Code);
    }

    [Fact]
    public void Key_custody_reports_an_unset_passphrase_variable()
    {
        var error = Assert.Throws<CustosException>(() =>
            KeyCustody.Open("file:/nonexistent/node.key", CryptoSuites.Gm, SecretSource.FromEnvironment("CUSTOS_TEST_UNSET_" + Guid.NewGuid().ToString("N"))));

        Assert.Equal(ErrorCode.KeyPassphraseWrong, error.Code);
    }
}
