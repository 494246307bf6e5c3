using System.Diagnostics;
using CdsRisk.Core.Imaging;
using CdsRisk.Dicom;
using CdsRisk.Dicom.Synthetic;

namespace CdsRisk.Bench.Dicom;

/// <summary>
/// Parsing explicit VR LE MR slices (512×512, 16-bit) on one thread: the reader alone (pixel data referenced, not copied),
/// the reader plus modality values of the frame, and the reader plus in-plane reduction to the model grid (what the pipeline does).
/// </summary>
public static class DicomParseBenchmark
{
    public static void Run()
    {
        var study = new SyntheticMrStudy { Rows = 512, Columns = 512, Slices = 40, PixelSpacingMm = 0.75 };
        var slices = Enumerable.Range(0, study.Slices).Select(z => study.Instance(2, z)).ToArray();
        var bytesPerPass = slices.Sum(s => (long)s.Length);
        Console.WriteLine($"dicom-parse: {slices.Length} slices of {slices[0].Length / 1024} KiB, {Environment.ProcessorCount} cores (one used)");

        Measure("reader only", slices, bytesPerPass, bytes => DicomReader.Read(bytes).Dataset.Elements.Count);
        var frame = new float[512 * 512];
        Measure("reader + modality values", slices, bytesPerPass, bytes =>
        {
            var pixels = DicomPixelData.From(DicomReader.Read(bytes).Dataset);
            pixels.ReadModalityValues(0, frame);
            return (int)frame[1000];
        });
        Measure("reader + slice reduced to 64x64", slices, bytesPerPass, bytes =>
            ImagingSlice.FromDataset(DicomReader.Read(bytes).Dataset, ImageInputSpec.Default).Plane!.Length);
    }

    private static void Measure(string name, byte[][] slices, long bytesPerPass, Func<byte[], int> work)
    {
        var sink = 0;
        foreach (var s in slices)
        {
            sink += work(s); // warm-up
        }

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        var passes = 0;
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(2))
        {
            foreach (var s in slices)
            {
                sink += work(s);
            }

            passes++;
        }

        stopwatch.Stop();
        var total = bytesPerPass * passes;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Console.WriteLine($"  {name,-34} {total / stopwatch.Elapsed.TotalSeconds / 1e9,7:F2} GB/s  {slices.Length * passes / stopwatch.Elapsed.TotalSeconds,9:F0} slices/s  " +
            $"{allocated / (double)(slices.Length * passes) / 1024,7:F1} KiB allocated/slice  (sink {sink % 10})");
    }
}
