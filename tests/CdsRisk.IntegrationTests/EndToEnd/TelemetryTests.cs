using System.Diagnostics;
using System.Net;
using CdsRisk.Api.Diagnostics;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Issue 16, observability: one hook's spans (each pipeline stage, the HTTP server span, the FHIR fetches) and metrics through the
/// in-memory exporter, and no patient identifier or token in any attribute.
/// </summary>
[Collection("servers")]
public sealed class TelemetryTests(TestEnvironment env)
{
    [Fact]
    public async Task OneHook_GivesASpanPerStage_AndItsMetrics_WithoutPatientIdsOrTokens()
    {
        var patient = await SeededDemo.CopyPatientAsync(env, "eligible-high-risk", "otel-" + Guid.NewGuid().ToString("N")[..10], env.DicomWebBaseUrl);
        // The EHR's W3C trace context (sampled). The HTTP and ASP.NET Core instrumentations listen process-wide, so only this
        // trace is recorded: spans of tests running beside this one never reach the list.
        var traceId = ActivityTraceId.CreateRandom();
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var factory = new ServiceFactory(env, new Dictionary<string, string?> { ["Telemetry:Enabled"] = "true" });
        using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
        {
            services.ConfigureOpenTelemetryTracerProvider(t => t.SetSampler(new OnlyTrace(traceId)).AddInMemoryExporter(spans));
            services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(metrics));
        }));
        using var client = app.CreateClient();

        client.DefaultRequestHeaders.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");

        // No prefetch: every key is fetched from the FHIR server, so the outgoing HTTP spans name the patient's resources.
        var (status, _) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient));
        Assert.Equal(HttpStatusCode.OK, status);
        app.Services.GetRequiredService<TracerProvider>().ForceFlush();
        app.Services.GetRequiredService<MeterProvider>().ForceFlush();

        var mine = spans.ToList();
        Assert.All(mine, s => Assert.Equal(traceId, s.TraceId));

        var hook = mine.SingleOrDefault(s => s.OperationName == "hook");
        Assert.True(hook is not null, "no hook span among: " + string.Join("; ", mine.Select(s => $"{s.Source.Name}/{s.OperationName}/{s.DisplayName}/{s.Kind} parent {s.ParentSpanId}")));
        var stages = mine.Where(s => s.ParentSpanId == hook.SpanId).Select(s => s.OperationName).ToList();
        Assert.Equal(["load-patient-data", "evaluate", "queue-write-back", "cards", "record"], stages);
        var server = Assert.Single(mine, s => s.Kind == ActivityKind.Server);
        Assert.StartsWith("POST", server.DisplayName, StringComparison.Ordinal);
        Assert.Equal(server.SpanId, hook.ParentSpanId);
        var fetches = mine.Where(s => s.Kind == ActivityKind.Client).ToList();
        Assert.NotEmpty(fetches);
        Assert.Contains(fetches, f => (f.GetTagItem("url.full") as string)?.Contains("/Patient/{id}", StringComparison.Ordinal) == true);
        Assert.All(fetches, f => Assert.Equal("GET", f.DisplayName));

        // Nothing that names the patient, the user's token or a query string, in any span of the run.
        foreach (var span in mine)
        {
            Assert.DoesNotContain(patient, span.DisplayName, StringComparison.Ordinal);
            foreach (var (key, value) in span.TagObjects)
            {
                var text = value?.ToString() ?? "";
                Assert.False(text.Contains(patient, StringComparison.Ordinal), $"{span.OperationName}: {key} names the patient");
                Assert.False(text.Contains(env.FhirToken, StringComparison.Ordinal), $"{span.OperationName}: {key} carries the token");
                Assert.False(key == "url.full" && text.Contains('?', StringComparison.Ordinal), $"{span.OperationName}: url.full keeps its query");
            }
        }

        var duration = Assert.Single(metrics, m => m.Name == "cdsrisk.hook.duration");
        var outcomes = new List<string>();
        foreach (ref readonly var point in duration.GetMetricPoints())
        {
            foreach (var tag in point.Tags)
            {
                if (tag.Key == "cdsrisk.outcome")
                {
                    outcomes.Add((string)tag.Value!);
                }
            }
        }

        // Meters are matched by name, so hooks of hosts running beside this one may add points; this one's outcome is among them.
        Assert.Contains("eligible", outcomes);
        Assert.Contains(metrics, m => m.Name == "cdsrisk.evaluation_cache.requests");
        Assert.Contains(metrics, m => m.Name == "cdsrisk.scoring.job.duration");
        Assert.Contains(metrics, m => m.Name == "http.server.request.duration");
    }

    [Theory]
    [InlineData("http://ehr.test/fhir/Patient/p-123", "http://ehr.test/fhir/Patient/{id}")]
    [InlineData("http://ehr.test/fhir/Condition?patient=p-123&_count=200", "http://ehr.test/fhir/Condition")]
    [InlineData("http://pacs.test/dicom-web/studies/1.2.840.1/series/1.2.840.2", "http://pacs.test/dicom-web/studies/{id}/series/{id}")]
    [InlineData("/api/risk-assessments/6f1c2a8e-1d1b-4a51-9c37-7f0e2b6d1a44", "/api/risk-assessments/{id}")]
    [InlineData("/cds-services/nct07282184-patient-view", "/cds-services/nct07282184-patient-view")]
    [InlineData("GET", "GET")]
    public void Urls_AreScrubbedOfIdsAndQueries(string url, string expected) =>
        Assert.Equal(expected, TelemetryServiceCollectionExtensions.ScrubUrl(url));

    private sealed class OnlyTrace(ActivityTraceId traceId) : Sampler
    {
        public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
            new(samplingParameters.TraceId == traceId ? SamplingDecision.RecordAndSample : SamplingDecision.Drop);
    }
}
