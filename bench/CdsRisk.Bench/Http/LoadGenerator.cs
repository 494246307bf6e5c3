using System.Diagnostics;

namespace CdsRisk.Bench.Http;

/// <summary>Closed-loop HTTP load: N workers, each sending the next request as soon as the last one answered.</summary>
internal static class LoadGenerator
{
    public sealed record Result(string Name, int Connections, long Requests, long Errors, double Seconds, double[] LatenciesMs, double? ServerCpuSeconds = null)
    {
        /// <summary>CPU time the server process used per answered request during the measured phase (user + system), when known.</summary>
        public double? ServerCpuMicrosecondsPerRequest => ServerCpuSeconds is { } cpu && Requests > 0 ? cpu * 1e6 / Requests : null;

        public double RequestsPerSecond => Requests / Seconds;
        public double Percentile(double p)
        {
            if (LatenciesMs.Length == 0) return double.NaN;
            var index = (int)Math.Ceiling(p / 100.0 * LatenciesMs.Length) - 1;
            return LatenciesMs[Math.Clamp(index, 0, LatenciesMs.Length - 1)];
        }

        public override string ToString() =>
            $"{Name,-40} conns={Connections,3}  req={Requests,7}  err={Errors,4}  {RequestsPerSecond,9:F0} req/s  p50={Percentile(50),7:F2} ms  p99={Percentile(99),7:F2} ms  max={LatenciesMs.DefaultIfEmpty(double.NaN).Max(),7:F2} ms"
            + (ServerCpuMicrosecondsPerRequest is { } us ? $"  server CPU {us,6:F0} µs/req" : "");
    }

    public static async Task<Result> RunAsync(
        string name, Uri baseAddress, Func<HttpRequestMessage?> createRequest, int connections, TimeSpan warmup, TimeSpan duration,
        System.Diagnostics.Process? server = null)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
        };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };

        await RunPhaseAsync(client, createRequest, connections, warmup, record: false);
        var cpuBefore = CpuSeconds(server);
        var (latencies, errors, seconds) = await RunPhaseAsync(client, createRequest, connections, duration, record: true);
        var cpu = CpuSeconds(server) - cpuBefore;
        latencies.Sort();
        return new Result(name, connections, latencies.Count, errors, seconds, [.. latencies], cpu);
    }

    private static double? CpuSeconds(System.Diagnostics.Process? process)
    {
        if (process is null)
        {
            return null;
        }

        process.Refresh();
        return process.TotalProcessorTime.TotalSeconds;
    }

    private static async Task<(List<double> Latencies, long Errors, double Seconds)> RunPhaseAsync(
        HttpClient client, Func<HttpRequestMessage?> createRequest, int connections, TimeSpan length, bool record)
    {
        var perWorker = new List<double>[connections];
        long errors = 0;
        var stopwatch = Stopwatch.StartNew();
        var deadline = stopwatch.Elapsed + length;
        var workers = Enumerable.Range(0, connections).Select(async i =>
        {
            var mine = perWorker[i] = new List<double>(4096);
            while (stopwatch.Elapsed < deadline)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    using var request = createRequest();
                    if (request is null)
                    {
                        break;
                    }

                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
                    _ = await response.Content.ReadAsByteArrayAsync();
                    if (!response.IsSuccessStatusCode) Interlocked.Increment(ref errors);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
                catch (TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }

                if (record) mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }).ToArray();
        await Task.WhenAll(workers);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        return ([.. perWorker.SelectMany(l => l)], errors, seconds);
    }
}
