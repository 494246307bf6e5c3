using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Imaging however the EHR recorded it (issue 15 item 5, DICOM side) and a study on a server the service may not read (issue 13
/// item 20), hook to card against the real FHIR server and Orthanc. Each test copies a seeded patient and edits its ImagingStudy.
/// </summary>
[Collection("servers")]
public sealed class ImagingAsRecordedTests(TestEnvironment env)
{
    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private static JsonObject Criterion(JsonObject extension, string id) => extension["criteria"]![id]!.AsObject();

    private static string Status(JsonObject extension, string id) => Criterion(extension, id)["status"]!.GetValue<string>();

    private static string Reason(JsonObject extension, string id) => Criterion(extension, id)["reason"]!.GetValue<string>();

    /// <summary>Calls patient-view until the answer is no longer "pending" (the score is computed in the background).</summary>
    private async Task<JsonObject> SettledAsync(HttpClient client, string patientId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patientId));
            Assert.Equal(HttpStatusCode.OK, status);
            var extension = HookCalls.Extension(body!);
            if (extension["outcome"]!.GetValue<string>() != "pending" || DateTime.UtcNow > deadline)
            {
                return extension;
            }

            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task DicomWebServerNotAllowed_AnswersNeedsDataSayingTheImagesCannotBeRead_NeverPending()
    {
        var patientId = await SeededDemo.CopyPatientAsync(env, "eligible-high-risk", NewId("not-allowed"), new Uri("http://127.0.0.1:9/dicom-web"));
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();

        for (var call = 0; call < 2; call++)
        {
            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patientId));
            Assert.Equal(HttpStatusCode.OK, status);
            var extension = HookCalls.Extension(body!);
            Assert.Equal("needs-data", extension["outcome"]!.GetValue<string>());
            Assert.Equal("unknown", Status(extension, "mri-4-phase"));
            Assert.Contains("the MR images are on a server this service is not allowed to read", Reason(extension, "mri-4-phase"), StringComparison.Ordinal);
            Assert.DoesNotContain("being computed", body!.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("eligible-high-risk", true)]
    [InlineData("eligible-dynamic-layout", false)]
    public async Task ImagingStudyListingOneSeries_IsJudgedFromTheImages_NeverFromTheSeriesCount(string scenario, bool trimToOneSeries)
    {
        var expected = (await SeededDemo.GetAsync(env))[scenario];
        var patientId = await SeededDemo.CopyPatientAsync(env, scenario, NewId("one-series"), env.DicomWebBaseUrl, study =>
        {
            if (trimToOneSeries)
            {
                var series = study["series"]!.AsArray();
                while (series.Count > 1)
                {
                    series.RemoveAt(series.Count - 1);
                }

                study["numberOfSeries"] = 1;
            }

            Assert.Single(study["series"]!.AsArray());
        });
        using var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["Pipeline:LatencyBudgetMilliseconds"] = "50", ["Pipeline:ReserveMilliseconds"] = "0" });
        using var client = factory.CreateClient();

        // While the images are read: pending, and the MRI criterion waits for them instead of counting series.
        var (_, first) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patientId));
        var pending = HookCalls.Extension(first!);
        Assert.Equal("pending", pending["outcome"]!.GetValue<string>());
        Assert.Equal("pending", Status(pending, "mri-4-phase"));
        Assert.DoesNotContain("fewer than", Reason(pending, "mri-4-phase"), StringComparison.Ordinal);
        Assert.DoesNotContain("1 series", Reason(pending, "mri-4-phase"), StringComparison.Ordinal);

        var settled = await SettledAsync(client, patientId);
        Assert.Equal(expected.ExpectedOutcome, settled["outcome"]!.GetValue<string>());
        Assert.Equal("pass", Status(settled, "mri-4-phase"));
        Assert.Contains("all four phases found", Reason(settled, "mri-4-phase"), StringComparison.Ordinal);
        Assert.InRange(Math.Abs(settled["preScore"]!.GetValue<double>() - expected.ReferencePre!.Value), 0, 1e-3);
    }

    [Theory]
    [InlineData("eligible-high-risk")]
    [InlineData("needs-data-mri-old")]
    public async Task ImagingStudyWithoutStarted_IsCheckedAgainstTheWindowOnTheDicomStudyDate(string scenario)
    {
        var expected = (await SeededDemo.GetAsync(env))[scenario];
        var patientId = await SeededDemo.CopyPatientAsync(env, scenario, NewId("no-started"), env.DicomWebBaseUrl, study => study.Remove("started"));
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();

        var settled = await SettledAsync(client, patientId);
        Assert.Equal(expected.ExpectedOutcome, settled["outcome"]!.GetValue<string>());
        Assert.Equal(expected.ExpectedCriteria["mri-4-phase"], Status(settled, "mri-4-phase"));
        Assert.Contains("DICOM Study Date", Reason(settled, "mri-4-phase"), StringComparison.Ordinal);
        if (expected.ExpectedCriteria["mri-4-phase"] == "unknown")
        {
            Assert.Contains("days old: needed within 31 days", Reason(settled, "mri-4-phase"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ImagingStudyWithoutEndpoint_IsReadFromDicomWebBaseUrl_OrSaysWhereImagesAreMissing()
    {
        var expected = (await SeededDemo.GetAsync(env))["eligible-high-risk"];
        var patientId = await SeededDemo.CopyPatientAsync(env, "eligible-high-risk", NewId("no-endpoint"), env.DicomWebBaseUrl, study => study.Remove("endpoint"));

        using (var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["DicomWeb:BaseUrl"] = env.DicomWebBaseUrl.AbsoluteUri }))
        using (var client = factory.CreateClient())
        {
            var settled = await SettledAsync(client, patientId);
            Assert.Equal(expected.ExpectedOutcome, settled["outcome"]!.GetValue<string>());
            Assert.InRange(Math.Abs(settled["preScore"]!.GetValue<double>() - expected.ReferencePre!.Value), 0, 1e-3);
        }

        using (var factory = new ServiceFactory(env))
        using (var client = factory.CreateClient())
        {
            var (_, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patientId));
            var extension = HookCalls.Extension(body!);
            Assert.Equal("needs-data", extension["outcome"]!.GetValue<string>());
            Assert.Contains("does not say where its images are", Reason(extension, "mri-4-phase"), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SeriesListedButNotOnThePacs_AreNamed_AndTheStudyIsReadFromWhatThePacsHas(bool onlyMissingSeriesListed)
    {
        const string ghost = "1.2.826.0.1.3680043.10.1437.999.4242";
        var expected = (await SeededDemo.GetAsync(env))["eligible-high-risk"];
        var patientId = await SeededDemo.CopyPatientAsync(env, "eligible-high-risk", NewId("ghost-series"), env.DicomWebBaseUrl, study =>
        {
            var series = study["series"]!.AsArray();
            if (onlyMissingSeriesListed)
            {
                series.Clear();
            }

            series.Add(new JsonObject
            {
                ["uid"] = ghost,
                ["number"] = 99,
                ["modality"] = new JsonObject { ["system"] = "http://dicom.nema.org/resources/ontology/DCM", ["code"] = "MR" },
            });
            study["numberOfSeries"] = series.Count;
        });
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();

        var settled = await SettledAsync(client, patientId);
        Assert.Equal(expected.ExpectedOutcome, settled["outcome"]!.GetValue<string>());
        Assert.Equal("pass", Status(settled, "mri-4-phase"));
        var reason = Reason(settled, "mri-4-phase");
        Assert.Contains("series 99 listed in the MRI record but not on the image server", reason, StringComparison.Ordinal);
        Assert.DoesNotContain(ghost, reason, StringComparison.Ordinal);
    }
}
