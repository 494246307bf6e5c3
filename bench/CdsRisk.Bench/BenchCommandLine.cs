using System.CommandLine;
using System.CommandLine.Parsing;
using CdsRisk.Bench.Http;

namespace CdsRisk.Bench;

/// <summary>What one run of the benchmarks was asked to do.</summary>
public sealed record BenchSettings(
    string Benchmark, string? EnvFile, string? PatientId, int Connections, TimeSpan Duration, IReadOnlyList<HookBench.AuthChoice> Auths,
    int CacheSeconds, TimeSpan Warmup)
{
    public bool Runs(string name) => Benchmark == "all" || Benchmark == name;
}

/// <summary>The bench's command line (<c>bench/run.sh NAME [options]</c> passes its arguments through, with --env and --patient).</summary>
public sealed class BenchCommandLine
{
    public static readonly string[] Benchmarks = ["all", "eligibility", "scoring", "dicom", "study", "auth", "hostile", "hooks"];

    private readonly Argument<string> _benchmark = new("benchmark")
    {
        Description = "Which benchmark to run: " + string.Join(", ", Benchmarks),
        DefaultValueFactory = _ => "all",
    };

    private readonly Option<string?> _env = new("--env") { Description = "env.json of the running test servers (hooks, auth)", HelpName = "ENV_JSON" };
    private readonly Option<string?> _patient = new("--patient") { Description = "the seeded patient's id (hooks)", HelpName = "ID" };
    private readonly Option<int> _connections = new("--connections") { Description = "concurrent connections (hooks)", DefaultValueFactory = _ => 64 };
    private readonly Option<int> _seconds = new("--seconds") { Description = "measured seconds per window (hooks)", DefaultValueFactory = _ => 15 };
    private readonly Option<int> _warmup = new("--warmup") { Description = "seconds of load before measuring (hooks)", DefaultValueFactory = _ => 20 };
    private readonly Option<int> _cacheSeconds = new("--cache-seconds")
    {
        Description = "Pipeline:EvaluationCacheSeconds of the measured service; 0 evaluates every call (hooks)",
        DefaultValueFactory = _ => 60,
    };

    private readonly Option<IReadOnlyList<HookBench.AuthChoice>> _auth = new("--auth")
    {
        Description = "how the load generator signs its calls, comma-separated: es384, rs384, none (hooks)",
        HelpName = "es384,rs384,none",
        DefaultValueFactory = _ => [HookBench.AuthChoice.Es384, HookBench.AuthChoice.Rs384, HookBench.AuthChoice.None],
        CustomParser = ParseAuth,
    };

    public BenchCommandLine(Func<BenchSettings, Task> run)
    {
        _benchmark.AcceptOnlyFromAmong(Benchmarks);
        foreach (var option in new[] { _connections, _seconds, _cacheSeconds, _warmup })
        {
            var least = option == _connections || option == _seconds ? 1 : 0;
            option.Validators.Add(result =>
            {
                // A value that is no number is already an error of its own; a default is in range.
                if (result.Tokens is [var token] && int.TryParse(token.Value, System.Globalization.CultureInfo.InvariantCulture, out var value) && value < least)
                {
                    result.AddError($"{option.Name} must be at least {least}.");
                }
            });
        }

        Root = new RootCommand("CdsRisk benchmarks: each prints numbers, none asserts a time")
        {
            _benchmark, _env, _patient, _connections, _seconds, _warmup, _auth, _cacheSeconds,
        };
        Root.SetAction(parsed => run(Read(parsed)));
    }

    public RootCommand Root { get; }

    public BenchSettings Read(ParseResult parsed) => new(
        parsed.GetRequiredValue(_benchmark),
        parsed.GetValue(_env),
        parsed.GetValue(_patient),
        parsed.GetValue(_connections),
        TimeSpan.FromSeconds(parsed.GetValue(_seconds)),
        parsed.GetRequiredValue(_auth),
        parsed.GetValue(_cacheSeconds),
        TimeSpan.FromSeconds(parsed.GetValue(_warmup)));

    private static IReadOnlyList<HookBench.AuthChoice> ParseAuth(ArgumentResult result)
    {
        var choices = new List<HookBench.AuthChoice>();
        foreach (var part in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            // By name only: Enum.TryParse would take "1" as a choice.
            var named = Enum.GetValues<HookBench.AuthChoice>().Where(c => string.Equals(c.ToString(), part, StringComparison.OrdinalIgnoreCase)).ToList();
            if (named.Count == 1)
            {
                choices.Add(named[0]);
            }
            else
            {
                result.AddError($"--auth: '{part}' is not one of es384, rs384, none.");
                return [];
            }
        }

        if (choices.Count == 0)
        {
            result.AddError("--auth needs at least one of es384, rs384, none.");
        }

        return choices;
    }
}
