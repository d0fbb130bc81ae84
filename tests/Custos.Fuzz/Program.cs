using SharpFuzz;

namespace Custos.Fuzz;

/// <summary>
/// Entry point for libFuzzer (through libfuzzer-dotnet), afl-fuzz, and replaying inputs by hand. See README.md.
/// </summary>
public static class Program
{
    // Set by libfuzzer-dotnet when it starts this process; SharpFuzz reads the shared memory segment it names.
    private const string LibFuzzerSharedMemoryVariable = "__LIBFUZZER_SHM_ID";

    private const string Usage = """
        usage: Custos.Fuzz <target>                 run under libFuzzer (started by libfuzzer-dotnet --target_arg=<target>)
               Custos.Fuzz <target> --afl           run under afl-fuzz (one input per run on standard input)
               Custos.Fuzz <target> <path>...       run the target once over each file (or each file in each folder)
               Custos.Fuzz --list                   list the targets
               Custos.Fuzz --write-seeds <folder>   write the seed corpus to <folder>/<target>/seed-<n>.bin
        """;

    public static int Main(string[] args)
    {
        if (args is ["--list"])
        {
            foreach (var name in FuzzTargets.All.Keys.Order(StringComparer.Ordinal)) Console.WriteLine(name);
            return 0;
        }

        if (args is ["--write-seeds", var folder])
        {
            SeedCorpus.Write(folder);
            return 0;
        }

        if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
        {
            Console.Error.WriteLine(args.Length == 0 ? Usage : $"unknown target '{args[0]}'; targets: {string.Join(", ", FuzzTargets.All.Keys)}\n{Usage}");
            return 2;
        }

        if (args is [_, "--afl"])
        {
            Fuzzer.OutOfProcess.Run(stream =>
            {
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                target(buffer.ToArray());
            });
            return 0;
        }

        if (args.Length > 1)
        {
            return Replay(target, args[1..]);
        }

        if (Environment.GetEnvironmentVariable(LibFuzzerSharedMemoryVariable) is null)
        {
            Console.Error.WriteLine($"not started by libfuzzer-dotnet ({LibFuzzerSharedMemoryVariable} is not set); pass input files to replay them\n{Usage}");
            return 2;
        }

        Fuzzer.LibFuzzer.Run(target);
        return 0;
    }

    /// <summary>Runs the target over files without any fuzzer: reproduces a crash, or checks a corpus.</summary>
    private static int Replay(ReadOnlySpanAction target, string[] paths)
    {
        var files = paths.SelectMany(path => Directory.Exists(path) ? Directory.EnumerateFiles(path).Order(StringComparer.Ordinal) : (IEnumerable<string>)[path]).ToList();
        foreach (var file in files)
        {
            // Deliberately uncaught: a crash shows its stack trace and fails the run.
            target(File.ReadAllBytes(file));
        }

        Console.WriteLine($"{files.Count} inputs ran without a crash");
        return 0;
    }
}
