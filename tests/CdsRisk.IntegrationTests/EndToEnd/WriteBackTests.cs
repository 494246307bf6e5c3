using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>RiskAssessment write-back against the real FHIR server: idempotent, durable through an outage, visible in the audit API.</summary>
[Collection("servers")]
public sealed class WriteBackTests(TestEnvironment env)
{
    [Fact]
    public async Task SameHookSentTwice_AndAgainFromAnotherInstance_WritesOneRiskAssessment()
    {
        var patient = (await SeededDemo.GetAsync(env))["low-risk"];
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        var request = HookCalls.PatientViewRequest(env, patient.PatientId);

        var first = await HookCalls.PostAsync(client, HookCalls.PatientView, request);
        var second = await HookCalls.PostAsync(client, HookCalls.PatientView, request);
        // A new service instance (empty cache and outbox) scores again and writes again: still one resource on the server.
        using var other = new ServiceFactory(env);
        using var otherClient = other.CreateClient();
        var third = await HookCalls.PostAsync(otherClient, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId));

        Assert.All(new[] { first, second, third }, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        await WaitForOutboxAsync(factory);
        await WaitForOutboxAsync(other);
        var assessments = await env.GetFhirAsync($"RiskAssessment?subject=Patient/{patient.PatientId}");
        Assert.Equal(1, HookCalls.Total(assessments));
        var id = assessments["entry"]![0]!["resource"]!["id"]!.GetValue<string>();
        Assert.Equal(1, HookCalls.Total(await env.GetFhirAsync($"Provenance?target=RiskAssessment/{id}")));
    }

    [Fact]
    public async Task FhirServerDownDuringTheHook_TheWriteWaitsInTheOutbox_AndLandsOnceWhenItIsBack()
    {
        var patient = (await SeededDemo.GetAsync(env))["eligible-high-risk"];
        await DeleteRiskAssessmentsAsync(patient.PatientId);
        using var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["DicomWeb:BaseUrl"] = env.DicomWebBaseUrl.AbsoluteUri });
        using var client = factory.CreateClient();
        var prefetch = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, patient.PatientId);

        JsonObject? body;
        try
        {
            // Everything the hook needs comes in the prefetch; every call to the FHIR server fails while it is "down".
            await env.SetFhirFaultAsync("500");
            (var status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId, prefetch: prefetch));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("eligible", HookCalls.Extension(body!)["outcome"]!.GetValue<string>());
            var pending = await AuditWriteBackAsync(client, body!, w => w["attempts"]!.GetValue<int>() >= 1);
            Assert.Equal("pending", pending["state"]!.GetValue<string>());
            Assert.Contains("500", pending["lastError"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            await env.SetFhirFaultAsync("none");
        }

        var written = await AuditWriteBackAsync(client, body!, w => w["state"]!.GetValue<string>() == "written");
        Assert.Equal("written", written["state"]!.GetValue<string>());
        var assessments = await env.GetFhirAsync($"RiskAssessment?subject=Patient/{patient.PatientId}");
        Assert.Equal(1, HookCalls.Total(assessments));
        Assert.Equal(written["fhirId"]!.GetValue<string>(), "RiskAssessment/" + assessments["entry"]![0]!["resource"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AuditApi_ReturnsWhatTheHookDid()
    {
        var patient = (await SeededDemo.GetAsync(env))["ineligible-ecog"];
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        var hookInstance = Guid.NewGuid();

        var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId, hookInstance));
        Assert.Equal(HttpStatusCode.OK, status);
        var extension = HookCalls.Extension(body!);

        var list = (JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/risk-assessments?patient={patient.PatientId}&outcome=ineligible", UriKind.Relative))))!;
        var item = Assert.Single(list["items"]!.AsArray());
        Assert.Equal(hookInstance.ToString(), item!["id"]!.GetValue<string>());
        Assert.Equal(extension["preScore"]?.GetValue<double>(), item["preScore"]?.GetValue<double>());

        var record = JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/risk-assessments/{hookInstance}", UriKind.Relative)))!;
        Assert.Equal("ineligible", record["assessment"]!["outcome"]!.GetValue<string>());
        Assert.Equal("fail", record["detail"]!["criteria"]!["ecog"]!["status"]!.GetValue<string>());
        Assert.Equal(body!["cards"]![0]!["uuid"]!.GetValue<string>(), record["detail"]!["cards"]![0]!["uuid"]!.GetValue<string>());
        Assert.NotEmpty(record["detail"]!["clinicalFeatures"]!.AsObject());
        Assert.NotNull(record["writeBack"]!["state"]);

        var empty = JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/risk-assessments?patient={patient.PatientId}&outcome=eligible", UriKind.Relative)))!;
        Assert.Empty(empty["items"]!.AsArray());
        using var missing = await client.GetAsync(new Uri("/api/risk-assessments/no-such-id", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    private async Task DeleteRiskAssessmentsAsync(string patientId)
    {
        using var fhir = env.CreateFhirClient();
        var existing = await env.GetFhirAsync($"RiskAssessment?subject=Patient/{patientId}");
        foreach (var entry in existing["entry"]?.AsArray() ?? [])
        {
            using var _ = await fhir.DeleteAsync(new Uri("RiskAssessment/" + entry!["resource"]!["id"]!.GetValue<string>(), UriKind.Relative));
        }
    }

    private static async Task<JsonObject> AuditWriteBackAsync(HttpClient client, JsonObject hookResponse, Func<JsonObject, bool> until)
    {
        var cardUuid = hookResponse["cards"]![0]!["uuid"]!.GetValue<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var list = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/risk-assessments?limit=500", UriKind.Relative)))!;
            foreach (var item in list["items"]!.AsArray())
            {
                var record = JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/risk-assessments/{item!["id"]}", UriKind.Relative)))!;
                if (record["detail"]!["cards"]!.AsArray().Any(c => c!["uuid"]!.GetValue<string>() == cardUuid))
                {
                    var writeBack = record["writeBack"]!.AsObject();
                    if (until(writeBack) || DateTime.UtcNow > deadline) return writeBack;
                }
            }

            if (DateTime.UtcNow > deadline) throw new TimeoutException("the assessment never reached the expected write-back state");
            await Task.Delay(250);
        }
    }

    private static async Task WaitForOutboxAsync(ServiceFactory factory)
    {
        var outbox = (CdsRisk.Api.Storage.OutboxStore)factory.Services.GetService(typeof(CdsRisk.Api.Storage.OutboxStore))!;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await outbox.CountPendingAsync(CancellationToken.None) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
    }
}
