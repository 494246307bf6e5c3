using CdsRisk.Cli;

// Unknown commands and options, missing or malformed values: an error naming them and exit code 1; --help lists everything.
return await CliCommandLine.Build().Parse(args).InvokeAsync();
