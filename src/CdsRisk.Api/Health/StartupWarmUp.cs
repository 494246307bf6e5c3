using System.Diagnostics;
using System.Text;
using System.Text.Json;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.Core.Scoring;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Health;

/// <summary>What the start-up warm-up found: whether it is done, the model's state, and how long it took.</summary>
public sealed class WarmUpState
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Null while warming up; "ok" or the reason it failed.</summary>
    public string? Model { get; private set; }

    /// <summary>Null while warming up; "ok" or the reason it failed.</summary>
    public string? Pipeline { get; private set; }

    public TimeSpan? Elapsed { get; private set; }

    public bool IsDone => _done.Task.IsCompleted;

    /// <summary>Completes once the warm-up has run (whatever it found).</summary>
    public Task Done => _done.Task;

    internal void Finish(string model, string pipeline, TimeSpan elapsed)
    {
        Model = model;
        Pipeline = pipeline;
        Elapsed = elapsed;
        _done.TrySetResult();
    }
}

/// <summary>
/// Issue 15 item 3: the first hook after a start paid 1.5–1.8 s for what every later hook finds ready (the ONNX Runtime session,
/// Firely's model tables, the JSON metadata of the wire types, the just-in-time compiled pipeline) and so answered "pending". This
/// pays it before <c>/readyz</c> says ready: the model runs once on a blank input, and a synthetic patient-view call goes through the
/// real request reader, prefetch loader, evaluator, cards and serializer. It has no side effects: the synthetic patient has no MR
/// study (no scoring job, no score), nothing is written back, recorded or fetched, and no token is involved.
/// </summary>
internal sealed class StartupWarmUp(IServiceProvider services, WarmUpState state, ILogger<StartupWarmUp> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // the host goes on starting (and /healthz answering) while this runs
        var started = Stopwatch.GetTimestamp();
        var model = WarmModel();
        string pipeline;
        try
        {
            await services.GetRequiredService<Database>().EnsureMigratedAsync().WaitAsync(stoppingToken);
            await WarmPipelineAsync(stoppingToken);
            pipeline = "ok";
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // any failure is reported by /readyz, never lost or fatal
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // A warm-up that fails is reported by /readyz; the service still answers (each hook does what the warm-up could not).
            pipeline = "failed: " + ex.GetType().Name;
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        state.Finish(model, pipeline, elapsed);
        logger.WarmUpFinished((long)elapsed.TotalMilliseconds, model, pipeline);
    }

    private string WarmModel()
    {
        try
        {
            var scorer = services.GetRequiredService<PreScorer>();
            var pre = scorer.Score(new float[scorer.ImageLength], new ClinicalFeatureValues(new Dictionary<string, double?>()));
            return double.IsFinite(pre.Pre) ? "ok" : "failed: no probability";
        }
#pragma warning disable CA1031 // a model that cannot score is reported by /readyz (not ready), never fatal here
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return "failed: " + ex.GetType().Name + ": " + ex.Message;
        }
    }

    private async Task WarmPipelineAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var provider = scope.ServiceProvider;
        var service = CdsServiceCatalog.Find(CdsServiceCatalog.PatientViewId)!;

        // The request as a client sends it, read by the same reader, validator and loader as a hook.
        var http = new DefaultHttpContext { RequestServices = provider };
        http.Request.ContentType = "application/json";
        http.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(SyntheticRequest));
        var request = (await CdsServiceRequest.BindAsync(http))!;
        await http.Response.CompleteAsync(); // disposes the pooled body once read
        var validation = await provider.GetRequiredService<FluentValidation.IValidator<CdsServiceRequest>>().ValidateAsync(request, cancellationToken);
        if (!validation.IsValid)
        {
            throw new InvalidOperationException("the synthetic warm-up request is not valid: " + validation.Errors[0].PropertyName);
        }

        var invocation = HookInvocation.From(service, request, TimeProvider.System.GetUtcNow());
        var record = await provider.GetRequiredService<PatientRecordLoader>().LoadAsync(invocation, service.Prefetch, request.Prefetch!, cancellationToken);
        var evaluation = await provider.GetRequiredService<TrialRiskEvaluator>().EvaluateAsync(record, invocation, cancellationToken);
        var response = provider.GetRequiredService<HookCards>().Build(invocation, record, evaluation, null);
        var json = provider.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        _ = JsonSerializer.SerializeToUtf8Bytes(response, json);

        // Firely's parser for the types a hook meets that the synthetic patient does not carry, its serializer as the write-back
        // uses it, and the storage read a hook makes first (the stored score).
        _ = FhirJson.TryParse(Encoding.UTF8.GetBytes(OtherResources), out _, out _);
        _ = new FhirJsonSerializer().SerializeToString(record.Patient);
        _ = await provider.GetRequiredService<ScoreCacheStore>().GetAsync("warm-up", cancellationToken);
        _ = provider.GetRequiredService<FhirFetchClient>(); // the typed client's handler chain and resilience pipeline

        // The token check's code path (Microsoft.IdentityModel, ECDSA): a throwaway key and token, checked against nothing else.
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        var signing = new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(key) { KeyId = "warm-up" };
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { MapInboundClaims = false };
        var jwt = handler.CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = "urn:cdsrisk:warm-up", Audience = "urn:cdsrisk:warm-up", Expires = DateTime.UtcNow.AddMinutes(1),
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(signing, "ES384"),
        });
        _ = await handler.ValidateTokenAsync(jwt, new Microsoft.IdentityModel.Tokens.TokenValidationParameters
        {
            ValidIssuer = "urn:cdsrisk:warm-up", ValidAudience = "urn:cdsrisk:warm-up", IssuerSigningKey = signing,
        });
    }

    private const string OtherResources = """
        {"resourceType":"Bundle","type":"collection","entry":[
         {"resource":{"resourceType":"AllergyIntolerance","id":"w1","patient":{"reference":"Patient/warm-up"},"code":{"text":"warm-up"}}},
         {"resource":{"resourceType":"MedicationStatement","id":"w2","status":"active","subject":{"reference":"Patient/warm-up"},"medicationCodeableConcept":{"text":"warm-up"}}},
         {"resource":{"resourceType":"MedicationRequest","id":"w3","status":"draft","intent":"order","subject":{"reference":"Patient/warm-up"},"medicationCodeableConcept":{"text":"warm-up"}}},
         {"resource":{"resourceType":"Procedure","id":"w4","status":"completed","subject":{"reference":"Patient/warm-up"},"code":{"text":"warm-up"}}},
         {"resource":{"resourceType":"ServiceRequest","id":"w5","status":"active","intent":"order","subject":{"reference":"Patient/warm-up"},"code":{"text":"warm-up"}}},
         {"resource":{"resourceType":"Appointment","id":"w6","status":"booked","participant":[{"actor":{"reference":"Patient/warm-up"},"status":"accepted"}]}},
         {"resource":{"resourceType":"ImagingStudy","id":"w7","status":"available","subject":{"reference":"Patient/warm-up"},"started":"2025-01-01",
           "identifier":[{"system":"urn:dicom:uid","value":"urn:oid:2.25.1"}],"modality":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"MR"}],
           "series":[{"uid":"2.25.2","number":1,"modality":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"MR"},"description":"warm-up"}]}},
         {"resource":{"resourceType":"Endpoint","id":"w8","status":"active","connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"dicom-wado-rs"},
           "payloadType":[{"text":"DICOM"}],"address":"http://127.0.0.1/dicom-web"}},
         {"resource":{"resourceType":"RiskAssessment","id":"w9","status":"preliminary","subject":{"reference":"Patient/warm-up"}}}]}
        """;

    // A synthetic adult with hepatocellular carcinoma on record and no MR study: every prefetch key given (nothing to fetch).
    private const string SyntheticRequest = """
        {"hook":"patient-view","hookInstance":"00000000-0000-4000-8000-000000000000",
         "context":{"userId":"Practitioner/warm-up","patientId":"warm-up"},
         "prefetch":{
          "patient":{"resourceType":"Patient","id":"warm-up","gender":"female","birthDate":"1960-01-01"},
          "conditions":{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Condition","id":"warm-up-hcc",
            "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
            "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
            "code":{"coding":[{"system":"http://snomed.info/sct","code":"109841003"}]},"subject":{"reference":"Patient/warm-up"}}}]},
          "labs":{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"warm-up-alb","status":"final",
            "code":{"coding":[{"system":"http://loinc.org","code":"1751-7"}]},"subject":{"reference":"Patient/warm-up"},
            "effectiveDateTime":"2025-01-01","valueQuantity":{"value":40,"unit":"g/L","system":"http://unitsofmeasure.org","code":"g/L"}}}]},
          "clinical-observations":null,"allergies":null,"medication-statements":null,"medication-requests":null,"procedures":null,
          "service-requests":null,"appointments":null,"mr-imaging-studies":null}}
        """;
}
