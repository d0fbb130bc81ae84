using System.CommandLine;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Cli;

/// <summary>
/// The `custos` command line. Each subcommand lives in its own class; this one assembles them and turns typed
/// errors into an exit code (2 for a refused request, 70 for an internal failure) and one line on stderr.
/// </summary>
public static class CustosCommand
{
    public const int ExitRefused = 2;
    public const int ExitInternal = 70;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Custos: a supervisable financial distributed ledger (JR/T 0184-2020).")
        {
            InitCommand.Create(output),
            CertificateCommands.Create(output),
            KeyCommands.Create(output),
            SimulationCommands.Create(output),
            StorageCommands.Backup(output), StorageCommands.Restore(output), StorageCommands.Storage(output),
            BenchCommands.Create(output),
            AuditCommands.Create(output),
            ContractCommands.Create(output),
            GovernanceCommands.Create(output),
            DevnetCommand.Create(output),
            NodeCommands.Node(output), NodeCommands.Status(output), NodeCommands.Transaction(output), NodeCommands.Query(output),
        };
        try
        {
            var parse = root.Parse(args);
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (CustosException e)
        {
            await error.WriteLineAsync($"error: {e.Error}");
            return ExitRefused;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"error: {ErrorCodes.Name(ErrorCode.StorageIo)}: {e.Message}");
            return ExitRefused;
        }
        catch (Exception e)
        {
            await error.WriteLineAsync($"internal error: {e}");
            return ExitInternal;
        }
    }
}
