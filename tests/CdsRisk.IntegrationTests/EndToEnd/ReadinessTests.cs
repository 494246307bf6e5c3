using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.TestServers;
using Xunit.Abstractions;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Issue 15 item 3: after a start, the first hook answered in 1.5–1.8 s and said "pending" although the score was stored. The
/// service now warms up (model session, Firely, the JSON and card paths) before <c>/readyz</c> says ready. The service runs as a
/// process of its own here, so that nothing is already compiled or loaded by an earlier test in this process, under the default
/// latency budget (700 ms) and client authentication, on a database that holds the patient's score from an earlier run.
/// </summary>
[Collection("servers")]
public sealed class ReadinessTests(TestEnvironment env, ITestOutputHelper output)
{
    [Fact]
    public async Task FirstHookAfterReadyz_AnswersWithTheStoredScore_NotPending()
    {
        var patient = (await SeededDemo.GetAsync(env))["eligible-high-risk"];
        var work = Directory.CreateTempSubdirectory("cdsrisk-ready-").FullName;
        var database = Path.Combine(work, "cdsrisk.db");
        try
        {
            // An earlier run of the service scored the patient (a scoring job or a hook with time to wait) and stored it.
            using (var earlier = new ServiceFactory(env, new Dictionary<string, string?> { ["Storage:Sqlite:Path"] = database }))
            using (var http = earlier.CreateClient())
            {
                var (_, scored) = await HookCalls.PostAsync(http, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId));
                Assert.Equal(patient.ExpectedOutcome, HookCalls.Extension(scored!)["outcome"]!.GetValue<string>());
            }

            // A new start on that database: the first hook once /readyz says ready.
            using var client = new TestCdsClient();
            await using var service = await ServiceProcess.StartAsync(env, client, database);
            var readyz = await service.WaitUntilReadyAsync();
            Assert.Equal("ready", readyz["status"]!.GetValue<string>());

            var url = new Uri(service.BaseUrl, HookCalls.PatientView);
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(HookCalls.PatientViewRequest(env, patient.PatientId)) };
            request.Headers.Authorization = new("Bearer", client.CreateToken(url));
            var clock = Stopwatch.StartNew();
            using var response = await service.Http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            clock.Stop();

            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            var extension = HookCalls.Extension((JsonNode.Parse(body) as JsonObject)!);
            Assert.Equal(patient.ExpectedOutcome, extension["outcome"]!.GetValue<string>());
            Assert.InRange(Math.Abs(extension["preScore"]!.GetValue<double>() - patient.ReferencePre!.Value), 0, 1e-3);

            // Reported, not asserted (no timed assertions): the figures for the issue, the second hook for comparison on this machine.
            var first = await service.HookMillisecondsAsync(1);
            using var again = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(HookCalls.PatientViewRequest(env, patient.PatientId)) };
            again.Headers.Authorization = new("Bearer", client.CreateToken(url));
            (await service.Http.SendAsync(again)).Dispose();
            var second = await service.HookMillisecondsAsync(2);
            output.WriteLine($"first hook after /readyz: {clock.ElapsedMilliseconds} ms at the client, {first} ms in the service; second hook {second} ms in the service");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Readyz_Answers200WithItsChecks_AndNeedsNoToken()
    {
        using var client = new TestCdsClient();
        var work = Directory.CreateTempSubdirectory("cdsrisk-ready-").FullName;
        try
        {
            await using var service = await ServiceProcess.StartAsync(env, client, Path.Combine(work, "cdsrisk.db"));
            var readyz = await service.WaitUntilReadyAsync();

            Assert.Equal("ready", readyz["status"]!.GetValue<string>());
            Assert.Equal("ok", readyz["checks"]!["storage"]!.GetValue<string>());
            Assert.Equal("ok", readyz["checks"]!["model"]!.GetValue<string>());
            Assert.Equal("ok", readyz["checks"]!["warmUp"]!.GetValue<string>());
            // Ready never opens the hooks: they still need the client's token.
            using var discovery = await service.Http.GetAsync(new Uri("/cds-services", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, discovery.StatusCode);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
