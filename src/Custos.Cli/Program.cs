using Custos.Cli;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

return await CustosCommand.RunAsync(args, Console.Out, Console.Error);
