using System.CommandLine;
using Custos.Cli.Init;
using Custos.Crypto;
using Custos.Crypto.Custody;
using Custos.Identity;

namespace Custos.Cli;

/// <summary>`custos init`: creates a consortium (CAs, keys, certificates, genesis, node configurations).</summary>
internal static class InitCommand
{
    public static Command Create(TextWriter output)
    {
        var outDirectory = new Option<string>("--out") { Description = "Directory to create the network in", Required = true };
        var orgs = new Option<int>("--orgs") { Description = "Number of member organisations", DefaultValueFactory = _ => 3 };
        var crypto = new Option<string>("--crypto") { Description = "Crypto suite: gm (SM2/SM3/SM4, default) or intl (P-256/SHA-256/AES-GCM)", DefaultValueFactory = _ => "gm" };
        crypto.AcceptOnlyFromAmong("gm", "intl");
        var validators = new Option<int>("--validators") { Description = "Number of validators (at least 4)", DefaultValueFactory = _ => 4 };
        var observers = new Option<int>("--observers") { Description = "Number of non-voting nodes; the first is the regulator's supervisor", DefaultValueFactory = _ => 1 };
        var noRegulator = new Option<bool>("--no-regulator") { Description = "Do not add a regulator organisation" };
        var chainId = new Option<string?>("--chain-id") { Description = "Chain id (default: random custos-xxxxxxxx)" };
        var basePort = new Option<int>("--base-port") { Description = "Node i listens on base+i (peers) and base+1000+i (API)", DefaultValueFactory = _ => 7100 };
        var passphraseEnv = new Option<string?>("--passphrase-env") { Description = "Environment variable holding the passphrase for all keys (default: generate one per organisation into secrets/)" };
        var iterations = new Option<int>("--kdf-iterations") { Description = "PBKDF2 iterations for key files", DefaultValueFactory = _ => EncryptedKeyFile.DefaultIterations };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output directory" };
        var x509Identity = new Option<string>("--x509-sm2-id") { Description = "SM2 identity CAs sign certificates with: empty (what openssl 1.1.1-3.x verifies by default) or default (GB/T 35276 '1234567812345678')", DefaultValueFactory = _ => "empty" };
        x509Identity.AcceptOnlyFromAmong("empty", "default");
        var command = new Command("init", "Create a consortium: organisation CAs, node and user keys and certificates, genesis, node configurations")
        {
            outDirectory, orgs, crypto, validators, observers, noRegulator, chainId, basePort, passphraseEnv, iterations, force, x509Identity,
        };
        command.SetAction(parse =>
        {
            var options = new InitOptions
            {
                OutputDirectory = parse.GetValue(outDirectory)!,
                Organisations = parse.GetValue(orgs),
                Suite = CryptoSuites.Parse(parse.GetValue(crypto)!),
                Validators = parse.GetValue(validators),
                Observers = parse.GetValue(observers),
                IncludeRegulator = !parse.GetValue(noRegulator),
                ChainId = parse.GetValue(chainId),
                BasePort = parse.GetValue(basePort),
                PassphraseEnvironmentVariable = parse.GetValue(passphraseEnv),
                KdfIterations = parse.GetValue(iterations),
                Overwrite = parse.GetValue(force),
                X509SignerIdentity = parse.GetValue(x509Identity) == "default" ? X509SignerIdentity.GbT35276Default : X509SignerIdentity.Empty,
            };
            output.WriteLine($"custos init: {options.Organisations} organisations, {options.Validators} validators, suite {options.Suite.Name}");
            var result = new ConsortiumInitializer(output).Run(options);
            output.WriteLine($"  chain {result.Genesis.ChainId}, genesis {result.GenesisHash}");
            output.WriteLine($"  {result.KeysWritten} keys written encrypted; genesis at {result.GenesisPath}");
            foreach (var config in result.NodeConfigurations) output.WriteLine($"  node config {config}");
            return 0;
        });
        return command;
    }
}
