using Attach.Cli;

return await AttachCommandLine.RunAsync(args, CliContext.FromProcess());
