using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace CdsRisk.Cli.Demo;

/// <summary>
/// The study-arrival path (issue 15 item 4): a new patient's MRI is stored in Orthanc while the service runs; Orthanc's
/// OnStableStudy script (scripts/orthanc/cdsrisk-score-on-stable-study.lua) asks the service to score it, and the first chart open
/// already has the score. The new patient is a copy of a seeded scenario (its FHIR record under a new id and MRN, its images under a
/// new StudyInstanceUID), so the demo's twelve patients are left as they are.
/// </summary>
public sealed class StudyArrivalStep(JsonObject env, string fhirBase, string fhirToken, string dicomWebBase)
{
    /// <summary>The identifier system of the PACS's PatientIDs on the demo FHIR server (Scoring:Clients:0:PatientIdentifierSystem).</summary>
    public const string MrnSystem = "https://cdsrisk.example.org/fhir/demo-mrn";

    private readonly Uri _orthanc = new((string?)env["orthancUrl"] ?? throw new DemoException("env.json has no orthancUrl"));

    public static int? CallbackPort(JsonObject env) => env["scoringCallbackPort"] is JsonValue v && v.TryGetValue<int>(out var p) ? p : null;

    /// <summary>The scoring client Orthanc's script authenticates as: its API key (from env.json) bound to the demo FHIR server.</summary>
    public static IReadOnlyDictionary<string, string> ServiceEnvironment(JsonObject env, string fhirBase, string fhirToken) => new Dictionary<string, string>
    {
        ["WriteBack__BackendClients__0__FhirServer"] = fhirBase,
        ["WriteBack__BackendClients__0__ClientId"] = "demo-pacs-backend",
        ["WriteBack__BackendClients__0__TokenUrl"] = fhirBase.TrimEnd('/') + "/token-unused",
        ["WriteBack__BackendClients__0__AccessToken"] = fhirToken,
        ["Scoring__Clients__0__Name"] = "orthanc",
        ["Scoring__Clients__0__ApiKeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes((string?)env["scoringApiKey"] ?? ""))),
        ["Scoring__Clients__0__FhirServer"] = fhirBase,
        ["Scoring__Clients__0__Credential"] = "demo-pacs-backend",
        ["Scoring__Clients__0__PatientIdentifierSystem"] = MrnSystem,
    };

    /// <summary>Records the new patient (FHIR, with the study listed), stores the study in Orthanc; the new patient's id.</summary>
    public async Task<DemoPatient> StoreStudyAsync(DemoPatient source, string bundlePath, string sourceStudyUid, CancellationToken cancellationToken)
    {
        var patientId = "arrival-" + Guid.NewGuid().ToString("N")[..8];
        var mrn = "MRN" + RandomNumberGenerator.GetInt32(10_000_000, 99_999_999).ToString(CultureInfo.InvariantCulture);
        var studyUid = NewUid();
        using var orthanc = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        var studyId = await FindStudyAsync(orthanc, sourceStudyUid, cancellationToken);
        var seriesUids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var series in JsonNode.Parse(await orthanc.GetStringAsync(new Uri(_orthanc, $"/studies/{studyId}/series"), cancellationToken))!.AsArray())
        {
            seriesUids[series!["MainDicomTags"]!["SeriesInstanceUID"]!.GetValue<string>()] = NewUid();
        }

        // The record lists the study, as the RIS/EHR records it when the exam is done; the images are not in the PACS yet.
        var bundle = JsonNode.Parse((await File.ReadAllTextAsync(bundlePath, cancellationToken))
            .Replace("{{DICOMWEB_BASE}}", dicomWebBase.TrimEnd('/'), StringComparison.Ordinal)
            .Replace(source.PatientId, patientId, StringComparison.Ordinal))!.AsObject();
        foreach (var resource in bundle["entry"]!.AsArray().Select(e => e!["resource"]).OfType<JsonObject>())
        {
            switch ((string?)resource["resourceType"])
            {
                case "Patient":
                    resource["identifier"] = new JsonArray(new JsonObject { ["system"] = MrnSystem, ["value"] = mrn });
                    break;
                case "ImagingStudy":
                    resource["identifier"] = new JsonArray(new JsonObject { ["system"] = "urn:dicom:uid", ["value"] = "urn:oid:" + studyUid });
                    foreach (var series in resource["series"]?.AsArray() ?? [])
                    {
                        series!["uid"] = seriesUids.GetValueOrDefault(series["uid"]!.GetValue<string>(), NewUid());
                    }

                    break;
            }
        }

        using (var fhir = new HttpClient { Timeout = TimeSpan.FromSeconds(60) })
        using (var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fhirBase)) { Content = new StringContent(bundle.ToJsonString(), Encoding.UTF8, "application/fhir+json") })
        {
            request.Headers.Authorization = new("Bearer", fhirToken);
            using var response = await fhir.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode) throw new DemoException($"the FHIR server refused the arrival patient's record: {(int)response.StatusCode}");
        }

        // The study arrives: each instance under the new patient's PatientID and the new UIDs, uploaded through Orthanc's REST API.
        foreach (var instance in JsonNode.Parse(await orthanc.GetStringAsync(new Uri(_orthanc, $"/studies/{studyId}/instances"), cancellationToken))!.AsArray())
        {
            var id = instance!["ID"]!.GetValue<string>();
            var series = JsonNode.Parse(await orthanc.GetStringAsync(new Uri(_orthanc, $"/instances/{id}/simplified-tags"), cancellationToken))!["SeriesInstanceUID"]!.GetValue<string>();
            var modify = new JsonObject
            {
                ["Replace"] = new JsonObject { ["PatientID"] = mrn, ["PatientName"] = "ARRIVAL^DEMO", ["StudyInstanceUID"] = studyUid, ["SeriesInstanceUID"] = seriesUids[series] },
                ["Force"] = true,
            }.ToJsonString();
            using var modifyBody = new StringContent(modify);
            using var modified = await orthanc.PostAsync(new Uri(_orthanc, $"/instances/{id}/modify"), modifyBody, cancellationToken);
            modified.EnsureSuccessStatusCode();
            using var content = new ByteArrayContent(await modified.Content.ReadAsByteArrayAsync(cancellationToken));
            content.Headers.ContentType = new("application/dicom");
            using var stored = await orthanc.PostAsync(new Uri(_orthanc, "/instances"), content, cancellationToken);
            stored.EnsureSuccessStatusCode();
        }

        return source with { Scenario = "study-arrival (" + source.Scenario + ")", PatientId = patientId };
    }

    /// <summary>Waits (at most <paramref name="patience"/>) until the service has written the RiskAssessment computed at arrival.</summary>
    public static async Task<(RiskAssessmentList Written, TimeSpan Elapsed)> WaitForScoreAsync(DemoEhr ehr, string patientId, TimeSpan patience, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var written = await ehr.RiskAssessmentsAsync(patientId, cancellationToken);
            if (written.Items.Count > 0 || clock.Elapsed > patience) return (written, clock.Elapsed);
            await Task.Delay(1000, cancellationToken);
        }
    }

    private async Task<string> FindStudyAsync(HttpClient orthanc, string studyUid, CancellationToken cancellationToken)
    {
        using var lookupBody = new StringContent(studyUid);
        using var lookup = await orthanc.PostAsync(new Uri(_orthanc, "/tools/lookup"), lookupBody, cancellationToken);
        return JsonNode.Parse(await lookup.Content.ReadAsStringAsync(cancellationToken))!.AsArray()
            .FirstOrDefault(n => (string?)n!["Type"] == "Study")?["ID"]?.GetValue<string>() ?? throw new DemoException($"study {studyUid} is not in Orthanc");
    }

    private static string NewUid() => "2.25." + new BigInteger(RandomNumberGenerator.GetBytes(15), isUnsigned: true).ToString(CultureInfo.InvariantCulture);
}
