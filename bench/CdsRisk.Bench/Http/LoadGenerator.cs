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

    /// <summary>One thing under load: its own client (connections kept warm between windows) and the figures of its measured windows.</summary>
    public sealed class Target : IDisposable
    {
        private readonly SocketsHttpHandler _handler;
        private readonly HttpClient _client;
        private readonly Func<HttpRequestMessage?> _createRequest;
        private readonly Process? _server;
        private readonly List<double> _latencies = [];
        private readonly List<double> _windowRates = [];
        private long _errors;
        private double _seconds;
        private double? _cpu;

        public Target(string name, Uri baseAddress, Func<HttpRequestMessage?> createRequest, int connections, Process? server = null)
        {
            (Name, Connections, _createRequest, _server) = (name, connections, createRequest, server);
            _handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseProxy = false };
            _client = new HttpClient(_handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        }

        public string Name { get; }
        public int Connections { get; }

        /// <summary>Requests per second in each measured window, in order.</summary>
        public IReadOnlyList<double> WindowRates => _windowRates;

        public Task WarmAsync(TimeSpan length) => RunPhaseAsync(_client, _createRequest, Connections, length, record: false);

        /// <summary>One measured window; returns false when the requests ran out before its end.</summary>
        public async Task<bool> MeasureAsync(TimeSpan length)
        {
            var cpuBefore = CpuSeconds(_server);
            var (latencies, errors, seconds) = await RunPhaseAsync(_client, _createRequest, Connections, length, record: true);
            if (CpuSeconds(_server) - cpuBefore is { } cpu)
            {
                _cpu = (_cpu ?? 0) + cpu;
            }

            _latencies.AddRange(latencies);
            _errors += errors;
            _seconds += seconds;
            _windowRates.Add(latencies.Count / seconds);
            return seconds >= length.TotalSeconds * 0.95;
        }

        public Result Result()
        {
            var sorted = _latencies.ToArray();
            Array.Sort(sorted);
            return new Result(Name, Connections, sorted.Length, _errors, _seconds, sorted, _cpu);
        }

        public void Dispose()
        {
            _client.Dispose();
            _handler.Dispose();
        }
    }

    /// <summary>
    /// Measures several targets on the same machine in alternating windows (A B C A B C …), each after a short re-warm, so that the
    /// machine's drift over the run (other tenants, frequency, background work) falls on all of them alike instead of on whichever
    /// ran at a bad moment. Each target is first warmed for <paramref name="warmup"/>; <paramref name="duration"/> is split into
    /// <paramref name="windows"/> measured windows per target. Returns false when a target's requests ran out early.
    /// </summary>
    public static async Task<bool> CompareAsync(IReadOnlyList<Target> targets, TimeSpan warmup, TimeSpan duration, int windows)
    {
        foreach (var target in targets)
        {
            await target.WarmAsync(warmup);
        }

        var complete = true;
        var window = duration / windows;
        var rewarm = TimeSpan.FromSeconds(Math.Min(1, window.TotalSeconds / 2));
        for (var w = 0; w < windows; w++)
        {
            foreach (var target in targets)
            {
                await target.WarmAsync(rewarm);
                complete &= await target.MeasureAsync(window);
            }
        }

        return complete;
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
