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

    private static async Task<JsonNode?> EntryAsync(HttpClient client, string patientId, string? query = null)
    {
        using var response = await client.GetAsync(new Uri("/api/follow-up" + (query is null ? "" : "?" + query), UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        return items.FirstOrDefault(e => e!["patient"]!.GetValue<string>() == "Patient/" + patientId);
    }
}
