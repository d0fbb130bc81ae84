using Custos.Cli;

return await CustosCommand.RunAsync(args, Console.Out, Console.Error);
