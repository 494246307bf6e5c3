using CdsRisk.Bench;
using CdsRisk.Bench.Auth;
using CdsRisk.Bench.Dicom;
using CdsRisk.Bench.Eligibility;
using CdsRisk.Bench.Http;
using CdsRisk.Bench.Scoring;

// Benchmarks print numbers; nothing here asserts a time. bench/run.sh starts the test servers and seeds the patient the hook bench needs.
return await new BenchCommandLine(RunAsync).Root.Parse(args).InvokeAsync();

static async Task RunAsync(BenchSettings run)
{
    Console.WriteLine($"CdsRisk benchmarks — {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, {DateTime.UtcNow:u}");
    if (run.Runs("eligibility"))
    {
        EligibilityBench.Run();
    }

    if (run.Runs("scoring"))
    {
        PreScorerBench.Run();
    }

    if (run.Runs("dicom"))
    {
        DicomParseBenchmark.Run();
    }

    if (run.Runs("study"))
    {
        await DicomWebStudyBenchmark.RunAsync();
    }

    if (run.Runs("auth"))
    {
        await TokenCheckBench.RunAsync(run.EnvFile);
    }

    if (run.Runs("hostile"))
    {
        await DicomWebHostileBenchmark.RunAsync();
    }

    if (run.Runs("hooks"))
    {
        if (run is { EnvFile: { } env, PatientId: { } patient })
        {
            await HookBench.RunAsync(env, patient, run.Connections, run.Duration, run.Auths, run.CacheSeconds, run.Warmup);
        }
        else
        {
            Console.WriteLine("hooks: skipped (needs --env ENV_JSON --patient ID; bench/run.sh passes them)");
        }
    }
}
