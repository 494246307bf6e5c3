using System.Diagnostics;
using System.Text.Json;
using CdsRisk.Core.Scoring;

namespace CdsRisk.Bench.Scoring;

/// <summary>One-patient PRE inference latency of the bundled model (ONNX Runtime, 2 intra-op threads), plus model size and training time.</summary>
public static class PreScorerBench
{
    public static void Run()
    {
        var sw = Stopwatch.StartNew();
        using var scorer = new PreScorer(new PreModelOptions { IntraOpThreads = 2 });
        var loadMs = sw.Elapsed.TotalMilliseconds;

        var rng = new Random(7);
        var image = new float[scorer.ImageLength];
        for (var i = 0; i < image.Length; i++)
        {
            image[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        var clinical = new ClinicalFeatureValues(new Dictionary<string, double?>
        {
            [ClinicalFeatureNames.AgeYears] = 62, [ClinicalFeatureNames.SexMale] = 1, [ClinicalFeatureNames.AfpNgPerMl] = 250,
            [ClinicalFeatureNames.AlbuminGPerL] = 40, [ClinicalFeatureNames.BilirubinUmolPerL] = 14, [ClinicalFeatureNames.PlateletsE9PerL] = 160,
            [ClinicalFeatureNames.Inr] = 1.05, [ClinicalFeatureNames.TumourSizeCm] = 4.2, [ClinicalFeatureNames.TumourCount] = 1,
        });
        for (var i = 0; i < 10; i++)
        {
            scorer.Score(image, clinical);
        }
        const int runs = 100;
        var times = new double[runs];
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < runs; i++)
        {
            var t = Stopwatch.GetTimestamp();
            scorer.Score(image, clinical);
            times[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }
        var allocated = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / runs;
        Array.Sort(times);

        using var card = JsonDocument.Parse(File.ReadAllText(Path.Combine(PreModelOptions.BundledDirectory, PreModelOptions.CardFileName)));
        var hasTraining = card.RootElement.TryGetProperty("training", out var tr);
        var trainSeconds = hasTraining && tr.TryGetProperty("trainSeconds", out var ts) ? ts.GetDouble() : double.NaN;
        var trainThreads = hasTraining && tr.TryGetProperty("threads", out var th) ? th.GetInt32() : 0;
        Console.WriteLine($"pre-model: {scorer.Card.Id} {scorer.Card.Version} sha256 {scorer.Card.Sha256[..12]}…");
        Console.WriteLine($"pre-model: onnx size {new FileInfo(scorer.ModelPath).Length / 1024.0:F1} KiB; session load + hash check {loadMs:F0} ms");
        Console.WriteLine($"pre-model: inference one patient, 2 threads, {runs} runs: median {times[runs / 2]:F2} ms, p95 {times[(int)(runs * 0.95)]:F2} ms, min {times[0]:F2} ms");
        Console.WriteLine($"pre-model: managed allocation per Score {allocated} B");
        Console.WriteLine($"pre-model: training time (models/train.py, CPU, {trainThreads} thread(s), from the card) {trainSeconds:F0} s");
    }
}
