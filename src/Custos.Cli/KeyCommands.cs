using System.CommandLine;
using Custos.Core;
using Custos.Core.Wire;
using Custos.Crypto;
using Custos.Crypto.Custody;

namespace Custos.Cli;

/// <summary>`custos key generate|show|passwd`: the key file part of the key lifecycle (CRY-5).</summary>
internal static class KeyCommands
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("key", "Generate and manage encrypted key files");
        command.Subcommands.Add(Generate(output));
        command.Subcommands.Add(Show(output));
        command.Subcommands.Add(ChangePassphrase(output));
        return command;
    }

    private static Command Generate(TextWriter output)
    {
        var file = new Option<string>("--out") { Description = "Key file to create", Required = true };
        var crypto = new Option<string>("--crypto") { Description = "gm or intl", DefaultValueFactory = _ => "gm" };
        crypto.AcceptOnlyFromAmong("gm", "intl");
        var passphrase = new Option<string>("--passphrase-env") { Description = "Environment variable holding the passphrase", Required = true };
        var iterations = new Option<int>("--kdf-iterations") { DefaultValueFactory = _ => EncryptedKeyFile.DefaultIterations };
        var command = new Command("generate", "Generate a key pair into a new encrypted key file") { file, crypto, passphrase, iterations };
        command.SetAction(parse =>
        {
            var suite = CryptoSuites.Parse(parse.GetValue(crypto)!);
            using var key = EncryptedKeyFile.Generate(parse.GetValue(file)!, suite, ReadPassphrase(parse.GetValue(passphrase)!), overwrite: false, parse.GetValue(iterations));
            output.WriteLine($"public key: {key.PublicKey.ToHex()}");
            return 0;
        });
        return command;
    }

    private static Command Show(TextWriter output)
    {
        var file = new Argument<string>("file") { Description = "Key file" };
        var command = new Command("show", "Print a key file's suite, public key and KDF cost (no passphrase needed)") { file };
        command.SetAction(parse =>
        {
            var info = EncryptedKeyFile.ReadInfo(parse.GetValue(file)!);
            output.WriteLine($"suite:      {info.Suite.Name}");
            output.WriteLine($"public key: {info.PublicKey.ToHex()}");
            output.WriteLine($"iterations: {info.Iterations}");
            return 0;
        });
        return command;
    }

    private static Command ChangePassphrase(TextWriter output)
    {
        var file = new Argument<string>("file") { Description = "Key file" };
        var current = new Option<string>("--passphrase-env") { Description = "Environment variable holding the current passphrase", Required = true };
        var next = new Option<string>("--new-passphrase-env") { Description = "Environment variable holding the new passphrase", Required = true };
        var command = new Command("passwd", "Re-encrypt a key file under a new passphrase") { file, current, next };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            var info = EncryptedKeyFile.ReadInfo(path);
            EncryptedKeyFile.ChangePassphrase(path, info.Suite, ReadPassphrase(parse.GetValue(current)!), ReadPassphrase(parse.GetValue(next)!));
            output.WriteLine($"re-encrypted {path}");
            return 0;
        });
        return command;
    }

    private static string ReadPassphrase(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(value)
            ? throw new CustosException(ErrorCode.InvalidField, $"environment variable {variable} holds no passphrase")
            : value;
    }
}
