using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Faults of the real FHIR and DICOMweb servers: a hook never answers 5xx. Without the Patient it answers 412 (CDS Hooks 2.0 §Prefetch);
/// with images that cannot be had it answers the pending card and the score is tried again later.
/// </summary>
[Collection("servers")]
public sealed class FaultTests(TestEnvironment env)
{
    [Theory]
    [InlineData("500", 0)]
    [InlineData("garbage", 0)]
    [InlineData("401", 0)]
    [InlineData("close", 0)]
    [InlineData("slow", 4000)]
    public async Task FhirServerFault_WithoutPrefetch_Answers412WithAnOperationOutcome(string mode, int delayMs)
    {
        var patient = (await SeededDemo.GetAsync(env))["low-risk"];
        using var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["Fhir:TimeoutSeconds"] = "2" });
        using var client = factory.CreateClient();
        try
        {
            await env.SetFhirFaultAsync(mode, delayMs);
            var watch = Stopwatch.StartNew();
            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId));
            Assert.Equal(HttpStatusCode.PreconditionFailed, status);
            Assert.Equal("OperationOutcome", body!["resourceType"]!.GetValue<string>());
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
        }
        finally
        {
            await env.SetFhirFaultAsync("none");
        }
    }

    [Theory]
    [InlineData("500")]
    [InlineData("truncate")]
    [InlineData("close")]
    [InlineData("garbage")]
    public async Task DicomWebFault_AnswersPending_ThenScoresOnceTheServerIsBack(string mode)
    {
        var patientId = await SeededDemo.CopyPatientAsync(env, "low-risk", "fault-" + mode + "-" + Guid.NewGuid().ToString("N")[..6], env.DicomWebProxyBaseUrl);
        var expected = (await SeededDemo.GetAsync(env))["low-risk"];
        using var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["Scoring:RetryFailedAfterSeconds"] = "0", ["DicomWeb:MaxRetries"] = "0" });
        using var client = factory.CreateClient();
        try
        {
            await env.SetDicomWebFaultAsync(mode, truncateAfterBytes: 2048);
            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patientId));
            Assert.Equal(HttpStatusCode.OK, status);
            var extension = HookCalls.Extension(body!);
            Assert.True(extension["outcome"]!.GetValue<string>() == "pending", extension.ToJsonString());
            Assert.Contains("images could not be retrieved", extension["criteria"]!["pre-score"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            await env.SetDicomWebFaultAsync("none");
        }

        var (_, after) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patientId));
        var done = HookCalls.Extension(after!);
        Assert.Equal(expected.ExpectedOutcome, done["outcome"]!.GetValue<string>());
        Assert.InRange(Math.Abs(done["preScore"]!.GetValue<double>() - expected.ReferencePre!.Value), 0, 1e-3);
    }

    [Fact]
    public async Task DicomWebSlowerThanTheBudget_AnswersPendingWithinTheBudget()
    {
        var patientId = await SeededDemo.CopyPatientAsync(env, "ineligible-age", "slow-" + Guid.NewGuid().ToString("N")[..6], env.DicomWebProxyBaseUrl);
        using var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["Pipeline:LatencyBudgetMilliseconds"] = "1500" });
        using var client = factory.CreateClient();
        try
        {
            await env.SetDicomWebFaultAsync("slow", delayMs: 5000);
            var watch = Stopwatch.StartNew();
            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patientId));
            watch.Stop();
            Assert.Equal(HttpStatusCode.OK, status);
            // Ineligible by age whatever the score: that is decided without waiting for the images.
            Assert.Equal("ineligible", HookCalls.Extension(body!)["outcome"]!.GetValue<string>());
            // Still being computed: pending, not something to record (issue 14 section 4).
            Assert.Equal("pending", HookCalls.Extension(body!)["criteria"]!["pre-score"]!["status"]!.GetValue<string>());
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        }
        finally
        {
            await env.SetDicomWebFaultAsync("none");
        }
    }

    [Fact]
    public async Task StorageLocked_TheHookStillAnswers_AndTheAuditRecordLandsLater()
    {
        var patient = (await SeededDemo.GetAsync(env))["ineligible-nyha3"];
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();
        _ = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId)); // warm: schema, score
        var hookInstance = Guid.NewGuid();

        // Another process holds the SQLite write lock for 2 s.
        await using (var locker = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(factory.Directory, "cdsrisk.db")}"))
        {
            await locker.OpenAsync();
            await using (var begin = locker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE;";
                await begin.ExecuteNonQueryAsync();
            }

            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId, hookInstance));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("ineligible", HookCalls.Extension(body!)["outcome"]!.GetValue<string>());
            await Task.Delay(500);
            await using var rollback = locker.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        HttpStatusCode auditStatus;
        do
        {
            await Task.Delay(300);
            using var audit = await client.GetAsync(new Uri($"/api/risk-assessments/{hookInstance}", UriKind.Relative));
            auditStatus = audit.StatusCode;
        }
        while (auditStatus != HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.OK, auditStatus);
    }
}
