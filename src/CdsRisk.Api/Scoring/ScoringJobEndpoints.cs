using System.Net.Http.Headers;
using CdsRisk.Api.Audit;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Scoring;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Scoring;

/// <summary>Ask for a patient's PRE score ahead of the hooks (e.g. when the MRI arrives).</summary>
public sealed record ScoringJobRequest
{
    /// <summary>The patient's logical id on <see cref="FhirServer"/>.</summary>
    public string? PatientId { get; init; }

    /// <summary>FHIR base URL (must be on Fhir:AllowedServers).</summary>
    public string? FhirServer { get; init; }

    /// <summary>ClientId of the WriteBack:BackendClients entry to read and write with.</summary>
    public string? Credential { get; init; }

    /// <summary>Score this study (Study Instance UID); by default the latest MR ImagingStudy.</summary>
    public string? StudyInstanceUid { get; init; }
}

public sealed class ScoringJobRequestValidator : AbstractValidator<ScoringJobRequest>
{
    public ScoringJobRequestValidator()
    {
        RuleFor(r => r.PatientId).NotEmpty().Matches("^[A-Za-z0-9\\-\\.]{1,64}$").WithMessage("patientId must be a FHIR logical id.");
        RuleFor(r => r.FhirServer).NotEmpty().Must(s => Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")
            .WithMessage("fhirServer must be an absolute http(s) URL.");
        RuleFor(r => r.Credential).NotEmpty();
        RuleFor(r => r.StudyInstanceUid).Matches("^[0-9.]{1,64}$").When(r => r.StudyInstanceUid is not null).WithMessage("studyInstanceUid must be a DICOM UID.");
    }
}

/// <summary>A scoring job as integrators see it.</summary>
public sealed record ScoringJobView
{
    public required string Id { get; init; }
    /// <summary><c>queued</c>, <c>running</c>, <c>succeeded</c> or <c>failed</c>.</summary>
    public required string State { get; init; }
    /// <summary>The stage reached, e.g. <c>retrieving images</c>, <c>scoring</c>, <c>done</c>.</summary>
    public required string Progress { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required DateTimeOffset Updated { get; init; }
    public int Attempts { get; init; }
    public double? PreScore { get; init; }
    public ModelReference? Model { get; init; }
    public IReadOnlyList<string>? ImagingRefusals { get; init; }
    public string? Error { get; init; }

    internal static ScoringJobView From(ScoringJobRow row)
    {
        var outcome = row.ResultJson is { } json ? ScoringJson.ReadOutcome(json) : null;
        return new ScoringJobView
        {
            Id = row.Id,
            State = row.State,
            Progress = row.Progress,
            Created = row.Created,
            Updated = row.Updated,
            Attempts = row.Attempts,
            PreScore = outcome?.Pre,
            Model = outcome?.ModelId is { } id ? new ModelReference { Id = id, Version = outcome.ModelVersion ?? "", Sha256 = outcome.ModelSha256 ?? "" } : null,
            ImagingRefusals = outcome?.Refusals is { Count: > 0 } r ? r : null,
            Error = row.Error ?? outcome?.TransientError,
        };
    }
}

public static class ScoringJobEndpoints
{
    public const string Tag = "Scoring jobs";

    public static IEndpointRouteBuilder MapScoringJobs(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/scoring-jobs").WithTags(Tag).AddEndpointFilter(new RequireClientTokenFilter(auditClient: false));
        group.MapPost("", CreateAsync)
            .WithName("CreateScoringJob")
            .WithSummary("Score a patient's MRI ahead of the hooks; idempotent per (study, model, clinical features)")
            .WithDescription("Loads the patient's record from fhirServer with the named backend credential, picks the MR study, starts its job and queues the patient's RiskAssessment for that server. 202 with Location while the job is queued or running (the same job for a repeated request); 200 when its score is already there. Requires a CDS Client JWT (Auth:Clients).")
            .AddEndpointFilter<ValidationFilter<ScoringJobRequest>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .Produces(StatusCodes.Status401Unauthorized);
        group.MapGet("/{id}", GetAsync)
            .WithName("GetScoringJob")
            .WithSummary("A scoring job's state, progress and result")
            .Produces(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    // The same path as a hook, without waiting: the patient's record read with the backend credential, the MRI chosen and its
    // job started, every criterion evaluated, and the RiskAssessment queued for this patient on this server (written with the
    // backend credential once the score is there).
    private static async Task<Results<Accepted<ScoringJobView>, Ok<ScoringJobView>>> CreateAsync(
        ScoringJobRequest request, PatientRecordLoader loader, TrialRiskEvaluator evaluator, RiskAssessmentWriteBack writeBacks,
        ScoringCoordinator coordinator, FhirCredentials credentials, IOptions<WriteBackOptions> writeBack, TimeProvider time, CancellationToken cancellationToken)
    {
        var server = new Uri(request.FhirServer!.TrimEnd('/') + "/");
        var client = writeBack.Value.BackendClients.FirstOrDefault(c => c.ClientId == request.Credential);
        var token = client is null ? null : await credentials.GetBackendTokenAsync(client, server.AbsoluteUri, cancellationToken);
        if (token is null)
        {
            throw new CdsRiskException(ApiErrorCodes.NoCredential, "The credential is not configured for this FHIR server, or it gave no token.",
                new Dictionary<string, string[]> { ["credential"] = ["No WriteBack:BackendClients entry with this clientId could get a token for fhirServer."] });
        }

        var service = CdsServiceCatalog.Find(CdsServiceCatalog.PatientViewId)!;
        var reading = new HookInvocation
        {
            ServiceId = service.Id,
            Hook = service.Hook,
            HookInstance = Guid.NewGuid(),
            PatientId = request.PatientId!,
            UserId = "Device/cdsrisk",
            FhirServer = server,
            Authorization = new FhirAuthorization { AccessToken = token, TokenType = "Bearer", Scope = client!.Scope },
            ReceivedAt = time.GetUtcNow(),
        };
        var record = await loader.LoadAsync(reading, service.Prefetch, null, cancellationToken);
        if (request.StudyInstanceUid is { } uid)
        {
            record = record with { ImagingStudies = [.. record.ImagingStudies.Where(s => s.Identifier.Any(i => i.Value == "urn:oid:" + uid))] };
        }

        var evaluation = await evaluator.EvaluateAsync(record, reading, TimeSpan.Zero, cancellationToken);
        if (evaluation.Scoring?.Request is not { } job)
        {
            throw new CdsRiskException(ApiErrorCodes.NoImagingStudy,
                evaluation.Scoring?.Pre.Reason ?? (evaluation.IsApplicable ? "no pre-operative MR ImagingStudy on record" : "the patient has no liver cancer on record"));
        }

        // No hook token: the backend client writes it (FhirCredentials falls back to it for this server).
        await writeBacks.QueueAsync(reading with { Authorization = null }, evaluation, cancellationToken);
        var (row, _) = await coordinator.SubmitAsync(job, cancellationToken);
        var view = ScoringJobView.From(row);
        return row.State == ScoringJobStates.Succeeded ? TypedResults.Ok(view) : TypedResults.Accepted($"/api/scoring-jobs/{row.Id}", view);
    }

    private static async Task<Ok<ScoringJobView>> GetAsync(string id, ScoringJobStore jobs, CancellationToken cancellationToken)
    {
        var row = await jobs.GetAsync(id, cancellationToken)
            ?? throw new CdsRiskException(ApiErrorCodes.UnknownJob, "No scoring job with this id.");
        return TypedResults.Ok(ScoringJobView.From(row));
    }
}
