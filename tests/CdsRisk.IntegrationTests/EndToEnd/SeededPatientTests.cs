using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.TestServers;
using CdsRisk.TestSupport;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Every demo scenario through HTTP against the real servers: the outcome and the criteria the scenario decides, the PRE the
/// generator's reference pipeline computed from the same phantom, and the RiskAssessment + Provenance written back.
/// </summary>
[Collection("servers")]
public sealed class SeededPatientTests(TestEnvironment env)
{
    [Theory]
    [MemberData(nameof(SeededDemo.ScenarioData), MemberType = typeof(SeededDemo))]
    public async Task PatientView_GivesTheScenariosOutcome_TheReferencePre_AndWritesTheRiskAssessment(string scenario)
    {
        var patient = (await SeededDemo.GetAsync(env))[scenario];
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();

        var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId));

        Assert.Equal(HttpStatusCode.OK, status);
        // What the cards say (issue 14 sections 1 and 4): no directive wording, no internal words, ids or hashes.
        var wording = CardWording.Problems(body);
        Assert.True(wording.Count == 0, $"{scenario}:{Environment.NewLine}{string.Join(Environment.NewLine, wording)}");
        var extension = HookCalls.Extension(body!);
        Assert.Equal(patient.ExpectedOutcome, extension["outcome"]!.GetValue<string>());
        var criteria = extension["criteria"]!.AsObject();
        Assert.Equal(17, criteria.Count);
        foreach (var (id, expectedStatus) in patient.ExpectedCriteria)
        {
            Assert.True(expectedStatus == criteria[id]!["status"]!.GetValue<string>(),
                $"{scenario}: criterion {id} is {criteria[id]!["status"]} ({criteria[id]!["reason"]}), expected {expectedStatus}");
        }

        // No PRE, and no RiskAssessment, outside the trial's population or for a study outside the MRI window (issue 14 section 3).
        if (patient.ReferencePre is not { } reference || !patient.PreShown)
        {
            Assert.Null(extension["preScore"]);
            var outbox = (CdsRisk.Api.Storage.OutboxStore)factory.Services.GetService(typeof(CdsRisk.Api.Storage.OutboxStore))!;
            Assert.Equal(0, await outbox.CountPendingAsync(CancellationToken.None)); // nothing was queued to be written later either
            Assert.Equal(0, HookCalls.Total(await env.GetFhirAsync($"RiskAssessment?subject=Patient/{patient.PatientId}")));
            return;
        }

        var pre = extension["preScore"]!.GetValue<double>();
        Assert.InRange(Math.Abs(pre - reference), 0, 1e-3);
        Assert.Equal(pre >= 0.5 ? "high" : "low", extension["risk"]!.GetValue<string>());

        // Written back through the outbox: one RiskAssessment for the patient, its Provenance pointing at it.
        var assessments = await HookCalls.WaitForSearchAsync(env, $"RiskAssessment?subject=Patient/{patient.PatientId}",
            b => HookCalls.Total(b) >= 1, TimeSpan.FromSeconds(30));
        Assert.Equal(1, HookCalls.Total(assessments));
        var assessment = assessments["entry"]![0]!["resource"]!;
        Assert.Equal(pre, assessment["prediction"]![0]!["probabilityDecimal"]!.GetValue<double>(), 6);
        Assert.StartsWith("Device/", assessment["performer"]!["reference"]!.GetValue<string>(), StringComparison.Ordinal);
        var provenance = await env.GetFhirAsync($"Provenance?target=RiskAssessment/{assessment["id"]!.GetValue<string>()}");
        Assert.Equal(1, HookCalls.Total(provenance));
    }

    /// <summary>
    /// Issue 17: each seeded on-study patient through patient-view (fetch path, the real FHIR server): the follow-up cards the
    /// scenario was designed for, by the demo's own check (overdue and done items, signals, the draft AdverseEvent suggestion),
    /// the post-operative criteria, no screening card, no PRE and no RiskAssessment; and the same answer from an EHR's prefetch.
    /// </summary>
    [Theory]
    [MemberData(nameof(SeededDemo.FollowUpScenarioData), MemberType = typeof(SeededDemo))]
    public async Task PatientView_OnStudyPatient_GetsTheFollowUpTheScenarioWasDesignedFor(string scenario)
    {
        var patient = (await SeededDemo.GetAsync(env))[scenario];
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        var prefetch = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, patient.PatientId);

        foreach (var given in new JsonObject?[] { null, prefetch })
        {
            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId, prefetch: given));

            Assert.Equal(HttpStatusCode.OK, status);
            var wording = CardWording.Problems(body);
            Assert.True(wording.Count == 0, $"{scenario}:{Environment.NewLine}{string.Join(Environment.NewLine, wording)}");
            var cards = body!["cards"]!.AsArray().OfType<JsonObject>().ToList();
            var problems = CdsRisk.Cli.Demo.FollowUpCheck.Problems(patient.ExpectedFollowUp!, cards);
            Assert.True(problems.Count == 0, $"{scenario} ({(given is null ? "fetched" : "prefetch")}): {string.Join("; ", problems)}");
            var extension = HookCalls.Extension(body);
            Assert.Equal("on-study", extension["outcome"]!.GetValue<string>());
            Assert.Null(extension["preScore"]);
            foreach (var (id, expectedStatus) in patient.ExpectedCriteria)
            {
                Assert.True(expectedStatus == extension["criteria"]![id]!["status"]!.GetValue<string>(),
                    $"{scenario}: criterion {id} is {extension["criteria"]![id]!["status"]} ({extension["criteria"]![id]!["reason"]}), expected {expectedStatus}");
            }
        }

        Assert.Equal(0, HookCalls.Total(await env.GetFhirAsync($"RiskAssessment?subject=Patient/{patient.PatientId}")));
    }

    [Theory]
    [MemberData(nameof(SeededDemo.ScenarioData), MemberType = typeof(SeededDemo))]
    public async Task DirectiveWording_OrderSelectWithAHepatectomy_ScreensAndRefers_InClinicianWords(string scenario)
    {
        var patient = (await SeededDemo.GetAsync(env))[scenario];
        // System actions instead of a write: the RiskAssessment resources are checked too, and nothing is written twice.
        using var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["WriteBack:Mode"] = "SystemAction" });
        using var client = factory.CreateClient();

        var (status, body) = await HookCalls.PostAsync(client, HookCalls.OrderSelect, HookCalls.OrderSelectRequest(env, patient.PatientId, HookCalls.DraftHepatectomy(patient.PatientId)));

        Assert.Equal(HttpStatusCode.OK, status);
        var wording = CardWording.Problems(body);
        Assert.True(wording.Count == 0, $"{scenario}:{Environment.NewLine}{string.Join(Environment.NewLine, wording)}");
        var kinds = body!["cards"]!.AsArray().Select(c => c!["extension"]!["cdsrisk"]!["card"]!.GetValue<string>()).ToList();
        Assert.Equal(patient.ExpectedOutcome == "eligible" ? ["resection-ordered"] : [patient.ExpectedOutcome], kinds);
    }
}
