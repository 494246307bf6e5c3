using CdsRisk.Bench.Auth;
using CdsRisk.Bench.Dicom;
using CdsRisk.Bench.Eligibility;
using CdsRisk.Bench.Http;
using CdsRisk.Bench.Scoring;

// Benchmarks print numbers; nothing here asserts a time. bench/run.sh starts the test servers and seeds the patient the hook bench needs.
var what = args.Length > 0 ? args[0] : "all";
string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

Console.WriteLine($"CdsRisk benchmarks — {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, {DateTime.UtcNow:u}");
if (what is "all" or "eligibility")
{
    EligibilityBench.Run();
}

if (what is "all" or "scoring")
{
    PreScorerBench.Run();
}

if (what is "all" or "dicom")
{
    DicomParseBenchmark.Run();
}

if (what is "all" or "study")
{
    await DicomWebStudyBenchmark.RunAsync();
}

if (what is "all" or "auth")
{
    await TokenCheckBench.RunAsync(Option("--env"));
}

if (what is "all" or "hostile")
{
    await DicomWebHostileBenchmark.RunAsync();
}

if (what is "all" or "hooks")
{
    if (Option("--env") is { } env && Option("--patient") is { } patient)
    {
        await HookBench.RunAsync(env, patient, int.Parse(Option("--connections") ?? "64", System.Globalization.CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(int.Parse(Option("--seconds") ?? "15", System.Globalization.CultureInfo.InvariantCulture)),
            [.. (Option("--auth") ?? "es384,rs384,none").Split(',').Select(a => Enum.Parse<HookBench.AuthChoice>(a, ignoreCase: true))],
            int.Parse(Option("--cache-seconds") ?? "60", System.Globalization.CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(int.Parse(Option("--warmup") ?? "20", System.Globalization.CultureInfo.InvariantCulture)));
    }
    else
    {
        Console.WriteLine("hooks: skipped (needs --env ENV_JSON --patient ID; bench/run.sh passes them)");
    }
}
