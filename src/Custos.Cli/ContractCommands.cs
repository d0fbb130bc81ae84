using System.CommandLine;
using Custos.Contracts.Wasm;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Cli;

/// <summary>
/// `custos contract check FILE`: the pre-deployment checks (SC-7) a deployment will run, on a .wasm module (or a .wat
/// text, converted first). One line per finding; exit 1 if any is an error.
/// </summary>
internal static class ContractCommands
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("contract", "Application (WASM) contracts");
        var file = new Argument<FileInfo>("file") { Description = "The module (.wasm, or .wat text)" };
        var crypto = new Option<string>("--crypto") { Description = "The chain's suite, for the code hash a proposal names: gm (SM3, default) or intl (SHA-256)", DefaultValueFactory = _ => "gm" };
        crypto.AcceptOnlyFromAmong("gm", "intl");
        var check = new Command("check", "Run the pre-deployment checks on a module and print the report") { file, crypto };
        check.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists) throw new CustosException(ErrorCode.InvalidField, $"no file {path.FullName}");
            byte[] module;
            try
            {
                module = path.Extension == ".wat" ? ExampleContracts.FromText(File.ReadAllText(path.FullName)) : File.ReadAllBytes(path.FullName);
            }
            catch (Wasmtime.WasmtimeException e)
            {
                throw new CustosException(ErrorCode.Malformed, $"{path.Name} is not WebAssembly text: {e.Message.Split('\n')[0]}");
            }

            using var runtime = new WasmContractRuntime();
            var report = runtime.Check(module);
            var suite = Custos.Crypto.CryptoSuites.Parse(parse.GetValue(crypto)!);
            output.WriteLine($"{path.Name}: {module.Length} bytes, code hash ({suite.Name}) {suite.Hash(module)}, methods: {string.Join(", ", report.Methods)}; admitted callers: {(report.AdmittedCallers.Count == 0 ? "none" : string.Join(", ", report.AdmittedCallers))}");
            foreach (var finding in report.Findings) output.WriteLine(finding);
            var errors = report.Errors.Count();
            output.WriteLine(errors == 0 ? $"ok: {report.Findings.Count} warnings" : $"refused: {errors} errors, {report.Findings.Count - errors} warnings");
            return errors == 0 ? 0 : 1;
        });
        command.Subcommands.Add(check);
        return command;
    }
}
