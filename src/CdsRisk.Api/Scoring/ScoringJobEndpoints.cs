using CdsRisk.Api.Audit;
using CdsRisk.Api.Auth;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Storage;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CdsRisk.Api.Scoring;

/// <summary>
/// Ask for a patient's PRE score ahead of the hooks (e.g. when the MRI arrives). The FHIR server and credential are those the
/// scoring client is bound to (<c>Scoring:Clients</c>); naming them is optional, and naming others is refused.
/// </summary>
public sealed record ScoringJobRequest
{
    /// <summary>The patient's logical id on the FHIR server; or, from a PACS, <see cref="DicomPatientId"/> instead.</summary>
    public string? PatientId { get; init; }

    /// <summary>
    /// The PACS form (with <see cref="StudyInstanceUid"/>, without <see cref="PatientId"/>): the study's DICOM PatientID (0010,0020),
    /// resolved to the FHIR Patient by <c>Patient?identifier=&lt;Scoring:Clients:N:PatientIdentifierSystem&gt;|&lt;value&gt;</c>.
    /// </summary>
    public string? DicomPatientId { get; init; }

    /// <summary>FHIR base URL: omitted, or the one the scoring client is bound to (with Auth:Mode=Disabled, required and on Fhir:AllowedServers).</summary>
    public string? FhirServer { get; init; }

    /// <summary>ClientId of the WriteBack:BackendClients entry: omitted, or the client's own (with Auth:Mode=Disabled, required).</summary>
    public string? Credential { get; init; }

    /// <summary>Score this study (Study Instance UID); by default the latest MR ImagingStudy.</summary>
    public string? StudyInstanceUid { get; init; }
}

public sealed class ScoringJobRequestValidator : AbstractValidator<ScoringJobRequest>
{
    public ScoringJobRequestValidator()
    {
        RuleFor(r => r.PatientId).NotEmpty().When(r => r.DicomPatientId is null).WithMessage("patientId (or, from a PACS, dicomPatientId with studyInstanceUid) is required.");
        RuleFor(r => r.PatientId).Matches("^[A-Za-z0-9\\-\\.]{1,64}$").When(r => r.PatientId is not null).WithMessage("patientId must be a FHIR logical id.");
        RuleFor(r => r.PatientId).Null().When(r => r.DicomPatientId is not null).WithMessage("patientId and dicomPatientId exclude each other: name the FHIR patient or the DICOM PatientID.");
        // DICOM PS3.5 §6.2: PatientID is LO, at most 64 characters, no backslash (the value separator) and no control characters.
        RuleFor(r => r.DicomPatientId).Must(v => v!.Length is > 0 and <= 64 && !v.Any(c => c == '\\' || char.IsControl(c)) && v.Trim().Length > 0)
            .When(r => r.DicomPatientId is not null).WithMessage("dicomPatientId must be a DICOM PatientID (LO: 1 to 64 characters, no backslash or control character).");
        RuleFor(r => r.StudyInstanceUid).NotEmpty().When(r => r.DicomPatientId is not null).WithMessage("studyInstanceUid is required with dicomPatientId (the study that arrived).");
        RuleFor(r => r.FhirServer).Must(s => Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")
            .When(r => r.FhirServer is not null).WithMessage("fhirServer must be an absolute http(s) URL.");
        RuleFor(r => r.Credential).NotEmpty().When(r => r.Credential is not null);
        RuleFor(r => r.StudyInstanceUid).Matches("^[0-9.]{1,64}$").When(r => r.StudyInstanceUid is not null).WithMessage("studyInstanceUid must be a DICOM UID.");
    }
}

/// <summary>A scoring job as integrators see it.</summary>
public sealed record ScoringJobView
{
    public required string Id { get; init; }
    /// <summary><c>queued</c>, <c>running</c>, <c>succeeded</c> or <c>failed</c>.</summary>
    public required ScoringJobState State { get; init; }
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
        var group = app.MapGroup("/api/scoring-jobs").WithTags(Tag).RequireAuthorization(ClientPolicies.Scoring);
        group.MapPost("", CreateAsync)
            .WithName("CreateScoringJob")
            .WithSummary("Score a patient's MRI ahead of the hooks; idempotent per (study, model, clinical features)")
            .WithDescription("Loads the patient's record from the FHIR server the scoring client is bound to, with its backend credential, picks the MR study, starts its job and queues the patient's RiskAssessment for that server. 202 with Location while the job is queued or running (the same job for a repeated request); 200 when its score is already there. Requires a scoring client (Scoring:Clients): a JWT like a CDS Client's, or Authorization: ApiKey <key>. Naming another fhirServer or credential than the client's is 403 (CDSR-2005). The PACS form {dicomPatientId, studyInstanceUid} (e.g. from Orthanc's OnStableStudy callback) finds the patient by Patient?identifier=<the client's PatientIdentifierSystem>|<dicomPatientId>; a study whose patient is not exactly one Patient is kept as a failed job with the reason (202, state failed).")
            .AddEndpointFilter<ValidationFilter<ScoringJobRequest>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .Produces(StatusCodes.Status401Unauthorized);
        group.MapGet("/{id}", GetAsync)
            .WithName("GetScoringJob")
            .WithSummary("A scoring job's state, progress and result")
            .Produces(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    // Validation (the filter), the scoring client's binding, then the one operation a hook also runs (ScoringJobs), and the view.
    private static async Task<Results<Accepted<ScoringJobView>, Ok<ScoringJobView>>> CreateAsync(
        ScoringJobRequest request, HttpContext http, ClientTokenValidators clients, ScoringJobs scoring, CancellationToken cancellationToken)
    {
        var row = await scoring.SubmitAsync(Target(request, http.User, clients), cancellationToken);
        var view = ScoringJobView.From(row);
        return row.State == ScoringJobState.Succeeded ? TypedResults.Ok(view) : TypedResults.Accepted($"/api/scoring-jobs/{row.Id}", view);
    }

    /// <summary>
    /// The FHIR server and credential of the job: those the scoring client is bound to, never others (a client that could name any
    /// server and credential could have any patient scored and written with the service's backend credential: a confused deputy);
    /// for the PACS form, the client's identifier system of DICOM PatientIDs (<c>Scoring:Clients:N:PatientIdentifierSystem</c>).
    /// </summary>
    private static ScoringJobTarget Target(ScoringJobRequest request, System.Security.Claims.ClaimsPrincipal user, ClientTokenValidators clients)
    {
        var bound = ClientClaims.IsDevelopment(user) ? null : clients.ScoringClientByName(user.FindFirst(ClientClaims.Client)?.Value ?? "")
            ?? throw new CdsRiskException(ApiErrorCodes.OutsideClientBinding, "This client is not a configured scoring client.");
        if (bound is null)
        {
            // Auth:Mode=Disabled (development): no client is bound, so the request names both.
            var missing = new Dictionary<string, string[]>(StringComparer.Ordinal);
            if (request.FhirServer is null) missing["fhirServer"] = ["fhirServer is required when no scoring client is bound (Auth:Mode=Disabled)."];
            if (request.Credential is null) missing["credential"] = ["credential is required when no scoring client is bound (Auth:Mode=Disabled)."];
            if (missing.Count > 0)
            {
                throw new CdsRiskException(ErrorCodes.ValidationFailed, "Fields invalid: " + string.Join(", ", missing.Keys) + ".", missing);
            }
        }
        else if (request.FhirServer is { } named && !string.Equals(new Uri(named.TrimEnd('/') + "/").AbsoluteUri, bound.FhirServerBase.AbsoluteUri, StringComparison.Ordinal))
        {
            throw new CdsRiskException(ApiErrorCodes.OutsideClientBinding,
                "fhirServer: this scoring client is bound to another FHIR server (Scoring:Clients:N:FhirServer); omit fhirServer or name that one.");
        }
        else if (request.Credential is { } credential && credential != bound.Credential)
        {
            throw new CdsRiskException(ApiErrorCodes.OutsideClientBinding,
                "credential: this scoring client is bound to another credential (Scoring:Clients:N:Credential); omit credential or name that one.");
        }

        if (request.DicomPatientId is not null && bound?.PatientIdentifierSystem is null)
        {
            throw new CdsRiskException(ErrorCodes.ValidationFailed,
                "dicomPatientId needs a scoring client with Scoring:Clients:N:PatientIdentifierSystem (the FHIR identifier system of its DICOM PatientIDs).",
                new Dictionary<string, string[]> { ["dicomPatientId"] = ["this scoring client has no PatientIdentifierSystem configured; send patientId instead."] });
        }

        return new ScoringJobTarget(bound?.FhirServerBase ?? new Uri(request.FhirServer!.TrimEnd('/') + "/"), bound?.Credential ?? request.Credential!,
            request.PatientId, request.DicomPatientId, bound?.PatientIdentifierSystem, request.StudyInstanceUid);
    }

    private static async Task<Ok<ScoringJobView>> GetAsync(string id, ScoringJobStore jobs, CancellationToken cancellationToken)
    {
        var row = await jobs.GetAsync(id, cancellationToken)
            ?? throw new CdsRiskException(ApiErrorCodes.UnknownJob, "No scoring job with this id.");
        return TypedResults.Ok(ScoringJobView.From(row));
    }
}
