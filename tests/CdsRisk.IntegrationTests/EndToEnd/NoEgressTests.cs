using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Issue 13 item 21: the service makes no connection it was not configured to make (ONNX Runtime telemetry included). The
/// service runs as its own process under the demo's configuration (Development, client authentication with an inline JWKS,
/// the test FHIR server and Orthanc on loopback) inside <c>scripts/check-no-egress.sh</c>, which traces every socket call of
/// the process with strace; every seeded demo patient is assessed through it (patient-view until the score is there, so the
/// images are retrieved, the model runs and the RiskAssessments are written back).
/// </summary>
[Collection("servers")]
public sealed class NoEgressTests(TestEnvironment env)
{
    [Fact]
    public async Task ServiceUnderTheDemoConfiguration_OpensNoSocketOutsideLoopback_AndMakesNoDnsQuery()
    {
        Assert.True(File.Exists("/usr/bin/strace"), "strace is not installed: run scripts/setup.sh (Debian package strace)");
        var patients = await SeededDemo.GetAsync(env);
        var configuration = Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)))!;
        var dll = Path.Combine(TestEnvironment.RepositoryRoot, "src", "CdsRisk.Api", "bin", configuration, "net10.0", "CdsRisk.Api.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");

        var work = Directory.CreateTempSubdirectory("cdsrisk-egress-").FullName;
        using var client = new TestCdsClient();
        var baseUrl = new Uri($"http://127.0.0.1:{FreePort()}");
        var start = new ProcessStartInfo("/bin/bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TestEnvironment.RepositoryRoot,
        };
        // The service stops (SIGTERM, graceful) when a line arrives on its wrapper's stdin.
        foreach (var arg in new[]
        {
            Path.Combine(TestEnvironment.RepositoryRoot, "scripts", "check-no-egress.sh"), "--log", Path.Combine(work, "strace.log"), "--",
            "sh", "-c", "dotnet \"$0\" --urls \"$1\" & pid=$!; read _; kill -TERM $pid; wait $pid", dll, baseUrl.AbsoluteUri.TrimEnd('/'),
        })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in client.ServiceSettings(env))
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["Auth__Mode"] = "Required";
        // A token's aud is this URL plus the path called (never taken from the request's Host header).
        start.Environment["Auth__PublicBaseUrl"] = baseUrl.AbsoluteUri.TrimEnd('/');
        start.Environment["Storage__Provider"] = "Sqlite";
        start.Environment["Storage__Sqlite__Path"] = Path.Combine(work, "cdsrisk.db");
        start.Environment["Pipeline__LatencyBudgetMilliseconds"] = "30000";

        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
            await WaitUntilUpAsync(http, process, output);
            foreach (var patient in patients.Values)
            {
                var outcome = await AssessAsync(http, client, baseUrl, patient.PatientId);
                Assert.Equal(patient.ExpectedOutcome, outcome);
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                await process.StandardInput.WriteLineAsync("stop");
                process.StandardInput.Close();
            }

            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(stop.Token);
        }

        var report = output.ToString();
        try
        {
            Assert.True(process.ExitCode == 0, report);
            Assert.Contains("check-no-egress: OK", report, StringComparison.Ordinal);
            // Not vacuous: the service's own connections to the test servers were traced.
            Assert.Contains($"127.0.0.1:{env.FhirBaseUrl.Port}", report, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.1:{env.DicomWebBaseUrl.Port}", report, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task WaitUntilUpAsync(HttpClient http, Process process, StringBuilder output)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            Assert.False(process.HasExited, "the service stopped: " + output);
            try
            {
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, "the service did not come up: " + output);
            await Task.Delay(250);
        }
    }

    /// <summary>patient-view, signed as the EHR signs, until the answer is no longer pending; the outcome.</summary>
    private async Task<string> AssessAsync(HttpClient http, TestCdsClient client, Uri baseUrl, string patientId)
    {
        var url = new Uri(baseUrl, HookCalls.PatientView);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(HookCalls.PatientViewRequest(env, patientId)) };
            request.Headers.Authorization = new("Bearer", client.CreateToken(url));
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            var outcome = HookCalls.Extension((System.Text.Json.Nodes.JsonNode.Parse(body) as System.Text.Json.Nodes.JsonObject)!)["outcome"]!.GetValue<string>();
            if (outcome != "pending" || DateTime.UtcNow > deadline)
            {
                return outcome;
            }

            await Task.Delay(500);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
