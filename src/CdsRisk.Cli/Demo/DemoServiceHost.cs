using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CdsRisk.Cli.Demo;

/// <summary>Runs the CdsRisk service (<c>dotnet run -c Release</c>) on a free loopback port for the demo.</summary>
public sealed class DemoServiceHost : IAsyncDisposable
{
    private readonly Process process;
    private readonly StreamWriter log;

    private DemoServiceHost(Process process, StreamWriter log, Uri baseUrl, string logPath)
    {
        this.process = process;
        this.log = log;
        BaseUrl = baseUrl;
        LogPath = logPath;
    }

    public Uri BaseUrl { get; }

    public string LogPath { get; }

    public bool HasExited => process.HasExited;

    /// <summary>Starts the service with <paramref name="environment"/> and waits until <c>/readyz</c> says ready (warmed up, storage and model usable).</summary>
    public static async Task<DemoServiceHost> StartAsync(string apiProject, IReadOnlyDictionary<string, string> environment, string logPath, Action<string> progress, CancellationToken cancellationToken, int? port = null)
    {
        port ??= FreePort();
        var baseUrl = new Uri($"http://127.0.0.1:{port}");
        // setpriv --pdeathsig: if the demo dies without cleaning up, `dotnet run` gets SIGTERM and stops the service.
        var setpriv = File.Exists("/usr/bin/setpriv");
        var start = new ProcessStartInfo(setpriv ? "/usr/bin/setpriv" : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (setpriv)
        {
            foreach (var a in new[] { "--pdeathsig", "TERM", "dotnet" }) start.ArgumentList.Add(a);
        }

        foreach (var a in new[] { "run", "--project", apiProject, "-c", "Release", "--urls", baseUrl.ToString().TrimEnd('/') })
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment) start.Environment[k] = v;
        // The tokens' aud is built from this URL only (never from the Host header): the address the demo EHR calls.
        start.Environment["Auth__PublicBaseUrl"] = baseUrl.ToString().TrimEnd('/');
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new DemoException("could not start `dotnet run`");
        void Write(string? line)
        {
            if (line is null) return;
            lock (log)
            {
                try
                {
                    log.WriteLine(line);
                }
                catch (ObjectDisposedException)
                {
                    // output that arrives after the demo closed its log
                }
            }
        }

        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
#pragma warning disable CA2000 // returned to the caller, or disposed (the child process stopped) on every other way out
        var host = new DemoServiceHost(process, log, baseUrl, logPath);
#pragma warning restore CA2000
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var started = Stopwatch.StartNew();
            var deadline = TimeSpan.FromMinutes(5); // the first run builds the service in Release
            while (started.Elapsed < deadline)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (process.HasExited)
                {
                    throw new DemoException($"the service exited with code {process.ExitCode} while starting; see {logPath}:\n{Tail(logPath)}");
                }

                try
                {
                    using var response = await http.GetAsync(new Uri(baseUrl, "/readyz"), cancellationToken);
                    if (response.StatusCode == HttpStatusCode.OK) return host;
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }

                progress($"starting the service (building Release on first run) … {started.Elapsed.TotalSeconds:0}s");
                await Task.Delay(500, cancellationToken);
            }

            throw new DemoException($"the service did not say ready on /readyz within {deadline.TotalMinutes} minutes; see {logPath}");
        }
        catch
        {
            // Exited, too slow, or cancelled (Ctrl+C) while waiting: the child process is stopped, not left running.
            await host.DisposeAsync();
            throw;
        }
    }

    public static string Tail(string path, int lines = 25)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        process.Dispose();
        lock (log) log.Dispose();
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A demo step failed in a way the user can act on; the message says what and where to look.</summary>
public sealed class DemoException(string message) : Exception(message);
