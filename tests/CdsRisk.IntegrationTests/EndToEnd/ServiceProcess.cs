using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>The built service (CdsRisk.Api.dll) as a process of its own on a loopback port, with client authentication.</summary>
internal sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, Uri baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
        Http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseUrl { get; }

    public HttpClient Http { get; }

    /// <summary>What the service wrote to its console so far.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static Task<ServiceProcess> StartAsync(TestEnvironment env, TestCdsClient client, string database, int? port = null,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        var configuration = Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)))!;
        var dll = Path.Combine(TestEnvironment.RepositoryRoot, "src", "CdsRisk.Api", "bin", configuration, "net10.0", "CdsRisk.Api.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var baseUrl = new Uri($"http://127.0.0.1:{port ?? FreePort()}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TestEnvironment.RepositoryRoot,
        };
        foreach (var arg in new[] { dll, "--urls", baseUrl.AbsoluteUri.TrimEnd('/') })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in client.ServiceSettings(env))
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["Auth__Mode"] = "Required";
        start.Environment["Auth__PublicBaseUrl"] = baseUrl.AbsoluteUri.TrimEnd('/');
        start.Environment["Storage__Provider"] = "Sqlite";
        start.Environment["Storage__Sqlite__Path"] = database;
        start.Environment["Logging__LogLevel__Default"] = "Information";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return Task.FromResult(new ServiceProcess(Process.Start(start)!, baseUrl));
    }

    /// <summary>Polls <c>/readyz</c> (503 while warming up) until it answers 200; its body.</summary>
    public async Task<JsonObject> WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            Assert.False(_process.HasExited, "the service stopped: " + Output);
            try
            {
                using var response = await Http.GetAsync(new Uri("/readyz", UriKind.Relative));
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return (JsonNode.Parse(body) as JsonObject)!;
                }

                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            }
            catch (HttpRequestException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, "the service did not become ready: " + Output);
            await Task.Delay(100);
        }
    }

    /// <summary>The duration the service logged for its <paramref name="nth"/> hook (log event 2002), as text ("?" when not logged).</summary>
    public async Task<string> HookMillisecondsAsync(int nth)
    {
        for (var i = 0; i < 20; i++)
        {
            var matches = AnsweredPattern().Matches(Output);
            if (matches.Count >= nth)
            {
                return matches[nth - 1].Groups[1].Value;
            }

            await Task.Delay(100);
        }

        return "?";
    }

    [GeneratedRegex(@"outcome [a-z-]+, (\d+) ms")]
    private static partial Regex AnsweredPattern();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(stop.Token);
        }

        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

