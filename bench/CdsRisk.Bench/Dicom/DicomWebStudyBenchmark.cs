using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CdsRisk.Api.DicomWeb;
using CdsRisk.Core.Imaging;
using CdsRisk.Dicom.Synthetic;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.Bench.Dicom;

/// <summary>
/// A 4 × 80-slice 512×512 16-bit study from a private local Orthanc (started here): LoadStudyAsync (stream, parse, reduce, assemble,
/// resample) against curl downloading the same four series with the same Accept header; peak managed-heap and working-set growth.
/// </summary>
public static class DicomWebStudyBenchmark
{
    public static async Task RunAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cdsrisk-bench-orthanc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var configPath = Path.Combine(directory, "orthanc.json");
        await File.WriteAllTextAsync(configPath, JsonSerializer.Serialize(new
        {
            Name = "cdsrisk-bench", HttpPort = port, DicomServerEnabled = false, RemoteAccessAllowed = false, AuthenticationEnabled = false,
            StorageDirectory = directory, IndexDirectory = directory,
            Plugins = new[] { "/usr/share/orthanc/plugins/libOrthancDicomWeb.so" }, DicomWeb = new { Enable = true },
        }));
        using var orthanc = Process.Start(new ProcessStartInfo("Orthanc", configPath) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        orthanc.OutputDataReceived += (_, _) => { };
        orthanc.ErrorDataReceived += (_, _) => { };
        orthanc.BeginOutputReadLine();
        orthanc.BeginErrorReadLine();
        try
        {
            var rest = new Uri($"http://127.0.0.1:{port}/");
            var dicomWeb = new Uri($"http://127.0.0.1:{port}/dicom-web");
            using var http = new HttpClient();
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    using var ping = await http.GetAsync(new Uri(rest, "system"));
                    if (ping.IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(50);
            }

            var study = new SyntheticMrStudy { Rows = 512, Columns = 512, Slices = 80, SliceSpacingMm = 2.5, PixelSpacingMm = 0.75, StudyInstanceUid = "1.2.826.0.1.3680043.10.1437.900.1" };
            var upload = Stopwatch.StartNew();
            long studyBytes = 0;
            foreach (var instance in study.Instances())
            {
                studyBytes += instance.Length;
                using var content = new ByteArrayContent(instance);
                using var response = await http.PostAsync(new Uri(rest, "instances"), content);
                response.EnsureSuccessStatusCode();
            }

            Console.WriteLine($"dicomweb-study: uploaded 4 x 80 slices, {studyBytes / 1e6:F1} MB, in {upload.Elapsed.TotalSeconds:F1} s");

            var curlTimes = new List<double>();
            var loadTimes = new List<double>();
            long peakManaged = 0, peakWorkingSet = 0;
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["DicomWeb:AllowedServers:0"] = dicomWeb.AbsoluteUri,
            }).Build();
            await using var services = new ServiceCollection().AddLogging().AddDicomWeb(configuration).BuildServiceProvider();
            var client = services.GetRequiredService<DicomWebClient>();
            var reference = new ImagingStudyReference(dicomWeb, study.StudyInstanceUid, []);
            for (var round = 0; round < 7; round++)
            {
                var curl = Stopwatch.StartNew();
                for (var phase = 0; phase < 4; phase++)
                {
                    using var process = Process.Start(new ProcessStartInfo("curl",
                        ["-s", "-f", "-o", "/dev/null", "-H", "Accept: " + DicomWebClient.SeriesAccept,
                         $"{dicomWeb.AbsoluteUri}/studies/{study.StudyInstanceUid}/series/{study.SeriesUid(phase)}"]))!;
                    await process.WaitForExitAsync();
                }

                curlTimes.Add(curl.Elapsed.TotalSeconds);

                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                var baseManaged = GC.GetTotalMemory(true);
                using var self = Process.GetCurrentProcess();
                self.Refresh();
                var baseWorkingSet = self.WorkingSet64;
                using var sampling = new CancellationTokenSource();
                long roundPeakManaged = 0, roundPeakWs = 0;
                var sampler = Task.Run(async () =>
                {
                    using var me = Process.GetCurrentProcess();
                    while (!sampling.IsCancellationRequested)
                    {
                        roundPeakManaged = Math.Max(roundPeakManaged, GC.GetTotalMemory(false) - baseManaged);
                        me.Refresh();
                        roundPeakWs = Math.Max(roundPeakWs, me.WorkingSet64 - baseWorkingSet);
                        await Task.Delay(5);
                    }
                });
                var load = Stopwatch.StartNew();
                var result = await client.LoadStudyAsync(reference, PhaseRules.Default, ImageInputSpec.Default, null, CancellationToken.None);
                loadTimes.Add(load.Elapsed.TotalSeconds);
                await sampling.CancelAsync();
                await sampler;
                peakManaged = Math.Max(peakManaged, roundPeakManaged);
                peakWorkingSet = Math.Max(peakWorkingSet, roundPeakWs);
                if (!result.IsAccepted)
                {
                    Console.WriteLine("  study refused: " + string.Join("; ", result.Refusals.Select(r => r.Detail)));
                }
            }

            // Round 1 warms the JIT and Orthanc's cache and is left out; the machine may be shared, so both minimum and median are shown.
            static double Median(IEnumerable<double> v) { var o = v.Order().ToArray(); return o[o.Length / 2]; }
            var curlRest = curlTimes.Skip(1).ToArray();
            var loadRest = loadTimes.Skip(1).ToArray();
            Console.WriteLine($"  curl, 4 series            min {curlRest.Min(),5:F2} s  median {Median(curlRest),5:F2} s  ({studyBytes / Median(curlRest) / 1e6:F0} MB/s)   rounds: {string.Join(" ", curlTimes.Select(t => t.ToString("F2")))}");
            Console.WriteLine($"  LoadStudyAsync            min {loadRest.Min(),5:F2} s  median {Median(loadRest),5:F2} s  ({studyBytes / Median(loadRest) / 1e6:F0} MB/s)   rounds: {string.Join(" ", loadTimes.Select(t => t.ToString("F2")))}");
            Console.WriteLine($"  ratio load / curl         min {loadRest.Min() / curlRest.Min(),5:F2}    median {Median(loadRest) / Median(curlRest),5:F2}  (target <= 1.3)");
            Console.WriteLine($"  peak growth               managed heap {peakManaged / 1e6:F0} MB, working set {peakWorkingSet / 1e6:F0} MB  (target <= 400 MB)");
        }
        finally
        {
            orthanc.Kill(entireProcessTree: true);
            await orthanc.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }
}
