using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CdsRisk.Api.FollowUp;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Issue 17: the follow-up sweep against the real FHIR test server: an on-study patient (ResearchSubject of a ResearchStudy, a completed
/// hepatectomy 200 days ago, nothing since) is read with the backend credential and listed with the overdue month-3 items; sweeping
/// again changes nothing; withdrawn, the patient leaves the list.
/// </summary>
[Collection("servers")]
public sealed class FollowUpSweepTests(TestEnvironment env)
{
    private static JsonObject Reference(string reference) => new() { ["reference"] = reference };

    [Fact]
    public async Task Sweep_ListsTheOnStudyPatientWithOverdueItems_IsIdempotent_AndDropsThemWhenWithdrawn()
    {
        var tag = Guid.NewGuid().ToString("N")[..12];
        var patient = await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "Patient",
            ["identifier"] = new JsonArray(new JsonObject { ["system"] = "urn:cdsrisk:test", ["value"] = "followup-" + tag }),
            ["gender"] = "male",
            ["birthDate"] = "1960-04-01",
        });
        var patientId = patient["id"]!.GetValue<string>();
        var study = await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "ResearchStudy",
            ["status"] = "active",
            ["identifier"] = new JsonArray(new JsonObject { ["system"] = "https://clinicaltrials.gov", ["value"] = "NCT07282184" }),
            ["title"] = "test study " + tag,
        });
        var studyRef = "ResearchStudy/" + study["id"]!.GetValue<string>();
        var subject = await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "ResearchSubject",
            ["status"] = "on-study",
            ["study"] = Reference(studyRef),
            ["individual"] = Reference("Patient/" + patientId),
        });
        await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "Procedure",
            ["status"] = "completed",
            ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.ama-assn.org/go/cpt", ["code"] = "47120" }), ["text"] = "Partial hepatectomy" },
            ["subject"] = Reference("Patient/" + patientId),
            ["performedDateTime"] = DateTime.UtcNow.AddDays(-200).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        });

        using var factory = new ServiceFactory(env, new Dictionary<string, string?>
        {
            ["WriteBack:BackendClients:0:FhirServer"] = env.FhirBaseUrl.AbsoluteUri,
            ["WriteBack:BackendClients:0:ClientId"] = "integration-backend",
            ["WriteBack:BackendClients:0:TokenUrl"] = env.FhirBaseUrl.AbsoluteUri + "token-unused",
            ["WriteBack:BackendClients:0:AccessToken"] = env.FhirToken,
            ["FollowUp:StudyReferences:0"] = studyRef,
        });
        using var client = factory.CreateClient();
        var sweeper = factory.Services.GetRequiredService<FollowUpSweeper>();

        var first = await sweeper.RunAsync(force: true, CancellationToken.None);
        Assert.NotNull(first);
        Assert.Equal(1, first.Servers);
        Assert.Equal(1, first.Subjects);
        Assert.Equal(1, first.OnStudy);

        var entry = await EntryAsync(client, patientId);
        Assert.NotNull(entry);
        Assert.Equal("overdue", entry["status"]!.GetValue<string>());
        Assert.Equal("ResearchSubject/" + subject["id"]!.GetValue<string>(), entry["researchSubject"]!.GetValue<string>());
        Assert.Equal("on-study", entry["subjectStatus"]!.GetValue<string>());
        Assert.StartsWith("m3-", entry["nextDue"]!["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(entry["overdue"]!.AsArray(), i => i!["id"]!.GetValue<string>() == "m3-imaging");

        // The overdue filter keeps the patient, the upcoming filter does not; CSV carries the same row.
        Assert.NotNull(await EntryAsync(client, patientId, "status=overdue"));
        Assert.Null(await EntryAsync(client, patientId, "status=upcoming"));
        var csv = await client.GetStringAsync(new Uri("/api/follow-up?format=csv&status=overdue", UriKind.Relative));
        Assert.StartsWith("fhirServer,patient,", csv, StringComparison.Ordinal);
        Assert.Contains($",Patient/{patientId},", csv, StringComparison.Ordinal);

        // Idempotent: a second sweep leaves one row for the patient, the same content.
        var second = await sweeper.RunAsync(force: true, CancellationToken.None);
        Assert.Equal(first.OnStudy, second!.OnStudy);
        var list = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/follow-up", UriKind.Relative)))!["items"]!.AsArray();
        Assert.Single(list, e => e!["patient"]!.GetValue<string>() == "Patient/" + patientId);
        var sweep = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/follow-up/sweep", UriKind.Relative)))!;
        Assert.Equal(second.Id, sweep["lastRun"]!["id"]!.GetValue<string>());
        Assert.Equal(0, sweep["sweepMinutes"]!.GetValue<int>());

        // Not due yet: without force, a sweep right after the last one does nothing.
        Assert.Null(await sweeper.RunAsync(force: false, CancellationToken.None));

        // Withdrawn: off the list at the next sweep.
        subject["status"] = "withdrawn";
        using (var fhir = env.CreateFhirClient())
        {
            using var put = await fhir.PutAsync(new Uri("ResearchSubject/" + subject["id"]!.GetValue<string>(), UriKind.Relative),
                new StringContent(subject.ToJsonString(), Encoding.UTF8, "application/fhir+json"));
            Assert.True(put.IsSuccessStatusCode, $"PUT ResearchSubject: {put.StatusCode}");
        }

        var third = await sweeper.RunAsync(force: true, CancellationToken.None);
        Assert.Equal(0, third!.OnStudy);
        Assert.Equal(1, third.Removed);
        Assert.Null(await EntryAsync(client, patientId));
    }

    /// <summary>
    /// Issue 17: the sweep records what it found in the audit API (origin follow-up-sweep, the sweep run named, the follow-up and the
    /// post-operative criteria in the detail), and a sweep that finds nothing changed adds no row; a new result on record adds one.
    /// </summary>
    [Fact]
    public async Task Sweep_RecordsAnAuditAssessment_OnlyWhenTheFollowUpChanged()
    {
        var tag = Guid.NewGuid().ToString("N")[..12];
        var studyRef = await TrialStudyAsync(env, tag);
        var (patientId, _) = await OnStudyPatientAsync(env, studyRef, tag, resectedDaysAgo: 200);
        using var factory = new ServiceFactory(env, SweepSettings(env, studyRef));
        using var client = factory.CreateClient();
        var sweeper = factory.Services.GetRequiredService<FollowUpSweeper>();

        var first = await sweeper.RunAsync(force: true, CancellationToken.None);
        Assert.Equal(1, first!.Assessments);
        var rows = await AssessmentsAsync(client, patientId);
        var row = Assert.Single(rows)!;
        Assert.Equal("follow-up-sweep", row["hook"]!.GetValue<string>());
        Assert.Equal(first.Id, row["sweepRun"]!.GetValue<string>());
        Assert.Equal("on-study", row["outcome"]!.GetValue<string>());
        Assert.Null(row["preScore"]);

        var detail = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/risk-assessments/" + row["id"]!.GetValue<string>(), UriKind.Relative)))!["detail"]!;
        Assert.Equal("follow-up-sweep", detail["serviceId"]!.GetValue<string>());
        Assert.Contains(detail["followUp"]!["items"]!.AsArray(), i => i!["id"]!.GetValue<string>() == "m3-imaging" && i["status"]!.GetValue<string>() == "overdue");
        Assert.Equal("fail", detail["criteria"]!["early-death-or-loss"]!["status"]!.GetValue<string>()); // no contact within 90 days: settled
        Assert.NotNull(detail["criteria"]!["non-hcc-pathology"]);
        Assert.Empty(detail["cards"]?.AsArray() ?? []); // no card was answered to anyone

        // Nothing changed: no new row, however often the sweep runs.
        var second = await sweeper.RunAsync(force: true, CancellationToken.None);
        Assert.Equal(0, second!.Assessments);
        Assert.Single(await AssessmentsAsync(client, patientId));

        // A liver MRI in the month-3 window: the item is done now, so the next sweep records the change.
        await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "ImagingStudy",
            ["status"] = "available",
            ["subject"] = Reference("Patient/" + patientId),
            ["modality"] = new JsonArray(new JsonObject { ["system"] = "http://dicom.nema.org/resources/ontology/DCM", ["code"] = "MR" }),
            ["started"] = DateTime.UtcNow.AddDays(-110).ToString("yyyy-MM-dd'T'10:00:00'Z'", System.Globalization.CultureInfo.InvariantCulture),
        });
        var third = await sweeper.RunAsync(force: true, CancellationToken.None);
        Assert.Equal(1, third!.Assessments);
        rows = await AssessmentsAsync(client, patientId);
        Assert.Equal(2, rows.Count);
        Assert.Equal(third.Id, rows[0]!["sweepRun"]!.GetValue<string>()); // newest first
        var newest = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/risk-assessments/" + rows[0]!["id"]!.GetValue<string>(), UriKind.Relative)))!["detail"]!;
        Assert.Contains(newest["followUp"]!["items"]!.AsArray(), i => i!["id"]!.GetValue<string>() == "m3-imaging" && i["status"]!.GetValue<string>() == "done");

        // The audit list filters on the new outcome.
        var onStudy = JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/risk-assessments?patient={patientId}&outcome=on-study", UriKind.Relative)))!["items"]!.AsArray();
        Assert.Equal(2, onStudy.Count);
    }

    /// <summary>
    /// Issue 17 items 4 and 5 on the real FHIR server, no study configured: the subject's ResearchStudy is read (<c>_include</c>) and
    /// its identifier checked, and an oxaliplatin administration whose drug is a <c>medicationReference</c> to a Medication on the
    /// server counts as therapy (a grade-3 ALT signal). The same through the fetch path (<c>_include</c>) and through an EHR's
    /// prefetch of the discovery templates (the study and the drug read by id). A subject of another study is not on study.
    /// </summary>
    [Fact]
    public async Task PatientView_ReadsTheResearchStudyAndTheReferencedMedication_FromTheFhirServer()
    {
        var tag = Guid.NewGuid().ToString("N")[..12];
        var studyRef = await TrialStudyAsync(env, tag);
        var (patientId, _) = await OnStudyPatientAsync(env, studyRef, tag, resectedDaysAgo: 60);
        var medication = await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "Medication",
            ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.nlm.nih.gov/research/umls/rxnorm", ["code"] = "32592", ["display"] = "oxaliplatin" }) },
        });
        string Day(int ago) => DateTime.UtcNow.AddDays(-ago).ToString("yyyy-MM-dd'T'09:00:00'Z'", System.Globalization.CultureInfo.InvariantCulture);
        await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "MedicationAdministration",
            ["status"] = "completed",
            ["medicationReference"] = Reference("Medication/" + medication["id"]!.GetValue<string>()),
            ["subject"] = Reference("Patient/" + patientId),
            ["effectiveDateTime"] = Day(6),
        });
        await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "Observation",
            ["status"] = "final",
            ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://loinc.org", ["code"] = "1742-6" }) },
            ["subject"] = Reference("Patient/" + patientId),
            ["effectiveDateTime"] = Day(1),
            ["valueQuantity"] = new JsonObject { ["value"] = 250, ["unit"] = "U/L", ["system"] = "http://unitsofmeasure.org", ["code"] = "U/L" },
            ["referenceRange"] = new JsonArray(new JsonObject { ["high"] = new JsonObject { ["value"] = 40, ["unit"] = "U/L", ["system"] = "http://unitsofmeasure.org", ["code"] = "U/L" } }),
        });

        // Another study's subject: a ResearchStudy of another registration.
        var other = await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "ResearchStudy",
            ["status"] = "active",
            ["identifier"] = new JsonArray(new JsonObject { ["system"] = "https://clinicaltrials.gov", ["value"] = "NCT01234567" }),
        });
        var (otherPatient, _) = await OnStudyPatientAsync(env, "ResearchStudy/" + other["id"]!.GetValue<string>(), tag, resectedDaysAgo: 60);

        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        var prefetched = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, patientId);
        // The discovery templates carry no _include (CDS Hooks' recommended subset): with an EHR's prefetch the service reads the
        // ResearchStudy and the Medication by id; without one it fetches the keys itself with _include.
        Assert.DoesNotContain(prefetched["research-subjects"]!["entry"]!.AsArray(), e => e!["resource"]!["resourceType"]!.GetValue<string>() == "ResearchStudy");
        foreach (var prefetch in new JsonObject?[] { null, prefetched })
        {
            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patientId, prefetch: prefetch));
            Assert.Equal(HttpStatusCode.OK, status);
            var cards = body!["cards"]!.AsArray();
            var signal = Assert.Single(cards, c => c!["extension"]!["cdsrisk"]!["card"]!.GetValue<string>() == "safety-signal")!;
            Assert.Equal("Possible grade 3 adverse event — assess and report per protocol", signal["summary"]!.GetValue<string>());
            var followUp = signal["extension"]!["cdsrisk"]!["followUp"]!;
            Assert.Equal("on-study", signal["extension"]!["cdsrisk"]!["outcome"]!.GetValue<string>());
            Assert.Contains(followUp["items"]!.AsArray(), i => i!["id"]!.GetValue<string>() == "cycle-1-labs");
            Assert.Equal("alt-increased", Assert.Single(followUp["signals"]!.AsArray())!["id"]!.GetValue<string>());
        }

        var (otherStatus, otherBody) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, otherPatient));
        Assert.Equal(HttpStatusCode.OK, otherStatus);
        Assert.DoesNotContain(otherBody!["cards"]!.AsArray(), c => c!["extension"]?["cdsrisk"]?["outcome"]?.GetValue<string>() == "on-study");
    }

    internal static Dictionary<string, string?> SweepSettings(TestEnvironment env, string studyRef) => new()
    {
        ["WriteBack:BackendClients:0:FhirServer"] = env.FhirBaseUrl.AbsoluteUri,
        ["WriteBack:BackendClients:0:ClientId"] = "integration-backend",
        ["WriteBack:BackendClients:0:TokenUrl"] = env.FhirBaseUrl.AbsoluteUri + "token-unused",
        ["WriteBack:BackendClients:0:AccessToken"] = env.FhirToken,
        ["FollowUp:StudyReferences:0"] = studyRef,
    };

    /// <summary>A ResearchStudy of the trial (identifier NCT07282184 at ClinicalTrials.gov) of this test's own; its reference.</summary>
    internal static async Task<string> TrialStudyAsync(TestEnvironment env, string tag)
    {
        var study = await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "ResearchStudy",
            ["status"] = "active",
            ["identifier"] = new JsonArray(new JsonObject { ["system"] = "https://clinicaltrials.gov", ["value"] = "NCT07282184" }),
            ["title"] = "test study " + tag,
        });
        return "ResearchStudy/" + study["id"]!.GetValue<string>();
    }

    /// <summary>A patient on study in <paramref name="studyRef"/>, resected <paramref name="resectedDaysAgo"/> days ago, nothing since.</summary>
    internal static async Task<(string PatientId, JsonObject Subject)> OnStudyPatientAsync(TestEnvironment env, string studyRef, string tag, int resectedDaysAgo)
    {
        var patient = await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "Patient",
            ["identifier"] = new JsonArray(new JsonObject { ["system"] = "urn:cdsrisk:test", ["value"] = "followup-" + tag + "-" + Guid.NewGuid().ToString("N")[..6] }),
            ["gender"] = "male",
            ["birthDate"] = "1960-04-01",
        });
        var patientId = patient["id"]!.GetValue<string>();
        var subject = await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "ResearchSubject",
            ["status"] = "on-study",
            ["study"] = Reference(studyRef),
            ["individual"] = Reference("Patient/" + patientId),
        });
        await env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "Procedure",
            ["status"] = "completed",
            ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.ama-assn.org/go/cpt", ["code"] = "47120" }), ["text"] = "Partial hepatectomy" },
            ["subject"] = Reference("Patient/" + patientId),
            ["performedDateTime"] = DateTime.UtcNow.AddDays(-resectedDaysAgo).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        });
        return (patientId, subject);
    }

    private static async Task<JsonArray> AssessmentsAsync(HttpClient client, string patientId)
    {
        using var response = await client.GetAsync(new Uri("/api/risk-assessments?patient=Patient/" + patientId, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
    }

    private static async Task<JsonNode?> EntryAsync(HttpClient client, string patientId, string? query = null)
    {
        using var response = await client.GetAsync(new Uri("/api/follow-up" + (query is null ? "" : "?" + query), UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        return items.FirstOrDefault(e => e!["patient"]!.GetValue<string>() == "Patient/" + patientId);
    }
}
