using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.Core.WriteBack;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Issue 13, items 2, 3 and 11 against the real servers: everything written or linked is per (FHIR server, patient); a hook's token
/// writes only its own write-back; a hookInstance reused for other content is refused. Each test works on its own copy of a patient.
/// </summary>
[Collection("servers")]
public sealed class DataIntegrityTests(TestEnvironment env)
{
    [Fact]
    public async Task CrossPatient_AHookNamingAnotherPatientsImagingStudy_GetsNoScore_AndNothingIsWrittenForEither()
    {
        var a = await CopyAsync("eligible-high-risk");
        var b = await CopyAsync("low-risk");
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();

        // Patient B's chart, but the MR study in prefetch is patient A's ImagingStudy (subject A).
        var prefetchA = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, a);
        var prefetchB = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, b);
        prefetchB["mr-imaging-studies"] = prefetchA["mr-imaging-studies"]!.DeepClone();
        var instance = Guid.NewGuid();
        var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, b, instance, prefetchB));

        Assert.Equal(HttpStatusCode.OK, status);
        var extension = HookCalls.Extension(body!);
        Assert.Null(extension["preScore"]);
        Assert.NotEqual("pass", extension["criteria"]!["mri-4-phase"]!["status"]!.GetValue<string>());

        // Left out of B's data, and said so in the audit record (issue 13 item 18).
        var audit = JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/risk-assessments/{instance:D}", UriKind.Relative)))!;
        var dropped = audit["detail"]!["droppedResources"]!.AsArray();
        Assert.Contains(dropped, d => d!["resourceType"]!.GetValue<string>() == "ImagingStudy" && d["key"]!.GetValue<string>() == "mr-imaging-studies");
        await WaitForOutboxAsync(factory);
        Assert.Equal(0, HookCalls.Total(await env.GetFhirAsync($"RiskAssessment?subject=Patient/{b}")));
        Assert.Equal(0, HookCalls.Total(await env.GetFhirAsync($"RiskAssessment?subject=Patient/{a}")));

        // A's own hook scores A's study and links A's own RiskAssessment.
        var (_, own) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, a, prefetch: prefetchA.DeepClone().AsObject()));
        await WaitForOutboxAsync(factory);
        var (_, linked) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, a, prefetch: prefetchA.DeepClone().AsObject()));
        Assert.NotNull(HookCalls.Extension(own!)["preScore"]);
        var raReference = HookCalls.Extension(linked!)["riskAssessment"]!.GetValue<string>();
        var ra = await env.GetFhirAsync(raReference);
        Assert.Equal("Patient/" + a, ra["subject"]!["reference"]!.GetValue<string>());
    }

    [Fact]
    public async Task AFirstCallNamingANonAllowedFhirServer_NeverBlocksTheGenuineWrite()
    {
        var patient = await CopyAsync("eligible-high-risk");
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        var prefetch = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, patient);

        var forged = HookCalls.PatientViewRequest(env, patient, prefetch: prefetch.DeepClone().AsObject());
        forged["fhirServer"] = "https://attacker.example/fhir";
        var (forgedStatus, _) = await HookCalls.PostAsync(client, HookCalls.PatientView, forged);
        Assert.Equal(HttpStatusCode.OK, forgedStatus);

        var (status, _) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient, prefetch: prefetch));
        Assert.Equal(HttpStatusCode.OK, status);
        var written = await HookCalls.WaitForSearchAsync(env, $"RiskAssessment?subject=Patient/{patient}", b => HookCalls.Total(b) == 1, TimeSpan.FromSeconds(30));
        Assert.Equal(1, HookCalls.Total(written));
    }

    [Fact]
    public async Task TheSamePatientOnAnotherFhirServer_GetsItsOwnRiskAssessment_NeverTheOtherServersLink()
    {
        var patient = await CopyAsync("eligible-high-risk");
        // The same test server under another name: for the service, another FHIR server (another base URL on its allow-list).
        var otherBase = new UriBuilder(env.FhirBaseUrl) { Host = "localhost" }.Uri;
        using var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["Fhir:AllowedServers:1"] = otherBase.AbsoluteUri });
        using var client = factory.CreateClient();
        var prefetch = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, patient);

        async Task<string?> LinkAsync(Uri server)
        {
            var request = HookCalls.PatientViewRequest(env, patient, prefetch: prefetch.DeepClone().AsObject());
            request["fhirServer"] = server.AbsoluteUri.TrimEnd('/');
            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, request);
            Assert.Equal(HttpStatusCode.OK, status);
            await WaitForOutboxAsync(factory);
            return HookCalls.Extension(body!)["riskAssessment"]?.GetValue<string>();
        }

        await LinkAsync(env.FhirBaseUrl);
        var first = await LinkAsync(env.FhirBaseUrl);
        await LinkAsync(otherBase);
        var other = await LinkAsync(otherBase);

        Assert.NotNull(first);
        Assert.NotNull(other);
        Assert.NotEqual(first, other);
        var identifiers = new List<string>();
        foreach (var reference in new[] { first, other })
        {
            var ra = await env.GetFhirAsync(reference!);
            identifiers.Add(ra["identifier"]![0]!["value"]!.GetValue<string>());
        }

        Assert.Equal(WriteBackResources.RiskAssessmentIdentifierValue(otherBase.AbsoluteUri.TrimEnd('/') + "/", "Patient/" + patient,
            (await SeededDemo.GetAsync(env))["eligible-high-risk"].StudyInstanceUid, ModelSha()), identifiers[1]);
    }

    [Fact]
    public async Task WriteTokenPoisoning_AForgedHooksTokenIsNeverUsedForAnotherPatientsWrite()
    {
        var victim = await CopyAsync("eligible-high-risk");
        var attacker = await CopyAsync("low-risk");
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        var victimPrefetch = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, victim);
        var attackerPrefetch = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, attacker);
        await env.ClearFhirRequestLogAsync();

        // The victim's hook (a good token), then a forged hook on the same server with a token the server refuses.
        var genuine = HookCalls.PatientViewRequest(env, victim, prefetch: victimPrefetch);
        var forged = HookCalls.PatientViewRequest(env, attacker, prefetch: attackerPrefetch);
        forged["fhirAuthorization"]!["access_token"] = "forged-token-" + new string('x', 64);
        Assert.Equal(HttpStatusCode.OK, (await HookCalls.PostAsync(client, HookCalls.PatientView, genuine)).Status);
        Assert.Equal(HttpStatusCode.OK, (await HookCalls.PostAsync(client, HookCalls.PatientView, forged)).Status);

        // The victim's RiskAssessment is written with the victim's hook token, at once; the forged token wrote nothing.
        var written = await HookCalls.WaitForSearchAsync(env, $"RiskAssessment?subject=Patient/{victim}", b => HookCalls.Total(b) == 1, TimeSpan.FromSeconds(20));
        Assert.Equal(1, HookCalls.Total(written));
        var writes = (await env.GetFhirRequestLogAsync()).Where(r => r!["method"]!.GetValue<string>() == "POST").ToList();
        Assert.Contains(writes, w => w!["authorized"]!.GetValue<bool>());
        Assert.Equal(0, HookCalls.Total(await env.GetFhirAsync($"RiskAssessment?subject=Patient/{attacker}")));
    }

    [Fact]
    public async Task AReusedHookInstance_ForAnotherPatient_Is409_WhileARetryOfTheSameCallIsAnswered()
    {
        var a = await CopyAsync("ineligible-ecog");
        var b = await CopyAsync("low-risk");
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        var instance = Guid.NewGuid();
        var first = HookCalls.PatientViewRequest(env, a, instance);

        var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, first);
        var (retryStatus, retryBody) = await HookCalls.PostAsync(client, HookCalls.PatientView, first);
        var (reusedStatus, problem) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, b, instance));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.OK, retryStatus);
        Assert.Equal(body!["cards"]![0]!["uuid"]!.GetValue<string>(), retryBody!["cards"]![0]!["uuid"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, reusedStatus);
        Assert.Equal("CDSR-1013", problem!["code"]!.GetValue<string>());
        Assert.True(problem["errors"]!.AsObject().ContainsKey("hookInstance"));

        // The audit record is the first call's, untouched.
        var record = JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/risk-assessments/{instance:D}", UriKind.Relative)))!;
        Assert.Equal("Patient/" + a, record["assessment"]!["patient"]!.GetValue<string>());
    }

    [Fact]
    public async Task DataThatCannotBeRead_GetsACardSayingSo_NeverTheSilentAnswer()
    {
        var patient = await CopyAsync("eligible-high-risk");
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        var prefetch = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, patient);
        prefetch.Remove("conditions"); // fetched by the service, from a server that fails for Condition

        JsonObject? body;
        try
        {
            await env.SetFhirFaultAsync("500", pathPrefix: "/Condition");
            (var status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient, prefetch: prefetch));
            Assert.Equal(HttpStatusCode.OK, status);
        }
        finally
        {
            await env.SetFhirFaultAsync("none");
        }

        var card = Assert.Single(body!["cards"]!.AsArray())!;
        Assert.Equal("not-assessed", HookCalls.Extension(body!)["outcome"]!.GetValue<string>());
        Assert.Contains("diagnoses", card["summary"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("could not be read", card["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private async Task<string> CopyAsync(string scenario) =>
        await SeededDemo.CopyPatientAsync(env, scenario, $"di-{scenario[..3]}-{Guid.NewGuid():N}"[..20], env.DicomWebBaseUrl);

    private static string ModelSha() =>
        CdsRisk.Core.Scoring.ModelCard.Load(Path.Combine(TestEnvironment.RepositoryRoot, "models", "pre-reference", "model-card.json")).Sha256;

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
