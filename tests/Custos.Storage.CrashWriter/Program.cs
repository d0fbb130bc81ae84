using Custos.Core;
using Custos.Storage;
using Custos.Storage.CrashWriter;

// Usage: Custos.Storage.CrashWriter <data directory>
// Opens (or creates) the store and persists workload blocks as fast as it can, printing each persisted height,
// until it is killed. The crash test kills it with SIGKILL at random moments and checks what survives.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Custos.Storage.CrashWriter <data directory>");
    return 64;
}

try
{
    var directory = args[0];
    using var store = Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any()
        ? LedgerStore.Open(directory, CrashWorkload.Identity)
        : LedgerStore.Create(directory, CrashWorkload.Identity);
    Console.Out.WriteLine($"ready {store.Head?.Height.ToString() ?? "empty"}");
    Console.Out.Flush();
    while (true)
    {
        var result = CrashWorkload.PersistNext(store);
        Console.Out.WriteLine($"persisted {result.Height}");
        Console.Out.Flush();
    }
}
catch (CustosException e)
{
    Console.Error.WriteLine($"error: {e.Error}");
    return 2;
}
