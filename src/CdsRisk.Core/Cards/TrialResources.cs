using Hl7.Fhir.Model;

namespace CdsRisk.Core.Cards;

/// <summary>
/// The FHIR resources that the referral suggestions create (CDS Hooks §action: create carries the whole resource): a referral to
/// the trial team for screening, and the patient as a potential candidate. Neither says anything about treatment (issue 14 section 1).
/// </summary>
public static class TrialResources
{
    public const string SnomedSystem = "http://snomed.info/sct";

    /// <summary>SNOMED CT 3457005 "Patient referral (procedure)".</summary>
    public const string ReferralCode = "3457005";

    public static ServiceRequest Referral(CardInput input)
    {
        var pre = input.Pre is { } p ? CardText.Score(p) : "n/a";
        var request = new ServiceRequest
        {
            Status = RequestStatus.Draft,
            Intent = RequestIntent.Order,
            Code = new CodeableConcept(SnomedSystem, ReferralCode, "Patient referral", "Referral to the NCT07282184 trial team for screening"),
            Subject = new ResourceReference(input.PatientReference),
            Encounter = input.EncounterReference is { } enc ? new ResourceReference(enc) : null,
            Requester = input.UserReference is { } user ? new ResourceReference(user) : null,
            PerformerType = new CodeableConcept { Text = "NCT07282184 trial team" },
            Note =
            [
                new Annotation
                {
                    Text = $"Potential candidate for NCT07282184: PRE {pre}, at or above the trial's threshold {CardText.Score(input.Threshold)}; "
                        + "every criterion the record can decide is met. Please screen the patient for the trial."
                        + (input.Model.IsReferenceModel ? " The PRE comes from a reference model trained on synthetic data: not for clinical use." : string.Empty),
                },
            ],
        };
        if (input.RiskAssessmentReference is { } ra)
        {
            request.ReasonReference = [new ResourceReference(ra, "PRE recurrence risk assessment")];
        }
        else
        {
            request.ReasonCode = [new CodeableConcept { Text = $"Potential candidate for NCT07282184 (PRE {pre})" }];
        }

        return request;
    }

    /// <summary>
    /// The study travels as a contained ResearchStudy identified by its NCT number, because the EHR's own id for it is
    /// unknown here; a reference with only an identifier fails invariant ref-1 in Firely's R4 validator.
    /// </summary>
    public static ResearchSubject Candidate(CardInput input)
    {
        var nct = new Identifier(CardCodes.ClinicalTrialsGovSystem, CardCodes.TrialNctNumber);
        return new ResearchSubject
        {
            Contained =
            [
                new ResearchStudy
                {
                    Id = "nct07282184",
                    Identifier = [nct],
                    Status = ResearchStudy.ResearchStudyStatus.Active,
                    Title = StudyTitle,
                },
            ],
            Status = ResearchSubject.ResearchSubjectStatus.Candidate,
            Study = new ResourceReference("#nct07282184", StudyTitle) { Identifier = (Identifier)nct.DeepCopy() },
            Individual = new ResourceReference(input.PatientReference),
        };
    }

    private const string StudyTitle = "NCT07282184: neoadjuvant and adjuvant therapy for early HCC at high risk of aggressive recurrence";
}
