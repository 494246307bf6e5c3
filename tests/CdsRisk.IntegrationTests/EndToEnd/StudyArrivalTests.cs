using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Issue 15 item 4: the study is scored when it arrives, not when the chart opens. Orthanc (the test PACS) runs the shipped Lua
/// script (scripts/orthanc/cdsrisk-score-on-stable-study.lua), whose OnStableStudy callback posts the DICOM PatientID and
/// StudyInstanceUID to <c>/api/scoring-jobs</c> with an API key; the service runs as its own process on the loopback port Orthanc is
/// configured to call, resolves the FHIR Patient by identifier, scores the study and stores the score.
/// </summary>
[Collection("servers")]
public sealed class StudyArrivalTests(TestEnvironment env)
{
    /// <summary>One service at a time on the port Orthanc calls.</summary>
    private static readonly SemaphoreSlim CallbackPort = new(1, 1);

    [Fact]
    public async Task StudyStoredInOrthanc_IsScoredOnArrival_AndTheFirstPatientViewAnswersWithTheScore()
    {
        var seeded = (await SeededDemo.GetAsync(env))["eligible-dynamic-layout"];
        var system = "urn:cdsrisk:test:mrn:" + Guid.NewGuid().ToString("N");
        var mrn = "MRN-" + Guid.NewGuid().ToString("N")[..12];
        var studyUid = NewUid();
        var seriesUids = (await env.GetSeriesInstanceUidsAsync(seeded.StudyInstanceUid)).ToDictionary(uid => uid, _ => NewUid(), StringComparer.Ordinal);
        // The patient's record lists the new study (as the RIS/EHR records it when the exam is ordered and done), with its series.
        var patientId = await SeededDemo.CopyPatientAsync(env, seeded.Scenario, "arrival-" + Guid.NewGuid().ToString("N")[..12], env.DicomWebBaseUrl,
            editImagingStudy: study =>
            {
                study["identifier"] = new JsonArray(new JsonObject { ["system"] = "urn:dicom:uid", ["value"] = "urn:oid:" + studyUid });
                foreach (var series in study["series"]?.AsArray() ?? [])
                {
                    series!["uid"] = seriesUids.GetValueOrDefault(series["uid"]!.GetValue<string>(), NewUid());
                }
            },
            editPatient: patient => patient["identifier"] = new JsonArray(new JsonObject { ["system"] = system, ["value"] = mrn }));

        await CallbackPort.WaitAsync();
        var work = Directory.CreateTempSubdirectory("cdsrisk-arrival-").FullName;
        try
        {
            using var client = new TestCdsClient();
            await using var service = await ServiceProcess.StartAsync(env, client, Path.Combine(work, "cdsrisk.db"), env.ScoringCallbackPort, ScoringClient(system, env.ScoringApiKey));
            await service.WaitUntilReadyAsync();

            // The study arrives: uploaded instance by instance through Orthanc's REST API. Nobody calls the service but Orthanc.
            Assert.True(await env.UploadStudyCopyAsync(seeded.StudyInstanceUid, mrn, studyUid, seriesUids) > 0);

            // Scored and written back without any hook: the RiskAssessment appears on the FHIR server.
            var written = await HookCalls.WaitForSearchAsync(env, $"RiskAssessment?subject=Patient/{patientId}", b => HookCalls.Total(b) >= 1, TimeSpan.FromMinutes(3));
            Assert.True(HookCalls.Total(written) == 1, "no RiskAssessment was written after the study arrived; service log:\n" + service.Output);

            // The first chart open, under the default latency budget: the score, never "pending".
            var url = new Uri(service.BaseUrl, HookCalls.PatientView);
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(HookCalls.PatientViewRequest(env, patientId)) };
            request.Headers.Authorization = new("Bearer", client.CreateToken(url));
            using var response = await service.Http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            var extension = HookCalls.Extension((JsonNode.Parse(body) as JsonObject)!);
            Assert.Equal(seeded.ExpectedOutcome, extension["outcome"]!.GetValue<string>());
            Assert.InRange(Math.Abs(extension["preScore"]!.GetValue<double>() - seeded.ReferencePre!.Value), 0, 1e-3);

            // No PHI in the log: neither the DICOM PatientID nor the FHIR patient id.
            Assert.DoesNotContain(mrn, service.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(patientId, service.Output, StringComparison.Ordinal);
        }
        finally
        {
            CallbackPort.Release();
            Directory.Delete(work, recursive: true);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task StudyOfAPatientNotResolved_IsKeptAsAFailedJobWithTheReason_AndThePatientIdIsNotLogged(int patientsWithTheIdentifier)
    {
        var system = "urn:cdsrisk:test:mrn:" + Guid.NewGuid().ToString("N");
        var mrn = "MRN-" + Guid.NewGuid().ToString("N")[..12];
        for (var i = 0; i < patientsWithTheIdentifier; i++)
        {
            await env.CreateFhirResourceAsync(new JsonObject
            {
                ["resourceType"] = "Patient",
                ["identifier"] = new JsonArray(new JsonObject { ["system"] = system, ["value"] = mrn }),
            });
        }

        var apiKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var work = Directory.CreateTempSubdirectory("cdsrisk-arrival-").FullName;
        try
        {
            using var client = new TestCdsClient();
            await using var service = await ServiceProcess.StartAsync(env, client, Path.Combine(work, "cdsrisk.db"), settings: ScoringClient(system, apiKey));
            await service.WaitUntilReadyAsync();
            service.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", apiKey);

            using var created = await service.Http.PostAsJsonAsync(new Uri("/api/scoring-jobs", UriKind.Relative),
                new { dicomPatientId = mrn, studyInstanceUid = "2.25.1234567890" });
            var body = await created.Content.ReadAsStringAsync();
            Assert.True(created.StatusCode == HttpStatusCode.Accepted, body);
            var job = JsonNode.Parse(body)!;
            Assert.Equal("failed", job["state"]!.GetValue<string>());

            var kept = JsonNode.Parse(await service.Http.GetStringAsync(created.Headers.Location!))!;
            Assert.Equal("failed", kept["state"]!.GetValue<string>());
            var reason = kept["error"]!.GetValue<string>();
            Assert.Contains(patientsWithTheIdentifier == 0 ? "no Patient" : "several Patients", reason, StringComparison.Ordinal);
            Assert.Contains(system, reason, StringComparison.Ordinal);

            Assert.Contains(job["id"]!.GetValue<string>(), service.Output, StringComparison.Ordinal); // logged, by job id
            Assert.DoesNotContain(mrn, service.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(mrn, reason, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string NewUid() => "2.25." + new BigInteger(RandomNumberGenerator.GetBytes(15), isUnsigned: true);

    /// <summary>An API-key scoring client bound to the test FHIR server, its DICOM PatientIDs recorded under <paramref name="system"/>.</summary>
    private Dictionary<string, string> ScoringClient(string system, string apiKey) => new()
    {
        ["WriteBack:BackendClients:0:FhirServer"] = env.FhirBaseUrl.AbsoluteUri,
        ["WriteBack:BackendClients:0:ClientId"] = "pacs-backend",
        ["WriteBack:BackendClients:0:TokenUrl"] = env.FhirBaseUrl.AbsoluteUri + "token-unused",
        ["WriteBack:BackendClients:0:AccessToken"] = env.FhirToken,
        ["WriteBack:PollSeconds"] = "1",
        ["Scoring:PollSeconds"] = "1",
        ["Scoring:Clients:0:Name"] = "orthanc",
        ["Scoring:Clients:0:ApiKeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey))),
        ["Scoring:Clients:0:FhirServer"] = env.FhirBaseUrl.AbsoluteUri,
        ["Scoring:Clients:0:Credential"] = "pacs-backend",
        ["Scoring:Clients:0:PatientIdentifierSystem"] = system,
    };
}
