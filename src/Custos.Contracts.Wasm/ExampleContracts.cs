
namespace Custos.Contracts.Wasm;

/// <summary>
/// The hand-written example contracts of contracts/examples (embedded), for tests, the devnet scenario and the bench:
/// token, faults (spin, trap, refuse, write), float (refused at deployment), counter, vault, keys.
/// </summary>
public static class ExampleContracts
{
    public static IReadOnlyList<string> Names { get; } = ["counter", "faults", "float", "keys", "token", "vault"];

    /// <summary>The example's WebAssembly text.</summary>
    public static string Text(string name)
    {
        using var stream = typeof(ExampleContracts).Assembly.GetManifestResourceStream($"Custos.Contracts.Wasm.Examples.{name}.wat")
            ?? throw new ArgumentException($"no example contract '{name}'", nameof(name));
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The example compiled to a binary module (what a deployment carries).</summary>
    public static byte[] Module(string name) => FromText(Text(name));

    /// <summary>Converts WebAssembly text to a binary module (Wasmtime's WAT parser).</summary>
    public static byte[] FromText(string wat) => Wasmtime.Module.ConvertText(wat);
}
