using System.CommandLine;
using CdsRisk.Bench;
using CdsRisk.Bench.Http;

namespace CdsRisk.UnitTests.Bench;

/// <summary>The bench's command line (System.CommandLine): what bench/run.sh and bench/README.md pass parses; a bad option is an error.</summary>
public sealed class BenchCommandLineTests
{
    [Fact]
    public async Task Hooks_ParsesWhatRunShPasses()
    {
        BenchSettings? given = null;
        var bench = new BenchCommandLine(settings =>
        {
            given = settings;
            return Task.CompletedTask;
        });

        // bench/run.sh hooks --seconds 2 --warmup 1 --auth none  →  the bench gets the name, --env, --patient, then the rest.
        var exit = await Invoke(bench.Root, "hooks", "--env", "/tmp/x/env.json", "--patient", "p-1", "--seconds", "2", "--warmup", "1", "--auth", "none");

        Assert.Equal(0, exit.Code);
        Assert.Equal("hooks", given!.Benchmark);
        Assert.Equal(("/tmp/x/env.json", "p-1"), (given.EnvFile, given.PatientId));
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)), (given.Duration, given.Warmup));
        Assert.Equal([HookBench.AuthChoice.None], given.Auths);
        Assert.Equal((64, 60), (given.Connections, given.CacheSeconds)); // the README's defaults
        Assert.True(given.Runs("hooks"));
        Assert.False(given.Runs("dicom"));
    }

    [Fact]
    public void ReadmeCommandLines_Parse()
    {
        var bench = new BenchCommandLine(_ => Task.CompletedTask);

        var auth = bench.Read(bench.Root.Parse(["hooks", "--env", "e.json", "--patient", "p", "--auth", "es384,rs384,none", "--cache-seconds", "0", "--warmup", "20"]));
        Assert.Equal([HookBench.AuthChoice.Es384, HookBench.AuthChoice.Rs384, HookBench.AuthChoice.None], auth.Auths);
        Assert.Equal(0, auth.CacheSeconds);

        var connections = bench.Read(bench.Root.Parse(["hooks", "--connections", "8", "--seconds", "15"]));
        Assert.Equal((8, TimeSpan.FromSeconds(15)), (connections.Connections, connections.Duration));

        var everything = bench.Read(bench.Root.Parse(["--env", "e.json", "--patient", "p"]));
        Assert.Equal("all", everything.Benchmark);
        Assert.True(everything.Runs("eligibility") && everything.Runs("hooks"));

        foreach (var name in BenchCommandLine.Benchmarks)
        {
            Assert.Empty(bench.Root.Parse([name, "--env", "e.json", "--patient", "p"]).Errors);
        }
    }

    [Theory]
    [InlineData("hooks", "--duration", "5")] // unknown option
    [InlineData("hooks", "--auth", "hs256")] // not a signature the bench knows
    [InlineData("hooks", "--auth", "1")] // a number is no choice
    [InlineData("hooks", "--seconds", "two")]
    [InlineData("hooks", "--connections", "0")]
    [InlineData("hook")] // not a benchmark
    public async Task BadCommandLine_IsAnError_AndRunsNothing(params string[] args)
    {
        var ran = false;
        var bench = new BenchCommandLine(_ =>
        {
            ran = true;
            return Task.CompletedTask;
        });

        var exit = await Invoke(bench.Root, args);

        Assert.NotEqual(0, exit.Code);
        Assert.NotEmpty(bench.Root.Parse(args).Errors);
        Assert.False(ran);
        Assert.NotEmpty(exit.Error.Trim());
    }

    [Fact]
    public async Task Help_ListsEveryOption()
    {
        var exit = await Invoke(new BenchCommandLine(_ => Task.CompletedTask).Root, "--help");

        Assert.Equal(0, exit.Code);
        foreach (var option in new[] { "--env", "--patient", "--connections", "--seconds", "--warmup", "--auth", "--cache-seconds" })
        {
            Assert.Contains(option, exit.Output, StringComparison.Ordinal);
        }
    }

    private static async Task<(int Code, string Output, string Error)> Invoke(RootCommand root, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}
