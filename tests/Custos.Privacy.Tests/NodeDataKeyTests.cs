using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Privacy.Audit;
using Custos.Privacy.Policy;
using Custos.Privacy.PrivateData;

namespace Custos.Privacy.Tests;

public sealed class NodeDataKeyTests : IDisposable
{
    private static readonly ICryptoSuite Suite = CryptoSuites.Gm;
    private readonly TempDirectory _directory = new();

    [Fact]
    public void The_node_data_key_lives_in_an_encrypted_key_file_and_reopens_to_the_same_key()
    {
        var paths = PrivacyPaths.Under(_directory.Path);
        var passphraseFile = _directory.Sub("passphrase");
        File.WriteAllText(passphraseFile, "correct horse battery staple\n");
        var passphrase = SecretSource.FromFile(passphraseFile);
        var policy = PrivateDataStoreTests.Policy(("dcep", "kyc", ["org1"]));
        var reader = new PrivacyReader("clerk", "org1", "test");

        using (var key = NodeDataKey.Open(paths.DataKeyReference, Suite, passphrase, create: true))
        using (var audit = PrivacyAuditLog.Open(paths.AuditLog, Suite, TimeProvider.System))
        {
            new PrivateDataStore(paths.Directory, "org1", key, audit, TimeProvider.System).Put("dcep", "kyc", "k"u8.ToArray(), "v"u8.ToArray(), policy, reader);
        }

        Assert.Equal("custos-key/1", System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(paths.DataKeyFile)).RootElement.GetProperty("format").GetString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(paths.DataKeyFile));

        using (var key = NodeDataKey.Open(paths.DataKeyReference, Suite, passphrase, create: false))
        using (var audit = PrivacyAuditLog.Open(paths.AuditLog, Suite, TimeProvider.System))
        {
            var store = new PrivateDataStore(paths.Directory, "org1", key, audit, TimeProvider.System);
            Assert.True(store.TryRead("dcep", "kyc", "k"u8, reader, policy, out var read, out var error), error?.ToString());
            Assert.Equal("v"u8.ToArray(), read.Value);
        }

        File.WriteAllText(passphraseFile, "wrong");
        Assert.Equal(ErrorCode.KeyPassphraseWrong, Assert.Throws<CustosException>(() => NodeDataKey.Open(paths.DataKeyReference, Suite, passphrase, create: false)).Code);
    }

    [Fact]
    public void A_token_key_cannot_serve_as_the_node_data_key()
    {
        var failure = Assert.Throws<CustosException>(() => NodeDataKey.Open("pkcs11:token=t;object=o?module-path=/nonexistent.so&pin-source=env:PIN", Suite, SecretSource.FromEnvironment("X"), create: false));
        Assert.Equal(ErrorCode.InvalidField, failure.Code);
    }

    public void Dispose() => _directory.Dispose();
}
