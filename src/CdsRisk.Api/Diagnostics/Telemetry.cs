using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.RegularExpressions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CdsRisk.Api.Diagnostics;

/// <summary>
/// The service's own metrics (meter <c>CdsRisk</c>). Tags carry kinds and outcomes, FHIR server hosts and error types only — never a
/// patient, a user, a token or a resource id.
/// </summary>
public sealed partial class CdsRiskMetrics
{
    public const string MeterName = "CdsRisk";

    private readonly Histogram<double> _hookDuration;
    private readonly Counter<long> _evaluationCache;
    private readonly Histogram<double> _jobDuration;
    private readonly Counter<long> _writeBackFailures;
    private readonly Counter<long> _writeBackWritten;
    private int _scoringQueueDepth;
    private long _outboxDepth;
    private double _outboxOldestAgeSeconds;

    public CdsRiskMetrics(IMeterFactory meters)
    {
#pragma warning disable CA2000 // the meter belongs to the IMeterFactory, which disposes it with the container
        var meter = meters.Create(MeterName);
#pragma warning restore CA2000
        _hookDuration = meter.CreateHistogram<double>("cdsrisk.hook.duration", "s", "Time to answer a hook call, by hook and outcome.");
        _evaluationCache = meter.CreateCounter<long>("cdsrisk.evaluation_cache.requests", "{request}", "Evaluations asked of the evaluation cache, by result (hit, miss, bypass).");
        _jobDuration = meter.CreateHistogram<double>("cdsrisk.scoring.job.duration", "s", "Time a scoring job ran in this process, by result.");
        _writeBackFailures = meter.CreateCounter<long>("cdsrisk.writeback.failures", "{attempt}", "Write-back attempts that failed, by FHIR server host and error type.");
        _writeBackWritten = meter.CreateCounter<long>("cdsrisk.writeback.written", "{resource}", "RiskAssessment transactions written, by FHIR server host.");
        meter.CreateObservableGauge("cdsrisk.scoring.queue.depth", () => Volatile.Read(ref _scoringQueueDepth), "{job}", "Scoring jobs running or waiting for a slot in this process.");
        meter.CreateObservableGauge("cdsrisk.outbox.depth", () => Interlocked.Read(ref _outboxDepth), "{item}", "Outbox items waiting to be written, at the last drain.");
        meter.CreateObservableGauge("cdsrisk.outbox.oldest_age", () => Volatile.Read(ref _outboxOldestAgeSeconds), "s", "Age of the oldest outbox item waiting, at the last drain.");
    }

    public void HookAnswered(string hook, string outcome, TimeSpan elapsed) =>
        _hookDuration.Record(elapsed.TotalSeconds, new("cds.hook", hook), new("cdsrisk.outcome", outcome));

    /// <summary><paramref name="result"/>: hit, miss (evaluated and kept or not keepable) or bypass (fetched data, cache off).</summary>
    public void EvaluationCache(string result) => _evaluationCache.Add(1, new KeyValuePair<string, object?>("result", result));

    public void ScoringJobFinished(string result, TimeSpan elapsed) =>
        _jobDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("result", result));

    public void ScoringQueueDepth(int depth) => Volatile.Write(ref _scoringQueueDepth, depth);

    public void OutboxState(long depth, TimeSpan oldest)
    {
        Interlocked.Exchange(ref _outboxDepth, depth);
        Volatile.Write(ref _outboxOldestAgeSeconds, Math.Max(0, oldest.TotalSeconds));
    }

    public void WriteBackFailed(string fhirServer, string error) =>
        _writeBackFailures.Add(1, new("server.address", HostOf(fhirServer)), new("error.type", ErrorType(error)));

    public void WriteBackWritten(string fhirServer) => _writeBackWritten.Add(1, new KeyValuePair<string, object?>("server.address", HostOf(fhirServer)));

    private static string HostOf(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.Authority : "?";

    // A short, fixed vocabulary: "HTTP 503", "connection", "timeout", "credential", "other".
    private static string ErrorType(string error) => error switch
    {
        _ when error.StartsWith("HTTP ", StringComparison.Ordinal) => error.Length <= 8 ? error : error[..8],
        _ when error.StartsWith("connection", StringComparison.Ordinal) => "connection",
        _ when error.StartsWith("no answer", StringComparison.Ordinal) => "timeout",
        _ when error.StartsWith("no credential", StringComparison.Ordinal) => "credential",
        _ => "other",
    };
}

/// <summary>
/// <c>AddCdsRiskTelemetry()</c>: traces (the pipeline's stages, scoring jobs, DICOMweb, ASP.NET Core, outgoing HTTP) and metrics
/// (<see cref="CdsRiskMetrics"/>, ASP.NET Core, HttpClient), exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// Without it nothing is collected or exported (<c>Telemetry:Enabled=true</c> collects for an exporter added in code, as the tests do).
/// URLs are scrubbed before they become attributes: FHIR searches and reads name patients.
/// </summary>
public static partial class TelemetryServiceCollectionExtensions
{
    public const string ServiceName = "cdsrisk";

    /// <summary>Every ActivitySource of the service.</summary>
    public static readonly IReadOnlyList<string> Sources = ["CdsRisk.Api.Pipeline", "CdsRisk.Scoring", "CdsRisk.DicomWeb"];

    public static IServiceCollection AddCdsRiskTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddMetrics();
        services.AddSingleton<CdsRiskMetrics>();

        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!otlp && !configuration.GetValue<bool>("Telemetry:Enabled"))
        {
            return services;
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName, serviceVersion: typeof(TelemetryServiceCollectionExtensions).Assembly.GetName().Version?.ToString()))
            .WithTracing(tracing => tracing
                .AddSource([.. Sources])
                .AddAspNetCoreInstrumentation(o =>
                {
                    o.EnrichWithHttpRequest = (activity, request) => Scrub(activity);
                    o.RecordException = false;
                })
                .AddHttpClientInstrumentation(o =>
                {
                    o.EnrichWithHttpRequestMessage = (activity, request) => Scrub(activity);
                    o.RecordException = false;
                }))
            .WithMetrics(metrics => metrics
                .AddMeter(CdsRiskMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation());
        if (otlp)
        {
            telemetry.UseOtlpExporter();
        }

        return services;
    }

    /// <summary>Replaces the URL attributes of an HTTP span by a form without ids or queries.</summary>
    internal static void Scrub(Activity activity)
    {
        foreach (var name in new[] { "url.full", "url.path", "http.url", "http.target" })
        {
            if (activity.GetTagItem(name) is string value)
            {
                activity.SetTag(name, ScrubUrl(value));
            }
        }

        activity.SetTag("url.query", null);

        // The display name is "GET" or "GET {route or path}": only the path part is scrubbed.
        var display = activity.DisplayName;
        var space = display.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0 && space + 1 < display.Length)
        {
            activity.DisplayName = string.Concat(display.AsSpan(0, space + 1), ScrubUrl(display[(space + 1)..]));
        }
        else if (display.Contains('/', StringComparison.Ordinal))
        {
            activity.DisplayName = ScrubUrl(display);
        }
    }

    /// <summary>
    /// Drops the query and fragment, and every path segment that could name a patient or a study: the id after a FHIR resource
    /// type, DICOM UIDs and numbers, UUIDs and long tokens.
    /// </summary>
    public static string ScrubUrl(string url)
    {
        var cut = url.IndexOfAny(['?', '#']);
        if (cut >= 0)
        {
            url = url[..cut];
        }

        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        var pathStart = scheme < 0 ? url.IndexOf('/', StringComparison.Ordinal) : url.IndexOf('/', scheme + 3);
        if (pathStart < 0)
        {
            return url;
        }

        var result = new StringBuilder(url.Length).Append(url.AsSpan(0, pathStart));
        var afterResourceType = false;
        foreach (var segment in url[(pathStart + 1)..].Split('/'))
        {
            result.Append('/');
            if (afterResourceType || Identifier().IsMatch(segment))
            {
                result.Append("{id}");
                afterResourceType = false;
                continue;
            }

            result.Append(segment);
            afterResourceType = ResourceType().IsMatch(segment) && segment is not ("Metadata" or "Bundle");
        }

        return result.ToString();
    }

    // A FHIR resource type (Patient, Observation, RiskAssessment …): the next segment is an id.
    [GeneratedRegex("^[A-Z][a-zA-Z]{2,40}$")]
    private static partial Regex ResourceType();

    // A DICOM UID or a number, a UUID or a long hex or base64url token: an identifier, never a fixed word of a route.
    [GeneratedRegex("^[0-9.]+$|^[0-9a-fA-F-]{32,36}$|^[A-Za-z0-9_-]{40,}$")]
    private static partial Regex Identifier();
}
