using System.Text.Json;
using CdsRisk.Api.Audit;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Patients;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Scoring;

/// <summary>What scoring one patient gave: the evaluation (with the PRE score, or its job still running) and the RiskAssessment queued for it.</summary>
public sealed record ScoredPatient(RiskEvaluation Evaluation, QueuedWriteBack? WriteBack);

/// <summary>
/// Whom <c>POST /api/scoring-jobs</c> scores, once the request is valid and within the scoring client's binding: a FHIR patient, or a
/// DICOM PatientID resolved through <paramref name="IdentifierSystem"/>, on <paramref name="FhirServer"/>, read and written with the
/// backend credential <paramref name="Credential"/> (a <c>WriteBack:BackendClients</c> clientId).
/// </summary>
public sealed record ScoringJobTarget(
    Uri FhirServer, string Credential, string? PatientId, string? DicomPatientId, string? IdentifierSystem, string? StudyInstanceUid);

/// <summary>
/// Scoring a patient: their MR study scored (within a wait, or in the background) with every trial criterion evaluated, and their
/// RiskAssessment queued for the FHIR server with the credential given. One operation, <see cref="ScoreAsync"/>, for a hook (within
/// its latency budget, written with the hook's token) and for <c>POST /api/scoring-jobs</c> (<see cref="SubmitAsync"/>: not
/// waiting, written with the backend credential).
/// </summary>
public sealed class ScoringJobs(
    Lazy<PatientRecordLoader> loader,
    IRiskEvaluator evaluator,
    TrialRiskEvaluator trial,
    RiskAssessmentWriteBack writeBacks,
    ScoringCoordinator coordinator,
    ScoringJobStore jobs,
    DicomPatientResolver resolver,
    FhirCredentials credentials,
    IOptions<WriteBackOptions> writeBack,
    TimeProvider time,
    ILogger<ScoringJobs> logger)
{
    /// <summary>Scores the patient of <paramref name="record"/> and queues their RiskAssessment.</summary>
    /// <param name="record">The patient's record as loaded for the call.</param>
    /// <param name="reading">The call (or the service's own reading): FHIR server, patient, time.</param>
    /// <param name="wait">
    /// How long to wait for a score being computed: null for what is left of the hook's latency budget (settled content may then
    /// come from the evaluation cache); zero to start the job and not wait.
    /// </param>
    /// <param name="writeCredential">The token the RiskAssessment is written with: the hook's own; null for the FHIR server's backend credential.</param>
    /// <param name="cancellationToken">The call's.</param>
    public async Task<ScoredPatient> ScoreAsync(PatientRecord record, HookInvocation reading, TimeSpan? wait, FhirAuthorization? writeCredential,
        CancellationToken cancellationToken)
    {
        RiskEvaluation evaluation;
        using (RiskPipeline.Activity.StartActivity("evaluate"))
        {
            evaluation = wait is { } limit
                ? await trial.EvaluateAsync(record, reading, limit, cancellationToken)
                : await evaluator.EvaluateAsync(record, reading, cancellationToken);
        }

        return await QueueWriteBackAsync(evaluation, reading, writeCredential, cancellationToken);
    }

    /// <summary>
    /// A hook whose settled content was evaluated a moment ago (<see cref="IRiskEvaluator.TryRecall"/>): that evaluation, and this
    /// call's RiskAssessment queued with this call's credential as <see cref="ScoreAsync"/> would.
    /// </summary>
    public async Task<ScoredPatient> QueueAsync(RiskEvaluation recalled, HookInvocation reading, FhirAuthorization? writeCredential, CancellationToken cancellationToken)
    {
        using (var evaluate = RiskPipeline.Activity.StartActivity("evaluate"))
        {
            evaluate?.SetTag(CachingRiskEvaluator.CachedTag, true);
        }

        return await QueueWriteBackAsync(recalled, reading, writeCredential, cancellationToken);
    }

    private async Task<ScoredPatient> QueueWriteBackAsync(RiskEvaluation evaluation, HookInvocation reading, FhirAuthorization? writeCredential, CancellationToken cancellationToken)
    {
        using (RiskPipeline.Activity.StartActivity("queue-write-back"))
        {
            return new ScoredPatient(evaluation, await writeBacks.QueueAsync(reading, evaluation, writeCredential, cancellationToken));
        }
    }

    /// <summary>
    /// <c>POST /api/scoring-jobs</c>: the patient's record read with the backend credential, their study's job started (not waited
    /// for), their RiskAssessment queued (written with the backend credential once the score is there). Returns the job; a study
    /// whose patient cannot be resolved is kept as a failed job with the reason.
    /// </summary>
    public async Task<ScoringJobRow> SubmitAsync(ScoringJobTarget target, CancellationToken cancellationToken)
    {
        var client = writeBack.Value.BackendClients.FirstOrDefault(c => c.ClientId == target.Credential);
        var token = client is null ? null : await credentials.GetBackendTokenAsync(client, target.FhirServer.AbsoluteUri, cancellationToken);
        if (token is null)
        {
            throw new CdsRiskException(ApiErrorCodes.NoCredential, "The credential is not configured for this FHIR server, or it gave no token.",
                new Dictionary<string, string[]> { ["credential"] = ["No WriteBack:BackendClients entry with this clientId could get a token for fhirServer."] });
        }

        var patientId = target.PatientId;
        if (patientId is null)
        {
            // The PACS form: the FHIR Patient that carries the study's DICOM PatientID, exactly one; otherwise the study is kept as a
            // failed job with the reason (the PACS gets its job like any other, and the reason is in GET /api/scoring-jobs/{id}).
            var resolved = await resolver.ResolveAsync(target.FhirServer, token, target.IdentifierSystem!, target.DicomPatientId!.Trim(), cancellationToken);
            if (resolved.PatientId is null)
            {
                var failed = await jobs.CreateFailedAsync(Guid.NewGuid().ToString("N"), "unresolved|" + Guid.NewGuid().ToString("N"),
                    JsonSerializer.Serialize(new { studyInstanceUid = target.StudyInstanceUid }), "study's patient not resolved: " + resolved.Problem, cancellationToken);
                logger.StudyPatientNotResolved(failed.Id, resolved.Problem!);
                return failed;
            }

            patientId = resolved.PatientId;
        }

        var service = CdsServiceCatalog.Find(CdsServiceCatalog.PatientViewId)!;
        var reading = HookInvocation.BackendReading(service, patientId, target.FhirServer, token, client!.Scope, time.GetUtcNow());
        var record = await loader.Value.LoadAsync(reading, service.Prefetch, null, cancellationToken);
        if (target.StudyInstanceUid is { } uid)
        {
            record = record with { ImagingStudies = [.. record.ImagingStudies.Where(s => s.Identifier.Any(i => i.Value == "urn:oid:" + uid))] };
        }

        // No hook token: the backend client writes the RiskAssessment (FhirCredentials falls back to it for this server).
        var scored = await ScoreAsync(record, reading, wait: TimeSpan.Zero, writeCredential: null, cancellationToken);
        if (scored.Evaluation.Scoring?.Request is not { } job)
        {
            throw new CdsRiskException(ApiErrorCodes.NoImagingStudy, scored.Evaluation.Scoring?.Pre.Reason
                ?? (scored.Evaluation.IsApplicable ? "no pre-operative MR ImagingStudy on record" : "the patient has no liver cancer on record"));
        }

        return (await coordinator.SubmitAsync(job, cancellationToken)).Job;
    }
}
