using CdsRisk.Api.DicomWeb;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Pipeline;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using CdsRisk.Core.Scoring;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using Evidence = CdsRisk.Core.Eligibility.Evidence;
using FhirEndpoint = Hl7.Fhir.Model.Endpoint;

namespace CdsRisk.Api.Scoring;

/// <summary>What the hook knows about imaging and the PRE score once its budget is spent.</summary>
public sealed record ScoringStageResult(PreScoreState Pre, MriAssessment? Mri, ScoringOutcome? Outcome, ScoringRequest? Request, string? JobId)
{
    /// <summary>"ImagingStudy/{id}" of the patient's study that was (or is being) scored.</summary>
    public string? ImagingStudyReference { get; init; }

    /// <summary>
    /// True when this result follows from the record alone (no study to score) or from a stored final score: the same record gives
    /// the same result again without asking imaging, the scoring jobs or the FHIR server.
    /// </summary>
    public bool IsSettled { get; init; }
}

/// <summary>
/// The hook's imaging + scoring stage: picks the MRI, describes the job (study, features, write-back target), and asks the
/// coordinator for the score within the remaining budget; a score not ready in time is "pending" and goes on in the background.
/// </summary>
public sealed class ScoringStage(
    ScoringCoordinator coordinator,
    PreScorer scorer,
    EligibilityEngine eligibility,
    FhirFetchClient fetcher,
    IOptions<FhirOptions> fhirOptions,
    IOptions<DicomWebOptions> dicomWebOptions)
{
    /// <summary>How long storage may hold up a hook beyond its budget before the hook answers without the score.</summary>
    private static readonly TimeSpan StorageGrace = TimeSpan.FromMilliseconds(500);

    private readonly AllowedBaseUrls _allowedFhir = AllowedBaseUrls.Parse(fhirOptions.Value.AllowedServers);

    public async Task<ScoringStageResult> RunAsync(HookInvocation invocation, PatientRecord record, PatientSnapshot snapshot,
        ClinicalFeatureSet features, TimeSpan wait, CancellationToken cancellationToken)
    {
        var prepared = Prepare(record, snapshot, features);
        if (prepared.Request is null)
        {
            return new ScoringStageResult(PreScoreState.Unavailable(prepared.Problem!), prepared.Mri, null, null, null) { IsSettled = true };
        }

        var studyReference = "ImagingStudy/" + prepared.Study!.Id;

        ScoringAttempt attempt;
        var fromCache = false;
        var job = prepared.Request;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter((wait > TimeSpan.Zero ? wait : TimeSpan.Zero) + StorageGrace);
        try
        {
            // A score already computed answers at once; only a new one needs to know where the images are.
            if (await coordinator.GetCachedAsync(prepared.Request, bounded.Token) is { } cached)
            {
                attempt = new ScoringAttempt.Completed(cached);
                fromCache = true;
            }
            else
            {
                job = await WithImageLocationAsync(prepared.Request, prepared.Study!, invocation.FhirServer, invocation.Authorization?.AccessToken, bounded.Token);
                if (ImagesOutOfReach(job, studyReference) is { } outOfReach)
                {
                    return outOfReach;
                }

                attempt = await coordinator.GetOrStartAsync(job, wait, bounded.Token);
            }
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The service's own storage is locked or down: the hook still answers, and the score is computed on a later call.
            return new ScoringStageResult(new PreScoreState(PreScoreStatus.Pending, null, "PRE score not available yet: the service's storage is busy"),
                null, null, job, null) { ImagingStudyReference = studyReference };
        }

        var result = Interpret(attempt, job, studyReference, snapshot.LatestMri, prepared.Study!) with { ImagingStudyReference = studyReference };
        return fromCache && result.Outcome is { TransientError: null } ? result with { IsSettled = true } : result;
    }

    /// <summary>
    /// Images this service may not read, or cannot locate, will not become readable by waiting: the hook says so at once
    /// (needs data, with the reason in words a clinician understands), and no job is started.
    /// </summary>
    private ScoringStageResult? ImagesOutOfReach(ScoringRequest request, string studyReference)
    {
        var (server, problem) = dicomWebOptions.Value.Locate(request.DicomWebBaseUrl is { } url ? new Uri(url, UriKind.Absolute) : null);
        if (problem is null)
        {
            return null;
        }

        var reason = problem.Error == DicomWebError.ServerNotAllowed
            ? $"the MR images are on a server this service is not allowed to read ({server!.Host})"
            : "the MR study does not say where its images are (no DICOMweb Endpoint), and this service has no default image server";
        var ask = problem.Error == DicomWebError.ServerNotAllowed
            ? $"Ask the trial team to have the MR images made readable by the screening service (its administrator adds {server!.GetLeftPart(UriPartial.Authority)} to DicomWeb:AllowedServers)"
            : "Ask the trial team to record where the MR images are (an ImagingStudy Endpoint) or to configure DicomWeb:BaseUrl";
        return new ScoringStageResult(PreScoreState.Unavailable("PRE score not computed: " + reason),
            new MriAssessment(CriterionStatus.Unknown, "MRI not assessed: " + reason,
                [new Evidence(studyReference, "MR study", problem.Message)]) { ToRecord = ask },
            null, request, null) { ImagingStudyReference = studyReference };
    }

    /// <summary>The request with the DICOMweb base of the study's Endpoint, read from the FHIR server when the study only refers to it.</summary>
    public async Task<ScoringRequest> WithImageLocationAsync(ScoringRequest request, ImagingStudy study, Uri? fhirServer, string? token, CancellationToken cancellationToken)
    {
        if (request.DicomWebBaseUrl is not null)
        {
            return request;
        }

        try
        {
            var endpoints = await FetchEndpointsAsync(study, fhirServer, token, cancellationToken);
            return request with { DicomWebBaseUrl = ImagingStudyReference.FromFhir(study, endpoints).BaseUrl?.AbsoluteUri };
        }
        catch (DicomWebException)
        {
            return request;
        }
    }

    /// <summary>
    /// The scoring job for this patient's MRI (images located by the study's contained Endpoint, if any), or why there can be none.
    /// The study must be this patient's: an ImagingStudy whose subject is another patient is never scored for them.
    /// </summary>
    public (ScoringRequest? Request, ImagingStudy? Study, string? Problem, MriAssessment? Mri) Prepare(PatientRecord record, PatientSnapshot snapshot, ClinicalFeatureSet features)
    {
        var study = snapshot.LatestMri is { } mri
            ? record.ImagingStudies.FirstOrDefault(s => "ImagingStudy/" + s.Id == mri.Reference) ?? (record.ImagingStudies.Count > 0 ? record.ImagingStudies[0] : null)
            : null;
        if (study is null)
        {
            return (null, null, "no pre-operative MR ImagingStudy on record", null);
        }

        if (!IsSubject(study.Subject, record.Patient.Id))
        {
            const string reason = "the MR study on record names another patient (or no patient) as its subject, so it is not used";
            return (null, study, reason, new MriAssessment(CriterionStatus.Unknown, "MRI cannot be used: " + reason, [new Evidence("ImagingStudy/" + study.Id, "MR study")])
            {
                ToRecord = "Check that the MR study is this patient's (its subject), or record this patient's pre-operative MRI",
            });
        }

        ImagingStudyReference reference;
        try
        {
            reference = ImagingStudyReference.FromFhir(study);
        }
        catch (DicomWebException ex)
        {
            var reason = $"the images of the MR study cannot be located: {ex.Message}";
            // The study is on record but its images cannot be reached: what to record is where they are, not a new MRI.
            return (null, study, reason, new MriAssessment(CriterionStatus.Unknown, "MRI cannot be read: " + reason, [new Evidence("ImagingStudy/" + study.Id, "MR study")])
            {
                ToRecord = "Link the MR study to its images (DICOM Study Instance UID and image server)",
            });
        }

        var request = new ScoringRequest
        {
            StudyInstanceUid = reference.StudyInstanceUid,
            DicomWebBaseUrl = reference.BaseUrl?.AbsoluteUri,
            SeriesInstanceUids = reference.SeriesInstanceUids,
            ReferenceDate = DateOnly.FromDateTime(snapshot.EvaluatedAt.UtcDateTime),
            ClinicalFeatures = features.Values.Values,
            ModelSha256 = scorer.Card.Sha256,
            ClinicalFeatureHash = ScoreCacheKey.HashClinicalFeatures(features.Values),
        };
        return (request, study, null, null);
    }

    /// <summary>Whether a resource's subject is this patient: "Patient/{id}", or an absolute URL ending in it.</summary>
    internal static bool IsSubject(ResourceReference? subject, string? patientId)
    {
        if (subject?.Reference is not { Length: > 0 } reference || string.IsNullOrEmpty(patientId))
        {
            return false;
        }

        var own = "Patient/" + patientId;
        return string.Equals(reference, own, StringComparison.Ordinal)
            || (reference.EndsWith("/" + own, StringComparison.Ordinal) && Uri.TryCreate(reference, UriKind.Absolute, out _));
    }

    /// <remarks>
    /// While the images are being read (pending, queued, server retrying) no assessment is given: the engine's MRI criterion is
    /// then "pending until the images are read", never judged from the series the ImagingStudy lists (issue 15 item 5).
    /// </remarks>
    private ScoringStageResult Interpret(ScoringAttempt attempt, ScoringRequest request, string studyReference, MriStudyFinding? recorded, ImagingStudy listed)
    {
        switch (attempt)
        {
            case ScoringAttempt.Completed { Outcome: { Pre: { } pre } outcome }:
                // Phases by their names and series descriptions, never by UID (the audit keeps the UIDs).
                var evidence = outcome.Phases.Select(p => new Evidence(studyReference, $"{RefusalWords.PhaseName(p.Phase)} phase",
                    $"{(string.IsNullOrWhiteSpace(p.SeriesDescription) ? "series" : $"series '{p.SeriesDescription}'")}{(p.TimePoint is null ? "" : ", time point " + p.TimePoint)}, {p.Slices} slices")).ToList();
                return new ScoringStageResult(
                    PreScoreState.Computed(pre),
                    DatedFromImages(outcome, request, studyReference, recorded, undatedMatters: true) ?? new MriAssessment(CriterionStatus.Pass,
                        $"all four phases found and readable ({outcome.Phases.Count} volumes){DateNote(outcome, recorded)}{SetAside(outcome, listed)}", evidence),
                    outcome, request, null);

            case ScoringAttempt.Completed { Outcome: { TransientError: { } error } outcome }:
                // A server that is down is no reason to ask the clinician for data: the score is pending and tried again.
                return new ScoringStageResult(new PreScoreState(PreScoreStatus.Pending, null, "images could not be retrieved yet; retrying: " + error),
                    null, outcome, request, null);

            case ScoringAttempt.Completed { Outcome: var outcome }:
                var reason = "MRI cannot be used: " + string.Join("; ", outcome.Refusals) + SetAside(outcome, listed);
                return new ScoringStageResult(PreScoreState.Unavailable(reason),
                    DatedFromImages(outcome, request, studyReference, recorded, undatedMatters: false)
                        ?? new MriAssessment(CriterionStatus.Unknown, reason, [new Evidence(studyReference, "MR study")]),
                    outcome, request, null);

            case ScoringAttempt.Pending pending:
                return new ScoringStageResult(
                    new PreScoreState(PreScoreStatus.Pending, null, pending.Overloaded
                        ? "PRE score queued: the service is busy; open the chart again shortly"
                        : $"PRE score is being computed ({pending.Progress})"),
                    null, null, request, pending.JobId);

            default:
                throw new InvalidOperationException("unknown scoring attempt");
        }
    }

    /// <summary>
    /// An ImagingStudy without <c>started</c>: the protocol's window is checked on the DICOM Study Date (0008,0020) the image server
    /// reported. Null when the ImagingStudy has its date (the engine checks it) or the DICOM date is within the window, and for a
    /// study with no date anywhere unless <paramref name="undatedMatters"/> (an unusable study's refusals say more).
    /// </summary>
    private MriAssessment? DatedFromImages(ScoringOutcome outcome, ScoringRequest request, string studyReference, MriStudyFinding? recorded, bool undatedMatters)
    {
        if (recorded is null or { Started: not null } || request.ReferenceDate is not { } today)
        {
            return null;
        }

        var window = eligibility.Data.Protocol.MriWindowDays;
        var perform = $"Perform a 4-phase liver MRI (non-contrast, arterial, portal venous, delayed) within {window} days before enrolment";
        if (outcome.StudyDate is not { } date)
        {
            return !undatedMatters ? null : new MriAssessment(CriterionStatus.Unknown, "MR study without a date: neither the record nor the images (DICOM Study Date) give one",
                [new Evidence(studyReference, "MR study")]) { ToRecord = "Record the date of the MR study" };
        }

        var days = today.DayNumber - date.DayNumber;
        var day = date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Evidence[] evidence = [new(studyReference, "MR study", $"DICOM Study Date {day}",
            new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero))];
        return days < 0
            ? new MriAssessment(CriterionStatus.Unknown, $"MR study dated {day} by its DICOM Study Date, after the evaluation date", evidence) { ToRecord = "Correct the date of the MR study" }
            : days > window
                ? new MriAssessment(CriterionStatus.Unknown,
                    $"Latest MR study ({day}, its DICOM Study Date: the record has no date) is {days} days old: needed within {window} days", evidence) { ToRecord = perform }
                : null;
    }

    private static string DateNote(ScoringOutcome outcome, MriStudyFinding? recorded) =>
        recorded is { Started: null } && outcome.StudyDate is { } date
            ? $"; study of {date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)} by its DICOM Study Date (the record has no date)"
            : "";

    /// <summary>
    /// What was set aside without preventing the reading: series the ImagingStudy lists that the image server does not have, named
    /// as the record names them (number, description; never by UID, which the audit keeps), and series beyond a read limit.
    /// </summary>
    private static string SetAside(ScoringOutcome outcome, ImagingStudy listed)
    {
        var parts = new List<string>(outcome.Notes);
        if (outcome.SeriesNotOnServer.Count > 0)
        {
            var names = outcome.SeriesNotOnServer.Select(uid => listed.Series.FirstOrDefault(x => x.Uid == uid) is { } series
                    ? $"series {(series.Number is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) + " " : "")}{(string.IsNullOrWhiteSpace(series.Description) ? "" : $"'{series.Description}'")}".TrimEnd()
                    : "a series")
                .ToList();
            parts.Add($"{string.Join(", ", names)} listed in the MRI record but not on the image server (the images it has were read)");
        }

        return parts.Count == 0 ? "" : "; set aside: " + string.Join("; ", parts);
    }

    /// <summary>Endpoints the study refers to that are neither contained nor at hand: read from the hook's FHIR server.</summary>
    private async Task<IReadOnlyList<FhirEndpoint>> FetchEndpointsAsync(ImagingStudy study, Uri? fhirServer, string? token, CancellationToken cancellationToken)
    {
        var references = study.Endpoint.Concat(study.Series.SelectMany(s => s.Endpoint))
            .Select(r => r.Reference).Where(r => r is { Length: > 0 } && r.StartsWith("Endpoint/", StringComparison.Ordinal)).Distinct().ToList();
        if (references.Count == 0 || fhirServer is null || !_allowedFhir.Admits(fhirServer))
        {
            return [];
        }

        var found = new List<FhirEndpoint>();
        foreach (var reference in references)
        {
            var result = await fetcher.GetAsync(new Uri(fhirServer.AbsoluteUri.TrimEnd('/') + "/" + reference), token, _allowedFhir, cancellationToken);
            found.AddRange(result.Resources.OfType<FhirEndpoint>());
        }

        return found;
    }
}
