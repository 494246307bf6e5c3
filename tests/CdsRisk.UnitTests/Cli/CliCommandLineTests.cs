using System.CommandLine;
using CdsRisk.Cli;
using CdsRisk.Cli.Demo;

namespace CdsRisk.UnitTests.Cli;

/// <summary><c>cdsrisk-cli</c>'s command line (System.CommandLine): the command lines demo.sh and the README use parse; bad ones are errors.</summary>
public sealed class CliCommandLineTests
{
    [Fact]
    public async Task Demo_ParsesTheCommandLineDemoShPasses()
    {
        DemoOptions? given = null;
        var root = CliCommandLine.Build(options =>
        {
            given = options;
            return Task.FromResult(0);
        });

        // demo.sh: demo --env "$state/env.json" --manifest "$manifest" --work "$work" --api-project src/CdsRisk.Api [--no-wait] [--only "$DEMO_ONLY"]
        var exit = await Invoke(root, "demo", "--env", "/tmp/s/env.json", "--manifest", "/tmp/w/manifest.json", "--work", "/tmp/w", "--api-project", "src/CdsRisk.Api",
            "--no-wait", "--only", "eligible-high-risk, low-risk");

        Assert.Equal(0, exit.Code);
        Assert.Equal(new DemoOptions("/tmp/s/env.json", "/tmp/w/manifest.json", "/tmp/w", "src/CdsRisk.Api", given!.Only, NoWait: true), given);
        Assert.Equal(["eligible-high-risk", "low-risk"], given.Only!.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Demo_Defaults_WorkFolderAndServiceProject()
    {
        DemoOptions? given = null;
        var root = CliCommandLine.Build(options =>
        {
            given = options;
            return Task.FromResult(0);
        });

        Assert.Equal(0, (await Invoke(root, "demo", "--env", "e.json", "--manifest", "m.json")).Code);
        Assert.Equal((Path.Combine(".cdsrisk", "demo"), Path.Combine("src", "CdsRisk.Api"), false), (given!.WorkDir, given.ApiProject, given.NoWait));
        Assert.Null(given.Only);
    }

    [Theory]
    [InlineData("demo", "--env", "e.json", "--manifest", "m.json", "--colour")] // unknown option
    [InlineData("demo", "--env", "e.json")] // --manifest missing
    [InlineData("demo", "--env")] // no value
    [InlineData("study", "inspect", "--dicomweb", "not a url", "--study", "1.2.3")]
    [InlineData("study", "inspect", "--dicomweb", "http://localhost:8042/dicom-web", "--study", "1.2.3", "--date", "27/11/2026")]
    [InlineData("dicom", "dump")] // FILE missing
    [InlineData("dicom", "view", "x.dcm")] // unknown command
    public async Task BadCommandLine_IsAnError_AndRunsNothing(params string[] args)
    {
        var ran = false;
        var root = CliCommandLine.Build(_ =>
        {
            ran = true;
            return Task.FromResult(0);
        });

        var exit = await Invoke(root, args);

        Assert.NotEqual(0, exit.Code);
        Assert.NotEmpty(root.Parse(args).Errors);
        Assert.False(ran);
        Assert.NotEmpty(exit.Error.Trim());
    }

    [Fact]
    public void StudyInspect_ParsesTheReadmeCommandLine()
    {
        var parsed = CliCommandLine.Build().Parse(["study", "inspect", "--dicomweb", "http://localhost:8042/dicom-web", "--study", "1.2.840.1", "--date", "2026-11-27",
            "--auth", "Basic b3J0aGFuYzpvcnRoYW5j"]);

        Assert.Empty(parsed.Errors);
        Assert.Equal("inspect", parsed.CommandResult.Command.Name);
        Assert.Equal(new DateOnly(2026, 11, 27), parsed.GetValue<DateOnly?>("--date"));
        Assert.Equal(new Uri("http://localhost:8042/dicom-web"), parsed.GetValue<Uri>("--dicomweb"));
    }

    [Fact]
    public async Task Help_ListsTheCommands_AndSucceeds()
    {
        var exit = await Invoke(CliCommandLine.Build(), "--help");

        Assert.Equal(0, exit.Code);
        Assert.Contains("dicom", exit.Output, StringComparison.Ordinal);
        Assert.Contains("study", exit.Output, StringComparison.Ordinal);
        Assert.Contains("demo", exit.Output, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> Invoke(RootCommand root, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}
