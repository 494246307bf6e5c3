using CdsRisk.Api.DicomWeb;
using CdsRisk.Core.Imaging;
using CdsRisk.Core.Scoring;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Scoring;

/// <summary>
/// The work behind a scoring job: retrieve the study over DICOMweb, find the four phases and build the model tensor, and run the
/// PRE model. It writes nothing anywhere: the hooks queue the RiskAssessment for their own patient and FHIR server.
/// </summary>
public sealed class ImagingScoringWork(
    DicomWebClient dicomWeb,
    PreScorer scorer,
    IOptions<PhaseRules> phaseRules,
    CdsRisk.Core.Eligibility.EligibilityEngine eligibility,
    IOptions<ScoringOptions> scoringOptions) : IScoringWork
{
    public async Task<ScoringOutcome> RunAsync(ScoringRequest request, IScoringProgress progress, CancellationToken cancellationToken)
    {
        await progress.ReportAsync("retrieving images");
        var spec = ImageInputSpec.FromGrid(scorer.Card.Image.Grid);
        var study = new ImagingStudyReference(
            request.DicomWebBaseUrl is { } url ? new Uri(url, UriKind.Absolute) : null, request.StudyInstanceUid, request.SeriesInstanceUids);
        StudyImagingResult imaging;
        // The job's deadline (Scoring:JobDeadlineSeconds) bounds the retrieval as a whole, however the server paces its bytes.
        var deadline = TimeSpan.FromSeconds(scoringOptions.Value.JobDeadlineSeconds);
        using (var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            bounded.CancelAfter(deadline);
            try
            {
                // One MRI window: the protocol file's mri.windowDays, whatever Imaging:PhaseRules says (issue 14 section 3).
                var rules = phaseRules.Value with { MaxStudyAgeDays = eligibility.Data.Protocol.MriWindowDays };
                imaging = await dicomWeb.LoadStudyAsync(study, rules, spec, request.ReferenceDate, bounded.Token);
            }
            catch (DicomWebException ex)
            {
                // Unreachable, refusing or misconfigured: nothing is cached, the next hook (or the worker) tries again.
                return ScoringOutcome.Failed($"images could not be retrieved ({ex.Error}): {ex.Message}");
            }
            catch (OperationCanceledException) when (bounded.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // The slot is freed now; the study is tried again later (Scoring:RetryFailedAfterSeconds).
                return ScoringOutcome.Failed(
                    $"images could not be retrieved within Scoring:JobDeadlineSeconds ({deadline.TotalSeconds:0} s): the DICOMweb server sends too slowly; the job was stopped");
            }
        }

        var phases = imaging.Phases.Select(p => new PhaseSummary(
            p.Phase.ToString(), p.SeriesInstanceUid, p.SeriesDescription, p.TimePoint, p.SliceCount, p.IdentifiedBy.ToString(), p.IdentificationDetail)).ToList();
        var descriptions = imaging.Phases.GroupBy(p => p.SeriesInstanceUid).ToDictionary(g => g.Key, g => g.First().SeriesDescription, StringComparer.Ordinal);
        var notes = imaging.SkippedVolumes.Where(r => r.Reason is ImagingRefusalReason.TooLarge or ImagingRefusalReason.ServerError)
            .Select(r => RefusalWords.Describe(r, descriptions)).Distinct(StringComparer.Ordinal).ToList();
        var missing = imaging.SkippedVolumes.Where(r => r.Reason == ImagingRefusalReason.SeriesNotOnServer && r.SeriesInstanceUid is not null)
            .Select(r => r.SeriesInstanceUid!).Distinct(StringComparer.Ordinal).ToList();
        if (!imaging.IsAccepted || imaging.Tensor is null)
        {
            var refusals = imaging.Refusals.Select(r => RefusalWords.Describe(r, descriptions)).Distinct(StringComparer.Ordinal).ToList();
            // A series the server could not deliver makes every other refusal (a phase then missing) a consequence, not a finding:
            // nothing is cached and the study is tried again.
            return imaging.Refusals.Any(r => r.Reason == ImagingRefusalReason.ServerError)
                ? ScoringOutcome.Failed("the DICOMweb server could not deliver: " + string.Join("; ", refusals)) with { Phases = phases, Refusals = refusals, StudyDate = imaging.StudyDate, Notes = notes, SeriesNotOnServer = missing }
                : new ScoringOutcome { Phases = phases, Refusals = refusals, StudyDate = imaging.StudyDate, Notes = notes, SeriesNotOnServer = missing };
        }

        await progress.ReportAsync("scoring");
        var score = scorer.Score(imaging.Tensor, new ClinicalFeatureValues(request.ClinicalFeatures));
        return new ScoringOutcome
        {
            Pre = score.Pre,
            ModelId = score.ModelId,
            ModelVersion = score.ModelVersion,
            ModelSha256 = score.ModelSha256,
            ImputedFeatures = score.ImputedFeatures,
            Phases = phases,
            StudyDate = imaging.StudyDate,
            Notes = notes,
            SeriesNotOnServer = missing,
        };
    }
}
