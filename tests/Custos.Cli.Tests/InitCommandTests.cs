using System.Diagnostics;
using Custos.Cli.Init;
using Custos.Node;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Identity;
using Custos.Identity.Consortium;

namespace Custos.Cli.Tests;

/// <summary>`custos init` run in-process, as an operator would run it, and its output read back the way nodes will.</summary>
public sealed class InitCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("custos-init-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task<(int Exit, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CustosCommand.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private string Network => Path.Combine(_directory, "net");

    [Theory]
    [InlineData("gm")]
    [InlineData("intl")]
    public async Task Init_writes_a_consortium_whose_genesis_nodes_validate_against_their_cas(string crypto)
    {
        var (exit, output, error) = await Run("init", "--out", Network, "--orgs", "3", "--crypto", crypto, "--kdf-iterations", "100000");

        Assert.True(exit == 0, error);
        Assert.Contains("genesis", output);
        var genesis = GenesisDocument.Load(Path.Combine(Network, "genesis.json"));
        Assert.Equal(crypto, genesis.CryptoSuite);
        Assert.Equal(4, genesis.Organisations.Count);
        Assert.Single(genesis.Organisations, o => o.Kind == OrganisationKind.Regulator);
        Assert.Equal(4, genesis.Validators.Count);
        Assert.Equal(NodeKind.Supervisor, Assert.Single(genesis.Observers).Kind);
        Assert.Equal(["org1", "org2", "org3", "org1"], genesis.Validators.Select(v => v.Organisation));
        Assert.Equal(11, genesis.Accounts.Count);
        Assert.Equal("admin@org1", Assert.Single(genesis.Accounts, a => a.Kind == AccountKind.SpecialPrivilege).Label);
        Assert.Equal(3, genesis.Accounts.Count(a => a.Balance > 0));
        Assert.Equal(genesis.Accounts.Count, genesis.Accounts.Select(a => a.Id).Distinct().Count());
    }

    [Fact]
    public async Task Genesis_accounts_are_bound_to_the_users_keys_and_not_derived_from_them()
    {
        var (exit, _, error) = await Run("init", "--out", Network, "--orgs", "1", "--kdf-iterations", "100000");
        Assert.True(exit == 0, error);
        var genesis = GenesisDocument.Load(Path.Combine(Network, "genesis.json"));
        var client = Assert.Single(genesis.Accounts, a => a.Label == "client1@org1");
        var certificate = ConsortiumCertificate.FromPem(File.ReadAllText(Path.Combine(Network, "orgs", "org1", "users", "client1", "client1.pem")), CryptoSuites.Gm);

        Assert.Equal(certificate.PublicKey.ToHex(), client.PublicKey);
        Assert.DoesNotContain(client.Id, client.PublicKey);
        Assert.DoesNotContain(client.Id, Core.HashFunctionExtensions.Hash(CryptoSuites.Gm, certificate.PublicKey.Encoded).ToString());
    }

    [Fact]
    public async Task Every_node_key_opens_with_its_configured_passphrase_and_matches_its_certificate()
    {
        var (exit, _, error) = await Run("init", "--out", Network, "--orgs", "2", "--kdf-iterations", "100000");
        Assert.True(exit == 0, error);

        foreach (var configPath in Directory.GetFiles(Path.Combine(Network, "nodes"), "node.json", SearchOption.AllDirectories))
        {
            var config = NodeConfigurationFile.Load(configPath);
            var directory = Path.GetDirectoryName(configPath)!;
            var keyPath = Path.GetFullPath(Path.Combine(directory, config.Key["file:".Length..]));
            var secretPath = Path.GetFullPath(Path.Combine(directory, config.KeySecret["file:".Length..]));
            var passphrase = File.ReadAllText(secretPath);
            using var key = EncryptedKeyFile.Load(keyPath, CryptoSuites.Gm, passphrase);
            var certificate = ConsortiumCertificate.FromPem(File.ReadAllText(Path.Combine(directory, config.Certificate)), CryptoSuites.Gm);

            Assert.Equal(certificate.PublicKey, key.PublicKey);
            Assert.Equal(CertificateRole.Node, certificate.Role);
            Assert.Equal(config.Node, certificate.CommonName);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secretPath));
        }
    }

    [Fact]
    public async Task Key_files_hold_no_plaintext_private_key()
    {
        var (exit, _, error) = await Run("init", "--out", Network, "--orgs", "1", "--kdf-iterations", "100000");
        Assert.True(exit == 0, error);
        var keyPath = Path.Combine(Network, "orgs", "org1", "nodes", "node1", "node.key");
        var passphrase = File.ReadAllText(Path.Combine(Network, "secrets", "org1.passphrase"));
        using var key = EncryptedKeyFile.Load(keyPath, CryptoSuites.Gm, passphrase);
        var scalar = key.ExportPrivateScalar();
        var file = File.ReadAllText(keyPath);

        Assert.DoesNotContain(Convert.ToHexStringLower(scalar), file, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(scalar), file);
    }

    [Fact]
    public async Task Init_refuses_a_non_empty_directory_and_changes_nothing()
    {
        Directory.CreateDirectory(Network);
        var marker = Path.Combine(Network, "keep.txt");
        File.WriteAllText(marker, "operator data");

        var (exit, _, error) = await Run("init", "--out", Network, "--orgs", "1", "--kdf-iterations", "100000");

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.Contains("INVALID_FIELD", error);
        Assert.Equal("operator data", File.ReadAllText(marker));
        Assert.Single(Directory.GetFileSystemEntries(Network));
    }

    [Theory]
    [InlineData("--validators", "3")]
    [InlineData("--orgs", "0")]
    [InlineData("--kdf-iterations", "10")]
    [InlineData("--chain-id", "bad chain id")]
    public async Task Init_refuses_unsafe_or_invalid_options_with_a_typed_error(string option, string value)
    {
        var (exit, _, error) = await Run("init", "--out", Network, option, value);

        Assert.Equal(CustosCommand.ExitRefused, exit);
        Assert.StartsWith("error: ", error);
        Assert.False(Directory.Exists(Path.Combine(Network, "orgs")));
    }

    [Fact]
    public async Task Cert_verify_accepts_a_node_as_node_and_refuses_it_as_client()
    {
        var (exit, _, error) = await Run("init", "--out", Network, "--orgs", "2", "--kdf-iterations", "100000");
        Assert.True(exit == 0, error);
        var genesis = Path.Combine(Network, "genesis.json");
        var nodeCertificate = Path.Combine(Network, "orgs", "org2", "nodes", "node2", "node.pem");

        var asNode = await Run("cert", "verify", "--genesis", genesis, "--role", "node", nodeCertificate);
        var asClient = await Run("cert", "verify", "--genesis", genesis, "--role", "client", nodeCertificate);

        Assert.Equal(0, asNode.Exit);
        Assert.Contains("valid: node2 of org2, role node", asNode.Output);
        Assert.Equal(CustosCommand.ExitRefused, asClient.Exit);
        Assert.Contains(ErrorCodes(ErrorCode.CertificateWrongRole), asClient.Error);
    }

    [Fact]
    public async Task Cert_verify_refuses_a_certificate_listed_in_a_revocation_list()
    {
        var (exit, _, error) = await Run("init", "--out", Network, "--orgs", "1", "--kdf-iterations", "100000");
        Assert.True(exit == 0, error);
        var suite = CryptoSuites.Gm;
        var caDirectory = Path.Combine(Network, "orgs", "org1", "ca");
        var passphrase = File.ReadAllText(Path.Combine(Network, "secrets", "org1.passphrase"));
        var clientPath = Path.Combine(Network, "orgs", "org1", "users", "client1", "client1.pem");
        var client = ConsortiumCertificate.FromPem(File.ReadAllText(clientPath), suite);
        using var caKey = EncryptedKeyFile.Load(Path.Combine(caDirectory, "ca.key"), suite, passphrase);
        var authority = new CertificateAuthority(ConsortiumCertificate.FromPem(File.ReadAllText(Path.Combine(caDirectory, "ca.pem")), suite), caKey, suite);
        var crlPath = Path.Combine(_directory, "crl.pem");
        File.WriteAllText(crlPath, authority.IssueRevocationList([client.SerialNumber], number: 2, TimeSpan.FromDays(1)).ToPem());

        var result = await Run("cert", "verify", "--genesis", Path.Combine(Network, "genesis.json"), "--crl", crlPath, clientPath);

        Assert.Equal(CustosCommand.ExitRefused, result.Exit);
        Assert.Contains(ErrorCodes(ErrorCode.CertificateRevoked), result.Error);
    }

    [Fact]
    public async Task Genesis_with_a_tampered_validator_certificate_is_refused()
    {
        var (exit, _, error) = await Run("init", "--out", Network, "--orgs", "2", "--kdf-iterations", "100000");
        Assert.True(exit == 0, error);
        var path = Path.Combine(Network, "genesis.json");
        var genesis = GenesisDocument.Load(path);
        var foreign = genesis.Validators[1].Certificate;
        var tampered = genesis with { Validators = [genesis.Validators[0] with { Certificate = foreign }, .. genesis.Validators.Skip(1)] };

        var failure = Assert.Throws<Core.CustosException>(() => GenesisDocument.Decode(tampered.Encode()));

        Assert.Equal(ErrorCode.CertificateUntrusted, failure.Code);
    }

    [Fact]
    public async Task Init_output_is_verified_by_debian_openssl()
    {
        if (!File.Exists("/usr/bin/openssl")) Assert.Skip("openssl is not installed (./test.sh installs it when run as root)");
        var (exit, _, error) = await Run("init", "--out", Network, "--orgs", "3", "--kdf-iterations", "100000");
        Assert.True(exit == 0, error);
        var verified = 0;
        foreach (var organisation in new[] { "org1", "org2", "org3", "regulator" })
        {
            var ca = Path.Combine(Network, "orgs", organisation, "ca", "ca.pem");
            foreach (var leaf in Directory.GetFiles(Path.Combine(Network, "orgs", organisation), "*.pem", SearchOption.AllDirectories).Where(p => !p.Contains("/ca/")))
            {
                var start = new ProcessStartInfo("/usr/bin/openssl", ["verify", "-CAfile", ca, leaf]) { RedirectStandardOutput = true, RedirectStandardError = true };
                using var process = Process.Start(start)!;
                await process.WaitForExitAsync(TestContext.Current.CancellationToken);
                Assert.True(process.ExitCode == 0, $"openssl refused {leaf}: {await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken)}");
                verified++;
            }
        }

        Assert.Equal(16, verified);
    }

    private static string ErrorCodes(ErrorCode code) => Core.ErrorCodes.Name(code);
}
