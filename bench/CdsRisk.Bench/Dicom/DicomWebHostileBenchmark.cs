using System.Diagnostics;
using System.Text;
using CdsRisk.Api.DicomWeb;
using CdsRisk.Core.Imaging;
using CdsRisk.Dicom.Synthetic;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CdsRisk.Bench.Dicom;

/// <summary>
/// Issue 13 item 8: what a hostile DICOMweb server costs the service, with the default DicomWeb limits. A loopback server in this
/// process answers QIDO with four MR series and then either 25,000 tiny valid instances per series, or one 600 MB part without
/// Content-Length per series (three studies in a row). Prints the peak growth of the working set and of the managed heap during
/// each study, and what stays after a full garbage collection.
/// </summary>
public static class DicomWebHostileBenchmark
{
    private const string StudyUid = "1.2.826.0.1.3680043.10.1437.901.1";
    private const string Boundary = "hostile";

    public static async Task RunAsync()
    {
        var tiny = new SyntheticMrStudy { StudyInstanceUid = StudyUid, Rows = 8, Columns = 8, Slices = 1 }.Instance(0, 0);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.Run(context => ServeAsync(context, tiny));
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DicomWeb:AllowedServers:0"] = address.AbsoluteUri,
            ["DicomWeb:MaxRetries"] = "0",
        }).Build();
        await using var services = new ServiceCollection().AddLogging().AddDicomWeb(configuration).BuildServiceProvider();
        var client = services.GetRequiredService<DicomWebClient>();
        var defaults = new DicomWebOptions();
        Console.WriteLine($"dicomweb-hostile: default limits MaxInstanceBytes {defaults.MaxInstanceBytes / 1048576} MiB, MaxInstancesPerSeries {defaults.MaxInstancesPerSeries}, " +
            $"MaxInstancesPerStudy {defaults.MaxInstancesPerStudy}, ParallelSeries {defaults.ParallelSeries}; tiny instance {tiny.Length} B");

        var (baseline, managedBaseline) = Settle();
        foreach (var (label, mode, rounds) in new[] { ("4 x 25,000 tiny instances", "tiny", 1), ("4 x one 600 MB part, no Content-Length", "huge", 3) })
        {
            for (var round = 1; round <= rounds; round++)
            {
                var (before, managedBefore) = Settle();
                long peakWs = 0, peakManaged = 0;
                using var sampling = new CancellationTokenSource();
                var sampler = Task.Run(async () =>
                {
                    using var me = Process.GetCurrentProcess();
                    while (!sampling.IsCancellationRequested)
                    {
                        me.Refresh();
                        peakWs = Math.Max(peakWs, me.WorkingSet64 - before);
                        peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false) - managedBefore);
                        await Task.Delay(5);
                    }
                });
                var watch = Stopwatch.StartNew();
                var result = await client.LoadStudyAsync(new ImagingStudyReference(new Uri(address, $"{mode}/dicom-web"), StudyUid, []),
                    PhaseRules.Default, ImageInputSpec.Default, null, CancellationToken.None);
                watch.Stop();
                await sampling.CancelAsync();
                await sampler;
                var (after, managedAfter) = Settle();
                var why = result.Refusals.Concat(result.SkippedVolumes).Select(r => r.Detail).FirstOrDefault() ?? "accepted";
                Console.WriteLine($"  {label}, study {round}: {watch.Elapsed.TotalSeconds:F1} s; peak growth working set {peakWs / 1e6:F0} MB, managed heap {peakManaged / 1e6:F0} MB; " +
                    $"after a full GC: working set {(after - baseline) / 1e6:+0;-0} MB, live managed objects {(managedAfter - managedBaseline) / 1e6:+0;-0} MB (against the start)");
                Console.WriteLine($"    refused: {why}");
            }
        }

        await app.StopAsync();
    }

    private static (long WorkingSet, long Managed) Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var me = Process.GetCurrentProcess();
        me.Refresh();
        return (me.WorkingSet64, GC.GetTotalMemory(true));
    }

    private static async Task ServeAsync(HttpContext context, byte[] tiny)
    {
        var path = context.Request.Path.Value!;
        var huge = path.StartsWith("/huge/", StringComparison.Ordinal);
        if (path.EndsWith("/studies", StringComparison.Ordinal))
        {
            context.Response.ContentType = "application/dicom+json";
            await context.Response.WriteAsync($$$"""[{"0020000D":{"vr":"UI","Value":["{{{StudyUid}}}"]},"00080020":{"vr":"DA","Value":["20261120"]}}]""");
            return;
        }

        if (path.EndsWith("/series", StringComparison.Ordinal))
        {
            context.Response.ContentType = "application/dicom+json";
            await context.Response.WriteAsync("[" + string.Join(",", Enumerable.Range(1, 4).Select(i => $$$"""{"0020000E":{"vr":"UI","Value":["{{{StudyUid}}}.{{{i}}}"]}}""")) + "]");
            return;
        }

        context.Response.ContentType = $"multipart/related; type=\"application/dicom\"; boundary={Boundary}";
        var abort = context.RequestAborted;
        try
        {
            if (huge)
            {
                await context.Response.Body.WriteAsync(Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Type: application/dicom\r\n\r\n"), abort);
                var chunk = new byte[64 * 1024];
                Array.Fill(chunk, (byte)0x44);
                for (long sent = 0; sent < 600_000_000; sent += chunk.Length)
                {
                    await context.Response.Body.WriteAsync(chunk, abort);
                }
            }
            else
            {
                var head = Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Type: application/dicom\r\nContent-Length: {tiny.Length}\r\n\r\n");
                for (var i = 0; i < 25_000; i++)
                {
                    await context.Response.Body.WriteAsync(head, abort);
                    await context.Response.Body.WriteAsync(tiny, abort);
                    await context.Response.Body.WriteAsync("\r\n"u8.ToArray(), abort);
                }
            }

            await context.Response.Body.WriteAsync(Encoding.ASCII.GetBytes($"--{Boundary}--\r\n"), abort);
        }
        catch (OperationCanceledException)
        {
            // The client gave up at its limit.
        }
    }
}
