using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>The latency budget (pending now, cached next time) and the scoring-jobs API, against the real servers.</summary>
[Collection("servers")]
public sealed class LatencyAndJobsTests(TestEnvironment env)
{
    [Fact]
    public async Task ScoreNotReadyWithinTheBudget_AnswersPending_AndTheNextHookAnswersFromTheCachedScore()
    {
        var patient = (await SeededDemo.GetAsync(env))["eligible-high-risk"];
        using var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["Pipeline:LatencyBudgetMilliseconds"] = "50", ["Pipeline:ReserveMilliseconds"] = "0" });
        using var client = factory.CreateClient();

        var (status, first) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId));
        Assert.Equal(HttpStatusCode.OK, status);
        var firstExtension = HookCalls.Extension(first!);
        Assert.Equal("pending", firstExtension["outcome"]!.GetValue<string>());
        Assert.Equal("pending", firstExtension["card"]!.GetValue<string>());
        Assert.Null(firstExtension["preScore"]);

        JsonObject? later = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            (_, later) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId));
            if (HookCalls.Extension(later!)["outcome"]!.GetValue<string>() != "pending") break;
        }

        var extension = HookCalls.Extension(later!);
        Assert.Equal(patient.ExpectedOutcome, extension["outcome"]!.GetValue<string>());
        Assert.InRange(Math.Abs(extension["preScore"]!.GetValue<double>() - patient.ReferencePre!.Value), 0, 1e-3);
    }

    [Fact]
    public async Task ScoringJob_IsCreatedOnce_RunsToCompletion_AndADuplicateReturnsTheSameJob_200OnceScored()
    {
        var patient = (await SeededDemo.GetAsync(env))["eligible-dynamic-layout"];
        using var factory = new ServiceFactory(env, new Dictionary<string, string?>
        {
            ["WriteBack:BackendClients:0:FhirServer"] = env.FhirBaseUrl.AbsoluteUri,
            ["WriteBack:BackendClients:0:ClientId"] = "integration-backend",
            ["WriteBack:BackendClients:0:AccessToken"] = env.FhirToken,
        });
        using var client = factory.CreateClient();
        var request = new { patientId = patient.PatientId, fhirServer = env.FhirBaseUrl.AbsoluteUri, credential = "integration-backend" };

        using var created = await client.PostAsJsonAsync(new Uri("/api/scoring-jobs", UriKind.Relative), request);
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var job = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        var location = created.Headers.Location!;

        // While it runs, the same request is the same job (202 again, same id).
        using var duplicate = await client.PostAsJsonAsync(new Uri("/api/scoring-jobs", UriKind.Relative), request);
        Assert.True(duplicate.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK);
        Assert.Equal(job["id"]!.GetValue<string>(), JsonNode.Parse(await duplicate.Content.ReadAsStringAsync())!["id"]!.GetValue<string>());

        JsonNode state = job;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (state["state"]!.GetValue<string>() is "queued" or "running" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(300);
            state = JsonNode.Parse(await client.GetStringAsync(location))!;
        }

        Assert.Equal("succeeded", state["state"]!.GetValue<string>());
        Assert.Equal(1, state["attempts"]!.GetValue<int>());
        Assert.InRange(Math.Abs(state["preScore"]!.GetValue<double>() - patient.ReferencePre!.Value), 0, 1e-3);

        // Once scored, the same request answers 200 with the finished job.
        using var done = await client.PostAsJsonAsync(new Uri("/api/scoring-jobs", UriKind.Relative), request);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal(job["id"]!.GetValue<string>(), JsonNode.Parse(await done.Content.ReadAsStringAsync())!["id"]!.GetValue<string>());

        // The patient's RiskAssessment was queued for that server and written with the backend credential.
        var written = await HookCalls.WaitForSearchAsync(env, $"RiskAssessment?subject=Patient/{patient.PatientId}", b => HookCalls.Total(b) >= 1, TimeSpan.FromSeconds(30));
        Assert.Equal(1, HookCalls.Total(written));

        // The hook that follows uses the job's score without computing it again.
        var (_, hook) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId));
        Assert.Equal(state["preScore"]!.GetValue<double>(), HookCalls.Extension(hook!)["preScore"]!.GetValue<double>());
    }

    [Fact]
    public async Task ScoringJob_WithAnUnknownCredential_Is400NamingTheField()
    {
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        using var response = await client.PostAsJsonAsync(new Uri("/api/scoring-jobs", UriKind.Relative),
            new { patientId = "x", fhirServer = env.FhirBaseUrl.AbsoluteUri, credential = "nobody" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("credential", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
