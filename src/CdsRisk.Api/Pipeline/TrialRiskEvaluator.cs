using CdsRisk.Api.Hooks;
using CdsRisk.Api.Scoring;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using CdsRisk.Core.Scoring;
using CdsRisk.Api.FollowUp;
using CdsRisk.Core.FollowUp;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Pipeline;

/// <summary>NCT07282184: the clinical picture, the PRE score within the hook's latency budget, then every criterion.</summary>
public sealed class TrialRiskEvaluator(
    EligibilityEngine eligibility,
    FollowUpEngine followUp,
    IOptions<FollowUpOptions> followUpOptions,
    ScoringStage scoring,
    PreScorer model,
    IOptions<PipelineOptions> options,
    TimeProvider time) : IRiskEvaluator
{
    /// <summary>Evaluates within what is left of the hook's latency budget.</summary>
    public Task<RiskEvaluation> EvaluateAsync(PatientRecord patient, HookInvocation invocation, CancellationToken cancellationToken)
    {
        var budget = TimeSpan.FromMilliseconds(options.Value.LatencyBudgetMilliseconds - options.Value.ReserveMilliseconds);
        return EvaluateAsync(patient, invocation, budget - (time.GetUtcNow() - invocation.ReceivedAt), cancellationToken);
    }

    /// <summary>Evaluates, waiting at most <paramref name="wait"/> for a score being computed (zero: start it and do not wait).</summary>
    public async Task<RiskEvaluation> EvaluateAsync(PatientRecord patient, HookInvocation invocation, TimeSpan wait, CancellationToken cancellationToken)
    {
        // The clinical picture and the model's clinical features, from the record alone.
        var snapshot = eligibility.Snapshot(patient, invocation.ReceivedAt);

        // After enrolment (issue 17): an on-study patient gets the follow-up, not screening; one who left the study, no trial card.
        var enrolment = followUp.Enrolment(patient, followUpOptions.Value.StudyReferences);
        if (enrolment.State != EnrolmentState.NotEnrolled)
        {
            return OnStudy(patient, snapshot, enrolment, invocation.ReceivedAt);
        }
        if (!IsInTrialPopulation(snapshot))
        {
            // Not in the population as far as the record shows; when the diagnoses or planned operations could not be read, the
            // record does not show it at all: say so rather than stay silent.
            List<string> unreadable = [.. patient.UnavailableData.Where(PopulationData.Contains)];
            return new RiskEvaluation
            {
                Outcome = unreadable.Count > 0 ? EligibilityOutcome.NotAssessed : EligibilityOutcome.Ineligible,
                Criteria = [],
                IsApplicable = unreadable.Count > 0,
                NotAssessedBecause = unreadable,
            };
        }

        var features = ClinicalFeatureBuilder.Build(snapshot);

        // Imaging and PRE score: cached, or computed within the wait, or pending in the background.
        var score = await scoring.RunAsync(invocation, patient, snapshot, features, wait, cancellationToken);

        // Every criterion of the trial, with the score and what the images showed.
        var result = eligibility.Evaluate(snapshot, new EligibilityInputs(invocation.ReceivedAt, score.Pre, score.Mri));

        // Data the EHR could not deliver is not data the clinician must record: unless a criterion already fails, the answer is that
        // eligibility was not assessed, and which data could not be read.
        // The follow-up's own categories (ResearchSubject, MedicationAdministration, and the ResearchStudy and Medication they name) do not decide screening: an EHR that cannot
        // send them still gets its screening answer, and the gap is in the audit record (DataGaps).
        List<string> screeningGaps = [.. patient.UnavailableData.Where(c => !FollowUpData.Contains(c))];
        var notAssessed = screeningGaps.Count > 0 && result.Outcome != EligibilityOutcome.Ineligible;
        return new RiskEvaluation
        {
            Outcome = notAssessed ? EligibilityOutcome.NotAssessed : result.Outcome,
            NotAssessedBecause = notAssessed ? screeningGaps : [],
            // A PRE outside the population it describes is not shown (issue 14 section 3; EligibilityResult.PreIsMeaningful).
            PreScore = result.PreIsMeaningful ? result.Pre.Value : null,
            Model = result.PreIsMeaningful ? new ModelReference { Id = model.Card.Id, Version = model.Card.Version, Sha256 = model.Card.Sha256 } : null,
            Threshold = eligibility.Data.Protocol.PreThreshold,
            Features = features,
            Criteria = result.Criteria,
            Eligibility = result,
            Scoring = score,
        };
    }

    /// <summary>The data categories only the follow-up reads.</summary>
    private static readonly HashSet<string> FollowUpData = new(["ResearchSubject", "MedicationAdministration", "ResearchStudy", "Medication"], StringComparer.Ordinal);

    /// <summary>
    /// On study: the follow-up picture, with the two post-operative criteria as this assessment's criteria (the audit record shows
    /// them). Withdrawn or off study: not applicable, so no card.
    /// </summary>
    private RiskEvaluation OnStudy(PatientRecord patient, PatientSnapshot snapshot, Enrolment enrolment, DateTimeOffset at)
    {
        if (enrolment.State == EnrolmentState.OffStudy)
        {
            return new RiskEvaluation { Outcome = EligibilityOutcome.OnStudy, Criteria = [], IsApplicable = false };
        }

        var result = followUp.Evaluate(patient, snapshot, enrolment, at);
        return new RiskEvaluation
        {
            Outcome = EligibilityOutcome.OnStudy,
            Criteria = result.Exclusions,
            Threshold = eligibility.Data.Protocol.PreThreshold,
            FollowUp = result,
        };
    }

    /// <summary>The data categories that decide whether a patient is in the trial's population (diagnoses, planned or done operations).</summary>
    private static readonly HashSet<string> PopulationData = new(["Condition", "Procedure", "ServiceRequest", "Appointment"], StringComparer.Ordinal);

    /// <summary>The trial concerns patients with liver cancer on record or a liver resection planned; for anyone else the service stays silent.</summary>
    public static bool IsInTrialPopulation(PatientSnapshot snapshot) =>
        snapshot.Hcc is not null || snapshot.NonHccDiagnoses.Count > 0 || snapshot.Resections.Count > 0;
}
