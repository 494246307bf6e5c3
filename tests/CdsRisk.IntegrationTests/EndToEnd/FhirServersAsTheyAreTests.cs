using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using CdsRisk.IntegrationTests.Hooks;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Issue 15 items 5 and 6 against the real FHIR test server: records as independent sources write them, and the server's quirks
/// (switched on with its fault modes) that real FHIR servers have. Each test seeds its own patient.
/// </summary>
[Collection("servers")]
public sealed class FhirServersAsTheyAreTests(TestEnvironment env)
{
    private const string Dcm = "http://dicom.nema.org/resources/ontology/DCM";

    private sealed record Seeded(string PatientId, string[] ConditionIds, string[] ObservationIds, string StudyId);

    private async Task<Seeded> SeedAsync()
    {
        var id = "as-is-" + Guid.NewGuid().ToString("N")[..12];
        var entries = new JsonArray();
        void Put(JsonObject resource) => entries.Add(new JsonObject
        {
            ["resource"] = resource,
            ["request"] = new JsonObject { ["method"] = "PUT", ["url"] = $"{resource["resourceType"]}/{resource["id"]}" },
        });

        Put(new JsonObject { ["resourceType"] = "Patient", ["id"] = id, ["gender"] = "male", ["birthDate"] = "1964-03-02" });
        var conditions = Enumerable.Range(1, 5).Select(i => $"{id}-c{i}").ToArray();
        foreach (var (c, i) in conditions.Select((c, i) => (c, i)))
        {
            Put(new JsonObject
            {
                ["resourceType"] = "Condition",
                ["id"] = c,
                ["subject"] = new JsonObject { ["reference"] = "Patient/" + id },
                ["code"] = new JsonObject { ["text"] = "condition " + i },
                ["recordedDate"] = $"2026-0{i + 1}-01",
            });
        }

        // Stored oldest first, so that a server ignoring _sort=-date answers them in the wrong order.
        var observations = Enumerable.Range(1, 3).Select(i => $"{id}-afp{i}").ToArray();
        foreach (var (o, i) in observations.Select((o, i) => (o, i)))
        {
            Put(new JsonObject
            {
                ["resourceType"] = "Observation",
                ["id"] = o,
                ["status"] = "final",
                ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://loinc.org", ["code"] = "1834-1" }) },
                ["subject"] = new JsonObject { ["reference"] = "Patient/" + id },
                ["effectiveDateTime"] = DateTime.UtcNow.AddDays(-9 + (3 * i)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                ["valueQuantity"] = new JsonObject { ["value"] = 10 + i, ["unit"] = "ng/mL", ["system"] = "http://unitsofmeasure.org", ["code"] = "ng/mL" },
            });
        }

        // Issue 15 item 5: the modality at study level only (ImagingStudy.series is 0..*).
        var study = id + "-mr";
        Put(new JsonObject
        {
            ["resourceType"] = "ImagingStudy",
            ["id"] = study,
            ["status"] = "available",
            ["subject"] = new JsonObject { ["reference"] = "Patient/" + id },
            ["started"] = DateTime.UtcNow.AddDays(-3).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            ["modality"] = new JsonArray(new JsonObject { ["system"] = Dcm, ["code"] = "MR" }),
            ["identifier"] = new JsonArray(new JsonObject { ["system"] = "urn:dicom:uid", ["value"] = "urn:oid:2.25." + Random.Shared.NextInt64(1, long.MaxValue) }),
            ["numberOfSeries"] = 4,
        });

        await env.PostFhirBundleAsync(new JsonObject { ["resourceType"] = "Bundle", ["type"] = "transaction", ["entry"] = entries }.ToJsonString());
        return new Seeded(id, conditions, observations, study);
    }

    private CdsRiskApiFactory Factory() => new(new Dictionary<string, string?> { ["Fhir:AllowedServers:0"] = env.FhirBaseUrl.AbsoluteUri });

    private async Task<PatientRecord> LoadAsync(CdsRiskApiFactory factory, Seeded seeded, JsonObject? prefetch = null, string? fhirServer = null)
    {
        prefetch ??= new JsonObject { ["patient"] = await env.GetFhirAsync("Patient/" + seeded.PatientId) };
        var request = HookCalls.PatientViewRequest(env, seeded.PatientId, prefetch: prefetch);
        if (fhirServer is not null)
        {
            request["fhirServer"] = fhirServer;
        }

        using var client = factory.CreateClient();
        var (status, _) = await HookCalls.PostAsync(client, HookCalls.PatientView, request);
        Assert.Equal(HttpStatusCode.OK, status);
        return factory.Evaluator.LastPatient!;
    }

    private static void AssertComplete(Seeded seeded, PatientRecord record)
    {
        Assert.Empty(record.DataGaps);
        Assert.Empty(record.UnavailableData);
        Assert.Equal(seeded.ConditionIds.Order(), record.Conditions.Select(c => c.Id).Order());
        Assert.Equal(seeded.ObservationIds.Order(), record.Observations.Select(o => o.Id).Order());
        Assert.Equal(seeded.StudyId, Assert.Single(record.ImagingStudies).Id);
        Assert.Empty(record.DroppedResources);
    }

    [Fact]
    public async Task StudyWithItsModalityAtStudyLevelOnly_IsFound_AndIsTheMriTheCriteriaRead()
    {
        var seeded = await SeedAsync();
        using var factory = Factory();

        var record = await LoadAsync(factory, seeded);

        // The R4 modality search parameter indexes series.modality: the old template's filter finds nothing on a real server.
        var filtered = await env.GetFhirAsync($"ImagingStudy?patient={seeded.PatientId}&modality={Dcm}|MR");
        Assert.Empty(filtered["entry"]?.AsArray() ?? []);
        AssertComplete(seeded, record);
        var snapshot = new EligibilityEngine(EligibilityData.LoadEmbedded()).Snapshot(record, DateTimeOffset.UtcNow);
        Assert.Equal("ImagingStudy/" + seeded.StudyId, snapshot.LatestMri!.Reference);
        Assert.Equal(4, snapshot.LatestMri.SeriesCount);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("sort-ignored")]
    [InlineData("sort-refused")]
    [InlineData("count-ignored")]
    [InlineData("count-ignored+no-total")]
    [InlineData("count-ignored+relative-next")]
    [InlineData("include-other-types")]
    public async Task ServerQuirk_TheRecordIsStillReadCompletely(string quirk)
    {
        var seeded = await SeedAsync();
        using var factory = Factory();
        await env.ClearFhirRequestLogAsync();
        PatientRecord record;
        try
        {
            await env.SetFhirFaultAsync(quirk);
            record = await LoadAsync(factory, seeded);
        }
        finally
        {
            await env.SetFhirFaultAsync("none");
        }

        AssertComplete(seeded, record);
        var log = (await env.GetFhirRequestLogAsync()).Select(r => r!.AsObject()).ToList();
        var conditionPages = log.Count(r => r["path"]!.GetValue<string>() == "/Condition");
        switch (quirk)
        {
            case "sort-refused":
                // Refused with _sort, asked again without it.
                Assert.Contains(log, r => r["path"]!.GetValue<string>() == "/Observation" && r["status"]!.GetValue<int>() == 400 && r["query"]!.GetValue<string>().Contains("_sort", StringComparison.Ordinal));
                Assert.Contains(log, r => r["path"]!.GetValue<string>() == "/Observation" && r["status"]!.GetValue<int>() == 200 && !r["query"]!.GetValue<string>().Contains("_sort", StringComparison.Ordinal));
                break;
            case "sort-ignored":
                // Answered oldest first; the clinical code orders by date itself.
                var snapshot = new EligibilityEngine(EligibilityData.LoadEmbedded()).Snapshot(record, DateTimeOffset.UtcNow);
                Assert.Equal("Observation/" + seeded.ObservationIds[^1], snapshot.Afp.Reference);
                break;
            case "include-other-types":
                Assert.DoesNotContain(record.Observations, o => o.Id == "include-leftover");
                break;
            case { } q when q.StartsWith("count-ignored", StringComparison.Ordinal):
                Assert.Equal(3, conditionPages); // five Conditions, two per page, whatever _count asked
                break;
            default:
                Assert.Equal(1, conditionPages);
                break;
        }
    }

    [Fact]
    public async Task FhirServerWithATrailingSlash_LoadsEverything()
    {
        var seeded = await SeedAsync();
        using var factory = Factory();

        var record = await LoadAsync(factory, seeded, fhirServer: env.FhirBaseUrl.AbsoluteUri.TrimEnd('/') + "/");

        AssertComplete(seeded, record);
    }

    [Fact]
    public async Task PrefetchKeyTheClientDropped_IsFetched()
    {
        var seeded = await SeedAsync();
        using var factory = Factory();
        // Everything prefetched as the server has it, except "conditions", which the client left out because its query failed.
        var prefetch = new JsonObject { ["patient"] = await env.GetFhirAsync("Patient/" + seeded.PatientId) };
        foreach (var template in CdsRisk.Api.Hooks.CdsServiceCatalog.Templates.Where(t => t.Key is not "patient" and not "conditions"))
        {
            prefetch[template.Key] = await env.GetFhirAsync(template.Query.Replace("{{context.patientId}}", seeded.PatientId, StringComparison.Ordinal));
        }

        await env.ClearFhirRequestLogAsync();
        var record = await LoadAsync(factory, seeded, prefetch);

        AssertComplete(seeded, record);
        Assert.Equal(["GET /Condition"], (await env.GetFhirRequestLogAsync()).Select(r => $"{r!["method"]} {r["path"]}"));
        Assert.Equal(["Condition"], record.FetchedData);
    }
}
