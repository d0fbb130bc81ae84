using System.Collections.Concurrent;
using System.Text;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto.Custody;

namespace Custos.Crypto.Tests.Custody;

/// <summary>Key custody in a real SoftHSM2 token. SoftHSM has no SM2, so only the intl (P-256) path runs here.</summary>
[Collection(SoftHsmCollection.Name)]
public sealed class Pkcs11KeyStoreTests(SoftHsmToken hsm)
{
    private static readonly ICryptoSuite Intl = CryptoSuites.Intl;

    private Pkcs11KeyStore OpenStore() => Pkcs11KeyStore.Open(hsm.ModulePath, SoftHsmToken.TokenLabel, SecretSource.FromEnvironment(hsm.PinVariable));

    [Fact]
    public void Key_generated_in_the_token_signs_what_the_intl_suite_verifies()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();

        var key = store.GenerateKey(Intl, SoftHsmToken.NewLabel("sign"));

        Assert.Equal("pkcs11", key.Custody);
        Assert.Equal(CryptoSuiteId.Intl, key.Suite);
        Assert.Equal(16, key.Id.Length);
        foreach (var message in new[] { ""u8.ToArray(), "block 1"u8.ToArray(), new byte[10_000] })
        {
            var signature = key.Sign(message);
            Assert.Equal(64, signature.Length);
            Assert.True(Intl.Verify(key.PublicKey, message, signature));
            Assert.False(Intl.Verify(key.PublicKey, [.. message, 0x00], signature));
        }

        var objectSignature = key.SignObject(ObjectType.Vote, "vote payload"u8);
        Assert.True(Intl.VerifyObject(key.PublicKey, ObjectType.Vote, "vote payload"u8, objectSignature));
    }

    [Fact]
    public void Private_key_in_the_token_is_sensitive_and_cannot_be_extracted()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();
        var key = store.GenerateKey(Intl, SoftHsmToken.NewLabel("protected"));

        var protection = store.ReadProtection(key);

        Assert.True(protection.Sensitive);
        Assert.False(protection.Extractable);
        Assert.True(protection.AlwaysSensitive);
        Assert.True(protection.NeverExtractable);
        Assert.Null(store.TryReadPrivateValue(key));
    }

    [Fact]
    public void Key_is_found_again_after_logging_in_anew()
    {
        hsm.SkipIfUnavailable();
        var label = SoftHsmToken.NewLabel("persist");
        PublicKey generatedPublicKey;
        using (var store = OpenStore())
        {
            generatedPublicKey = store.GenerateKey(Intl, label).PublicKey;
        }

        // The first store was the only user, so the module was finalised; this is a fresh C_Initialize and login.
        using var reopened = OpenStore();
        var found = reopened.FindKey(Intl, label);

        Assert.Equal(generatedPublicKey, found.PublicKey);
        Assert.Equal(label, found.Label);
        Assert.Contains(label, reopened.ListKeyLabels());
        var message = "after restart"u8.ToArray();
        Assert.True(Intl.Verify(generatedPublicKey, message, found.Sign(message)));
    }

    [Fact]
    public void Key_custody_generates_opens_and_destroys_a_token_key_by_uri()
    {
        hsm.SkipIfUnavailable();
        var uri = hsm.Uri(SoftHsmToken.NewLabel("uri"));
        PublicKey generatedPublicKey;
        using (var generated = KeyCustody.Generate(uri, Intl))
        {
            generatedPublicKey = generated.PublicKey;
        }

        using (var opened = KeyCustody.Open(uri, Intl))
        {
            Assert.Equal("pkcs11", opened.Custody);
            Assert.Equal(generatedPublicKey, opened.PublicKey);
            var message = "proposal"u8.ToArray();
            Assert.True(Intl.Verify(opened.PublicKey, message, opened.Sign(message)));
        }

        KeyCustody.Destroy(uri);
        var error = Assert.Throws<CustosException>(() => KeyCustody.Open(uri, Intl));
        Assert.Equal(ErrorCode.KeyNotFound, error.Code);
    }

    [Fact]
    public void Key_is_found_by_its_id_as_well_as_its_label()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();
        var key = store.GenerateKey(Intl, SoftHsmToken.NewLabel("by-id"));
        var reference = new Pkcs11KeyReference(hsm.ModulePath, SoftHsmToken.TokenLabel, objectLabel: null, key.Id, SecretSource.FromEnvironment(hsm.PinVariable));

        using var opened = KeyCustody.Open(reference, Intl);

        Assert.Equal(key.PublicKey, opened.PublicKey);
    }

    [Fact]
    public void Pin_read_from_a_file_logs_in()
    {
        hsm.SkipIfUnavailable();
        using var directory = new TemporaryDirectory();
        var pinFile = directory.File("hsm.pin");
        File.WriteAllText(pinFile, SoftHsmToken.Pin + "\n");
        var label = SoftHsmToken.NewLabel("pin-file");
        using (var store = OpenStore())
        {
            store.GenerateKey(Intl, label);
        }

        using var key = KeyCustody.Open(
            $"pkcs11:token={SoftHsmToken.TokenLabel};object={label}?module-path={hsm.ModulePath}&pin-source=file:{pinFile}", Intl);

        Assert.True(Intl.Verify(key.PublicKey, "m"u8, key.Sign("m"u8)));
    }

    [Fact]
    public void Wrong_pin_is_refused_with_an_hsm_failure_that_does_not_show_the_pin()
    {
        hsm.SkipIfUnavailable();
        const string wrongPin = "9999-not-the-pin";

        // No other store is open, so this reaches the token's own C_Login.
        var error = Assert.Throws<CustosException>(() =>
            Pkcs11KeyStore.Open(hsm.ModulePath, SoftHsmToken.TokenLabel, Encoding.UTF8.GetBytes(wrongPin)));

        Assert.Equal(ErrorCode.HsmFailure, error.Code);
        Assert.Contains("PIN is incorrect", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongPin, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(SoftHsmToken.Pin, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_pin_is_refused_while_the_process_is_already_logged_in()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();

        var error = Assert.Throws<CustosException>(() =>
            Pkcs11KeyStore.Open(hsm.ModulePath, SoftHsmToken.TokenLabel, "0000-wrong"u8));

        Assert.Equal(ErrorCode.HsmFailure, error.Code);
        Assert.Contains("PIN", error.Message, StringComparison.Ordinal);
        // The right PIN joins the existing login.
        using var second = Pkcs11KeyStore.Open(hsm.ModulePath, SoftHsmToken.TokenLabel, Encoding.UTF8.GetBytes(SoftHsmToken.Pin));
        Assert.Equal(SoftHsmToken.TokenLabel, second.TokenLabel);
    }

    [Fact]
    public void Unset_pin_variable_is_an_hsm_failure()
    {
        hsm.SkipIfUnavailable();

        var error = Assert.Throws<CustosException>(() => Pkcs11KeyStore.Open(hsm.ModulePath, SoftHsmToken.TokenLabel,
            SecretSource.FromEnvironment("CUSTOS_TEST_UNSET_" + Guid.NewGuid().ToString("N"))));

        Assert.Equal(ErrorCode.HsmFailure, error.Code);
    }

    [Fact]
    public void Missing_key_is_reported_as_key_not_found()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();
        var label = SoftHsmToken.NewLabel("absent");

        var find = Assert.Throws<CustosException>(() => store.FindKey(Intl, label));
        var destroy = Assert.Throws<CustosException>(() => store.DestroyKey(label));
        var open = Assert.Throws<CustosException>(() => KeyCustody.Open(hsm.Uri(label), Intl));

        Assert.Equal(ErrorCode.KeyNotFound, find.Code);
        Assert.Equal(ErrorCode.KeyNotFound, destroy.Code);
        Assert.Equal(ErrorCode.KeyNotFound, open.Code);
        Assert.False(store.ContainsKey(label));
    }

    [Fact]
    public void Missing_token_is_reported_as_key_not_found()
    {
        hsm.SkipIfUnavailable();

        var error = Assert.Throws<CustosException>(() =>
            Pkcs11KeyStore.Open(hsm.ModulePath, "no-such-token", SecretSource.FromEnvironment(hsm.PinVariable)));

        Assert.Equal(ErrorCode.KeyNotFound, error.Code);
    }

    [Fact]
    public void Missing_module_is_an_hsm_failure()
    {
        hsm.SkipIfUnavailable();

        var error = Assert.Throws<CustosException>(() =>
            Pkcs11KeyStore.Open("/nonexistent/libpkcs11.so", SoftHsmToken.TokenLabel, SecretSource.FromEnvironment(hsm.PinVariable)));

        Assert.Equal(ErrorCode.HsmFailure, error.Code);
    }

    [Fact]
    public void Destroyed_key_is_gone_from_the_token()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();
        var label = SoftHsmToken.NewLabel("destroy");
        var key = store.GenerateKey(Intl, label);
        Assert.True(store.ContainsKey(label));

        store.DestroyKey(label);

        Assert.False(store.ContainsKey(label));
        Assert.DoesNotContain(label, store.ListKeyLabels());
        Assert.Equal(ErrorCode.KeyNotFound, Assert.Throws<CustosException>(() => store.FindKey(Intl, label)).Code);
        Assert.Equal(ErrorCode.KeyNotFound, Assert.Throws<CustosException>(() => key.Sign("after destruction"u8.ToArray())).Code);
        Assert.Equal(ErrorCode.KeyNotFound, Assert.Throws<CustosException>(() => store.DestroyKey(label)).Code);
    }

    [Fact]
    public void Second_key_with_the_same_label_is_refused()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();
        var label = SoftHsmToken.NewLabel("twice");
        var first = store.GenerateKey(Intl, label);

        var error = Assert.Throws<CustosException>(() => store.GenerateKey(Intl, label));

        Assert.Equal(ErrorCode.InvalidField, error.Code);
        Assert.Equal(first.PublicKey, store.FindKey(Intl, label).PublicKey);
    }

    [Fact]
    public void Signing_from_many_threads_at_once_gives_valid_signatures()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();
        var key = store.GenerateKey(Intl, SoftHsmToken.NewLabel("threads"));
        var failures = new ConcurrentQueue<string>();

        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var message = Encoding.UTF8.GetBytes($"message {i}");
            if (!Intl.Verify(key.PublicKey, message, key.Sign(message))) failures.Enqueue($"signature {i} does not verify");
        });

        Assert.Empty(failures);
    }

    [Fact]
    public void Token_reports_which_mechanisms_it_offers()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();

        Assert.True(store.SupportsMechanism(Pkcs11MechanismSet.P256.KeyGenerationMechanism));
        Assert.True(store.SupportsMechanism(Pkcs11MechanismSet.P256.SignMechanism));
        // SoftHSM has no SM2, so the vendor mechanisms are absent, which is what an operator would check first.
        Assert.False(store.SupportsMechanism(Pkcs11MechanismSet.Sm2VendorDefault.KeyGenerationMechanism));
        Assert.False(store.SupportsMechanism(Pkcs11MechanismSet.Sm2VendorDefault.SignMechanism));
    }

    [Fact]
    public void Wrong_hashing_mode_is_caught_by_checking_the_tokens_signature()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();
        var label = SoftHsmToken.NewLabel("misconfigured");
        store.GenerateKey(Intl, label);
        // Raw CKM_ECDSA told it gets the message: the token signs the message's leading bytes, not SHA-256(M).
        var misconfigured = Pkcs11MechanismSet.P256 with { TokenHashesMessage = true };
        var key = store.FindKey(Intl, label, misconfigured);

        var error = Assert.Throws<CustosException>(() => key.Sign("a message that is not a digest"u8.ToArray()));

        Assert.Equal(ErrorCode.HsmFailure, error.Code);
        Assert.Contains("does not verify", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mechanism_the_token_lacks_is_reported_as_an_hsm_failure()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();
        var label = SoftHsmToken.NewLabel("sm2");

        // SoftHSM has no SM2, so the vendor SM2 key-generation mechanism is unknown to it.
        var error = Assert.Throws<CustosException>(() => store.GenerateKey(CryptoSuites.Gm, label));

        Assert.Equal(ErrorCode.HsmFailure, error.Code);
        Assert.False(store.ContainsKey(label));
    }

    [Fact]
    public void P256_token_key_opened_as_a_gm_key_is_a_suite_mismatch()
    {
        hsm.SkipIfUnavailable();
        using var store = OpenStore();
        var label = SoftHsmToken.NewLabel("cross-suite");
        store.GenerateKey(Intl, label);

        var byKeyType = Assert.Throws<CustosException>(() => store.FindKey(CryptoSuites.Gm, label));
        var byCurve = Assert.Throws<CustosException>(() => store.FindKey(CryptoSuites.Gm, label, Pkcs11MechanismSet.P256));

        Assert.Equal(ErrorCode.SuiteMismatch, byKeyType.Code);
        Assert.Equal(ErrorCode.SuiteMismatch, byCurve.Code);
    }
}
