using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>
/// Stands in for the eligibility engine in protocol tests: answers a fixed, fully populated evaluation
/// and keeps what the loader handed it, so tests can check the PatientRecord built from prefetch and fetches.
/// </summary>
public sealed class RecordingRiskEvaluator : IRiskEvaluator
{
    public PatientRecord? LastPatient { get; private set; }
    public HookInvocation? LastInvocation { get; private set; }
    public bool Applicable { get; set; } = true;

    public Task<RiskEvaluation> EvaluateAsync(PatientRecord patient, HookInvocation invocation, CancellationToken cancellationToken)
    {
        LastPatient = patient;
        LastInvocation = invocation;
        return Task.FromResult(Fixed with { IsApplicable = Applicable });
    }

    public static RiskEvaluation Fixed { get; } = new()
    {
        Outcome = EligibilityOutcome.Eligible,
        PreScore = 0.73,
        Model = new ModelReference { Id = "pre-mri-clinical", Version = "1.0.0", Sha256 = new string('a', 64) },
        Criteria =
        [
            .. CriterionIds.All.Select(id => id == CriterionIds.Age
                ? new CriterionResult(id, CriterionStatus.Pass, "62 years (18–75 required)",
                    [new Evidence("Patient/p1", "Age at evaluation", "62 a", new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero))])
                : id == CriterionIds.Consent
                    ? new CriterionResult(id, CriterionStatus.ToBeConfirmed, "Written consent is obtained at screening", []) { ToRecord = "Record signed consent" }
                    : new CriterionResult(id, CriterionStatus.Pass, "requirement satisfied", [])),
        ],
    };
}
